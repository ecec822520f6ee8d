/*
 * emu_vhost.c - the software DPU's emulation backend ("vhost", emu_class.h):
 * each function is a vhost-user server socket that QEMU or DPDK virtio-user
 * drive.
 *
 * Each function listens on <state-dir>/vhost/<VUID>.sock (the directory
 * 0750, the socket 0660, recreated at the same path after a restart so that
 * QEMU's `reconnect=` or a new virtio-user finds it again).  One front-end
 * is served at a time; a second one is refused.  Anything a front-end does
 * wrong closes its connection only: the function keeps listening and the
 * controller keeps running.
 *
 * The spec is the source of truth: GET_FEATURES offers its features (within
 * what the provider supports) plus VHOST_USER_F_PROTOCOL_FEATURES;
 * GET_QUEUE_NUM answers its queue pairs, max(1, max_queues / 2) (an odd
 * queue out is the control queue, which the front-end serves itself); ring
 * sizes above its max_queue_size, rings beyond its pairs and an MTU other
 * than its own are refused.
 *
 * A ring starts (provider queue_start) once it has a size, addresses, a kick
 * fd and the memory table, and is enabled when VHOST_USER_F_PROTOCOL_FEATURES
 * was negotiated; virtqueue pair n runs on representor queue n (opened
 * through the SF manager for the connection).  GET_VRING_BASE stops it.  A
 * ring the provider reports broken (a guest error) is stopped, the driver
 * status gets NEEDS_RESET and the ring's error eventfd is signalled.  A
 * disconnect stops every ring, drops the memory table and the representor
 * queues.  Counters add up over the function's life.
 *
 * Runs on the main loop's thread; the provider's threads only reach it
 * through an ev_async (ring errors).
 *
 * This file is over 800 lines: the protocol handlers, ring lifecycle and the
 * live-update export/import share one private struct and its invariants;
 * splitting them would expose those internals in a header of their own.
 *
 * Message handling is table-driven: lib/vhost_user.c has already checked a
 * request's framing (payload size, fd count, fields the protocol bounds);
 * dispatch() then applies the checks every request shares (SET_OWNER first,
 * vring index within the device's rings, memory table present) and calls the
 * request's handler.  A handler returns 0 or -errno; on an error the
 * front-end gets a failure ack if it asked for one, the reason is logged
 * (rate-limited: a peer can repeat it) and the connection is closed.
 * Received fds a handler did not take are closed after it returns.
 */
#include <config.h>

#include "emu_class.h"

#include <ev.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "emu_vhost_conn.h"
#include "emu_vhost_iommu.h"
#include "emu_vhost_log.h"
#include "emu_vhost_txrec.h"
#include "guest_mem.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "sock_perms.h"
#include "vhost_user.h"
#include "virtq.h"
#include "virtq_inflight.h"

#define VN_VHOST_SUBDIR "vhost" /* of the state dir */

/* Protocol features offered: what this back-end implements. */
#define PROTOCOL_FEATURES                                                                          \
    (VN_BIT(VN_VHOST_PROTOCOL_F_MQ) | VN_BIT(VN_VHOST_PROTOCOL_F_REPLY_ACK) |                            \
     VN_BIT(VN_VHOST_PROTOCOL_F_NET_MTU) | VN_BIT(VN_VHOST_PROTOCOL_F_RESET_DEVICE) |                    \
     VN_BIT(VN_VHOST_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | VN_BIT(VN_VHOST_PROTOCOL_F_STATUS) |            \
     VN_BIT(VN_VHOST_PROTOCOL_F_INFLIGHT_SHMFD) | VN_BIT(VN_VHOST_PROTOCOL_F_LOG_SHMFD) |           \
     VN_BIT(VN_VHOST_PROTOCOL_F_RARP))
/* Offered with IOMMU_PLATFORM only (emu_vhost_iommu.h): the channel IOTLB misses go on. */
#define PROTOCOL_FEATURES_IOMMU VN_BIT(VN_VHOST_PROTOCOL_F_BACKEND_REQ)

/*
 * The in-flight region (INFLIGHT_SHMFD), split-ring layout of the vhost-user
 * spec: per queue a 16-byte header (features, version, desc_num,
 * last_batch_head, used_idx) then one 16-byte state per descriptor; each
 * queue's region rounded up to INFLIGHT_ALIGN.
 */
#define INFLIGHT_ALIGN 64
#define INFLIGHT_VERSION 1

#define MSGS_PER_WAKEUP 64 /* requests handled before the loop serves others */
#define GSO_MAX_FRAME 65550
#define ETH_OVERHEAD 18 /* Ethernet header + one VLAN tag */

/* One virtqueue of the device, as the front-end set it up. */
struct vn_vring {
    struct vn_vhost_dev *vd;
    uint16_t index;
    struct vn_virtq vq;        /* the rings; the provider borrows it while started */
    uint32_t num;              /* SET_VRING_NUM; 0 until set */
    struct vn_vhost_vring_addr addr;
    bool has_addr;
    int kick_fd, call_fd, err_fd; /* owned; -1 when none */
    bool enabled;              /* SET_VRING_ENABLE */
    bool started;              /* handed to the provider */
    bool restart;              /* stopped for a change of memory or features: start it again */
    void *qpriv;               /* the provider's handle while started */
    int broken;                /* written by a provider thread (atomic): its guest error */
    int error;                 /* the error that stopped the ring; 0 = none; cleared on re-setup */
    bool iotlb_pending;        /* IOMMU_PLATFORM: its addresses wait for a translation */
    struct vn_dp_queue_stats acc; /* counters of the ring's finished runs */
};

struct vn_vhost_dev {
    struct vn_emu_fn up;
    struct vn_emu_spec spec;   /* what the function is (a copy) */
    struct vn_sfmgr *sfm;      /* borrowed: representor queues */
    const struct vn_conf_vhost_socket *sock_perms; /* borrowed, NULL: 0660, our group */
    struct ev_loop *loop;
    const struct vn_provider_ops *dp;
    void *dp_priv;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int listen_fd;
    ev_io listen_w;
    int conn_fd;               /* the front-end, -1 when none */
    ev_io conn_w;
    struct vn_vhost_conn client; /* client mode (spec.connect_path): connects to the front-end */
    bool destroying;           /* no reconnect after the last disconnect */
    ev_async err_w;            /* a provider thread reports a broken ring */

    /* Session state: what the current front-end set up. */
    bool owner;
    uint64_t features;         /* acked by SET_FEATURES */
    uint64_t protocol_features;
    uint8_t status;            /* the driver's status, plus NEEDS_RESET when a ring broke */
    struct vn_guest_mem mem;
    uint32_t nrings;           /* 2 * queue pairs */
    struct vn_vring *rings;    /* nrings entries */
    int *taps;                 /* representor queue fd per pair, -1 until a ring needs it */
    bool tap_configured;       /* vnet header size and offloads set for this session */
    int inflight_fd;           /* INFLIGHT_SHMFD region, -1 when none */
    void *inflight;            /* its mapping */
    size_t inflight_size;
    struct vn_dirty_log log;   /* live migration: SET_LOG_BASE's bitmap (emu_vhost_log.c) */
    struct vn_vhost_txrec txrec; /* which transmit chains reached the representor, across a
                                    crash (emu_vhost_txrec.c) */
    bool txrec_based;          /* resolved against the representor by this process */
    struct vn_vhost_iommu iotlb; /* IOMMU_PLATFORM: the device IOTLB (emu_vhost_iommu.c) */
    int log_fd;                /* the log's file, -1 when none: handed over by a live update */

    bool handed_over;          /* live update: another process owns the session now */
    bool adopt_pending;        /* live update: listening fd adopted, not served until import */
    bool socket_not_ours;      /* live update: the socket file belongs to the other process */
    uint64_t connections;      /* front-ends accepted */
    uint64_t rarps;            /* SEND_RARP announcements sent */
    struct vn_ratelimit conn_log_rl; /* the INFO lines of each connection: a peer
                                      * that reconnects in a loop must not flood the log */
    char last_error[160];      /* why the last connection was closed by us */
    bool peer_error_set;       /* a handler has set last_error for the current request */
};

/*
 * Per device, the INFO lines of its connections (connected, representor set
 * up, driver ready, disconnected: 4 each) pass 16 at once, then 1 a second.
 */
#define CONN_LOG_BURST 16
#define CONN_LOG_PER_SEC 1

/* ---- helpers ------------------------------------------------------------------------ */

static uint64_t offered_features(const struct vn_vhost_dev *vd)
{
    uint64_t f = vd->spec.features;

    if (vd->dp && vd->dp->features) {
        uint64_t mask = vd->dp->features(vd->dp_priv);

        if (mask)
            f &= mask;
        /* Live migration, when the datapath logs its writes (virtnet/provider.h). */
        if (mask & VN_PROVIDER_F_LOG_ALL)
            f |= VN_BIT(VN_VHOST_F_LOG_ALL);
    }
    return f | VN_BIT(VN_VHOST_USER_F_PROTOCOL_FEATURES);
}

static bool has_feature(const struct vn_vhost_dev *vd, unsigned bit)
{
    return vd->features & VN_BIT(bit);
}

static uint64_t offered_protocol_features(const struct vn_vhost_dev *vd)
{
    return PROTOCOL_FEATURES |
           (offered_features(vd) & VN_BIT(VIRTIO_F_ACCESS_PLATFORM) ? PROTOCOL_FEATURES_IOMMU : 0);
}

/* Virtio-net header bytes for the negotiated features. */
static uint32_t hdr_len(const struct vn_vhost_dev *vd)
{
    return has_feature(vd, VIRTIO_F_VERSION_1) || has_feature(vd, VIRTIO_NET_F_MRG_RXBUF) ? 12 : 10;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Records why we end the connection, logs it (rate-limited: the peer can repeat it). */
static void __attribute__((format(printf, 2, 3))) peer_error(struct vn_vhost_dev *vd,
                                                             const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(vd->last_error, sizeof(vd->last_error), fmt, ap);
    va_end(ap);
    vd->peer_error_set = true;
    VN_WARN_RL(VHOST, "%s: front-end disconnected: %s", vd->spec.vuid, vd->last_error);
}

/* ---- rings -------------------------------------------------------------------------- */

static void ring_stop(struct vn_vring *r)
{
    struct vn_vhost_dev *vd = r->vd;
    struct vn_dp_queue_stats fin;

    if (!r->started)
        return;
    memset(&fin, 0, sizeof(fin));
    vd->dp->queue_stop(vd->dp_priv, r->qpriv, &fin);
    vn_dp_queue_stats_add(&r->acc, &fin);
    vn_virtq_stop(&r->vq);
    r->started = false;
    r->qpriv = NULL;
    VN_DBG(VHOST, "%s: ring %u stopped at avail %u", vd->spec.vuid, r->index,
           vn_virtq_get_last_avail_idx(&r->vq));
}

/* Stops every running ring, marking it to be started again by rings_restart(). */
static void rings_stop_all(struct vn_vhost_dev *vd)
{
    for (uint32_t i = 0; i < vd->nrings; i++) {
        vd->rings[i].restart = vd->rings[i].started;
        ring_stop(&vd->rings[i]);
    }
}

/* Provider thread: ring 'index' broke.  Only atomics and ev_async_send() here. */
static void ring_error_cb(void *ctx, uint16_t index, int err)
{
    struct vn_vring *r = ctx;

    __atomic_store_n(&r->broken, err ? err : -EIO, __ATOMIC_RELEASE);
    ev_async_send(r->vd->loop, &r->vd->err_w);
}

/* Sets the representor's vnet header size and offloads for this session's features. */
static int tap_configure(struct vn_vhost_dev *vd, int fd)
{
    int hdr = (int)hdr_len(vd);
    unsigned int off = 0;

    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
        return -errno;
    /* What the driver accepts from us: the tap then hands over such frames unsegmented. */
    if (has_feature(vd, VIRTIO_NET_F_GUEST_CSUM)) {
        off |= TUN_F_CSUM;
        if (has_feature(vd, VIRTIO_NET_F_GUEST_TSO4))
            off |= TUN_F_TSO4;
        if (has_feature(vd, VIRTIO_NET_F_GUEST_TSO6))
            off |= TUN_F_TSO6;
        if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && has_feature(vd, VIRTIO_NET_F_GUEST_ECN))
            off |= TUN_F_TSO_ECN;
        if (has_feature(vd, VIRTIO_NET_F_GUEST_UFO))
            off |= TUN_F_UFO;
    }
    if (ioctl(fd, TUNSETOFFLOAD, off) < 0) {
        /* Kernels without UFO refuse the flag: do without it. */
        if (errno != EINVAL || !(off & TUN_F_UFO) || ioctl(fd, TUNSETOFFLOAD, off & ~TUN_F_UFO) < 0)
            return -errno;
        off &= ~TUN_F_UFO;
    }
    VN_LOG_RL_ON(&vd->conn_log_rl, VHOST, VN_LL_INFO,
                 "%s: representor %s: vnet header %d bytes, offloads 0x%x", vd->spec.vuid,
                 vd->spec.rep.ifname, hdr, off);
    return 0;
}

/* The representor queue of pair 'pair', opened (and the tap configured) on first use. */
static int tap_get(struct vn_vhost_dev *vd, uint32_t pair, int *fd_out)
{
    int fd, ret;

    if (vd->taps[pair] >= 0) {
        *fd_out = vd->taps[pair];
        return 0;
    }
    if (!vd->spec.rep.ifname[0])
        return -ENODEV;
    ret = vn_sfmgr_open_queue(vd->sfm, &vd->spec.rep, &fd);
    if (ret < 0)
        return ret;
    if (!vd->tap_configured) {
        ret = tap_configure(vd, fd);
        if (ret < 0) {
            close(fd);
            return ret;
        }
        vd->tap_configured = true;
    }
    vd->taps[pair] = fd;
    *fd_out = fd;
    return 0;
}

static void ring_moderation(const struct vn_vring *r, struct vn_dp_moderation *m)
{
    const struct vn_emu_spec *dev = &r->vd->spec;

    memset(m, 0, sizeof(*m));
    if (r->index < dev->max_queues) {
        m->mode = dev->queues[r->index].event_mode == VN_EVENT_ADAPTIVE ? VN_DP_MOD_ADAPTIVE
                                                                          : VN_DP_MOD_EVENT;
        m->period_us = dev->queues[r->index].period_us;
        m->max_count = dev->queues[r->index].max_count;
    }
}

/*
 * A ring that cannot run: stopped, NEEDS_RESET, its error eventfd signalled.
 * 'why' is logged; NULL when whoever decided has logged it already.
 */
static void ring_fail(struct vn_vring *r, int err, const char *why)
{
    struct vn_vhost_dev *vd = r->vd;

    ring_stop(r);
    r->error = err;
    vd->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    if (r->err_fd >= 0)
        (void)!eventfd_write(r->err_fd, 1);
    if (why)
        VN_ERR_RL(VHOST, "%s: ring %u stopped: %s; the device needs a reset", vd->spec.vuid,
                  r->index, why);
}

/*
 * Where ring 'r' resumes: at the driver's used index, past the transmit
 * chains an earlier process's record says went out (lib/virtq_inflight.h).
 * The first ring of this process to start resolves the record first.
 */
static void ring_resync(struct vn_vring *r)
{
    struct vn_vhost_dev *vd = r->vd;
    struct vn_virtq_resume_info ri;
    uint64_t rec, accepted = 0;

    if (!vd->txrec_based) {
        bool have = vn_sfmgr_rx_frames(vd->sfm, &vd->spec.rep, &accepted) == 0;

        vn_vhost_txrec_resolve(&vd->txrec, vd->spec.vuid, have, accepted);
        vd->txrec_based = true;
    }
    rec = vn_vhost_txrec_take(&vd->txrec, r->index);
    if (r->vq.packed) {
        r->vq.tx_rec = NULL; /* positions are a split-ring notion: a packed ring keeps none */
        return;
    }
    if (vn_virtq_resume(&r->vq, rec, &ri)) {
        VN_LOG_RL_ON(&vd->conn_log_rl, VHOST, VN_LL_INFO,
                     "%s: ring %u resumes at %u (was %u)%s", vd->spec.vuid, r->index, ri.to,
                     ri.from, ri.from_record ? ": the transmit record returned chains whose "
                                               "frames went out" : "");
        /* Chains returned here: the driver learns of them without waiting for traffic. */
        if (ri.from_record && r->call_fd >= 0)
            (void)!eventfd_write(r->call_fd, 1);
    }
    r->vq.tx_rec = vn_vhost_txrec_word(&vd->txrec, r->index, r->vq.last_avail_idx);
}

/*
 * Starts ring 'r' when everything it needs is there.  A ring the front-end
 * placed outside its own memory fails alone (NEEDS_RESET); a provider that
 * cannot take it leaves it stopped.  Never fails the connection.
 */
static void ring_try_start(struct vn_vring *r)
{
    struct vn_vhost_dev *vd = r->vd;
    const struct vn_emu_spec *dev = &vd->spec;
    struct vn_virtq_layout l;
    struct vn_dp_queue q;
    uint32_t mtu = VN_MAX(dev->mtu, dev->rep.mtu);
    int tap, ret;

    if (!r->started)
        r->iotlb_pending = false; /* set again below when the translation is still missing */
    if (r->started || r->error || !vd->dp || !vd->dp->queue_start || !vd->mem.nregions ||
        !r->has_addr || r->kick_fd < 0 || !r->num)
        return;
    if (has_feature(vd, VN_VHOST_USER_F_PROTOCOL_FEATURES) && !r->enabled)
        return;
    l.size = r->num;
    l.features = vd->features;
    l.desc_addr = r->addr.desc_user_addr;
    l.avail_addr = r->addr.avail_user_addr;
    l.used_addr = r->addr.used_user_addr;
    /* IOMMU_PLATFORM: the addresses are IOVAs; a missing translation was asked for. */
    ret = vn_virtq_set_addrs_iotlb(&r->vq, &vd->mem,
                                   has_feature(vd, VIRTIO_F_ACCESS_PLATFORM) ? &vd->iotlb.tlb : NULL,
                                   &l);
    r->iotlb_pending = ret == -ENOENT;
    if (ret == -ENOENT) {
        VN_DBG(VHOST, "%s: ring %u waits for the translation of its addresses (IOTLB miss)",
               dev->vuid, r->index);
        return;
    }
    /* Live migration: the ring logs its writes (those of the resume too) while asked to. */
    if (ret == 0 && has_feature(vd, VN_VHOST_F_LOG_ALL) && vn_dirty_log_is_mapped(&vd->log))
        ret = vn_virtq_set_log(&r->vq, &vd->log);
    if (ret == 0)
        ring_resync(r);
    if (ret < 0) {
        vn_virtq_stop(&r->vq);
        ring_fail(r, ret, ret == -EFAULT   ? "ring addresses outside guest memory"
                          : ret == -EACCES ? "ring addresses the vIOMMU does not let the device use"
                                           : "misaligned ring addresses");
        return;
    }
    ret = tap_get(vd, r->index / 2, &tap);
    if (ret < 0) {
        vn_virtq_stop(&r->vq);
        VN_ERR(VHOST, "%s: ring %u: cannot open a queue of representor %s: %s", dev->vuid,
               r->index, dev->rep.ifname, strerror(-ret));
        return;
    }
    memset(&q, 0, sizeof(q));
    q.dev_name = dev->vuid;
    q.index = r->index;
    q.is_tx = r->index & 1;
    q.kind = r->vq.packed ? VN_DP_RING_SW_PACKED : VN_DP_RING_SW_SPLIT;
    q.ring.sw.vq = &r->vq;
    q.ring.sw.size = r->num;
    q.ring.sw.features = vd->features;
    q.ring.sw.last_avail_idx = vn_virtq_get_last_avail_idx(&r->vq);
    q.kick_fd = r->kick_fd;
    q.call_fd = r->call_fd;
    q.tap_fd = tap;
    q.hdr_len = hdr_len(vd);
    q.mrg_rxbuf = has_feature(vd, VIRTIO_NET_F_MRG_RXBUF);
    q.mtu = dev->mtu;
    q.max_rx_len = q.hdr_len + (has_feature(vd, VIRTIO_NET_F_GUEST_TSO4) ||
                                        has_feature(vd, VIRTIO_NET_F_GUEST_TSO6) ||
                                        has_feature(vd, VIRTIO_NET_F_GUEST_UFO)
                                    ? GSO_MAX_FRAME
                                    : mtu + ETH_OVERHEAD);
    ring_moderation(r, &q.mod);
    q.on_error = ring_error_cb;
    q.error_ctx = r;
    ret = vd->dp->queue_start(vd->dp_priv, &q, &r->qpriv);
    if (ret < 0) {
        vn_virtq_stop(&r->vq);
        VN_ERR(VHOST, "%s: ring %u: the provider cannot start it: %s", dev->vuid, r->index,
               strerror(-ret));
        return;
    }
    r->started = true;
    VN_DBG(VHOST, "%s: ring %u running (size %u, avail %u) on representor queue %u", dev->vuid,
           r->index, r->num, vn_virtq_get_last_avail_idx(&r->vq), r->index / 2);
}

/* Starts the rings rings_stop_all() stopped. */
static void rings_restart(struct vn_vhost_dev *vd)
{
    for (uint32_t i = 0; i < vd->nrings; i++) {
        if (vd->rings[i].restart)
            ring_try_start(&vd->rings[i]);
        vd->rings[i].restart = false;
    }
}

/* Forgets everything the front-end set up for 'r' (counters stay). */
static void ring_reset(struct vn_vring *r)
{
    ring_stop(r);
    close_fd(&r->kick_fd);
    close_fd(&r->call_fd);
    close_fd(&r->err_fd);
    vn_virtq_stop(&r->vq);
    vn_virtq_init(&r->vq);
    r->num = 0;
    r->has_addr = false;
    r->enabled = false;
    r->error = 0;
    r->iotlb_pending = false;
    __atomic_store_n(&r->broken, 0, __ATOMIC_RELAXED);
}

static void inflight_release(struct vn_vhost_dev *vd)
{
    if (vd->inflight)
        munmap(vd->inflight, vd->inflight_size);
    vd->inflight = NULL;
    vd->inflight_size = 0;
    close_fd(&vd->inflight_fd);
}

/* Back to the state of a fresh connection (RESET_OWNER, RESET_DEVICE, disconnect). */
static void session_reset(struct vn_vhost_dev *vd)
{
    for (uint32_t i = 0; i < vd->nrings; i++)
        ring_reset(&vd->rings[i]);
    for (uint32_t i = 0; i < vd->nrings / 2; i++)
        close_fd(&vd->taps[i]);
    vn_guest_mem_clear(&vd->mem);
    inflight_release(vd);
    vn_dirty_log_unmap(&vd->log);
    vn_vhost_iommu_reset(&vd->iotlb);
    close_fd(&vd->log_fd);
    vd->owner = false;
    vd->features = 0;
    vd->protocol_features = 0;
    vd->status = 0;
    vd->tap_configured = false;
}

static void disconnect(struct vn_vhost_dev *vd)
{
    if (vd->conn_fd < 0)
        return;
    session_reset(vd);
    ev_io_stop(vd->loop, &vd->conn_w);
    close_fd(&vd->conn_fd);
    /* Client mode: the front-end went (or we dropped it): connect again. */
    if (vd->spec.connect_path[0] && !vd->handed_over && !vd->destroying)
        vn_vhost_conn_retry(&vd->client);
}

/* Main thread: rings a provider thread reported broken. */
static void err_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    struct vn_vhost_dev *vd = vn_container_of(w, struct vn_vhost_dev, err_w);

    for (uint32_t i = 0; i < vd->nrings; i++) {
        struct vn_vring *r = &vd->rings[i];
        int err = __atomic_exchange_n(&r->broken, 0, __ATOMIC_ACQUIRE);

        if (err && r->started)
            ring_fail(r, err, NULL); /* the provider logged it */
    }
}

/* ---- handlers ------------------------------------------------------------------------ */

typedef int vhost_handler_fn(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg);

static int reply_u64(struct vn_vhost_dev *vd, const struct vn_vhost_msg *msg, uint64_t v)
{
    return vn_vhost_send_reply(vd->conn_fd, msg, &v, sizeof(v));
}

static int h_get_features(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    return reply_u64(vd, msg, offered_features(vd));
}

static int h_set_features(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    uint64_t f = msg->payload.u64, extra = f & ~offered_features(vd);

    if (extra) {
        peer_error(vd, "SET_FEATURES with bits 0x%" PRIx64 " the device does not offer", extra);
        return -EINVAL;
    }
    VN_DBG(VHOST, "%s: features 0x%" PRIx64 " acked", vd->spec.vuid, f);
    if (f == vd->features)
        return 0;
    /* Rings use the features (event index, header size): restart the running ones. */
    rings_stop_all(vd);
    vd->features = f;
    vd->tap_configured = false;
    for (uint32_t i = 0; i < vd->nrings / 2; i++)
        if (vd->taps[i] >= 0 && !vd->tap_configured && tap_configure(vd, vd->taps[i]) == 0)
            vd->tap_configured = true;
    rings_restart(vd);
    return 0;
}

static int h_set_owner(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    vd->owner = true;
    return 0;
}

static int h_reset(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    bool owner = vd->owner;

    session_reset(vd);
    /* RESET_DEVICE keeps the session's owner; RESET_OWNER gives it up. */
    vd->owner = msg->hdr.request == VN_VHOST_USER_RESET_DEVICE && owner;
    return 0;
}

static int h_get_protocol_features(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    return reply_u64(vd, msg, offered_protocol_features(vd));
}

static int h_set_protocol_features(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    uint64_t extra = msg->payload.u64 & ~offered_protocol_features(vd);

    if (extra) {
        peer_error(vd, "SET_PROTOCOL_FEATURES with bits 0x%" PRIx64 " not offered", extra);
        return -EINVAL;
    }
    vd->protocol_features = msg->payload.u64;
    return 0;
}

static int h_get_queue_num(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    return reply_u64(vd, msg, vd->nrings / 2);
}

static int h_get_max_mem_slots(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    return reply_u64(vd, msg, VN_GUEST_MEM_MAX_REGIONS);
}

static void region_info(const struct vn_vhost_mem_region *w, struct vn_mem_region_info *r)
{
    r->gpa = w->guest_phys_addr;
    r->size = w->memory_size;
    r->uva = w->userspace_addr;
    r->mmap_offset = w->mmap_offset;
}

static int mem_error(struct vn_vhost_dev *vd, const char *what, int ret)
{
    peer_error(vd, "%s refused: %s", what, strerror(-ret));
    return ret;
}

static int h_set_mem_table(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    const struct vn_vhost_memory *m = &msg->payload.memory;
    struct vn_mem_region_info info[VN_VHOST_MEMORY_MAX_NREGIONS];
    int fds[VN_VHOST_MEMORY_MAX_NREGIONS];
    int ret;

    for (uint32_t i = 0; i < m->nregions; i++) {
        region_info(&m->regions[i], &info[i]);
        fds[i] = vn_vhost_msg_take_fd(msg, i);
    }
    /* Rings point into the old table: stop them first, restart them on the new one. */
    rings_stop_all(vd);
    ret = vn_guest_mem_replace(&vd->mem, info, fds, m->nregions);
    if (ret < 0)
        return mem_error(vd, "SET_MEM_TABLE", ret);
    VN_DBG(VHOST, "%s: memory table: %u regions", vd->spec.vuid, m->nregions);
    rings_restart(vd);
    return 0;
}

static int h_add_mem_reg(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_mem_region_info info;
    int ret;

    region_info(&msg->payload.mem_reg.region, &info);
    rings_stop_all(vd);
    ret = vn_guest_mem_add(&vd->mem, &info, vn_vhost_msg_take_fd(msg, 0));
    if (ret < 0)
        return mem_error(vd, "ADD_MEM_REG", ret);
    rings_restart(vd);
    return 0;
}

static int h_rem_mem_reg(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_mem_region_info info;
    int ret;

    region_info(&msg->payload.mem_reg.region, &info);
    rings_stop_all(vd);
    ret = vn_guest_mem_remove(&vd->mem, &info);
    if (ret < 0)
        return mem_error(vd, "REM_MEM_REG", ret);
    rings_restart(vd);
    return 0;
}

/* The ring a request names; dispatch() has checked the index. */
static struct vn_vring *msg_ring(struct vn_vhost_dev *vd, const struct vn_vhost_msg *msg)
{
    uint32_t idx = 0;

    vn_vhost_msg_vring_index(msg, vd->nrings, &idx);
    return &vd->rings[idx];
}

static int h_set_vring_num(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_vring *r = msg_ring(vd, msg);
    uint32_t num = msg->payload.state.num;

    if (num == 0 || num > vd->spec.max_queue_size || (num & (num - 1))) {
        peer_error(vd, "ring %u: size %u refused (a power of two up to the device's %u)",
                   r->index, num, vd->spec.max_queue_size);
        return -ERANGE;
    }
    if (r->started) {
        peer_error(vd, "ring %u: SET_VRING_NUM while the ring runs", r->index);
        return -EBUSY;
    }
    r->num = num;
    return 0;
}

static int h_set_vring_addr(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_vring *r = msg_ring(vd, msg);

    /* Used-ring logging goes with LOG_ALL; the ring's guest address comes from the memory table. */
    if ((msg->payload.addr.flags & (1u << VN_VHOST_VRING_F_LOG)) &&
        !(offered_features(vd) & VN_BIT(VN_VHOST_F_LOG_ALL))) {
        peer_error(vd, "ring %u: used-ring logging asked for, not offered", r->index);
        return -EOPNOTSUPP;
    }
    ring_stop(r);
    r->addr = msg->payload.addr;
    r->has_addr = true;
    /* New addresses: a ring that broke may run again. */
    r->error = 0;
    ring_try_start(r);
    return 0;
}

static int h_set_vring_base(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_vring *r = msg_ring(vd, msg);

    /* Packed: the used state rides in the upper 16 bits (QEMU); see below. */
    if (msg->payload.state.num > UINT16_MAX && !has_feature(vd, VIRTIO_F_RING_PACKED)) {
        peer_error(vd, "ring %u: base %u out of range", r->index, msg->payload.state.num);
        return -ERANGE;
    }
    if (r->started) {
        peer_error(vd, "ring %u: SET_VRING_BASE while the ring runs", r->index);
        return -EBUSY;
    }
    if (has_feature(vd, VIRTIO_F_RING_PACKED)) {
        uint16_t idx;

        /*
         * Packed: avail slot | wrap counter << 15 in the lower half, for the
         * ring size set before; QEMU puts the used slot and counter in the
         * upper half (DPDK virtio-user leaves it 0).  Nothing is in flight on
         * a resume: the used state is the avail state, so only that is read.
         */
        if (vn_virtq_packed_idx(msg->payload.state.num & 0xffff, r->num, &idx) < 0) {
            peer_error(vd, "ring %u: packed base 0x%x does not fit a ring of %u", r->index,
                       msg->payload.state.num, r->num);
            return -ERANGE;
        }
        vn_virtq_set_last_avail_idx(&r->vq, idx);
        return 0;
    }
    vn_virtq_set_last_avail_idx(&r->vq, (uint16_t)msg->payload.state.num);
    return 0;
}

static int h_get_vring_base(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_vring *r = msg_ring(vd, msg);
    struct vn_vhost_vring_state st = { .index = r->index };

    /* The ring stops here and runs again only after a new SET_VRING_KICK. */
    ring_stop(r);
    close_fd(&r->kick_fd);
    r->iotlb_pending = false;
    st.num = vn_virtq_get_last_avail_idx(&r->vq);
    /* Packed: avail and used state (equal: nothing in flight), as QEMU reads them. */
    if (has_feature(vd, VIRTIO_F_RING_PACKED) && r->num) {
        st.num = vn_virtq_packed_base((uint16_t)st.num, r->num);
        st.num |= st.num << 16;
    }
    return vn_vhost_send_reply(vd->conn_fd, msg, &st, sizeof(st));
}

/* SET_VRING_KICK / CALL / ERR: the fd the message carries, or -1 with NOFD. */
static int msg_vring_fd(struct vn_vhost_msg *msg)
{
    return msg->payload.u64 & VN_VHOST_VRING_NOFD ? -1 : vn_vhost_msg_take_fd(msg, 0);
}

static int h_set_vring_kick(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_vring *r = msg_ring(vd, msg);

    if (msg->payload.u64 & VN_VHOST_VRING_NOFD) {
        peer_error(vd, "ring %u: polling without a kick fd is not supported", r->index);
        return -EOPNOTSUPP;
    }
    ring_stop(r);
    close_fd(&r->kick_fd);
    r->kick_fd = msg_vring_fd(msg);
    ring_try_start(r);
    return 0;
}

static int h_set_vring_call(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_vring *r = msg_ring(vd, msg);
    bool was = r->started;

    /* The provider holds the old fd while it runs: swap it while stopped. */
    ring_stop(r);
    close_fd(&r->call_fd);
    r->call_fd = msg_vring_fd(msg);
    if (was)
        ring_try_start(r);
    return 0;
}

static int h_set_vring_err(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_vring *r = msg_ring(vd, msg);

    close_fd(&r->err_fd);
    r->err_fd = msg_vring_fd(msg);
    return 0;
}

static int h_set_vring_enable(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_vring *r = msg_ring(vd, msg);

    r->enabled = msg->payload.state.num;
    if (r->enabled)
        ring_try_start(r);
    else
        ring_stop(r);
    return 0;
}

static int h_net_set_mtu(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    if (msg->payload.u64 != vd->spec.mtu) {
        peer_error(vd, "NET_SET_MTU %" PRIu64 " refused: the device's MTU is %u",
                   msg->payload.u64, vd->spec.mtu);
        return -EINVAL;
    }
    return 0;
}

static int h_set_status(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    uint64_t s = msg->payload.u64;

    if (s > UINT8_MAX) {
        peer_error(vd, "SET_STATUS 0x%" PRIx64 " out of range", s);
        return -ERANGE;
    }
    if (s == 0) {
        /* Device reset: the rings stop and may be set up again; broken ones too. */
        for (uint32_t i = 0; i < vd->nrings; i++) {
            ring_stop(&vd->rings[i]);
            vd->rings[i].error = 0;
        }
        vd->status = 0;
        VN_DBG(VHOST, "%s: driver reset the device", vd->spec.vuid);
        return 0;
    }
    vd->status = (uint8_t)((s & ~(uint64_t)VIRTIO_CONFIG_S_NEEDS_RESET) |
                           (vd->status & VIRTIO_CONFIG_S_NEEDS_RESET));
    if (s & VIRTIO_CONFIG_S_DRIVER_OK)
        VN_LOG_RL_ON(&vd->conn_log_rl, VHOST, VN_LL_INFO, "%s: driver ready (features 0x%" PRIx64 ")",
                     vd->spec.vuid, vd->features);
    return 0;
}

/* Bytes of one queue's in-flight region for rings of 'queue_size' descriptors. */
static size_t inflight_queue_bytes(uint16_t queue_size)
{
    return (16 + 16 * (size_t)queue_size + INFLIGHT_ALIGN - 1) / INFLIGHT_ALIGN * INFLIGHT_ALIGN;
}

/* Checks the geometry a front-end asks for or hands back; 0 or -EINVAL. */
static int inflight_check(struct vn_vhost_dev *vd, const struct vn_vhost_inflight *in)
{
    uint16_t qs = in->queue_size;

    if (in->num_queues == 0 || in->num_queues > vd->nrings || qs == 0 ||
        qs > vd->spec.max_queue_size || (qs & (qs - 1))) {
        peer_error(vd, "in-flight region for %u queues of %u descriptors refused "
                       "(the device has %u rings of at most %u)",
                   in->num_queues, qs, vd->nrings, vd->spec.max_queue_size);
        return -EINVAL;
    }
    return 0;
}

/*
 * The sw provider never leaves a descriptor in flight when a ring stops
 * (transmit chains complete within a round, receive chains held are given
 * back), so the region only ever says "nothing in flight"; it is kept so a
 * front-end that reconnects (or a new controller) gets it back as the spec
 * expects.
 */
static int h_get_inflight_fd(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    struct vn_vhost_inflight in = msg->payload.inflight;
    size_t qbytes;
    void *p;
    int fd, ret;

    ret = inflight_check(vd, &in);
    if (ret < 0)
        return ret;
    qbytes = inflight_queue_bytes(in.queue_size);
    fd = memfd_create("virtnet-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)(qbytes * in.num_queues)) < 0 ||
        (p = mmap(NULL, qbytes * in.num_queues, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
            MAP_FAILED) {
        ret = -errno;
        close(fd);
        return ret;
    }
    /* The front-end keeps the fd; its size must not change under either side. */
    (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    for (uint16_t q = 0; q < in.num_queues; q++) {
        uint8_t *region = (uint8_t *)p + q * qbytes;
        uint16_t v = INFLIGHT_VERSION, n = in.queue_size;

        memcpy(region + 8, &v, sizeof(v));
        memcpy(region + 10, &n, sizeof(n));
    }
    inflight_release(vd);
    vd->inflight_fd = fd;
    vd->inflight = p;
    vd->inflight_size = qbytes * in.num_queues;
    in.mmap_size = vd->inflight_size;
    in.mmap_offset = 0;
    return vn_vhost_send_reply_fds(vd->conn_fd, msg, &in, sizeof(in), &fd, 1);
}

static int h_set_inflight_fd(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    const struct vn_vhost_inflight *in = &msg->payload.inflight;
    struct stat st;
    void *p;
    int fd, ret;

    ret = inflight_check(vd, in);
    if (ret < 0)
        return ret;
    if (in->mmap_size < inflight_queue_bytes(in->queue_size) * in->num_queues ||
        in->mmap_size > SIZE_MAX / 2 || in->mmap_offset > SIZE_MAX / 2 ||
        in->mmap_offset % (uint64_t)sysconf(_SC_PAGESIZE)) {
        peer_error(vd, "in-flight region of %" PRIu64 " bytes at %" PRIu64
                       " does not fit %u queues of %u descriptors",
                   in->mmap_size, in->mmap_offset, in->num_queues, in->queue_size);
        return -EINVAL;
    }
    fd = vn_vhost_msg_take_fd(msg, 0);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size < in->mmap_offset + in->mmap_size) {
        if (fd >= 0)
            close(fd);
        peer_error(vd, "SET_INFLIGHT_FD without a shared memory fd covering the region");
        return -EINVAL;
    }
    p = mmap(NULL, in->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)in->mmap_offset);
    if (p == MAP_FAILED) {
        ret = -errno;
        close(fd);
        return ret;
    }
    inflight_release(vd);
    vd->inflight_fd = fd;
    vd->inflight = p;
    vd->inflight_size = in->mmap_size;
    return 0;
}

/* Live migration (emu_vhost_log.c): the log is swapped while the rings are stopped. */
static int h_set_log_base(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    char why[160];
    int ret;

    if (!(vd->protocol_features & VN_BIT(VN_VHOST_PROTOCOL_F_LOG_SHMFD))) {
        peer_error(vd, "SET_LOG_BASE without VHOST_USER_PROTOCOL_F_LOG_SHMFD");
        return -EPROTO;
    }
    rings_stop_all(vd);
    ret = vn_vhost_log_set_base(&vd->log, &vd->log_fd, msg, why, sizeof(why));
    rings_restart(vd);
    if (ret < 0) {
        peer_error(vd, "%s", why);
        return ret;
    }
    VN_INFO(VHOST, "%s: dirty-page log of %" PRIu64 " bytes mapped", vd->spec.vuid, vd->log.size);
    /* The front-end waits for a reply without a payload (as QEMU reads it). */
    return vn_vhost_send_reply(vd->conn_fd, msg, &msg->payload, 0);
}

/* The kernel vhost's log eventfd: vhost-user logs through the shared bitmap only. */
static int h_set_log_fd(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    VN_DBG(VHOST, "%s: SET_LOG_FD: not used (the log is the LOG_SHMFD bitmap)", vd->spec.vuid);
    return 0;
}

static int h_send_rarp(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    uint8_t mac[6];
    int tap, ret;

    if (!(vd->protocol_features & VN_BIT(VN_VHOST_PROTOCOL_F_RARP))) {
        peer_error(vd, "SEND_RARP without VHOST_USER_PROTOCOL_F_RARP");
        return -EPROTO;
    }
    vn_vhost_rarp_mac(msg, mac);
    ret = tap_get(vd, 0, &tap);
    if (ret == 0)
        ret = vn_vhost_rarp_send(tap, hdr_len(vd), mac);
    /* Not the front-end's fault: keep the connection. */
    if (ret < 0)
        VN_WARN(VHOST, "%s: cannot announce the guest after a migration: %s", vd->spec.vuid,
                strerror(-ret));
    else
        VN_INFO(VHOST, "%s: RARP sent for %02x:%02x:%02x:%02x:%02x:%02x (guest migrated here)",
                vd->spec.vuid, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    vd->rarps += ret == 0;
    return 0;
}

static int h_get_status(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    return reply_u64(vd, msg, vd->status);
}

/* ---- IOMMU_PLATFORM (emu_vhost_iommu.c) ---------------------------------------------- */

/*
 * The IOTLB changed or lost misses: rings waiting for the translation of
 * their addresses try to start, running rings waiting for a buffer's are
 * kicked (the datapath looks at the ring again).
 */
static void rings_iotlb_retry(void *ctx)
{
    struct vn_vhost_dev *vd = ctx;

    for (uint32_t i = 0; i < vd->nrings; i++) {
        struct vn_vring *r = &vd->rings[i];

        if (r->iotlb_pending)
            ring_try_start(r);
        else if (r->started && __atomic_load_n(&r->vq.iotlb_wait, __ATOMIC_RELAXED))
            (void)!eventfd_write(r->kick_fd, 1);
    }
}

static int h_set_backend_req_fd(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    int ret;

    if (!(vd->protocol_features & VN_BIT(VN_VHOST_PROTOCOL_F_BACKEND_REQ))) {
        peer_error(vd, "SET_BACKEND_REQ_FD without VHOST_USER_PROTOCOL_F_BACKEND_REQ");
        return -EPROTO;
    }
    ret = vn_vhost_iommu_set_backend_fd(&vd->iotlb, vn_vhost_msg_take_fd(msg, 0));
    if (ret < 0)
        return ret;
    VN_DBG(VHOST, "%s: back-end request channel set", vd->spec.vuid);
    return 0;
}

static int h_iotlb_msg(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    unsigned removed = 0;
    char why[160];
    int ret;

    if (!(offered_features(vd) & VN_BIT(VIRTIO_F_ACCESS_PLATFORM))) {
        peer_error(vd, "IOTLB_MSG to a device without VIRTIO_F_IOMMU_PLATFORM");
        return -EPROTO;
    }
    ret = vn_vhost_iommu_msg(&vd->iotlb, &vd->mem, &msg->payload.iotlb, &removed, why,
                             sizeof(why));
    if (ret < 0) {
        peer_error(vd, "%s", why);
        return ret;
    }
    /*
     * Translations the datapath holds (chains being moved, receive buffers
     * taken ahead) may be among the ones gone: the rings give them back and
     * translate again before we answer.
     */
    if (removed) {
        rings_stop_all(vd);
        rings_restart(vd);
    } else if (msg->payload.iotlb.type == VN_VHOST_IOTLB_UPDATE) {
        rings_iotlb_retry(vd);
    }
    return reply_u64(vd, msg, 0);
}

/*
 * The dispatch table.  before_owner: allowed before SET_OWNER (what QEMU and
 * virtio-user ask while they probe the back-end; and what DPDK virtio-user in
 * server mode sends first to a back-end that (re)connects while its driver
 * runs: SET_VRING_ENABLE 0 and GET_VRING_BASE of every ring, to stop them).  needs_mem: only with a
 * memory table.  A request without a handler is refused: everything it
 * needs was not offered (LOG_SHMFD, CONFIG, ...).
 */
struct vhost_handler {
    vhost_handler_fn *fn;
    bool before_owner;
    bool needs_mem;
};

static const struct vhost_handler handlers[VN_VHOST_USER_MAX_REQUEST] = {
    [VN_VHOST_USER_GET_FEATURES] = { h_get_features, true, false },
    [VN_VHOST_USER_SET_FEATURES] = { h_set_features, false, false },
    [VN_VHOST_USER_SET_OWNER] = { h_set_owner, true, false },
    [VN_VHOST_USER_RESET_OWNER] = { h_reset, true, false },
    [VN_VHOST_USER_RESET_DEVICE] = { h_reset, false, false },
    [VN_VHOST_USER_GET_PROTOCOL_FEATURES] = { h_get_protocol_features, true, false },
    [VN_VHOST_USER_SET_PROTOCOL_FEATURES] = { h_set_protocol_features, true, false },
    [VN_VHOST_USER_GET_QUEUE_NUM] = { h_get_queue_num, true, false },
    [VN_VHOST_USER_GET_MAX_MEM_SLOTS] = { h_get_max_mem_slots, true, false },
    [VN_VHOST_USER_SET_MEM_TABLE] = { h_set_mem_table, false, false },
    [VN_VHOST_USER_ADD_MEM_REG] = { h_add_mem_reg, false, false },
    [VN_VHOST_USER_REM_MEM_REG] = { h_rem_mem_reg, false, true },
    [VN_VHOST_USER_SET_VRING_NUM] = { h_set_vring_num, false, false },
    [VN_VHOST_USER_SET_VRING_ADDR] = { h_set_vring_addr, false, false },
    [VN_VHOST_USER_SET_VRING_BASE] = { h_set_vring_base, false, false },
    [VN_VHOST_USER_GET_VRING_BASE] = { h_get_vring_base, true, false },
    [VN_VHOST_USER_SET_VRING_KICK] = { h_set_vring_kick, false, false },
    [VN_VHOST_USER_SET_VRING_CALL] = { h_set_vring_call, false, false },
    [VN_VHOST_USER_SET_VRING_ERR] = { h_set_vring_err, false, false },
    [VN_VHOST_USER_SET_VRING_ENABLE] = { h_set_vring_enable, true, false },
    [VN_VHOST_USER_NET_SET_MTU] = { h_net_set_mtu, false, false },
    [VN_VHOST_USER_SET_STATUS] = { h_set_status, true, false },
    [VN_VHOST_USER_GET_STATUS] = { h_get_status, true, false },
    [VN_VHOST_USER_GET_INFLIGHT_FD] = { h_get_inflight_fd, false, false },
    [VN_VHOST_USER_SET_INFLIGHT_FD] = { h_set_inflight_fd, false, false },
    [VN_VHOST_USER_SET_LOG_BASE] = { h_set_log_base, false, false },
    [VN_VHOST_USER_SET_LOG_FD] = { h_set_log_fd, false, false },
    [VN_VHOST_USER_SEND_RARP] = { h_send_rarp, false, false },
    [VN_VHOST_USER_SET_BACKEND_REQ_FD] = { h_set_backend_req_fd, true, false }, /* QEMU: before SET_OWNER */
    [VN_VHOST_USER_IOTLB_MSG] = { h_iotlb_msg, false, true },
};

/* The checks every request shares, then its handler.  Returns the handler's result. */
static int dispatch(struct vn_vhost_dev *vd, struct vn_vhost_msg *msg)
{
    uint32_t req = msg->hdr.request, idx;
    const char *name = vn_vhost_req_name(req);
    const struct vhost_handler *h = req < VN_VHOST_USER_MAX_REQUEST ? &handlers[req] : NULL;
    int ret;

    VN_DBG(VHOST, "%s: %s (%u bytes, %u fds)", vd->spec.vuid, name, msg->hdr.size, msg->nfds);
    if (!h || !h->fn) {
        peer_error(vd, "%s is not supported by this back-end (not offered)", name);
        ret = -EOPNOTSUPP;
        goto out;
    }
    if (!vd->owner && !h->before_owner) {
        peer_error(vd, "%s before SET_OWNER", name);
        ret = -EPERM;
        goto out;
    }
    if (h->needs_mem && !vd->mem.nregions) {
        peer_error(vd, "%s without a memory table", name);
        ret = -EINVAL;
        goto out;
    }
    ret = vn_vhost_msg_vring_index(msg, vd->nrings, &idx);
    if (ret == -ERANGE) {
        peer_error(vd, "%s for a ring out of range: the device has %u rings (%u queue pairs)",
                   name, vd->nrings, vd->nrings / 2);
        goto out;
    }
    ret = h->fn(vd, msg);
    if (ret < 0 && !vd->peer_error_set)
        peer_error(vd, "%s failed: %s", name, strerror(-ret));
out:
    if (vn_vhost_msg_needs_ack(msg)) {
        int r = vn_vhost_send_ack(vd->conn_fd, msg, ret);

        if (r < 0 && ret == 0)
            ret = r;
    }
    return ret;
}

/* ---- sockets ------------------------------------------------------------------------- */

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct vn_vhost_dev *vd = vn_container_of(w, struct vn_vhost_dev, conn_w);

    for (int i = 0; i < MSGS_PER_WAKEUP; i++) {
        struct vn_vhost_msg msg;
        int ret = vn_vhost_recv_msg(vd->conn_fd, &msg);

        if (ret == -EAGAIN)
            return;
        if (ret < 0) {
            if (ret == -ECONNRESET) {
                VN_LOG_RL_ON(&vd->conn_log_rl, VHOST, VN_LL_INFO, "%s: front-end disconnected",
                             vd->spec.vuid);
            } else {
                peer_error(vd, "bad message: %s", strerror(-ret));
            }
            disconnect(vd);
            return;
        }
        vd->peer_error_set = false;
        ret = dispatch(vd, &msg);
        vn_vhost_msg_close_fds(&msg);
        if (ret < 0) {
            disconnect(vd);
            return;
        }
    }
}

/* A front-end is connected on 'fd' (ours): its session starts. */
static void conn_attach(struct vn_vhost_dev *vd, int fd)
{
    vd->conn_fd = fd;
    vd->connections++;
    /* Client mode: the front-end whose socket we connected to owns the device; one that
       listens (DPDK virtio-user server=1) sends SET_OWNER once in its life, not to a
       back-end that reconnects. */
    vd->owner = vd->spec.connect_path[0] != 0;
    ev_io_init(&vd->conn_w, conn_cb, fd, EV_READ);
    ev_io_start(vd->loop, &vd->conn_w);
    VN_LOG_RL_ON(&vd->conn_log_rl, VHOST, VN_LL_INFO, "%s: front-end connected on %s%s",
                 vd->spec.vuid, vd->path, vd->spec.connect_path[0] ? " (client mode)" : "");
}

static void listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct vn_vhost_dev *vd = vn_container_of(w, struct vn_vhost_dev, listen_w);
    int fd = accept4(vd->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            VN_WARN_RL(VHOST, "%s: accept: %s", vd->spec.vuid, strerror(errno));
        return;
    }
    if (vd->conn_fd >= 0) {
        VN_WARN_RL(VHOST, "%s: a second front-end was refused: one is connected already",
                   vd->spec.vuid);
        close(fd);
        return;
    }
    conn_attach(vd, fd);
}

/* Client mode: connected to the front-end's socket ('fd' is ours). */
static void client_connected_cb(struct vn_vhost_conn *c, int fd)
{
    struct vn_vhost_dev *vd = vn_container_of(c, struct vn_vhost_dev, client);

    if (vd->conn_fd >= 0) {
        close(fd);
        return;
    }
    conn_attach(vd, fd);
}

/* Serves requests again: accepts (server mode) or connects (client mode, when not connected). */
static void serve(struct vn_vhost_dev *vd)
{
    if (!vd->spec.connect_path[0])
        ev_io_start(vd->loop, &vd->listen_w);
    else if (vd->conn_fd < 0)
        vn_vhost_conn_start(&vd->client);
}

/* Creates 'dir' (0750) if needed and checks it is a directory.  Returns 0 or -errno. */
static int dir_prepare(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        return -errno;
    if (stat(dir, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Binds and listens on vd->path; replaces a stale socket, leaves anything else alone. */
static int listen_open(struct vn_vhost_dev *vd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, ret;

    memcpy(sa.sun_path, vd->path, strlen(vd->path) + 1);
    if (lstat(vd->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return -EEXIST;
        /* Left by an earlier run (the state dir is locked: no other controller uses it). */
        if (unlink(vd->path) < 0)
            return -errno;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        ret = -errno;
        goto err_close;
    }
    if (chmod(vd->path, 0660) < 0 || listen(fd, 4) < 0) {
        ret = -errno;
        goto err_unlink;
    }
    if (vd->sock_perms) {
        char err[256];

        ret = vn_sock_apply_perms(vd->path, vd->sock_perms, err, sizeof(err));
        if (ret < 0) {
            VN_ERR(VHOST, "%s: %s", vd->spec.vuid, err);
            goto err_unlink;
        }
    }
    vd->listen_fd = fd;
    return 0;

err_unlink:
    unlink(vd->path);
err_close:
    close(fd);
    return ret;
}

static int vhost_create(struct vn_emu *emu, const struct vn_emu_spec *spec,
                        struct vn_emu_fn **out)
{
    const struct vn_emu_env *cfg = &emu->env;
    const struct vn_emu_spec *dev = spec;
    struct vn_vhost_dev *vd = calloc(1, sizeof(*vd));
    int ret = -ENOMEM;

    if (!vd)
        return -ENOMEM;
    vd->spec = *spec;
    vd->conn_log_rl = (struct vn_ratelimit)VN_RATELIMIT_INIT(CONN_LOG_PER_SEC, CONN_LOG_BURST);
    vd->sfm = cfg->sfm;
    vd->sock_perms = cfg->sock_perms;
    vd->loop = cfg->loop;
    vd->dp = cfg->dp;
    vd->dp_priv = cfg->dp_priv;
    vd->listen_fd = -1;
    vd->conn_fd = -1;
    vd->inflight_fd = -1;
    vn_dirty_log_init(&vd->log);
    vd->log_fd = -1;
    vn_guest_mem_init(&vd->mem);
    vd->nrings = 2 * VN_MAX(1u, dev->max_queues / 2);
    vd->rings = calloc(vd->nrings, sizeof(*vd->rings));
    vd->taps = malloc(vd->nrings / 2 * sizeof(*vd->taps));
    if (!vd->rings || !vd->taps)
        goto err_free;
    for (uint32_t i = 0; i < vd->nrings; i++) {
        struct vn_vring *r = &vd->rings[i];

        r->vd = vd;
        r->index = (uint16_t)i;
        r->kick_fd = r->call_fd = r->err_fd = -1;
        vn_virtq_init(&r->vq);
    }
    for (uint32_t i = 0; i < vd->nrings / 2; i++)
        vd->taps[i] = -1;
    if (vd->dp && vd->dp->queue_start)
        vn_vhost_txrec_open(&vd->txrec, emu->priv, dev->vuid, vd->nrings);
    ret = vn_vhost_iommu_init(&vd->iotlb, vd->loop, vd->spec.vuid, rings_iotlb_retry, vd);
    if (ret < 0)
        goto err_free;
    ret = -ENOMEM;
    if (dev->connect_path[0]) {
        /* Client mode: the socket is the front-end's; a new process of a live update
           connects only if the running one hands over no connection. */
        vn_strlcpy(vd->path, dev->connect_path, sizeof(vd->path));
        vn_vhost_conn_init(&vd->client, vd->loop, vd->path, vd->spec.vuid, client_connected_cb);
        /* A hotplug after the commit is not part of the hand-over: it connects now. */
        vd->adopt_pending = cfg->adopt_listen != NULL &&
                            cfg->adopt_listen(cfg->adopt_ctx, dev->vuid) != -ESRCH;
        goto start;
    }
    ret = vn_snprintf(vd->path, sizeof(vd->path), "%s/%s.sock", (const char *)emu->priv,
                      dev->vuid);
    if (ret < 0)
        goto err_free;
    /* Live update: the running controller's listening socket, served once the session moves. */
    vd->listen_fd = cfg->adopt_listen ? cfg->adopt_listen(cfg->adopt_ctx, dev->vuid) : -1;
    if (vd->listen_fd >= 0) {
        char err[256];

        vd->adopt_pending = true;
        vd->socket_not_ours = true;
        /* The settings may have changed with the update: applied again, a failure logged. */
        if (vd->sock_perms && vn_sock_apply_perms(vd->path, vd->sock_perms, err, sizeof(err)) < 0)
            VN_WARN(VHOST, "%s: %s", dev->vuid, err);
    } else {
        ret = listen_open(vd);
        if (ret < 0)
            goto err_free;
    }
start:
    ev_io_init(&vd->listen_w, listen_cb, vd->listen_fd, EV_READ);
    if (!vd->adopt_pending)
        serve(vd);
    ev_async_init(&vd->err_w, err_async_cb);
    ev_async_start(vd->loop, &vd->err_w);
    VN_DBG(VHOST, "%s: vhost-user socket %s (%u rings)", dev->vuid, vd->path, vd->nrings);
    *out = &vd->up;
    return 0;

err_free:
    vn_vhost_txrec_close(&vd->txrec, false);
    vn_vhost_iommu_fini(&vd->iotlb);
    free(vd->rings);
    free(vd->taps);
    free(vd);
    return ret;
}

static struct vn_vhost_dev *VD(struct vn_emu_fn *fn);

static void vhost_destroy(struct vn_emu_fn *fn)
{
    struct vn_vhost_dev *vd = VD(fn);

    vd->destroying = true;
    disconnect(vd);
    if (vd->spec.connect_path[0])
        vn_vhost_conn_stop(&vd->client);
    ev_async_stop(vd->loop, &vd->err_w);
    ev_io_stop(vd->loop, &vd->listen_w);
    close_fd(&vd->listen_fd);
    /* After a hand-over (or before one completed) the socket is the other process's;
       in client mode it is the front-end's. */
    if (!vd->handed_over && !vd->socket_not_ours && !vd->spec.connect_path[0])
        unlink(vd->path);
    /* The record goes with the device, not with a process that hands it over. */
    vn_vhost_txrec_close(&vd->txrec, !vd->handed_over && !vd->adopt_pending);
    vn_vhost_iommu_fini(&vd->iotlb);
    free(vd->rings);
    free(vd->taps);
    free(vd);
}

/* ---- observability --------------------------------------------------------------------- */

static void vd_state(const struct vn_vhost_dev *vd, struct vn_emu_state *o)
{
    o->has_session = true;
    snprintf(o->endpoint, sizeof(o->endpoint), "%s", vd->path);
    o->connected = vd->conn_fd >= 0;
    o->connections = vd->connections;
    o->status = vd->status;
    o->negotiated_features = vd->features;
    o->protocol_features = vd->protocol_features;
    o->offered_features = offered_features(vd) &
                          ~(VN_BIT(VN_VHOST_USER_F_PROTOCOL_FEATURES) | VN_BIT(VN_VHOST_F_LOG_ALL));
    o->dirty_log_active = has_feature(vd, VN_VHOST_F_LOG_ALL) && vn_dirty_log_is_mapped(&vd->log);
    o->dirty_pages_logged = __atomic_load_n(&vd->log.pages, __ATOMIC_RELAXED);
    o->dirty_pages_missed = __atomic_load_n(&vd->log.missed, __ATOMIC_RELAXED);
    o->rarps_sent = vd->rarps;
    if (vd->conn_fd >= 0)
        o->vnet_hdr_len = hdr_len(vd);
    o->nrings = vd->nrings;
    snprintf(o->last_error, sizeof(o->last_error), "%s", vd->last_error);
    o->iotlb.offered = offered_features(vd) & VN_BIT(VIRTIO_F_ACCESS_PLATFORM);
    if (o->iotlb.offered) {
        struct vn_iotlb_stats is;

        vn_iotlb_get_stats(&vd->iotlb.tlb, &is);
        o->iotlb.active = has_feature(vd, VIRTIO_F_ACCESS_PLATFORM);
        o->iotlb.entries = vd->iotlb.tlb.n; /* main thread: the only writer */
        o->iotlb.updates = is.updates;
        o->iotlb.invalidations = is.invalidations;
        o->iotlb.misses_sent = vd->iotlb.misses_sent;
        o->iotlb.misses_unsent = vd->iotlb.misses_unsent;
        o->iotlb.denied = is.denied;
    }
    o->client_mode = vd->spec.connect_path[0] != 0;
    if (o->client_mode) {
        o->connect_attempts = vd->client.attempts;
        o->connect_failures = vd->client.failures;
    }
}

static void vd_queue_state(const struct vn_vhost_dev *vd, uint32_t index,
                           struct vn_emu_queue_state *q)
{
    const struct vn_vring *r;

    if (index >= vd->nrings) {
        q->run = VN_EMU_Q_FRONTEND;
        return;
    }
    r = &vd->rings[index];
    q->run = r->error     ? VN_EMU_Q_ERROR
             : r->started ? VN_EMU_Q_RUNNING
             : r->num && r->has_addr && r->kick_fd >= 0 ? VN_EMU_Q_READY
                                                        : VN_EMU_Q_STOPPED;
    q->enabled = !has_feature(vd, VN_VHOST_USER_F_PROTOCOL_FEATURES) || r->enabled;
    q->size = r->num;
    /* Read while the provider's thread may move them: a snapshot for people. */
    q->avail_idx = __atomic_load_n(&r->vq.last_avail_idx, __ATOMIC_RELAXED);
    q->used_idx = __atomic_load_n(&r->vq.used_idx, __ATOMIC_RELAXED);
    if (r->started && r->vq.avail && !r->vq.packed) {
        q->has_driver_avail = true;
        q->driver_avail_idx = __atomic_load_n(&r->vq.avail->idx, __ATOMIC_RELAXED);
    }
    if (r->error)
        q->error = vn_virtq_strerror(r->error);
    else if (r->iotlb_pending ||
             (r->started && __atomic_load_n(&r->vq.iotlb_wait, __ATOMIC_RELAXED)))
        q->error = "waiting for an IOTLB translation from the front-end (vIOMMU)";
}

static int vd_queue_stats(const struct vn_vhost_dev *vd, uint32_t index,
                             struct vn_dp_queue_stats *out)
{
    const struct vn_vring *r;
    struct vn_dp_queue_stats live;

    if (!vd || index >= vd->nrings)
        return -ERANGE;
    r = &vd->rings[index];
    *out = r->acc;
    if (r->started && vd->dp->queue_stats) {
        memset(&live, 0, sizeof(live));
        if (vd->dp->queue_stats(vd->dp_priv, r->qpriv, &live) == 0)
            vn_dp_queue_stats_add(out, &live);
    }
    return 0;
}

static void vd_apply_moderation(struct vn_vhost_dev *vd)
{
    if (!vd || !vd->dp || !vd->dp->queue_modify)
        return;
    for (uint32_t i = 0; i < vd->nrings; i++) {
        struct vn_vring *r = &vd->rings[i];
        struct vn_dp_moderation m;
        int ret;

        if (!r->started)
            continue;
        ring_moderation(r, &m);
        ret = vd->dp->queue_modify(vd->dp_priv, r->qpriv, &m);
        if (ret < 0)
            VN_WARN(VHOST, "%s: ring %u: moderation not applied: %s", vd->spec.vuid, i,
                    strerror(-ret));
    }
}

static void vd_resume(struct vn_vhost_dev *vd);

/* ---- live update ------------------------------------------------------------------------ */

/* Adds 'fd' to the hand-over's fd list; returns its index there, or -1 for no fd. */
static int fd_put(int fd, int *fds, unsigned *nfds, unsigned max)
{
    if (fd < 0 || *nfds >= max)
        return -1;
    fds[*nfds] = fd;
    return (int)(*nfds)++;
}

static int vd_listen_fd(const struct vn_vhost_dev *vd)
{
    return vd ? vd->listen_fd : -1;
}

static int vd_export(struct vn_vhost_dev *vd, cJSON **out, int *fds, unsigned *nfds,
                     unsigned max)
{
    cJSON *s, *regions, *rings, *taps;

    *nfds = 0;
    /* The IOTLB and the back-end request channel are not part of the hand-over (yet). */
    if (vd->conn_fd >= 0 && has_feature(vd, VIRTIO_F_ACCESS_PLATFORM)) {
        VN_ERR(VHOST, "%s: cannot hand over a session with VIRTIO_F_IOMMU_PLATFORM negotiated "
                      "(its IOTLB stays here)", vd->spec.vuid);
        return -EOPNOTSUPP;
    }
    s = cJSON_CreateObject();
    if (!s)
        return -ENOMEM;
    /* From here on this process neither accepts nor reads requests for the device. */
    ev_io_stop(vd->loop, &vd->listen_w);
    if (vd->spec.connect_path[0])
        vn_vhost_conn_stop(&vd->client);
    if (vd->conn_fd >= 0)
        ev_io_stop(vd->loop, &vd->conn_w);
    rings_stop_all(vd);
    vn_json_add_u64(s, "connections", vd->connections);
    vn_json_add_str(s, "last_error", vd->last_error);
    vn_json_add_u64(s, "log_pages", __atomic_load_n(&vd->log.pages, __ATOMIC_RELAXED));
    vn_json_add_u64(s, "log_missed", __atomic_load_n(&vd->log.missed, __ATOMIC_RELAXED));
    rings = cJSON_AddArrayToObject(s, "rings");
    for (uint32_t i = 0; i < vd->nrings; i++) {
        const struct vn_vring *r = &vd->rings[i];
        cJSON *o = cJSON_CreateObject(), *acc = cJSON_CreateArray();

        /* The counters in the struct's order (VN_DP_QUEUE_STATS): the hand-over's format. */
#define ACC_PUT(m) vn_json_add_u64_str(acc, NULL, r->acc.m);
        VN_DP_QUEUE_STATS(ACC_PUT)
#undef ACC_PUT
        vn_json_add(o, "acc", acc);
        vn_json_add(rings, NULL, o);
    }
    if (vd->conn_fd < 0) {
        *out = s;
        return 0;
    }
    vn_json_add_num(s, "conn", fd_put(vd->conn_fd, fds, nfds, max));
    vn_json_add_bool(s, "owner", vd->owner);
    vn_json_add_hex(s, "features", vd->features);
    vn_json_add_hex(s, "protocol_features", vd->protocol_features);
    vn_json_add_num(s, "status", vd->status);
    vn_json_add_bool(s, "tap_configured", vd->tap_configured);
    vn_json_add_num(s, "inflight", fd_put(vd->inflight_fd, fds, nfds, max));
    vn_json_add_u64(s, "inflight_size", vd->inflight_size);
    /* A migration in progress: the new process logs every write from its first one. */
    if (vn_dirty_log_is_mapped(&vd->log)) {
        vn_json_add_num(s, "log", fd_put(vd->log_fd, fds, nfds, max));
        vn_json_add_u64(s, "log_size", vd->log.size);
        vn_json_add_u64(s, "log_offset", vn_dirty_log_offset(&vd->log));
    }
    regions = cJSON_AddArrayToObject(s, "regions");
    for (unsigned i = 0; i < vd->mem.nregions; i++) {
        const struct vn_mem_region *m = &vd->mem.regions[i];
        cJSON *o = cJSON_CreateObject();

        vn_json_add_hex(o, "gpa", m->info.gpa);
        vn_json_add_hex(o, "size", m->info.size);
        vn_json_add_hex(o, "uva", m->info.uva);
        vn_json_add_hex(o, "offset", m->info.mmap_offset);
        vn_json_add_num(o, "fd", fd_put(m->fd, fds, nfds, max));
        vn_json_add(regions, NULL, o);
    }
    taps = cJSON_AddArrayToObject(s, "taps");
    for (uint32_t i = 0; i < vd->nrings / 2; i++)
        vn_json_add_num(taps, NULL, fd_put(vd->taps[i], fds, nfds, max));
    for (uint32_t i = 0; i < vd->nrings; i++) {
        const struct vn_vring *r = &vd->rings[i];
        cJSON *o = cJSON_GetArrayItem(rings, (int)i);

        vn_json_add_num(o, "num", r->num);
        vn_json_add_bool(o, "has_addr", r->has_addr);
        vn_json_add_hex(o, "flags", r->addr.flags);
        vn_json_add_hex(o, "desc", r->addr.desc_user_addr);
        vn_json_add_hex(o, "used", r->addr.used_user_addr);
        vn_json_add_hex(o, "avail", r->addr.avail_user_addr);
        vn_json_add_hex(o, "log", r->addr.log_guest_addr);
        vn_json_add_num(o, "base", vn_virtq_get_last_avail_idx(&r->vq));
        vn_json_add_bool(o, "enabled", r->enabled);
        vn_json_add_num(o, "error", r->error);
        vn_json_add_bool(o, "start", r->restart);
        vn_json_add_num(o, "kick", fd_put(r->kick_fd, fds, nfds, max));
        vn_json_add_num(o, "call", fd_put(r->call_fd, fds, nfds, max));
        vn_json_add_num(o, "err", fd_put(r->err_fd, fds, nfds, max));
    }
    if (*nfds >= max) {
        cJSON_Delete(s);
        vd_resume(vd);
        return -E2BIG;
    }
    *out = s;
    return 0;
}

static void vd_resume(struct vn_vhost_dev *vd)
{
    /* The other side may have moved frames: the rings restart from what the guest saw used. */
    vd->handed_over = false;
    serve(vd);
    if (vd->conn_fd >= 0)
        ev_io_start(vd->loop, &vd->conn_w);
    rings_restart(vd);
}

static void vd_handed_over(struct vn_vhost_dev *vd)
{
    vd->handed_over = true;
}

static void vd_release(struct vn_vhost_dev *vd)
{
    /* Our copies of the fds go; the session lives on in the new process. */
    for (uint32_t i = 0; i < vd->nrings; i++)
        vd->rings[i].restart = false;
    vd->handed_over = true;
    disconnect(vd);
}

/* fds[v] taken out of 'fds' (the caller closes what is left), or -1 when 'v' names none. */
static int fd_at(const cJSON *v, int *fds, unsigned nfds)
{
    int i, fd;

    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= nfds)
        return -1;
    i = (int)v->valuedouble;
    fd = fds[i];
    fds[i] = -1;
    return fd;
}

/* The fd member 'name' of 'o' names, taken as fd_at() does. */
static int fd_take(const cJSON *o, const char *name, int *fds, unsigned nfds)
{
    return fd_at(cJSON_GetObjectItemCaseSensitive(o, name), fds, nfds);
}

static int vd_import(struct vn_vhost_dev *vd, const cJSON *s, int *fds, unsigned nfds)
{
    const cJSON *rings = cJSON_GetObjectItemCaseSensitive(s, "rings"), *o;
    const cJSON *regions, *taps, *le = cJSON_GetObjectItemCaseSensitive(s, "last_error");
    unsigned i = 0;
    int fd, ret;

    if (!cJSON_IsArray(rings) || (uint32_t)cJSON_GetArraySize(rings) != vd->nrings)
        return -EINVAL;
    vd->connections = vn_json_member_u64(s, "connections");
    vd->log.pages = vn_json_member_u64(s, "log_pages");
    vd->log.missed = vn_json_member_u64(s, "log_missed");
    if (cJSON_IsString(le))
        snprintf(vd->last_error, sizeof(vd->last_error), "%s", le->valuestring);
    cJSON_ArrayForEach(o, rings) {
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(o, "acc"), *c;
        struct vn_dp_queue_stats *a = &vd->rings[i].acc;
#define ACC_PTR(m) &a->m,
        uint64_t *const dst[] = {VN_DP_QUEUE_STATS(ACC_PTR)};
#undef ACC_PTR
        size_t k = 0;

        /* In the struct's order; counters an older sender did not have stay 0. */
        cJSON_ArrayForEach(c, acc) {
            if (k < VN_ARRAY_SIZE(dst))
                vn_json_get_u64(c, dst[k++]);
        }
        i++;
    }
    fd = fd_take(s, "conn", fds, nfds);
    if (fd >= 0) {
        vd->conn_fd = fd;
        vd->owner = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "owner"));
        vd->features = vn_json_member_u64(s, "features");
        vd->protocol_features = vn_json_member_u64(s, "protocol_features");
        vd->status = (uint8_t)vn_json_member_u64(s, "status");
        vd->tap_configured = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "tap_configured"));
        vd->inflight_fd = fd_take(s, "inflight", fds, nfds);
        if (vd->inflight_fd >= 0) {
            vd->inflight_size = vn_json_member_u64(s, "inflight_size");
            vd->inflight = mmap(NULL, vd->inflight_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                                vd->inflight_fd, 0);
            if (vd->inflight == MAP_FAILED) {
                vd->inflight = NULL;
                inflight_release(vd);
            }
        }
        if (cJSON_HasObjectItem(s, "log")) {
            /* Without it the rings would run unlogged (LOG_ALL is in 'features'). */
            ret = vn_vhost_log_adopt(&vd->log, &vd->log_fd, fd_take(s, "log", fds, nfds),
                                     vn_json_member_u64(s, "log_size"),
                                     vn_json_member_u64(s, "log_offset"));
            if (ret < 0) {
                VN_ERR(VHOST, "%s: hand-over: dirty-page log: %s", vd->spec.vuid, strerror(-ret));
                disconnect(vd);
                return ret;
            }
        }
        regions = cJSON_GetObjectItemCaseSensitive(s, "regions");
        cJSON_ArrayForEach(o, regions) {
            struct vn_mem_region_info info = {
                .gpa = vn_json_member_u64(o, "gpa"),
                .size = vn_json_member_u64(o, "size"),
                .uva = vn_json_member_u64(o, "uva"),
                .mmap_offset = vn_json_member_u64(o, "offset"),
            };

            ret = vn_guest_mem_add(&vd->mem, &info, fd_take(o, "fd", fds, nfds));
            if (ret < 0) {
                VN_ERR(VHOST, "%s: hand-over: guest memory region: %s", vd->spec.vuid,
                       strerror(-ret));
                disconnect(vd);
                return ret;
            }
        }
        taps = cJSON_GetObjectItemCaseSensitive(s, "taps");
        i = 0;
        cJSON_ArrayForEach(o, taps) {
            if (i < vd->nrings / 2)
                vd->taps[i] = fd_at(o, fds, nfds);
            i++;
        }
        i = 0;
        cJSON_ArrayForEach(o, rings) {
            struct vn_vring *r = &vd->rings[i++];
            const cJSON *c;

            r->num = (uint32_t)vn_json_member_u64(o, "num");
            r->has_addr = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "has_addr"));
            r->addr.index = r->index;
            r->addr.flags = (uint32_t)vn_json_member_u64(o, "flags");
            r->addr.desc_user_addr = vn_json_member_u64(o, "desc");
            r->addr.used_user_addr = vn_json_member_u64(o, "used");
            r->addr.avail_user_addr = vn_json_member_u64(o, "avail");
            r->addr.log_guest_addr = vn_json_member_u64(o, "log");
            vn_virtq_set_last_avail_idx(&r->vq, (uint16_t)vn_json_member_u64(o, "base"));
            r->enabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "enabled"));
            c = cJSON_GetObjectItemCaseSensitive(o, "error");
            r->error = cJSON_IsNumber(c) && c->valuedouble > -4096 && c->valuedouble <= 0
                           ? (int)c->valuedouble : 0;
            r->restart = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "start"));
            r->kick_fd = fd_take(o, "kick", fds, nfds);
            r->call_fd = fd_take(o, "call", fds, nfds);
            r->err_fd = fd_take(o, "err", fds, nfds);
        }
        ev_io_init(&vd->conn_w, conn_cb, vd->conn_fd, EV_READ);
        ev_io_start(vd->loop, &vd->conn_w);
    }
    vd->adopt_pending = false;
    vd->socket_not_ours = false;
    serve(vd);
    rings_restart(vd);
    return 0;
}

static void vd_serve_adopted(struct vn_vhost_dev *vd)
{
    if (vd && vd->adopt_pending) {
        vd->adopt_pending = false;
        vd->socket_not_ours = false;
        serve(vd);
    }
}

/* 'up' is the first member: a function is its vhost device. */
static struct vn_vhost_dev *VD(struct vn_emu_fn *fn)
{
    return vn_container_of(fn, struct vn_vhost_dev, up);
}

static const struct vn_vhost_dev *CVD(const struct vn_emu_fn *fn)
{
    return (const struct vn_vhost_dev *)(const void *)fn;
}

/* ---- the class ------------------------------------------------------------------------- */

static int vhost_init(struct vn_emu *emu)
{
    char *dir;
    int ret;

    if (!emu->env.loop || !emu->env.state_dir)
        return -EINVAL;
    if (asprintf(&dir, "%s/%s", emu->env.state_dir, VN_VHOST_SUBDIR) < 0)
        return -ENOMEM;
    ret = dir_prepare(dir);
    if (ret < 0) {
        VN_ERR(VHOST, "cannot create the vhost-user socket dir %s: %s", dir, strerror(-ret));
        free(dir);
        return ret;
    }
    if (emu->env.sock_perms) {
        char err[256];

        ret = vn_sock_dir_apply_perms(dir, emu->env.sock_perms, err, sizeof(err));
        if (ret == -EACCES) {
            VN_WARN(VHOST, "%s", err); /* a parent dir keeps the group out: named, not changed */
        } else if (ret < 0) {
            VN_ERR(VHOST, "%s", err);
            free(dir);
            return ret;
        }
    }
    emu->priv = dir;
    return 0;
}

static void vhost_fini(struct vn_emu *emu)
{
    free(emu->priv);
    emu->priv = NULL;
}

static int vhost_update(struct vn_emu_fn *fn, const struct vn_emu_spec *spec)
{
    struct vn_vhost_dev *vd = VD(fn);

    if (spec->max_queues != vd->spec.max_queues || strcmp(spec->vuid, vd->spec.vuid))
        return -EINVAL;
    vd->spec = *spec;
    vd_apply_moderation(vd);
    return 0;
}

static void vhost_state(const struct vn_emu_fn *fn, struct vn_emu_state *out)
{
    vd_state(CVD(fn), out);
}

static void vhost_queue_state(const struct vn_emu_fn *fn, uint32_t index,
                              struct vn_emu_queue_state *out)
{
    vd_queue_state(CVD(fn), index, out);
}

static int vhost_queue_stats(const struct vn_emu_fn *fn, uint32_t index,
                             struct vn_dp_queue_stats *out)
{
    return vd_queue_stats(CVD(fn), index, out);
}

static void vhost_host_info(const struct vn_emu_fn *fn, struct vn_emu_host_info *out)
{
    out->kind = VN_EMU_ATTACH_VHOST_USER;
    snprintf(out->path, sizeof(out->path), "%s", CVD(fn)->path);
}

static int vhost_listen_fd(const struct vn_emu_fn *fn)
{
    return vd_listen_fd(CVD(fn));
}

static int vhost_export(struct vn_emu_fn *fn, cJSON **out, int *fds, unsigned *nfds, unsigned max)
{
    return vd_export(VD(fn), out, fds, nfds, max);
}

static void vhost_handed_over(struct vn_emu_fn *fn)
{
    vd_handed_over(VD(fn));
}

static void vhost_resume(struct vn_emu_fn *fn)
{
    vd_resume(VD(fn));
}

static void vhost_release(struct vn_emu_fn *fn)
{
    vd_release(VD(fn));
}

static int vhost_import(struct vn_emu_fn *fn, const cJSON *session, int *fds, unsigned nfds)
{
    return vd_import(VD(fn), session, fds, nfds);
}

static void vhost_serve_adopted(struct vn_emu_fn *fn)
{
    vd_serve_adopted(VD(fn));
}

const struct vn_emu_class vn_emu_vhost_class = {
    .name = "vhost",
    .needs_datapath = true,
    .init = vhost_init,
    .fini = vhost_fini,
    .create = vhost_create,
    .destroy = vhost_destroy,
    .update = vhost_update,
    .state = vhost_state,
    .queue_state = vhost_queue_state,
    .queue_stats = vhost_queue_stats,
    .host_info = vhost_host_info,
    .listen_fd = vhost_listen_fd,
    .export = vhost_export,
    .handed_over = vhost_handed_over,
    .resume = vhost_resume,
    .release = vhost_release,
    .import = vhost_import,
    .serve_adopted = vhost_serve_adopted,
};
