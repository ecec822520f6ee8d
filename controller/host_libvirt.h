/*
 * host_libvirt.h - the libvirt host back-end: plugging hotplug PFs into a
 * running libvirt domain (virtnet.conf "host": {"type": "libvirt", "uri",
 * "domain", "persistent"}) through libvirt's C API, as an
 * <interface type='vhostuser'> with the device's socket, MAC, queues and ring
 * sizes.  host.c calls it when the host is a libvirt domain; the contract of
 * attach and detach is host.h's.
 *
 * libvirt's calls block (an attach waits for QEMU, which waits for the
 * vhost-user negotiation with this very controller), so they run on a worker
 * thread of their own, one operation at a time; results come back to the
 * main loop through an ev_async and 'done' runs there.  The worker never
 * touches controller state: it gets the interface XML, names and settings by
 * value.  A detach waits for libvirt's device-removed event (the guest
 * released the device), bounded by host.timeout_ms.
 */
#ifndef VN_HOST_LIBVIRT_H
#define VN_HOST_LIBVIRT_H

#include <stdbool.h>
#include <stddef.h>

#include "host.h"

struct vn_ctl;
struct vn_device;
struct vn_host_libvirt;

/* True when virtnet.conf's host is a libvirt domain. */
bool vn_host_libvirt_enabled(const struct vn_ctl *ctl);

/* host.h's vn_host_attach() for a libvirt domain; same contract. */
int vn_host_libvirt_attach(struct vn_ctl *ctl, struct vn_device *dev, vn_host_done_fn *done,
                           void *ctx, char *why, size_t whylen);

/* host.h's vn_host_detach() for a libvirt domain; same contract. */
int vn_host_libvirt_detach(struct vn_ctl *ctl, struct vn_device *dev, vn_host_done_fn *done,
                           void *ctx, char *why, size_t whylen);

/*
 * The <interface type='vhostuser'> that attaches 'dev' (for `query`, and
 * for static PFs and VFs, which an operator puts in the domain's XML).  With
 * 'live', the XML of a live attach (no <mtu>, which libvirt 9.0 refuses on a
 * hot-plugged vhostuser interface).  malloc'ed; NULL when 'dev' has no
 * vhost-user socket or out of memory.
 */
char *vn_host_libvirt_xml(const struct vn_device *dev, bool live);

/*
 * Starts the worker (and sets libvirt's process-wide error handler and event
 * loop) when the host is a libvirt domain; a no-op otherwise.  0 or -errno
 * (logged).  Attach and detach start it too when it is not running.
 */
int vn_host_libvirt_start(struct vn_ctl *ctl);

/*
 * Main loop: lets the worker finish what it was given (each operation is
 * bounded), joins it, runs the 'done' callbacks of what finished, and frees
 * it.  Accepts NULL.  'ctl->libvirt' is reset.
 */
void vn_host_libvirt_stop(struct vn_ctl *ctl);

#endif /* VN_HOST_LIBVIRT_H */
