/*
 * sf.h - SF representors of the software DPU (seam 2).
 *
 * On a BlueField each device's SF has a representor netdev that udev names
 * en3f<pf>pf<pf>sf<sf_num>; the operator adds it to OVS.  Here the
 * representor is a persistent tap with that name, created with IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE so the datapath can attach one
 * queue per virtqueue pair and pass virtio-net headers (checksum and GSO
 * offloads) through unchanged.  Persistence is what lets a representor, and
 * its place in an OVS bridge, survive a controller restart: creating a
 * representor whose tap already exists adopts it (same ifindex).
 *
 * Runs on the main thread.
 */
#ifndef VN_SF_H
#define VN_SF_H

#include <net/if.h>
#include <stdint.h>

struct vn_nl;

struct vn_sf_rep {
    char ifname[IFNAMSIZ];   /* "" when none */
    int ifindex;
    uint32_t pf_num;         /* physical port the SF belongs to */
    uint32_t sf_num;
    uint32_t mtu;            /* the netdev's MTU */
};

/* Writes the representor name of SF 'sf_num' on port 'pf_num'; -ENAMETOOLONG if it cannot fit. */
int vn_sf_rep_name(uint32_t pf_num, uint32_t sf_num, char buf[IFNAMSIZ]);

/*
 * Creates the representor of SF 'sf_num' on port 'pf_num', or adopts the
 * persistent tap of that name left by an earlier run; raises its MTU to
 * 'mtu' if lower and brings it up.  Returns 0 and fills '*out', -EEXIST when
 * a netdev of that name exists and is not such a tap (it is left alone), or
 * another negative errno; on failure nothing created here is left behind.
 */
int vn_sf_rep_create(struct vn_nl *nl, uint32_t pf_num, uint32_t sf_num, uint32_t mtu,
                     struct vn_sf_rep *out);

/* Removes the representor's netdev.  Idempotent; a netdev already gone is success. */
int vn_sf_rep_destroy(struct vn_nl *nl, struct vn_sf_rep *rep);

/* Sets the netdev's MTU. */
int vn_sf_rep_set_mtu(struct vn_nl *nl, struct vn_sf_rep *rep, uint32_t mtu);

/*
 * Opens one more queue of the representor (non-blocking, close-on-exec) for
 * the datapath.  Returns 0 and '*fd_out' (the caller owns it), or -errno.
 */
int vn_sf_rep_open_queue(const struct vn_sf_rep *rep, int *fd_out);

#endif /* VN_SF_H */
