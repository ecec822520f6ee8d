/*
 * virtnet/provider.h - the provider SDK: what a datapath provider (one
 * shared object in the providers directory) implements.
 *
 * A provider exports exactly one symbol, VN_PROVIDER_ENTRY_SYMBOL, a
 * function returning its ops table; everything else stays hidden
 * (-fvisibility=hidden).  The controller dlopen()s it with RTLD_NOW, refuses
 * a table whose abi_version differs from VN_PROVIDER_ABI_VERSION, checks that
 * the mandatory ops are present, then calls probe().  Among the providers
 * that load and probe, the one with the highest score in its provider file
 * wins (the vendor's rule); the others are unloaded.
 *
 * Lifecycle and threads: probe, init and fini run on the controller's main
 * thread, once each, in that order; a provider whose probe fails is never
 * initialised.  Ownership: the ops table and the strings it points to belong
 * to the provider and must stay valid until it is unloaded.
 *
 * A provider includes only this header and lib/.
 */
#ifndef VIRTNET_PROVIDER_H
#define VIRTNET_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vn_virtq;

#define VN_PROVIDER_ABI_VERSION 1
#define VN_PROVIDER_ENTRY_SYMBOL "vn_provider_entry"

/* What the controller tells a provider about the DPU it runs on. */
struct vn_provider_env {
    uint32_t abi_version;         /* VN_PROVIDER_ABI_VERSION of the controller */
    const char *emu_manager;      /* RDMA device that manages emulation (mlx5_0, mlx5_bond_0) */
    uint64_t features;            /* virtio features the profile supports */
    uint32_t max_virtq;
    uint32_t max_queue_size;
    uint32_t dp_workers;          /* datapath threads the operator asked for (virtnet.conf
                                     eth_vq_workers); 0 = the provider's default */
    uint64_t dp_cpu_mask;         /* CPUs those threads may run on (bit n = CPU n; virtnet.conf
                                     emulation.worker_cpu_mask); 0 = no pinning.  Appended
                                     in ABI 1: older providers ignore it */
};

/*
 * Interrupt moderation of one queue (`virtnet modify ... queue -e -n -c`).
 * Interrupts always follow the driver's wishes first (VIRTIO_RING_F_EVENT_IDX
 * used_event, or VRING_AVAIL_F_NO_INTERRUPT); moderation only delays or
 * merges the ones the driver wants.
 *   VN_DP_MOD_EVENT: one interrupt per batch of completions the datapath
 *     handled in one go; with max_count and/or period_us set, completions are
 *     coalesced: the interrupt is sent once max_count completions wait, or
 *     period_us after the first of them, whichever comes first (with only
 *     max_count set, also when the queue runs out of work, so nothing waits
 *     for ever).
 *   VN_DP_MOD_ADAPTIVE: the provider chooses per batch; the sw provider
 *     interrupts at once while batches are small (light load: latency counts)
 *     and coalesces as in event mode once batches fill up (heavy load), with
 *     max_count and period_us as the bounds (defaults 64 and 50 us when unset).
 */
#define VN_DP_MOD_EVENT    0
#define VN_DP_MOD_ADAPTIVE 1

struct vn_dp_moderation {
    uint8_t mode;        /* VN_DP_MOD_EVENT or VN_DP_MOD_ADAPTIVE */
    uint32_t period_us;  /* coalescing window; 0 = none */
    uint32_t max_count;  /* completions per interrupt; 0 = none */
};

/*
 * Called by a provider when a guest broke the rules on queue 'index' (a
 * vn_virtq_pop() error 'err': bad descriptor, loop, address outside guest
 * memory, avail index jump).  Runs on the provider's thread, at most once per
 * queue_start; must not block.  The provider has stopped moving frames on the
 * queue when it calls; the controller marks the device NEEDS_RESET and later
 * calls queue_stop as for any queue.
 */
typedef void vn_dp_queue_error_fn(void *ctx, uint16_t index, int err);

/*
 * One virtqueue handed to a provider.  Everything is borrowed from the
 * controller and stays valid until queue_stop returns; the provider copies
 * what it needs.
 */
struct vn_dp_queue {
    const char *dev_name;        /* the device's VUID, for logs */
    uint16_t index;              /* virtqueue index: 2n = receive, 2n + 1 = transmit */
    bool is_tx;                  /* driver to device (guest transmit) */
    struct vn_virtq *vq;         /* the rings in guest memory, ready (lib/virtq.h); only the
                                    provider's thread touches it until queue_stop returns */
    int kick_fd;                 /* eventfd the driver signals; read it to re-arm */
    int call_fd;                 /* eventfd to interrupt the driver, or -1 */
    int tap_fd;                  /* the representor queue this virtqueue maps onto (queue pair
                                    n uses representor queue n; both directions share the fd);
                                    non-blocking */
    uint32_t hdr_len;            /* virtio-net header bytes before each frame: 12 with
                                    VIRTIO_F_VERSION_1 or MRG_RXBUF, 10 otherwise; the
                                    representor's vnet header size is set to the same */
    bool mrg_rxbuf;              /* VIRTIO_NET_F_MRG_RXBUF negotiated */
    uint32_t mtu;                /* the device's MTU */
    uint32_t max_rx_len;         /* receive queues: the largest frame the representor may hand
                                    over, header included (hdr_len + 65550 when the driver
                                    accepts GSO frames, hdr_len + MTU + 18 otherwise) */
    struct vn_dp_moderation mod;
    vn_dp_queue_error_fn *on_error; /* may be NULL */
    void *error_ctx;             /* first argument of on_error */
};

/*
 * Counters of one queue, with the names `virtnet stats` prints.  A provider
 * reports what happened since queue_start; the controller adds up the runs.
 * Frame sizes exclude the virtio-net header.
 */
struct vn_dp_queue_stats {
    uint64_t received_desc;      /* chains taken from the avail ring */
    uint64_t completed_desc;     /* chains returned through the used ring */
    uint64_t total_bytes;        /* bytes in the chains: taken (transmit) or written (receive) */
    uint64_t total_packets;      /* frames moved */
    uint64_t bad_desc_errors, exceed_max_chain, invalid_buffer, avail_idx_errors; /* lib/virtq.h */
    uint64_t interrupts;         /* call eventfd writes */
    uint64_t kicks;              /* kick eventfd wake-ups */
    uint64_t dropped;            /* frames dropped: no room in the guest buffers, tap error */
    uint64_t batches;            /* wake-ups that moved at least one frame */
    /* Frame sizes, the vendor's buckets. */
    uint64_t size_64, size_65_127, size_128_255, size_256_511, size_512_1023, size_1024_1522,
        size_1523_2047, size_2048_4095, size_4096_8191, size_8192_9022, size_9023_plus;
};

struct vn_provider_ops {
    uint32_t abi_version;         /* must be VN_PROVIDER_ABI_VERSION */
    const char *name;             /* must match the provider file's name */
    const char *description;

    /*
     * Mandatory.  Can this provider run here (hardware present, kernel
     * support, resources)?  Returns 0, or a negative errno and a reason for
     * the operator in 'why' ('whylen' bytes).  Must not keep resources.
     */
    int (*probe)(const struct vn_provider_env *env, char *why, size_t whylen);

    /* Optional.  Sets up the chosen provider; '*priv' is handed back to fini. */
    int (*init)(const struct vn_provider_env *env, void **priv);

    /* Optional.  Undoes init; must accept what a failed init left. */
    void (*fini)(void *priv);

    /* Optional.  Supported feature mask (0 = the profile's). */
    uint64_t (*features)(void *priv);

    /*
     * Per-queue runtime ops (mandatory for a provider that moves traffic).
     * queue_start hands the provider one ready virtqueue; the provider owns
     * moving its frames until queue_stop returns, after which it no longer
     * touches the queue, its rings or its fds (the fds stay the
     * controller's).  queue_stop waits for the provider's threads to let go
     * of the queue, gives back chains taken but not used (vn_virtq_unpop) so
     * the ring's last_avail_idx is exact for GET_VRING_BASE, sends an
     * interrupt still owed to the driver, and writes the queue's final
     * counters to 'final' (may be NULL).  All four run on the controller's
     * main thread; the datapath runs on the provider's own threads.  '*qpriv'
     * is the provider's handle for the queue, valid from a successful
     * queue_start until queue_stop.  queue_start returns 0 or -errno and
     * then owns nothing.
     *
     * Suspend and resume are these two: queue_stop leaves the ring's state
     * exported in the vn_virtq (last_avail_idx == used index, nothing in
     * flight) and queue_start on a vn_virtq set to that index resumes it.
     * Live update does that across processes (controller/update.c): the old
     * controller's provider stops the queue, the new one's starts it.
     */
    int (*queue_start)(void *priv, const struct vn_dp_queue *q, void **qpriv);
    void (*queue_stop)(void *priv, void *qpriv, struct vn_dp_queue_stats *final);
    /* Optional: new interrupt moderation for a running queue (-EOPNOTSUPP if absent). */
    int (*queue_modify)(void *priv, void *qpriv, const struct vn_dp_moderation *mod);
    /* Optional: the queue's counters since queue_start, readable at any time from the main
       thread (-EOPNOTSUPP if absent). */
    int (*queue_stats)(void *priv, void *qpriv, struct vn_dp_queue_stats *out);
};

/* The one exported entry point, named VN_PROVIDER_ENTRY_SYMBOL. */
typedef const struct vn_provider_ops *vn_provider_entry_fn(void);

#define VN_PROVIDER_EXPORT __attribute__((visibility("default")))

#endif /* VIRTNET_PROVIDER_H */
