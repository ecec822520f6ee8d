/*
 * sfmgr.h - the SF manager interface (seam 2): scalable functions and their
 * representor netdevs, the SF pool and who owns which SF number.
 *
 * Every device has an SF whose representor the operator adds to OVS,
 * named en3f<pf>pf<pf>sf<sf_num>.  What makes a representor exist is a
 * class (struct vn_sfmgr_class, sfmgr_class.h) chosen with the emulation
 * backend:
 *   "tap"   - the software DPU: a persistent multi-queue tap (sfmgr_tap.c);
 *   "dummy" - representors in memory only: no netdev, no root (sfmgr_dummy.c).
 * A hardware class would add SFs with devlink.
 *
 * Above the class, once for all of them: SF number ownership (a number is
 * held by a device or by the pool, never twice; numbers recovery files claim
 * are kept for them during start-up) and the SF pool (config
 * sf_pool_percent, sf_pool_force_destroy): representors made ahead of time
 * on port 0 so a hotplug does not wait for one.
 *
 * Runs on the main loop's thread.
 */
#ifndef VN_SFMGR_H
#define VN_SFMGR_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vn_nl;
struct vn_sfmgr;

/* The controller only uses SF numbers from here on (vendor rule). */
#define VN_SF_NUM_MIN 1000
#define VN_SF_NUM_MAX 99999 /* the representor name must fit IFNAMSIZ */

/* A representor.  Plain data: copying it moves the ownership of the netdev. */
struct vn_sf_rep {
    char ifname[IFNAMSIZ]; /* "" when none */
    int ifindex;           /* 0 when none */
    uint32_t pf_num;       /* physical port the SF belongs to */
    uint32_t sf_num;
    uint32_t mtu;          /* the netdev's MTU */
    bool adopted;          /* left by an earlier run, not created by us */
};

/*
 * Writes the representor name of SF 'sf_num' on port 'pf_num' into 'buf'.
 * Returns 0, or -ENAMETOOLONG when the name would not fit in IFNAMSIZ - 1
 * characters (with pf 0, SF numbers up to 5 digits fit).
 */
int vn_sf_rep_name(uint32_t pf_num, uint32_t sf_num, char buf[IFNAMSIZ]);

/* What a device asks of vn_sfmgr_acquire(). */
struct vn_sf_req {
    uint32_t pf_num;
    uint32_t sf_num;   /* 0: any (from the pool when pf_num is the pool's port) */
    uint32_t mtu;      /* at least */
    const char *owner; /* the device's VUID, marked on the representor */
    bool recorded;     /* a recovery file names this representor (restore) */
};

struct vn_sfmgr_cfg {
    const char *backend;     /* "tap" or "dummy" */
    const char *serial;      /* this controller's board serial: its representors' mark */
    struct vn_nl *nl;        /* tap: borrowed rtnetlink socket */
    uint32_t total_sf;       /* PF_TOTAL_SF: numbers in use at most */
    uint32_t sf_num_base;    /* lowest number handed out when none is asked for */
    uint32_t pool_size;      /* representors the pool keeps ready (0: no pool) */
    uint32_t pool_mtu;       /* their MTU */
    bool pool_force_destroy; /* sf_pool_force_destroy: the pool's netdevs go at close */
};

bool vn_sfmgr_backend_known(const char *name);

/* Opens the SF manager (empty pool).  Returns 0 and '*out', or a negative errno, logged. */
int vn_sfmgr_open(const struct vn_sfmgr_cfg *cfg, struct vn_sfmgr **out);

/*
 * Closes it: the pool's representors stay persistent for the next start
 * (deleted with pool_force_destroy).  Representors held by devices must have
 * been released.  Accepts NULL.
 */
void vn_sfmgr_close(struct vn_sfmgr *sfm);
const char *vn_sfmgr_name(const struct vn_sfmgr *sfm);

/* Start-up: SF number 'sf' belongs to a recovery file; no one else gets it until unreserve. */
void vn_sfmgr_reserve(struct vn_sfmgr *sfm, uint32_t sf);
void vn_sfmgr_unreserve_all(struct vn_sfmgr *sfm);
bool vn_sfmgr_sf_used(const struct vn_sfmgr *sfm, uint32_t sf);

/* Fills the pool (after the devices of the recovery files took their numbers); partial is kept. */
void vn_sfmgr_pool_fill(struct vn_sfmgr *sfm);

/*
 * Gives a device its representor: SF req->sf_num (or, when 0, one from the
 * pool if req->pf_num is the pool's port, else the lowest free number), MTU
 * at least req->mtu, marked as req->owner's; a persistent representor of
 * that name left by an earlier run is adopted when it carries this
 * controller's mark (-EEXIST when it is someone else's).  Returns 0 and '*out' (the caller owns it: vn_sfmgr_release()),
 * or a negative errno with a message for the user in 'err' and nothing
 * changed.  Fault points (class): "sf_create", "sf_link_up".
 */
int vn_sfmgr_acquire(struct vn_sfmgr *sfm, const struct vn_sf_req *req, struct vn_sf_rep *out,
                     char *err, size_t errlen);

/*
 * Takes a device's representor back.  'destroy': it goes back into the pool
 * when the pool has room, else its netdev is deleted; else it stays
 * persistent for the next start.  Either way its number is free (or the
 * pool's) and 'rep' is emptied.  Returns 0, or the class's error deleting it.
 */
int vn_sfmgr_release(struct vn_sfmgr *sfm, struct vn_sf_rep *rep, bool destroy);

/* Sets the representor's MTU.  Returns 0 (rep->mtu updated) or a negative errno. */
int vn_sfmgr_set_mtu(struct vn_sfmgr *sfm, struct vn_sf_rep *rep, uint32_t mtu);

/*
 * Attaches a datapath queue to the representor (non-blocking, close-on-exec;
 * the caller owns '*fd_out').  -EOPNOTSUPP when the class has no queues
 * (dummy), -ENODEV when the netdev is gone.
 */
int vn_sfmgr_open_queue(struct vn_sfmgr *sfm, const struct vn_sf_rep *rep, int *fd_out);

/*
 * Frames the representor has taken from the device side so far (what the
 * datapath wrote into it and the netdev accepted): 0 and '*out', -EOPNOTSUPP
 * when the class cannot tell, -ENODEV when the netdev is gone.
 */
int vn_sfmgr_rx_frames(struct vn_sfmgr *sfm, const struct vn_sf_rep *rep, uint64_t *out);

/*
 * Cold start, after every device and the pool took their representors:
 * deletes the representors that carry this controller's mark but belong to
 * no device and not to the pool (a crash between making a representor and
 * writing its recovery file, a recovery file deleted while the controller
 * was stopped).  Each one is logged.  'keep' (may be NULL) spares the ones
 * it returns true for: a representor a recovery file still names, whose
 * device could not be restored this time.  Returns how many went, or -errno.
 */
typedef bool vn_sfmgr_keep_fn(void *ctx, const char *ifname);
int vn_sfmgr_reap_orphans(struct vn_sfmgr *sfm, vn_sfmgr_keep_fn *keep, void *ctx);

struct vn_sfmgr_counts {
    uint32_t in_use;    /* numbers held by devices and the pool */
    uint32_t pool_size; /* what the pool holds when full */
    uint32_t pool_free; /* representors in the pool now */
};
void vn_sfmgr_counts(const struct vn_sfmgr *sfm, struct vn_sfmgr_counts *out);

#endif /* VN_SFMGR_H */
