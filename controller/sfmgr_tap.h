/*
 * sfmgr_tap.h - the software DPU's SF manager class ("tap", sfmgr_class.h):
 * its representors, for the class and its unit tests.
 *
 * On a BlueField each device's SF has a representor netdev that udev names
 * en3f<pf>pf<pf>sf<sf_num>; the operator adds it to OVS.  Here the
 * representor is a persistent tap with that name, created with IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE so the datapath can attach one
 * queue per virtqueue pair and pass virtio-net headers (checksum and GSO
 * offloads) through unchanged.  Persistence is what lets a representor, and
 * its place in an OVS bridge, survive a controller restart: creating a
 * representor whose tap already exists adopts it (same ifindex) by rtnetlink
 * alone: no queue is ever opened on an adopted tap to adopt it, since a
 * process still serving it (the old controller in a live update) would lose
 * the frames the kernel steers to that queue.
 *
 * Links are configured over rtnetlink (lib/netlink.h); a netdev is deleted
 * only when it is such a tap and has the ifindex recorded here, so links
 * that are not ours are never touched.
 *
 * Runs on the main thread; the datapath only uses the queue fds it gets
 * from vn_sf_rep_open_queue() (through vn_sfmgr_open_queue()).  Fault
 * points: "sf_create" (tap made, before its MTU and link are set) and
 * "sf_link_up" (just before the link goes up).
 */
#ifndef VN_SFMGR_TAP_H
#define VN_SFMGR_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfmgr.h"

struct vn_nl;

/*
 * Creates the representor of SF 'sf_num' on port 'pf_num', or adopts the
 * persistent tap of that name left by an earlier run; raises its MTU to
 * 'mtu' if it is lower and brings it up.  No queue stays attached.
 * Returns 0 and fills '*out' (the caller owns the representor: destroy it,
 * or leave it persistent for the next run), -EEXIST when a netdev of that
 * name exists and is not a persistent multi-queue vnet-hdr tap (it is left
 * alone), or another negative errno.  On failure '*out' is untouched, a tap
 * created here is gone and an adopted one is left as it was found.
 */
int vn_sf_rep_create(struct vn_nl *nl, uint32_t pf_num, uint32_t sf_num, uint32_t mtu,
                     struct vn_sf_rep *out);

/*
 * Removes the representor's netdev (RTM_DELLINK; attached queues are
 * detached by the kernel).  A netdev already gone, or replaced by one that
 * is not ours, is success.  Idempotent: on success 'rep' has no netdev
 * (ifname "", ifindex 0; pf_num and sf_num kept).  On failure 'rep' is
 * unchanged and still owned by the caller.
 */
int vn_sf_rep_destroy(struct vn_nl *nl, struct vn_sf_rep *rep);

/* Sets the netdev's MTU.  Returns 0 (and updates rep->mtu) or a negative errno. */
int vn_sf_rep_set_mtu(struct vn_nl *nl, struct vn_sf_rep *rep, uint32_t mtu);

/*
 * Attaches one more queue to the representor (non-blocking, close-on-exec)
 * for the datapath; never creates a netdev.  Returns 0 and '*fd_out' (the
 * caller owns it), -ENODEV when the representor's netdev is gone, or another
 * negative errno and '*fd_out' untouched.
 */
int vn_sf_rep_open_queue(const struct vn_sf_rep *rep, int *fd_out);

#endif /* VN_SFMGR_TAP_H */
