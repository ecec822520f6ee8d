/*
 * mlx5_provider.c - the hardware providers `ace` (ASIC virtqueue offload)
 * and `dpa` (datapath accelerator), built from this one file with
 * VN_PROVIDER_NAME set to each name.
 *
 * Their datapath needs a BlueField's virtio-net emulation objects (devx),
 * which this build does not drive.  The probe says plainly why it fails:
 * no rdma-core in the build, no RDMA device of that name, or a device found
 * but no emulation support here.  Nothing pretends to be hardware.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef HAVE_RDMA
#include <infiniband/verbs.h>
#endif

#include "virtnet/provider.h"

#ifndef VN_PROVIDER_NAME
#error "VN_PROVIDER_NAME must be defined"
#endif

static int hw_probe(const struct vn_provider_env *env, char *why, size_t whylen)
{
#ifdef HAVE_RDMA
    struct ibv_device **list;
    int n = 0, found = 0;

    list = ibv_get_device_list(&n);
    if (!list) {
        snprintf(why, whylen, "no RDMA devices (ibv_get_device_list: %s)", strerror(errno));
        return -ENODEV;
    }
    for (int i = 0; i < n; i++)
        if (!strcmp(ibv_get_device_name(list[i]), env->emu_manager))
            found = 1;
    ibv_free_device_list(list);
    if (!found) {
        snprintf(why, whylen, "RDMA device %s not present: no BlueField here (%d RDMA devices)",
                 env->emu_manager, n);
        return -ENODEV;
    }
    snprintf(why, whylen,
             "RDMA device %s found, but virtio-net emulation through devx is not implemented "
             "in this build",
             env->emu_manager);
    return -EOPNOTSUPP;
#else
    snprintf(why, whylen, "built without rdma-core: the %s provider needs a BlueField",
             VN_PROVIDER_NAME);
    return -EOPNOTSUPP;
#endif
}

static const struct vn_provider_ops hw_ops = {
    .abi_version = VN_PROVIDER_ABI_VERSION,
    .name = VN_PROVIDER_NAME,
    .description = "BlueField hardware datapath (" VN_PROVIDER_NAME ")",
    .probe = hw_probe,
};

VN_PROVIDER_EXPORT const struct vn_provider_ops *vn_provider_entry(void);

const struct vn_provider_ops *vn_provider_entry(void)
{
    return &hw_ops;
}
