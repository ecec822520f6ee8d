/*
 * sfmgr_class.h - what an SF manager class implements (the SDK side of
 * sfmgr.h).  A class only makes, adopts, configures and deletes one
 * representor at a time; numbers and the pool are the core's (sfmgr.c).
 *
 * Ownership: every representor a class makes carries a mark naming this
 * controller (its serial) and the representor's owner (a device's VUID, or
 * "pool"); a class adopts or deletes only representors with this
 * controller's mark, and lists them for the core's orphan check.  (An
 * unmarked one that a recovery file names -- made before marks existed --
 * is adopted and marked.)
 *
 * Lifecycle: init() when the SF manager opens, fini() when it closes.
 * Every op runs on the main loop's thread.  create, destroy, set_mtu and
 * set_owner are mandatory (checked at open); open_queue (-EOPNOTSUPP) and
 * for_each_owned (nothing to list) are optional.
 */
#ifndef VN_SFMGR_CLASS_H
#define VN_SFMGR_CLASS_H

#include "sfmgr.h"

struct vn_sfmgr_class {
    const char *name;
    /* Optional.  Sets '*priv' from 'cfg' (borrowed for the manager's life); 0 or -errno. */
    int (*init)(const struct vn_sfmgr_cfg *cfg, void **priv);
    void (*fini)(void *priv);
    /*
     * Creates the representor of SF 'sf_num' on port 'pf_num', or adopts the
     * one of that name an earlier run left, with MTU at least 'mtu', up.
     * Returns 0 and '*out' (the caller owns the representor), -EEXIST when
     * the name is taken by something that is not ours (left alone), or
     * another -errno: then what was created is gone, what was adopted is as
     * found, '*out' untouched.
     */
    int (*create)(void *priv, const struct vn_sf_req *req, struct vn_sf_rep *out);
    /*
     * Deletes the representor; one already gone, or replaced by something
     * not ours, is success.  On success 'rep' has no netdev (ifname "",
     * ifindex 0); on failure it is unchanged and still the caller's.
     */
    int (*destroy)(void *priv, struct vn_sf_rep *rep);
    /* Sets the MTU; 0 (rep->mtu updated) or -errno. */
    int (*set_mtu)(void *priv, struct vn_sf_rep *rep, uint32_t mtu);
    /* Attaches a datapath queue; 0 and '*fd_out' (caller owns), or -errno. */
    int (*open_queue)(void *priv, const struct vn_sf_rep *rep, int *fd_out);
    /*
     * Optional.  Frames the representor has taken from the device side (a
     * tap: frames written into it, its rx_packets); 0 or -errno.
     */
    int (*rx_frames)(void *priv, const struct vn_sf_rep *rep, uint64_t *out);
    /* Marks 'rep' as owned by 'owner' (a VUID or "pool"); 0 or -errno. */
    int (*set_owner)(void *priv, const struct vn_sf_rep *rep, const char *owner);
    /*
     * Calls 'fn' with every representor that carries this controller's mark
     * (its name and ifindex filled, the rest zero); 0 or -errno.
     */
    int (*for_each_owned)(void *priv, void (*fn)(const struct vn_sf_rep *rep, void *ctx),
                          void *ctx);
};

extern const struct vn_sfmgr_class vn_sfmgr_tap_class;
extern const struct vn_sfmgr_class vn_sfmgr_dummy_class;

#endif /* VN_SFMGR_CLASS_H */
