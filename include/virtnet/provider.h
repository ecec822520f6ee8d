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
};

/* Interrupt moderation of one queue (`virtnet modify ... queue -e -n -c`). */
struct vn_dp_moderation {
    uint8_t mode;        /* 0 = event: interrupt per completion batch, 1 = adaptive */
    uint32_t period_us;  /* coalescing window; 0 = none */
    uint32_t max_count;  /* completions per interrupt; 0 = none */
};

/* One virtqueue handed to a provider.  Everything is borrowed from the controller. */
struct vn_dp_queue {
    const char *dev_name;        /* the device's VUID, for logs */
    uint16_t index;              /* virtqueue index: 2n = receive, 2n + 1 = transmit */
    bool is_tx;                  /* driver to device (guest transmit) */
    struct vn_virtq *vq;         /* the rings in guest memory, ready (lib/virtq.h) */
    int kick_fd;                 /* eventfd the driver signals; read it to re-arm */
    int call_fd;                 /* eventfd to interrupt the driver, or -1 */
    int tap_fd;                  /* the representor queue this virtqueue maps onto */
    uint32_t hdr_len;            /* virtio-net header bytes before each frame (10 or 12) */
    bool mrg_rxbuf;              /* VIRTIO_NET_F_MRG_RXBUF negotiated */
    uint32_t mtu;                /* the device's MTU */
    struct vn_dp_moderation mod;
};

/* Counters of one queue, with the names `virtnet stats` prints. */
struct vn_dp_queue_stats {
    uint64_t received_desc, completed_desc, total_bytes, total_packets;
    uint64_t bad_desc_errors, exceed_max_chain, invalid_buffer, avail_idx_errors;
    uint64_t interrupts;             /* call eventfd writes */
    uint64_t kicks;                  /* kick eventfd wake-ups */
    uint64_t dropped;                /* frames dropped: no buffer, tap error */
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
     * touches the queue, its rings or its fds.  Both run on the controller's
     * main thread; the datapath runs on the provider's own threads.
     * '*qpriv' is the provider's handle for the queue, valid from a
     * successful queue_start until queue_stop.
     */
    int (*queue_start)(void *priv, const struct vn_dp_queue *q, void **qpriv);
    void (*queue_stop)(void *priv, void *qpriv);
    /* Optional: new interrupt moderation for a running queue (-EOPNOTSUPP if absent). */
    int (*queue_modify)(void *priv, void *qpriv, const struct vn_dp_moderation *mod);
    /* Optional: the queue's counters, readable at any time from the main thread. */
    int (*queue_stats)(void *priv, void *qpriv, struct vn_dp_queue_stats *out);
};

/* The one exported entry point, named VN_PROVIDER_ENTRY_SYMBOL. */
typedef const struct vn_provider_ops *vn_provider_entry_fn(void);

#define VN_PROVIDER_EXPORT __attribute__((visibility("default")))

#endif /* VIRTNET_PROVIDER_H */
