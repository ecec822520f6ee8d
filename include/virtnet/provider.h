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

#include <stddef.h>
#include <stdint.h>

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
};

/* The one exported entry point, named VN_PROVIDER_ENTRY_SYMBOL. */
typedef const struct vn_provider_ops *vn_provider_entry_fn(void);

#define VN_PROVIDER_EXPORT __attribute__((visibility("default")))

#endif /* VIRTNET_PROVIDER_H */
