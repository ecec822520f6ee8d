/*
 * sw_net.c - moving frames between a virtqueue and a representor queue (tap
 * fd), on the queue's worker thread; see sw.h.
 *
 * Guest TX (odd queues): pop a chain, writev() its readable iovecs (virtio-net
 * header + frame, straight out of guest memory) to the tap, return it with
 * length 0.  The tap takes the header as its vnet header, so checksum and GSO
 * offloads pass through as vhost-net passes them.
 *
 * Guest RX (even queues): hold enough guest buffers for the largest frame
 * the tap may hand over (one chain; with MRG_RXBUF as many as it takes), then
 * readv() one frame straight into them; the tap writes the vnet header in
 * front of the frame.  With a 12-byte header, num_buffers is written after the
 * tap's 10 bytes: the chains the frame filled (1 without MRG_RXBUF); chains
 * left over stay held for the next frame.  Without buffers the tap is not
 * polled until the driver kicks.
 *
 * Both directions suppress kicks while they work (VRING_USED_F_NO_NOTIFY or,
 * with EVENT_IDX, an avail_event left behind), move up to SW_BATCH frames per
 * round, push the round's completions with one used->idx store, and decide
 * one interrupt per round (moderation may hold it longer).  Re-enabling kicks
 * re-reads the avail index, so a chain made available meanwhile is not missed.
 *
 * No userspace copy of frame data happens here: the kernel copies between
 * guest memory and the skb, once, as it does for vhost-net.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sw.h"
#include "util.h"
#include "virtq_inflight.h"

#define ETH_MIN_LEN 14 /* a frame shorter than an Ethernet header is not sent */
#define NUM_BUFFERS_OFF 10 /* num_buffers in struct virtio_net_hdr_mrg_rxbuf */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Counts one frame of 'len' bytes (without the virtio-net header) in its size bucket. */
static void count_frame(struct sw_queue *q, uint64_t len)
{
    SW_STAT_ADD(q, total_packets, 1);
    if (len <= 64)
        SW_STAT_ADD(q, size_64, 1);
    else if (len <= 127)
        SW_STAT_ADD(q, size_65_127, 1);
    else if (len <= 255)
        SW_STAT_ADD(q, size_128_255, 1);
    else if (len <= 511)
        SW_STAT_ADD(q, size_256_511, 1);
    else if (len <= 1023)
        SW_STAT_ADD(q, size_512_1023, 1);
    else if (len <= 1522)
        SW_STAT_ADD(q, size_1024_1522, 1);
    else if (len <= 2047)
        SW_STAT_ADD(q, size_1523_2047, 1);
    else if (len <= 4095)
        SW_STAT_ADD(q, size_2048_4095, 1);
    else if (len <= 8191)
        SW_STAT_ADD(q, size_4096_8191, 1);
    else if (len <= 9022)
        SW_STAT_ADD(q, size_8192_9022, 1);
    else
        SW_STAT_ADD(q, size_9023_plus, 1);
}

/* ---- interrupts ------------------------------------------------------------- */

/* Decides the interrupt for everything pushed since the last decision, now. */
static void irq_now(struct sw_queue *q)
{
    bool want = vn_virtq_should_notify(q->vq, q->signalled_used);

    q->signalled_used = vn_virtq_used_idx(q->vq);
    q->unsignalled = 0;
    q->deadline_ns = 0;
    if (want && q->call_fd >= 0) {
        /* An eventfd write fails only when its counter would overflow: then one is pending. */
        (void)!eventfd_write(q->call_fd, 1);
        SW_STAT_ADD(q, interrupts, 1);
    }
}

void sw_queue_irq_due(struct sw_queue *q, uint64_t now, bool force)
{
    if (q->unsignalled && (force || (q->deadline_ns && now >= q->deadline_ns)))
        irq_now(q);
}

/*
 * After 'n' completions were pushed in a round that moved 'frames' frames:
 * interrupt now, or leave it for the deadline / count (see provider.h).
 * 'idle': the queue ran out of work in this round.
 */
static void irq_after_round(struct sw_queue *q, unsigned n, unsigned frames, bool idle)
{
    uint8_t mode = __atomic_load_n(&q->mod_mode, __ATOMIC_RELAXED);
    uint32_t period = __atomic_load_n(&q->mod_period_us, __ATOMIC_RELAXED);
    uint32_t count = __atomic_load_n(&q->mod_max_count, __ATOMIC_RELAXED);

    q->unsignalled += n;
    if (!q->unsignalled)
        return;
    if (mode == VN_DP_MOD_ADAPTIVE) {
        /* Light load (a small round after small rounds): latency first. */
        if (frames < SW_BATCH / 8 && q->last_round < SW_BATCH / 8) {
            irq_now(q);
            return;
        }
        if (!period)
            period = SW_ADAPTIVE_PERIOD_US;
        if (!count)
            count = SW_ADAPTIVE_COUNT;
    } else if (!period && !count) {
        irq_now(q);
        return;
    }
    if (count && q->unsignalled >= count) {
        irq_now(q);
        return;
    }
    if (period) {
        if (!q->deadline_ns)
            q->deadline_ns = now_ns() + (uint64_t)period * 1000u;
        return;
    }
    /* A count without a period: what is left goes when the queue has nothing more. */
    if (idle)
        irq_now(q);
}

/* Pushes the round's completions with one used->idx store. */
static void push_used(struct sw_queue *q)
{
    if (!q->nused)
        return;
    vn_virtq_push_batch(q->vq, q->used, q->nused);
    q->pushed += q->nused;
    q->nused = 0;
}

/* Records chain 'head' as done with 'len' bytes written, for the next push. */
static void used_add(struct sw_queue *q, uint16_t head, uint32_t len)
{
    /* Only a driver re-posting heads it has not got back can fill it: push early. */
    if (q->nused == q->vq->size)
        push_used(q);
    q->used[q->nused].id = head;
    q->used[q->nused].len = len;
    q->nused++;
}

/* ---- errors ------------------------------------------------------------------- */

void sw_queue_fail(struct sw_queue *q, int err)
{
    char idx[48] = "";

    if (q->broken)
        return;
    q->broken = true;
    q->pending = false;
    sw_queue_unwatch(q);
    if (err == -EPROTO)
        snprintf(idx, sizeof(idx), " (avail index %u, %u taken)", q->vq->bad_avail_idx,
                 q->vq->last_avail_idx);
    VN_ERR_RL(DP, "%s: queue %u stopped, the driver broke the ring: %s%s (device needs reset)",
              q->dev_name, q->index, vn_virtq_strerror(err), idx);
    if (q->on_error)
        q->on_error(q->error_ctx, q->index, err);
}

/* ---- guest TX ---------------------------------------------------------------- */

/* Counts the outcome 'res' (bytes or -errno) of writing frame 'f' into the tap. */
static void tx_account(struct sw_queue *q, const struct sw_tx_frame *f, int res)
{
    if (res < 0) {
        /* EIO: the representor is down; EINVAL: a header the tap refuses; EAGAIN: full. */
        SW_STAT_ADD(q, dropped, 1);
        if (res != -EIO && res != -EAGAIN)
            VN_WARN_RL(DP, "%s: queue %u: frame of %llu bytes not sent: %s", q->dev_name,
                       q->index, (unsigned long long)(f->len - q->hdr_len), strerror(-res));
        return;
    }
    count_frame(q, f->len - q->hdr_len);
}

/*
 * Writes the 'n' frames collected in q->tx_frames into the tap, in order:
 * one io_uring submission (sw_uring.c), or one writev() each without a ring;
 * then records their chains as used (length 0: nothing written into them).  The frames come from consecutive avail positions; the transmit
 * record (lib/virtq_inflight.h) says they are being written before, and how
 * many the tap took after.
 */
static void tx_flush(struct sw_worker *w, struct sw_queue *q, unsigned n)
{
    const struct iovec *iov[SW_URING_BATCH];
    unsigned cnt[SW_URING_BATCH];
    int res[SW_URING_BATCH];
    uint64_t *rec = q->vq->tx_rec;
    uint32_t accepted = 0;
    bool batched = false;

    if (n == 0)
        return;
    if (rec)
        vn_txrec_begin(rec, q->tx_frames[0].pos, (uint16_t)n);
    if (n > 1 && w->uring.fd >= 0) {
        for (unsigned i = 0; i < n; i++) {
            iov[i] = &q->tx_iov[q->tx_frames[i].iov_off];
            cnt[i] = q->tx_frames[i].iov_cnt;
        }
        batched = sw_uring_rw(&w->uring, true, q->tap_fd, iov, cnt, n, res) == 0;
    }
    for (unsigned i = 0; i < n; i++) {
        const struct sw_tx_frame *f = &q->tx_frames[i];

        if (!batched) {
            ssize_t r;

            do
                r = writev(q->tap_fd, &q->tx_iov[f->iov_off], (int)f->iov_cnt);
            while (r < 0 && errno == EINTR);
            res[i] = r < 0 ? -errno : (int)VN_MIN(r, (ssize_t)INT32_MAX);
        }
        accepted += res[i] >= 0;
        tx_account(q, f, res[i]);
        used_add(q, f->head, 0);
    }
    if (rec)
        vn_txrec_end(rec, (uint16_t)(q->tx_frames[0].pos + n), accepted);
}

static void tx_run(struct sw_worker *w, struct sw_queue *q)
{
    struct vn_vq_chain *c = w->chain;
    unsigned frames = 0, n = 0, niov = 0;
    bool idle = false;

    while (frames < SW_BATCH) {
        int err = vn_virtq_pop(q->vq, c);

        if (err == -EAGAIN) {
            /*
             * Send what is collected.  While the worker busy-polls, the queue
             * stays pending with kicks off (a kick is a system call for the
             * driver and a wake-up here); else ask for kicks again, then look
             * once more.
             */
            tx_flush(w, q, n);
            n = niov = 0;
            if (sw_worker_polling(w))
                break;
            err = vn_virtq_enable_notify(q->vq);
            if (err == 0) {
                idle = true;
                break;
            }
            if (err > 0) {
                vn_virtq_disable_notify(q->vq);
                continue;
            }
        }
        if (err < 0) {
            tx_flush(w, q, n);
            push_used(q);
            sw_queue_fail(q, err);
            return;
        }
        frames++;
        if (c->out_len < (uint64_t)q->hdr_len + ETH_MIN_LEN) {
            /* Dropped unsent: what was collected goes first, so a flush stays consecutive. */
            tx_flush(w, q, n);
            n = niov = 0;
            SW_STAT_ADD(q, dropped, 1);
            used_add(q, c->head, 0);
            if (q->vq->tx_rec)
                vn_txrec_end(q->vq->tx_rec, q->vq->last_avail_idx, 0);
            continue;
        }
        if (niov + c->out_num > SW_TX_IOV) {
            tx_flush(w, q, n);
            n = niov = 0;
        }
        memcpy(&q->tx_iov[niov], c->iov, c->out_num * sizeof(struct iovec));
        q->tx_frames[n].head = c->head;
        q->tx_frames[n].pos = (uint16_t)(q->vq->last_avail_idx - 1);
        q->tx_frames[n].iov_off = niov;
        q->tx_frames[n].iov_cnt = c->out_num;
        q->tx_frames[n].len = c->out_len;
        niov += c->out_num;
        if (++n == SW_URING_BATCH) {
            tx_flush(w, q, n);
            n = niov = 0;
        }
    }
    tx_flush(w, q, n);
    push_used(q);
    if (frames)
        SW_STAT_ADD(q, batches, 1);
    irq_after_round(q, frames, frames, idle);
    q->last_round = frames;
    if (idle)
        q->pending = false;
}

/* ---- guest RX ---------------------------------------------------------------- */

/* One chain can take the largest frame alone (always true without MRG_RXBUF: one chain a frame). */
static bool rx_single(const struct sw_queue *q, uint32_t len)
{
    return !q->mrg_rxbuf || len >= q->max_rx_len;
}

/*
 * Takes one receive chain into the held ones.  Returns 1 when one was
 * added, 0 when none is available (or it does not fit), -errno when the
 * queue broke.
 */
static int rx_take(struct sw_worker *w, struct sw_queue *q)
{
    struct vn_vq_chain *c = w->chain;
    struct sw_rx_buf *b;
    int err;

    for (;;) {
        /* Everything the ring can hold is held already. */
        if (q->rx_n >= q->vq->size)
            return 0;
        err = vn_virtq_pop(q->vq, c);
        if (err == -EAGAIN)
            return 0;
        if (err < 0) {
            sw_queue_fail(q, err);
            return err;
        }
        if (c->in_len)
            break;
        /* Nothing writable: give it back used and empty, count the waste. */
        used_add(q, c->head, 0);
        SW_STAT_ADD(q, dropped, 1);
    }
    if (q->rx_niov + c->in_num > VN_VQ_MAX_IOV) {
        vn_virtq_unpop(q->vq, 1);
        return 0;
    }
    b = &q->rx_bufs[q->rx_n++];
    b->head = c->head;
    b->iov_off = q->rx_niov;
    b->iov_cnt = c->in_num;
    b->len = c->in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)c->in_len;
    memcpy(&q->rx_iov[q->rx_niov], &c->iov[c->out_num], c->in_num * sizeof(struct iovec));
    q->rx_niov += c->in_num;
    q->rx_cap += b->len;
    return 1;
}

/*
 * Holds enough receive chains for the largest frame (one chain without
 * MRG_RXBUF).  Returns true when a frame can be read now, false when the
 * driver must first post more buffers (or the queue broke).
 */
static bool rx_gather(struct sw_worker *w, struct sw_queue *q)
{
    while (q->rx_n == 0 || (q->mrg_rxbuf && q->rx_cap < q->max_rx_len)) {
        int r = rx_take(w, q);

        if (r < 0)
            return false;
        if (r == 0)
            /* Out of buffers; what the whole ring holds must do. */
            return q->rx_n > 0 && q->rx_n >= q->vq->size;
    }
    return true;
}

/* Writes 'len' bytes of 'src' at byte 'off' of the iovecs 'iov' (the header may be split). */
static void iov_write(const struct iovec *iov, unsigned niov, size_t off, const void *src,
                      size_t len)
{
    const uint8_t *s = src;

    for (unsigned i = 0; i < niov && len; i++) {
        size_t n;

        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        n = VN_MIN(len, iov[i].iov_len - off);
        memcpy((uint8_t *)iov[i].iov_base + off, s, n);
        s += n;
        len -= n;
        off = 0;
    }
}

/* num_buffers of a 12-byte header at the start of held chain 'b' (little endian: VERSION_1, x86). */
static void rx_set_num_buffers(struct sw_queue *q, const struct sw_rx_buf *b, uint16_t nb)
{
    if (q->hdr_len >= NUM_BUFFERS_OFF + 2)
        iov_write(&q->rx_iov[b->iov_off], b->iov_cnt, NUM_BUFFERS_OFF, &nb, sizeof(nb));
}

/* Forgets the first 'k' held chains (their frames are done). */
static void rx_drop_front(struct sw_queue *q, unsigned k)
{
    uint32_t ioff;

    if (k >= q->rx_n) {
        q->rx_n = 0;
        q->rx_niov = 0;
        q->rx_cap = 0;
        return;
    }
    ioff = q->rx_bufs[k].iov_off;
    memmove(q->rx_bufs, &q->rx_bufs[k], (q->rx_n - k) * sizeof(*q->rx_bufs));
    memmove(q->rx_iov, &q->rx_iov[ioff], (q->rx_niov - ioff) * sizeof(*q->rx_iov));
    q->rx_n -= k;
    q->rx_niov -= ioff;
    q->rx_cap = 0;
    for (unsigned i = 0; i < q->rx_n; i++) {
        q->rx_bufs[i].iov_off -= ioff;
        q->rx_cap += q->rx_bufs[i].len;
    }
}

/* A frame of 'n' bytes (header included) landed in the held chains: return the ones it filled. */
static void rx_complete(struct sw_queue *q, uint64_t n)
{
    uint64_t left = n;
    unsigned k = 0;

    while (left > 0 && k < q->rx_n) {
        uint32_t len = (uint32_t)VN_MIN(left, (uint64_t)q->rx_bufs[k].len);

        used_add(q, q->rx_bufs[k].head, len);
        left -= len;
        k++;
    }
    rx_set_num_buffers(q, &q->rx_bufs[0], (uint16_t)(q->mrg_rxbuf ? k : 1));
    /* Live migration: the frame's pages (the header's num_buffers included) are dirty. */
    vn_virtq_log_write(q->vq, q->rx_iov, q->rx_niov, n);
    count_frame(q, n - q->hdr_len);
    rx_drop_front(q, k);
}

/* Copies 'len' bytes from the iovecs 'src' to the iovecs 'dst' (another chain, large enough). */
static void iov_copy(const struct iovec *dst, unsigned dn, const struct iovec *src, unsigned sn,
                     size_t len)
{
    size_t off = 0;

    for (unsigned i = 0; i < sn && off < len; i++) {
        size_t n = VN_MIN(src[i].iov_len, len - off);

        iov_write(dst, dn, off, src[i].iov_base, n);
        off += n;
    }
}

/*
 * Reads up to 'k' frames, one per held chain, in one io_uring submission of
 * reads run in order (sw_uring.c).  Reads after the tap ran empty find
 * nothing (-EAGAIN), unless a frame came in meanwhile: that one moves down to
 * the first chain not filled, so the chains filled are the first ones, in the
 * order the frames came.  Returns
 * the frames read, 0 when the tap was empty, or -errno when no read
 * succeeded and the first failed otherwise.
 */
static int rx_read_batch(struct sw_worker *w, struct sw_queue *q, unsigned k)
{
    /* Zeroed only for the compiler, which cannot see that 0 < k <= SW_URING_BATCH. */
    const struct iovec *iov[SW_URING_BATCH] = { 0 };
    unsigned cnt[SW_URING_BATCH] = { 0 }, got = 0;
    int res[SW_URING_BATCH], ret;

    for (unsigned i = 0; i < k; i++) {
        iov[i] = &q->rx_iov[q->rx_bufs[i].iov_off];
        cnt[i] = q->rx_bufs[i].iov_cnt;
    }
    ret = sw_uring_rw(&w->uring, false, q->tap_fd, iov, cnt, k, res);
    if (ret < 0)
        return ret;
    for (unsigned i = 0; i < k; i++) {
        const struct sw_rx_buf *b = &q->rx_bufs[got];

        if (res[i] <= 0)
            continue;
        if ((uint32_t)res[i] > q->rx_bufs[i].len || (uint32_t)res[i] > b->len ||
            (uint32_t)res[i] < q->hdr_len) {
            /*
             * The tap cut a frame larger than the buffer (it reports the full
             * length), or it would not fit the chain it moves down to.  Return
             * a chain empty, which the driver counts as a length error.
             */
            SW_STAT_ADD(q, dropped, 1);
            used_add(q, b->head, 0);
            got++;
            continue;
        }
        if (i != got)
            iov_copy(&q->rx_iov[b->iov_off], b->iov_cnt, iov[i], cnt[i], (size_t)res[i]);
        rx_set_num_buffers(q, b, 1);
        vn_virtq_log_write(q->vq, &q->rx_iov[b->iov_off], b->iov_cnt, (uint64_t)res[i]);
        used_add(q, b->head, (uint32_t)res[i]);
        count_frame(q, (uint64_t)res[i] - q->hdr_len);
        got++;
    }
    rx_drop_front(q, got);
    /* Next time as many reads as this time found frames, twice over: few find the tap empty. */
    q->rx_reads = (uint16_t)VN_MAX(2u, VN_MIN(2u * got, (unsigned)SW_URING_BATCH));
    if (got == 0 && res[0] != -EAGAIN)
        return res[0] < 0 ? res[0] : -EIO;
    return (int)got;
}

/* Leading held chains that take a frame each, topped up to a full batch (io_uring only). */
static unsigned rx_batchable(struct sw_worker *w, struct sw_queue *q, unsigned room)
{
    unsigned k = 0, want = VN_MIN(room, VN_MAX(2u, (unsigned)q->rx_reads));

    if (w->uring.fd < 0 || want < 2)
        return 0;
    while (q->rx_n < want && rx_take(w, q) > 0)
        ;
    while (k < q->rx_n && k < want && rx_single(q, q->rx_bufs[k].len))
        k++;
    return k;
}

static void rx_run(struct sw_worker *w, struct sw_queue *q)
{
    unsigned frames = 0, pushed_before;
    bool idle = false;

    pushed_before = q->pushed;
    while (frames < SW_BATCH) {
        unsigned k;
        ssize_t n;

        if (!rx_gather(w, q)) {
            int avail;

            if (q->broken)
                break;
            /* No buffers: ask for a kick, look once more, else leave the tap alone. */
            avail = vn_virtq_enable_notify(q->vq);
            if (avail > 0) {
                vn_virtq_disable_notify(q->vq);
                continue;
            }
            if (avail < 0) {
                sw_queue_fail(q, avail);
                break;
            }
            sw_queue_poll_tap(q, false);
            idle = true;
            break;
        }
        k = rx_batchable(w, q, SW_BATCH - frames);
        if (q->broken)
            break;
        if (k >= 2) {
            int got = rx_read_batch(w, q, k);

            if (got > 0) {
                frames += (unsigned)got;
                continue;
            }
            if (got < 0 && got != -EINVAL && w->uring.fd >= 0) {
                VN_WARN_RL(DP, "%s: queue %u: read from the representor: %s", q->dev_name,
                           q->index, strerror(-got));
                SW_STAT_ADD(q, dropped, 1);
                sw_queue_poll_tap(q, false);
            }
            if (got == 0 || w->uring.fd >= 0) {
                idle = true;
                break;
            }
            /* The ring failed and is gone: read this frame the plain way. */
        }
        n = readv(q->tap_fd, q->rx_iov, (int)q->rx_niov);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN) {
                /* Not expected from a tap; do not spin on it: wait for the next kick. */
                VN_WARN_RL(DP, "%s: queue %u: read from the representor: %s", q->dev_name,
                           q->index, strerror(errno));
                SW_STAT_ADD(q, dropped, 1);
                sw_queue_poll_tap(q, false);
            }
            idle = true;
            break;
        }
        if ((uint64_t)n > q->rx_cap || (uint64_t)n < q->hdr_len) {
            /* The tap cut a frame larger than the buffers (it reports the full length). */
            SW_STAT_ADD(q, dropped, 1);
            continue;
        }
        rx_complete(q, (uint64_t)n);
        frames++;
    }
    push_used(q);
    if (frames)
        SW_STAT_ADD(q, batches, 1);
    /* Moderation counts completions (chains), not a packed ring's descriptor slots. */
    irq_after_round(q, q->pushed - pushed_before, frames, idle);
    q->last_round = frames;
    if (idle || q->broken)
        q->pending = false;
}

void sw_queue_run(struct sw_worker *w, struct sw_queue *q)
{
    if (q->broken) {
        q->pending = false;
        return;
    }
    if (q->is_tx)
        tx_run(w, q);
    else
        rx_run(w, q);
}

void sw_queue_drain(struct sw_queue *q)
{
    push_used(q);
    if (q->rx_n) {
        vn_virtq_unpop(q->vq, q->rx_n);
        q->rx_n = 0;
        q->rx_niov = 0;
        q->rx_cap = 0;
    }
    /* Whatever was pushed and not yet signalled: the driver may be waiting for it. */
    if (!q->broken)
        sw_queue_irq_due(q, 0, true);
}

void sw_queue_read_stats(const struct sw_queue *q, struct vn_dp_queue_stats *out)
{
    struct vn_virtq_stats vs;

#define LOAD(f) out->f = __atomic_load_n(&q->st.f, __ATOMIC_RELAXED)
    LOAD(total_packets);
    LOAD(interrupts);
    LOAD(kicks);
    LOAD(dropped);
    LOAD(batches);
    LOAD(size_64);
    LOAD(size_65_127);
    LOAD(size_128_255);
    LOAD(size_256_511);
    LOAD(size_512_1023);
    LOAD(size_1024_1522);
    LOAD(size_1523_2047);
    LOAD(size_2048_4095);
    LOAD(size_4096_8191);
    LOAD(size_8192_9022);
    LOAD(size_9023_plus);
#undef LOAD
    vn_virtq_get_stats(q->vq, &vs);
    out->received_desc = vs.received_desc - q->base.received_desc;
    out->completed_desc = vs.completed_desc - q->base.completed_desc;
    out->total_bytes = vs.total_bytes - q->base.total_bytes;
    out->bad_desc_errors = vs.bad_desc_errors - q->base.bad_desc_errors;
    out->exceed_max_chain = vs.exceed_max_chain - q->base.exceed_max_chain;
    out->invalid_buffer = vs.invalid_buffer - q->base.invalid_buffer;
    out->avail_idx_errors = vs.avail_idx_errors - q->base.avail_idx_errors;
}
