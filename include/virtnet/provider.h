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
 * wins (the vendor's rule); the others are unloaded.  The queue contract is
 * described at struct vn_dp_queue.
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

/*
 * 2: struct vn_dp_queue describes its ring by kind (ring.sw for the software
 * DPU's split rings, room for others); the counters are VN_DP_QUEUE_STATS.
 */
#define VN_PROVIDER_ABI_VERSION 2

/*
 * Bit of the features() mask (VHOST_F_LOG_ALL's number, 26): the provider
 * logs every write it makes into guest memory while a queue logs (it calls
 * vn_virtq_log_write(), lib/virtq.h, for the buffers it fills; the used ring
 * logs itself), so the front-end may live-migrate the guest.  A provider
 * without it is never offered dirty-page logging.  Added without an ABI
 * change: the vn_virtq fields it needs are appended.
 */
#define VN_PROVIDER_F_LOG_ALL (UINT64_C(1) << 26)

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
 * The queue contract.  queue_start hands a provider one virtqueue, described
 * in two parts: what every kind of queue has (identity, direction, the
 * representor queue it maps onto, the header, moderation, error reporting),
 * and in 'ring' what depends on 'kind':
 *
 *   VN_DP_RING_SW_SPLIT - the software DPU: a split virtqueue (virtio 1.x
 *     2.7) in guest memory that the controller has mapped into its own
 *     address space; the provider walks it itself, on its own threads.
 *     ring.sw.vq is the controller's ring state with its bounds-checked
 *     accessors (lib/virtq.h: vn_virtq_pop/push/unpop, notify suppression,
 *     error counters); a provider using it is built with the controller's
 *     lib/virtq.c of the same version (the in-tree 'sw' does).  ring.sw
 *     also gives the geometry as plain data (size, negotiated features, the
 *     index to resume from) for providers and tools that only inspect it.
 *     The provider owns the ring from queue_start until queue_stop returns:
 *     nothing else reads avail or writes used meanwhile; last_avail_idx it
 *     leaves in 'vq' must be exact (chains taken but not used given back).
 *
 *   Other kinds are reserved (a queue the hardware moves itself: a device
 *     emulation object, its doorbell and completion queue).  A provider
 *     returns -EOPNOTSUPP from queue_start for a kind it does not handle; the
 *     controller then leaves the ring stopped and says so.
 *
 * Everything is borrowed from the controller and stays valid until
 * queue_stop returns; the provider copies what it needs.
 */
enum vn_dp_ring_kind {
    VN_DP_RING_SW_SPLIT = 1,
    VN_DP_RING_SW_PACKED = 2, /* the same, a packed virtqueue (virtio 1.1 2.8); the same
                                 lib/virtq.h accessors and ring.sw; added without an ABI change:
                                 a provider that does not know it refuses it (-EOPNOTSUPP) */
};

struct vn_dp_ring_sw {
    struct vn_virtq *vq;         /* the rings, ready; only the provider's thread touches it
                                    until queue_stop returns */
    uint32_t size;               /* descriptors (power of two) */
    uint64_t features;           /* negotiated virtio features (EVENT_IDX, INDIRECT_DESC...) */
    uint16_t last_avail_idx;     /* where the ring resumes */
};

struct vn_dp_queue {
    uint32_t kind;               /* enum vn_dp_ring_kind */
    const char *dev_name;        /* the device's VUID, for logs */
    uint16_t index;              /* virtqueue index: 2n = receive, 2n + 1 = transmit */
    bool is_tx;                  /* driver to device (guest transmit) */
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
    union {
        struct vn_dp_ring_sw sw; /* kinds VN_DP_RING_SW_SPLIT and VN_DP_RING_SW_PACKED */
        uint64_t reserved[16];   /* room for other kinds without an ABI change of the rest */
    } ring;
};

/*
 * Counters of one queue, with the names `virtnet stats` prints.  A provider
 * reports what happened since queue_start; the controller adds up the runs.
 * Frame sizes exclude the virtio-net header.  X(member): every counter, in
 * the struct's order (new ones are appended), for code that walks them all.
 */
#define VN_DP_QUEUE_STATS(X)                                                                       \
    X(received_desc)    /* chains taken from the avail ring */                                     \
    X(completed_desc)   /* chains returned through the used ring */                                \
    X(total_bytes)      /* bytes in the chains: taken (transmit) or written (receive) */           \
    X(total_packets)    /* frames moved */                                                         \
    X(bad_desc_errors)  /* guest errors, see lib/virtq.h ... */                                    \
    X(exceed_max_chain)                                                                            \
    X(invalid_buffer)                                                                              \
    X(avail_idx_errors)                                                                            \
    X(interrupts)       /* call eventfd writes */                                                  \
    X(kicks)            /* kick eventfd wake-ups */                                                \
    X(dropped)          /* frames dropped: no room in the guest buffers, tap error */              \
    X(batches)          /* wake-ups that moved at least one frame */                               \
    X(size_64)          /* frame sizes, the vendor's buckets ... */                                \
    X(size_65_127)                                                                                 \
    X(size_128_255)                                                                                \
    X(size_256_511)                                                                                \
    X(size_512_1023)                                                                               \
    X(size_1024_1522)                                                                              \
    X(size_1523_2047)                                                                              \
    X(size_2048_4095)                                                                              \
    X(size_4096_8191)                                                                              \
    X(size_8192_9022)                                                                              \
    X(size_9023_plus)

struct vn_dp_queue_stats {
#define VN_DP_QUEUE_STATS_MEMBER(m) uint64_t m;
    VN_DP_QUEUE_STATS(VN_DP_QUEUE_STATS_MEMBER)
#undef VN_DP_QUEUE_STATS_MEMBER
};

/* Adds every counter of 'b' to 'a' (runs of a queue, queues of a device). */
static inline void vn_dp_queue_stats_add(struct vn_dp_queue_stats *a,
                                         const struct vn_dp_queue_stats *b)
{
#define VN_DP_QUEUE_STATS_ADD(m) a->m += b->m;
    VN_DP_QUEUE_STATS(VN_DP_QUEUE_STATS_ADD)
#undef VN_DP_QUEUE_STATS_ADD
}

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

    /*
     * Optional.  Supported feature mask (0 = the profile's).  With
     * VN_PROVIDER_F_LOG_ALL set the provider supports live migration.
     */
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
