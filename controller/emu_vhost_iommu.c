/*
 * emu_vhost_iommu.c - the device IOTLB of the vhost-user backend and the
 * misses it asks the front-end about; see emu_vhost_iommu.h.
 */
#include <config.h>

#include "emu_vhost_iommu.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Datapath thread: a miss was queued (the first since the last drain). */
static void miss_notify(void *ctx)
{
    struct vn_vhost_iommu *x = ctx;

    ev_async_send(x->loop, &x->miss_w);
}

/* Forgets the misses waiting and the pages asked for (a new channel, a new session). */
static void misses_forget(struct vn_vhost_iommu *x)
{
    x->npending = 0;
    x->out_len = x->out_off = 0;
    x->nasked = 0;
    if (x->loop)
        ev_io_stop(x->loop, &x->backend_w);
}

static void backend_close(struct vn_vhost_iommu *x)
{
    misses_forget(x);
    if (x->backend_fd >= 0)
        close(x->backend_fd);
    x->backend_fd = -1;
}

/* True when 'page' was asked for less than VN_VHOST_IOMMU_ASK_AGAIN_NS ago and not answered. */
static bool asked_recently(struct vn_vhost_iommu *x, uint64_t page, uint64_t now)
{
    for (unsigned i = 0; i < x->nasked; i++)
        if (x->asked[i].page == page)
            return now - x->asked[i].when_ns < VN_VHOST_IOMMU_ASK_AGAIN_NS;
    return false;
}

/* Records that 'page' was asked for now; a full set forgets its oldest entry. */
static void asked_add(struct vn_vhost_iommu *x, uint64_t page, uint64_t now)
{
    unsigned i;

    for (i = 0; i < x->nasked && x->asked[i].page != page; i++)
        ;
    if (i == x->nasked) {
        if (x->nasked == VN_VHOST_IOMMU_ASKED) {
            memmove(&x->asked[0], &x->asked[1], (x->nasked - 1) * sizeof(x->asked[0]));
            i = --x->nasked;
        }
        x->nasked++;
    }
    x->asked[i] = (struct vn_vhost_iommu_asked){ .page = page, .when_ns = now };
}

/* An update answered the pages of [iova, iova + size): they may be asked for again. */
static void asked_answered(struct vn_vhost_iommu *x, uint64_t iova, uint64_t size)
{
    uint64_t first = iova >> VN_IOTLB_MISS_SHIFT, last = (iova + (size - 1)) >> VN_IOTLB_MISS_SHIFT;
    unsigned j = 0;

    for (unsigned i = 0; i < x->nasked; i++)
        if (x->asked[i].page < first || x->asked[i].page > last)
            x->asked[j++] = x->asked[i];
    x->nasked = j;
}

/*
 * Writes what fits of the waiting misses, without waiting: what does not fit
 * waits for the channel to be writable (backend_w).  A broken channel is
 * closed (the misses count as unsent; the queues that wait stay waiting).
 */
static void misses_flush(struct vn_vhost_iommu *x)
{
    uint64_t now = vn_now_ns();

    while (x->backend_fd >= 0 && (x->out_len || x->npending)) {
        ssize_t n;

        if (!x->out_len) {
            const struct vn_iotlb_miss *m = &x->pending[0];
            struct vn_vhost_hdr h = { .request = VN_VHOST_BACKEND_IOTLB_MSG,
                                      .flags = VN_VHOST_VERSION,
                                      .size = sizeof(struct vn_vhost_iotlb) };
            struct vn_vhost_iotlb msg = { .iova = m->iova, .perm = m->perm,
                                          .type = VN_VHOST_IOTLB_MISS };

            memcpy(x->out, &h, sizeof(h));
            memcpy(x->out + sizeof(h), &msg, sizeof(msg));
            x->out_len = sizeof(h) + sizeof(msg);
            x->out_off = 0;
            asked_add(x, m->iova >> VN_IOTLB_MISS_SHIFT, now);
            VN_DBG(VHOST, "%s: IOTLB miss sent for IOVA 0x%" PRIx64, x->name, m->iova);
            memmove(&x->pending[0], &x->pending[1], (x->npending - 1) * sizeof(x->pending[0]));
            x->npending--;
            x->misses_sent++;
        }
        n = send(x->backend_fd, x->out + x->out_off, x->out_len - x->out_off,
                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!ev_is_active(&x->backend_w)) {
                ev_io_set(&x->backend_w, x->backend_fd, EV_WRITE);
                ev_io_start(x->loop, &x->backend_w);
            }
            return;
        }
        if (n < 0) {
            VN_WARN_RL(VHOST, "%s: back-end request channel broken (%s): IOTLB misses cannot be "
                              "asked for; the queues that need one wait",
                       x->name, strerror(errno));
            x->misses_unsent += x->npending + 1;
            backend_close(x);
            return;
        }
        x->out_off += (size_t)n;
        if (x->out_off == x->out_len)
            x->out_len = x->out_off = 0;
    }
    ev_io_stop(x->loop, &x->backend_w);
}

static void backend_writable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    misses_flush(vn_container_of(w, struct vn_vhost_iommu, backend_w));
}

/* Main thread: queues every miss the datapath found for the front-end, once per page. */
static void miss_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    struct vn_vhost_iommu *x = vn_container_of(w, struct vn_vhost_iommu, miss_w);
    struct vn_iotlb_miss m[VN_IOTLB_MAX_MISSES];
    bool overflow = false, lost = false;
    unsigned n = vn_iotlb_take_misses(&x->tlb, m, VN_IOTLB_MAX_MISSES, &overflow);
    uint64_t now = vn_now_ns();

    for (unsigned i = 0; i < n; i++) {
        uint64_t page = m[i].iova >> VN_IOTLB_MISS_SHIFT;
        unsigned k;

        if (x->backend_fd < 0) {
            x->misses_unsent++;
            VN_WARN_RL(VHOST,
                       "%s: cannot ask the front-end for the translation of IOVA 0x%" PRIx64
                       ": no back-end request channel (SET_BACKEND_REQ_FD); the queue using it "
                       "waits",
                       x->name, m[i].iova);
            continue;
        }
        if (asked_recently(x, page, now))
            continue;
        for (k = 0; k < x->npending && x->pending[k].iova >> VN_IOTLB_MISS_SHIFT != page; k++)
            ;
        if (k < x->npending) {
            x->pending[k].perm |= m[i].perm;
            continue;
        }
        if (x->npending == VN_VHOST_IOMMU_PENDING) {
            lost = true; /* asked again when its queue retries */
            continue;
        }
        x->pending[x->npending++] = m[i];
    }
    misses_flush(x);
    /* Misses were dropped: let the waiting queues run into them again. */
    if ((overflow || lost) && x->retry)
        x->retry(x->retry_ctx);
}

int vn_vhost_iommu_init(struct vn_vhost_iommu *x, struct ev_loop *loop, const char *name,
                        vn_vhost_iommu_retry_fn *retry, void *retry_ctx)
{
    int ret;

    memset(x, 0, sizeof(*x));
    x->backend_fd = -1;
    ret = vn_iotlb_init(&x->tlb, miss_notify, x);
    if (ret < 0)
        return ret;
    x->loop = loop;
    x->name = name;
    x->retry = retry;
    x->retry_ctx = retry_ctx;
    ev_async_init(&x->miss_w, miss_cb);
    ev_async_start(loop, &x->miss_w);
    ev_io_init(&x->backend_w, backend_writable_cb, -1, EV_WRITE);
    x->initialized = true;
    return 0;
}

void vn_vhost_iommu_fini(struct vn_vhost_iommu *x)
{
    if (!x->initialized)
        return;
    ev_async_stop(x->loop, &x->miss_w);
    backend_close(x);
    vn_iotlb_fini(&x->tlb);
    x->initialized = false;
}

void vn_vhost_iommu_reset(struct vn_vhost_iommu *x)
{
    if (!x->initialized)
        return;
    vn_iotlb_clear(&x->tlb);
    backend_close(x);
}

int vn_vhost_iommu_set_backend_fd(struct vn_vhost_iommu *x, int fd)
{
    int fl = fcntl(fd, F_GETFL);

    /* A MISS must never block the main loop for long (vn_vhost_send_msg() bounds the wait). */
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    backend_close(x);
    x->backend_fd = fd;
    return 0;
}

static const char *access_name(uint8_t perm)
{
    switch (perm) {
    case VN_VHOST_ACCESS_RO:
        return "ro";
    case VN_VHOST_ACCESS_WO:
        return "wo";
    case VN_VHOST_ACCESS_RW:
        return "rw";
    default:
        return "invalid";
    }
}

int vn_vhost_iommu_msg(struct vn_vhost_iommu *x, const struct vn_guest_mem *mem,
                       const struct vn_vhost_iotlb *m, unsigned *ret_removed, char *why,
                       size_t whylen)
{
    int ret;

    switch (m->type) {
    case VN_VHOST_IOTLB_UPDATE:
        if (m->size == 0 || m->size - 1 > UINT64_MAX - m->iova ||
            m->size - 1 > UINT64_MAX - m->uaddr) {
            snprintf(why, whylen,
                     "IOTLB update of 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64 " -> 0x%" PRIx64
                     ": empty or wraps around the address space",
                     m->size, m->iova, m->uaddr);
            return -EINVAL;
        }
        if (m->perm != VN_VHOST_ACCESS_RO && m->perm != VN_VHOST_ACCESS_WO &&
            m->perm != VN_VHOST_ACCESS_RW) {
            snprintf(why, whylen, "IOTLB update at IOVA 0x%" PRIx64 ": permission 0x%x invalid",
                     m->iova, m->perm);
            return -EINVAL;
        }
        /* The front-end maps guest memory only: a range outside its memory table is a lie. */
        if (!vn_uva_to_hva(mem, m->uaddr, m->size)) {
            snprintf(why, whylen,
                     "IOTLB update of IOVA 0x%" PRIx64 "+0x%" PRIx64 " -> 0x%" PRIx64
                     ": not inside one region of the memory table",
                     m->iova, m->size, m->uaddr);
            return -EINVAL;
        }
        ret = vn_iotlb_update(&x->tlb, m->iova, m->size, m->uaddr, m->perm);
        if (ret < 0) {
            snprintf(why, whylen, "IOTLB update at IOVA 0x%" PRIx64 ": %s", m->iova,
                     strerror(-ret));
            return ret;
        }
        VN_DBG(VHOST, "%s: IOTLB update 0x%" PRIx64 "+0x%" PRIx64 " -> 0x%" PRIx64 " %s", x->name,
               m->iova, m->size, m->uaddr, access_name(m->perm));
        asked_answered(x, m->iova, m->size);
        *ret_removed = 0;
        return 0;
    case VN_VHOST_IOTLB_INVALIDATE:
        *ret_removed = vn_iotlb_invalidate(&x->tlb, m->iova, m->size);
        VN_DBG(VHOST, "%s: IOTLB invalidate 0x%" PRIx64 "+0x%" PRIx64 ": %u entries", x->name,
               m->iova, m->size, *ret_removed);
        return 0;
    default:
        snprintf(why, whylen, "IOTLB message of type %u (a front-end sends UPDATE %u or "
                              "INVALIDATE %u)",
                 m->type, VN_VHOST_IOTLB_UPDATE, VN_VHOST_IOTLB_INVALIDATE);
        return -EINVAL;
    }
}

unsigned vn_vhost_iommu_entries(struct vn_vhost_iommu *x)
{
    return x->initialized ? vn_iotlb_count(&x->tlb) : 0;
}
