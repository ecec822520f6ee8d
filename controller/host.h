/*
 * host.h - the host the software DPU plugs its hotplug PFs into: a running
 * QEMU VM, driven over QMP (virtnet.conf "host": qmp_socket, root_ports).
 * `virtnet hotplug` adds a vhost-user chardev, netdev and virtio-net-pci
 * device on the root port that stands for the device's switch port;
 * `virtnet unplug` removes them (device_del, then DEVICE_DELETED, bounded).
 * QEMU ids: "vn-<VUID>" (device), "vnnd-<VUID>" (netdev), "vnch-<VUID>"
 * (chardev).  See docs/host.md.
 */
#ifndef VN_HOST_H
#define VN_HOST_H

#include <stdbool.h>

struct vn_ctl;
struct vn_device;

/*
 * Called once when an attach or detach ends: 'err' 0 or -errno with 'why';
 * 'guest_bdf' ("bb:dd.f" where the guest sees the device, or "" when QEMU
 * did not say) for attach.
 */
typedef void vn_host_done_fn(void *ctx, int err, const char *why, const char *guest_bdf);

/* True when virtnet.conf names a host VM. */
bool vn_host_enabled(const struct vn_ctl *ctl);

/*
 * Plugs 'dev' (a hotplug PF, its vhost-user socket listening) into the VM.
 * On failure whatever was added in QEMU is removed before 'done' runs.
 * Returns 0 ('done' will run later) or -errno with 'why' (it will not).
 */
int vn_host_attach(struct vn_ctl *ctl, struct vn_device *dev, vn_host_done_fn *done, void *ctx,
                   char *why, size_t whylen);

/* Unplugs 'dev' from the VM (a device QEMU does not have is fine).  Same contract. */
int vn_host_detach(struct vn_ctl *ctl, struct vn_device *dev, vn_host_done_fn *done, void *ctx,
                   char *why, size_t whylen);

/* The QEMU command-line arguments that attach 'dev' (static PFs and VFs, docs). */
char *vn_host_cmdline(const struct vn_device *dev);

#endif /* VN_HOST_H */
