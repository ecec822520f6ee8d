/*
 * sfmgr_class.h - what an SF manager class implements (the SDK side of
 * sfmgr.h).  A class only makes, adopts, configures and deletes one
 * representor at a time; numbers and the pool are the core's (sfmgr.c).
 *
 * Lifecycle: init() when the SF manager opens, fini() when it closes.
 * Every op runs on the main loop's thread.  create, destroy and set_mtu are
 * mandatory (checked at open); open_queue is optional (-EOPNOTSUPP).
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
    int (*create)(void *priv, uint32_t pf_num, uint32_t sf_num, uint32_t mtu,
                  struct vn_sf_rep *out);
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
};

extern const struct vn_sfmgr_class vn_sfmgr_tap_class;
extern const struct vn_sfmgr_class vn_sfmgr_dummy_class;

#endif /* VN_SFMGR_CLASS_H */
