/*
 * sw.c - the `sw` provider: the software DPU's datapath.
 *
 * Moves frames between the virtqueues of each vhost-user device and the
 * queues of its tap representor, on worker threads (sw_worker.c, sw_net.c;
 * sw.h says who touches what).  Needs nothing but /dev/net/tun, so it probes
 * successfully on any Linux host.
 *
 * Linking: the split-ring code (lib/virtq.c, lib/guest_mem.c, state-free) is
 * compiled into this object, hidden, so the hot path calls it directly.  The
 * log functions (vn_log, vn_log_enabled, vn_ratelimit_pass) are the
 * controller's, which exports them: the datapath's lines go where the
 * controller's go and follow `virtnet log` levels.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sw.h"
#include "util.h"
#include "virtnet/provider.h"


/*
 * What this datapath implements: split and packed rings (indirect, event
 * index; lib/virtq.c walks both), both
 * header layouts, mergeable receive buffers, offloads passed through the
 * tap's vnet header, multi-queue.  Control-queue features are the
 * front-end's business (QEMU and virtio-user serve the control queue
 * themselves).  Dirty-page logging for live migration: received frames are
 * logged where they are read (sw_net.c).  IOMMU_PLATFORM: lib/virtq.c
 * translates IOVAs through the device IOTLB the controller fills (a chain
 * whose translation is missing waits; the controller kicks the queue when it
 * arrives).  Not: notification data, ring reset.
 */
#define SW_FEATURES                                                                                \
    (VN_BIT(VIRTIO_NET_F_CSUM) | VN_BIT(VIRTIO_NET_F_GUEST_CSUM) |                                       \
     VN_BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | VN_BIT(VIRTIO_NET_F_MTU) | VN_BIT(VIRTIO_NET_F_MAC) |       \
     VN_BIT(VIRTIO_NET_F_GUEST_TSO4) | VN_BIT(VIRTIO_NET_F_GUEST_TSO6) | VN_BIT(VIRTIO_NET_F_GUEST_ECN) |   \
     VN_BIT(VIRTIO_NET_F_GUEST_UFO) | VN_BIT(VIRTIO_NET_F_HOST_TSO4) | VN_BIT(VIRTIO_NET_F_HOST_TSO6) |     \
     VN_BIT(VIRTIO_NET_F_HOST_ECN) | VN_BIT(VIRTIO_NET_F_HOST_UFO) | VN_BIT(VIRTIO_NET_F_MRG_RXBUF) |       \
     VN_BIT(VIRTIO_NET_F_STATUS) | VN_BIT(VIRTIO_NET_F_CTRL_VQ) | VN_BIT(VIRTIO_NET_F_CTRL_RX) |            \
     VN_BIT(VIRTIO_NET_F_CTRL_VLAN) | VN_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) | VN_BIT(VIRTIO_NET_F_MQ) |       \
     VN_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | VN_BIT(VIRTIO_F_ANY_LAYOUT) |                                  \
     VN_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VN_BIT(VIRTIO_RING_F_EVENT_IDX) | VN_BIT(VIRTIO_F_VERSION_1) |   \
     VN_BIT(VIRTIO_F_SR_IOV) | VN_BIT(VIRTIO_NET_F_SPEED_DUPLEX) | VN_BIT(VIRTIO_F_RING_PACKED) |    \
     VN_BIT(VIRTIO_F_ACCESS_PLATFORM) | VN_PROVIDER_F_LOG_ALL)

#define SW_GSO_MAX_FRAME 65550 /* 64 KiB of IP payload plus an Ethernet and VLAN header */

struct sw_priv {
    unsigned nworkers;
    struct sw_worker *workers; /* nworkers entries */
};

static int sw_probe(const struct vn_provider_env *env, char *why, size_t whylen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        int err = errno;

        snprintf(why, whylen, "cannot open /dev/net/tun: %s (the representors are taps)",
                 strerror(err));
        return -err;
    }
    close(fd);
    return 0;
}

static void sw_fini(void *priv)
{
    struct sw_priv *p = priv;

    if (!p)
        return;
    for (unsigned i = 0; i < p->nworkers; i++)
        sw_worker_fini(&p->workers[i]);
    free(p->workers);
    free(p);
}

/*
 * The CPUs of 'mask' this process may run on, into cpus[] (at most 64);
 * returns how many.  Logs the ones it may not use.
 */
static unsigned usable_cpus(uint64_t mask, unsigned *cpus)
{
    cpu_set_t allowed;
    unsigned n = 0;

    if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
        CPU_ZERO(&allowed);
    for (unsigned c = 0; c < 64; c++) {
        if (!(mask & (UINT64_C(1) << c)))
            continue;
        if (CPU_ISSET(c, &allowed))
            cpus[n++] = c;
        else
            VN_WARN(PROV, "sw: worker_cpu_mask names CPU %u, which this controller may not use",
                    c);
    }
    return n;
}

static int sw_init(const struct vn_provider_env *env, void **priv)
{
    unsigned cpus[64], ncpus = 0;
    struct sw_priv *p = calloc(1, sizeof(*p));
    unsigned n = env->dp_workers ? env->dp_workers : 1;
    int ret;

    if (!p)
        return -ENOMEM;
    if (env->dp_cpu_mask) {
        ncpus = usable_cpus(env->dp_cpu_mask, cpus);
        if (!ncpus) {
            VN_ERR(PROV, "sw: worker_cpu_mask 0x%" PRIx64 " names no CPU this controller may use",
                   env->dp_cpu_mask);
            free(p);
            return -EINVAL;
        }
    }
    if (n > SW_MAX_WORKERS)
        n = SW_MAX_WORKERS;
    p->workers = calloc(n, sizeof(*p->workers));
    if (!p->workers) {
        free(p);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        /* Counted first: fini also undoes a worker that failed half-way. */
        p->nworkers = i + 1;
        ret = sw_worker_init(&p->workers[i], i);
        if (ret < 0) {
            VN_ERR(PROV, "sw: cannot start datapath worker %u: %s", i, strerror(-ret));
            sw_fini(p);
            return ret;
        }
        if (ncpus) {
            cpu_set_t set;

            CPU_ZERO(&set);
            CPU_SET(cpus[i % ncpus], &set);
            ret = -pthread_setaffinity_np(p->workers[i].thread, sizeof(set), &set);
            if (ret < 0) {
                VN_ERR(PROV, "sw: cannot pin datapath worker %u to CPU %u: %s", i,
                       cpus[i % ncpus], strerror(-ret));
                sw_fini(p);
                return ret;
            }
            VN_INFO(PROV, "sw: datapath worker %u on CPU %u", i, cpus[i % ncpus]);
        }
    }
    VN_INFO(PROV, "sw: %u datapath worker thread%s", n, n == 1 ? "" : "s");
    *priv = p;
    return 0;
}

static uint64_t sw_features(void *priv)
{
    return SW_FEATURES;
}

static void queue_free(struct sw_queue *q)
{
    if (!q)
        return;
    free(q->used);
    free(q->rx_bufs);
    free(q->rx_iov);
    free(q->tx_frames);
    free(q->tx_iov);
    free(q);
}

/* The worker serving the fewest queues. */
static struct sw_worker *pick_worker(struct sw_priv *p)
{
    struct sw_worker *best = &p->workers[0];

    for (unsigned i = 1; i < p->nworkers; i++)
        if (p->workers[i].nqueues_main < best->nqueues_main)
            best = &p->workers[i];
    return best;
}

static int sw_queue_start(void *priv, const struct vn_dp_queue *dq, void **qpriv)
{
    struct sw_priv *p = priv;
    struct sw_queue *q;
    struct sw_cmd cmd = { .op = SW_CMD_ADD };
    int ret;

    if (dq->kind != VN_DP_RING_SW_SPLIT && dq->kind != VN_DP_RING_SW_PACKED)
        return -EOPNOTSUPP;
    if (!dq->ring.sw.vq || !vn_virtq_is_ready(dq->ring.sw.vq) || dq->kick_fd < 0 ||
        dq->tap_fd < 0 || (dq->hdr_len != 10 && dq->hdr_len != 12) ||
        dq->mod.mode > VN_DP_MOD_ADAPTIVE)
        return -EINVAL;
    q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    snprintf(q->dev_name, sizeof(q->dev_name), "%s", dq->dev_name ? dq->dev_name : "?");
    q->index = dq->index;
    q->is_tx = dq->is_tx;
    q->vq = dq->ring.sw.vq;
    q->kick_fd = dq->kick_fd;
    q->call_fd = dq->call_fd;
    q->tap_fd = dq->tap_fd;
    q->hdr_len = dq->hdr_len;
    q->mrg_rxbuf = dq->mrg_rxbuf;
    q->max_rx_len = dq->max_rx_len ? dq->max_rx_len : dq->hdr_len + SW_GSO_MAX_FRAME;
    q->on_error = dq->on_error;
    q->error_ctx = dq->error_ctx;
    q->mod_mode = dq->mod.mode;
    q->mod_period_us = dq->mod.period_us;
    q->mod_max_count = dq->mod.max_count;
    q->kick_src.kind = SW_SRC_KICK;
    q->kick_src.q = q;
    q->tap_src.kind = SW_SRC_TAP;
    q->tap_src.q = q;
    q->used = calloc(q->vq->size, sizeof(*q->used));
    if (q->is_tx) {
        q->tx_frames = calloc(SW_URING_BATCH, sizeof(*q->tx_frames));
        q->tx_iov = calloc(SW_TX_IOV, sizeof(*q->tx_iov));
    } else {
        q->rx_bufs = calloc(q->vq->size, sizeof(*q->rx_bufs));
        q->rx_iov = calloc(VN_VQ_MAX_IOV, sizeof(*q->rx_iov));
    }
    if (!q->used || (q->is_tx ? !q->tx_frames || !q->tx_iov : !q->rx_bufs || !q->rx_iov)) {
        queue_free(q);
        return -ENOMEM;
    }
    vn_virtq_get_stats(q->vq, &q->base);
    q->w = pick_worker(p);
    cmd.q = q;
    ret = sw_worker_call(q->w, &cmd);
    if (ret < 0) {
        queue_free(q);
        return ret;
    }
    q->w->nqueues_main++;
    VN_DBG(DP, "%s: queue %u (%s) on worker %u", q->dev_name, q->index, q->is_tx ? "tx" : "rx",
           q->w->id);
    *qpriv = q;
    return 0;
}

static void sw_queue_stop(void *priv, void *qpriv, struct vn_dp_queue_stats *final)
{
    struct sw_queue *q = qpriv;
    struct sw_cmd cmd = { .op = SW_CMD_DEL, .q = q, .final = final };

    if (!q)
        return;
    sw_worker_call(q->w, &cmd);
    q->w->nqueues_main--;
    queue_free(q);
}

static int sw_queue_modify(void *priv, void *qpriv, const struct vn_dp_moderation *mod)
{
    struct sw_queue *q = qpriv;

    if (mod->mode > VN_DP_MOD_ADAPTIVE)
        return -EINVAL;
    __atomic_store_n(&q->mod_mode, mod->mode, __ATOMIC_RELAXED);
    __atomic_store_n(&q->mod_period_us, mod->period_us, __ATOMIC_RELAXED);
    __atomic_store_n(&q->mod_max_count, mod->max_count, __ATOMIC_RELAXED);
    return 0;
}

static int sw_queue_stats(void *priv, void *qpriv, struct vn_dp_queue_stats *out)
{
    sw_queue_read_stats(qpriv, out);
    return 0;
}

static const struct vn_provider_ops sw_ops = {
    .abi_version = VN_PROVIDER_ABI_VERSION,
    .name = "sw",
    .description = "software datapath: vhost-user virtqueues <-> tap representor queues",
    .probe = sw_probe,
    .init = sw_init,
    .fini = sw_fini,
    .features = sw_features,
    .queue_start = sw_queue_start,
    .queue_stop = sw_queue_stop,
    .queue_modify = sw_queue_modify,
    .queue_stats = sw_queue_stats,
};

VN_PROVIDER_EXPORT const struct vn_provider_ops *vn_provider_entry(void);

const struct vn_provider_ops *vn_provider_entry(void)
{
    return &sw_ops;
}
