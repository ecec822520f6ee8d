/*
 * sf.h - SF representors of the software DPU (seam 2), and the SF pool.
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
 * The SF pool (config sf_pool_percent, sf_pool_force_destroy) keeps
 * representors made ahead of time, so a hotplug does not wait for one.
 *
 * Runs on the main thread; the datapath only uses the queue fds it gets from
 * vn_sf_rep_open_queue().  Fault points: "sf_create" (tap made, before its
 * MTU and link are set) and "sf_link_up" (just before the link goes up).
 */
#ifndef VN_SF_H
#define VN_SF_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct vn_nl;

/* A representor.  Plain data: copying it moves the ownership of the netdev. */
struct vn_sf_rep {
    char ifname[IFNAMSIZ]; /* "" when none */
    int ifindex;           /* 0 when none */
    uint32_t pf_num;       /* physical port the SF belongs to */
    uint32_t sf_num;
    uint32_t mtu; /* the netdev's MTU */
    bool adopted; /* the tap was left by an earlier run, not created by us */
};

/*
 * Writes the representor name of SF 'sf_num' on port 'pf_num' into 'buf'.
 * Returns 0, or -ENAMETOOLONG when the name would not fit in IFNAMSIZ - 1
 * characters (with pf 0, SF numbers up to 5 digits fit).
 */
int vn_sf_rep_name(uint32_t pf_num, uint32_t sf_num, char buf[IFNAMSIZ]);

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

/*
 * The SF pool of one port: representors ready for devices.  Members are
 * read-only for callers.  A zero-filled pool is valid and empty.
 */
struct vn_sf_pool {
    struct vn_nl *nl; /* borrowed; outlives the pool */
    uint32_t pf_num;
    struct vn_sf_rep *reps; /* free representors, ascending sf_num */
    uint32_t n;             /* representors in 'reps' now */
    uint32_t size;          /* what the pool holds when full */
};

/*
 * Fills 'pool' with 'size' representors of port 'pf_num', SF numbers
 * 'sf_base' .. 'sf_base' + 'size' - 1, MTU at least 'mtu'; persistent taps
 * of a previous run are adopted.  The caller computes 'size' (PF_TOTAL_SF *
 * sf_pool_percent / 100).  Returns 0 and a full pool (release it with
 * vn_sf_pool_destroy()), or a negative errno: then every tap created here is
 * removed again, adopted ones are left as found, and 'pool' is empty.
 */
int vn_sf_pool_init(struct vn_sf_pool *pool, struct vn_nl *nl, uint32_t pf_num, uint32_t sf_base,
                    uint32_t size, uint32_t mtu);

/*
 * Takes representor 'sf_num' out of the pool, or the one with the lowest SF
 * number when 'sf_num' is 0.  Returns 0 and '*out' (the caller now owns the
 * representor), -ENOENT when 'sf_num' is not in the pool, -ENOSPC when the
 * pool is empty; '*out' is written only on success.
 */
int vn_sf_pool_take(struct vn_sf_pool *pool, uint32_t sf_num, struct vn_sf_rep *out);

/*
 * Gives representor 'rep' back.  Consumes it in all cases: it goes back into
 * the pool when it belongs to the pool's port and the pool has room, else
 * its netdev is destroyed.  Returns 0, or the error of that destroy (the
 * netdev may then remain).  On return 'rep' has no netdev.
 */
int vn_sf_pool_give_back(struct vn_sf_pool *pool, struct vn_sf_rep *rep);

/*
 * Releases the pool.  With 'force' (sf_pool_force_destroy) the netdevs of
 * the representors still in it are deleted; else they stay persistent and
 * the next start adopts them.  Accepts an empty or released pool.
 */
void vn_sf_pool_destroy(struct vn_sf_pool *pool, bool force);

#endif /* VN_SF_H */
