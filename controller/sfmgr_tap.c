/*
 * sfmgr_tap.c - the software DPU's SF manager class: representors are
 * persistent taps; see sfmgr_tap.h.
 *
 * A representor is made with /dev/net/tun (TUNSETIFF, TUNSETPERSIST,
 * TUNSETVNETHDRSZ) and configured with rtnetlink (lib/netlink.c).  Whether
 * an existing netdev is one of ours is read from rtnetlink (IFLA_LINKINFO:
 * kind "tun" and the tap's flags), which, unlike /sys, always answers for
 * the network namespace the controller runs in.
 */
#include <config.h>

#include "sfmgr_tap.h"
#include "sfmgr_class.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

#define REP_FLAGS     (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)
#define VNET_HDR_SIZE 12 /* struct virtio_net_hdr_mrg_rxbuf: VERSION_1 and MRG_RXBUF */

/* True when 'l' is a tap as vn_sf_rep_create() makes them. */
static bool is_rep_tap(const struct vn_nl_link *l)
{
    const struct vn_nl_tun *t = &l->tun;

    return !strcmp(l->kind, "tun") && t->valid && t->type == IFF_TAP && !t->pi && t->vnet_hdr &&
           t->multi_queue && t->persist;
}

/* Why 'l' is not a representor, for the log line that refuses it. */
static const char *not_rep_reason(const struct vn_nl_link *l)
{
    const struct vn_nl_tun *t = &l->tun;

    if (strcmp(l->kind, "tun"))
        return "not a tap";
    if (!t->valid)
        return "a tun/tap whose flags the kernel does not report";
    if (t->type != IFF_TAP)
        return "a tun, not a tap";
    if (t->pi || !t->vnet_hdr || !t->multi_queue)
        return "a tap without IFF_NO_PI, IFF_VNET_HDR and IFF_MULTI_QUEUE";
    return "a tap that is not persistent (another program's)";
}

/*
 * Attaches a queue to tap 'name', creating the tap when there is no netdev
 * of that name.  'open_flags' are added to O_RDWR | O_CLOEXEC.  Returns the
 * queue fd (the caller owns it) or a negative errno.
 */
static int tap_attach(const char *name, int open_flags)
{
    struct ifreq ifr;
    int fd, ret;

    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | open_flags);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = REP_FLAGS;
    ret = vn_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    if (ret < 0)
        goto err_close_queue;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        ret = -errno;
        goto err_close_queue;
    }
    return fd;

err_close_queue:
    close(fd);
    return ret;
}

/*
 * Adopts the persistent representor tap 'link' left by an earlier run, by
 * rtnetlink only: no queue is attached to it, because a tap that another
 * process still serves (the old controller during a live update) would get
 * part of its incoming frames steered to that queue and dropped when it
 * closes.  Raises its MTU to 'mtu' if lower and brings it up.
 */
static int rep_adopt(struct vn_nl *nl, const struct vn_nl_link *link, uint32_t mtu,
                     struct vn_sf_rep *rep)
{
    uint32_t new_mtu = link->mtu;
    int ret;

    if (vn_fault("sf_create"))
        return -EIO;
    if (link->mtu < mtu) {
        ret = vn_nl_link_set_mtu(nl, link->ifindex, mtu);
        if (ret < 0) {
            VN_ERR(SF, "%s: cannot set MTU %u: %s", rep->ifname, mtu, strerror(-ret));
            return ret;
        }
        new_mtu = mtu;
    }
    if (vn_fault("sf_link_up")) {
        ret = -EIO;
        goto err_restore_mtu;
    }
    if (!link->up) {
        ret = vn_nl_link_set_up(nl, link->ifindex, true);
        if (ret < 0) {
            VN_ERR(SF, "%s: cannot bring the link up: %s", rep->ifname, strerror(-ret));
            goto err_restore_mtu;
        }
    }
    rep->ifindex = link->ifindex;
    rep->mtu = new_mtu;
    rep->adopted = true;
    return 0;

err_restore_mtu:
    if (new_mtu != link->mtu)
        (void)vn_nl_link_set_mtu(nl, link->ifindex, link->mtu);
    return ret;
}

/*
 * Makes a new persistent representor tap called rep->ifname (no netdev of
 * that name existed at the look-up), with MTU at least 'mtu', up.  On
 * failure the tap is gone again.
 */
static int rep_make(struct vn_nl *nl, uint32_t mtu, struct vn_sf_rep *rep)
{
    struct vn_nl_link link;
    int hdr = VNET_HDR_SIZE;
    int fd, ret;

    fd = tap_attach(rep->ifname, 0);
    if (fd < 0) {
        ret = fd;
        /* Another program's netdev may have taken the name since the look-up. */
        if (vn_nl_link_get(nl, rep->ifname, &link) == 0)
            ret = -EEXIST;
        VN_ERR(SF, "%s: cannot create the tap: %s", rep->ifname, strerror(-ret));
        return ret;
    }
    /*
     * TUNSETIFF attaches to a tap of that name made since the look-up: the
     * tap is ours only if it is not persistent yet (TUNSETPERSIST below).
     */
    ret = vn_nl_link_get(nl, rep->ifname, &link);
    if (ret < 0) {
        VN_ERR(SF, "%s: cannot look the new tap up: %s", rep->ifname, strerror(-ret));
        goto err_close_queue;
    }
    if (link.tun.valid && link.tun.persist) {
        VN_ERR(SF, "%s: another program made a tap of that name meanwhile: left alone",
               rep->ifname);
        ret = -EEXIST;
        goto err_close_queue;
    }
    /* From here until the end, the queue fd keeps the tap alive. */
    if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
        ret = -errno;
        VN_ERR(SF, "%s: cannot make the tap persistent: %s", rep->ifname, strerror(-ret));
        goto err_close_queue;
    }
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
        ret = -errno;
        VN_ERR(SF, "%s: cannot set the vnet header size to %d: %s", rep->ifname, hdr,
               strerror(-ret));
        goto err_unpersist;
    }
    if (vn_fault("sf_create")) {
        ret = -EIO;
        goto err_unpersist;
    }
    if (link.mtu < mtu) {
        ret = vn_nl_link_set_mtu(nl, link.ifindex, mtu);
        if (ret < 0) {
            VN_ERR(SF, "%s: cannot set MTU %u: %s", rep->ifname, mtu, strerror(-ret));
            goto err_unpersist;
        }
        link.mtu = mtu;
    }
    if (vn_fault("sf_link_up")) {
        ret = -EIO;
        goto err_unpersist;
    }
    ret = vn_nl_link_set_up(nl, link.ifindex, true);
    if (ret < 0) {
        VN_ERR(SF, "%s: cannot bring the link up: %s", rep->ifname, strerror(-ret));
        goto err_unpersist;
    }
    /* The netdev persists without any queue attached. */
    close(fd);
    rep->ifindex = link.ifindex;
    rep->mtu = link.mtu;
    rep->adopted = false;
    return 0;

err_unpersist:
    /* A tap created here disappears when its last queue closes. */
    (void)!ioctl(fd, TUNSETPERSIST, 0);
err_close_queue:
    close(fd);
    return ret;
}

/*
 * vn_sf_rep_create(), with 'may_adopt' (may be NULL: any representor tap)
 * deciding from the one look-up whether an existing tap of that name may be
 * adopted; when it says no, -EEXIST and the tap is left alone (it logs why).
 */
static int rep_create(struct vn_nl *nl, uint32_t pf_num, uint32_t sf_num, uint32_t mtu,
                      bool (*may_adopt)(const struct vn_nl_link *l, void *ctx), void *ctx,
                      struct vn_sf_rep *out)
{
    struct vn_sf_rep rep = {.pf_num = pf_num, .sf_num = sf_num};
    struct vn_nl_link link;
    int ret;

    ret = vn_sf_rep_name(pf_num, sf_num, rep.ifname);
    if (ret < 0) {
        VN_ERR(SF, "SF %u of port %u: the representor name does not fit in %d characters", sf_num,
               pf_num, IFNAMSIZ - 1);
        return ret;
    }

    /* A netdev of that name is adopted when it is one of ours, else refused. */
    ret = vn_nl_link_get(nl, rep.ifname, &link);
    if (ret == 0 && !is_rep_tap(&link)) {
        VN_ERR(SF, "%s: a netdev of that name exists and is %s: left alone", rep.ifname,
               not_rep_reason(&link));
        return -EEXIST;
    }
    if (ret < 0 && ret != -ENODEV) {
        VN_ERR(SF, "%s: cannot look the netdev up: %s", rep.ifname, strerror(-ret));
        return ret;
    }
    if (ret == 0 && may_adopt && !may_adopt(&link, ctx))
        return -EEXIST;
    ret = ret == 0 ? rep_adopt(nl, &link, mtu, &rep) : rep_make(nl, mtu, &rep);
    if (ret < 0)
        return ret;
    VN_INFO(SF, "%s: representor of SF %u %s (ifindex %d, MTU %u)", rep.ifname, sf_num,
            rep.adopted ? "adopted" : "created", rep.ifindex, rep.mtu);
    *out = rep;
    return 0;
}

int vn_sf_rep_create(struct vn_nl *nl, uint32_t pf_num, uint32_t sf_num, uint32_t mtu,
                     struct vn_sf_rep *out)
{
    return rep_create(nl, pf_num, sf_num, mtu, NULL, NULL, out);
}

int vn_sf_rep_destroy(struct vn_nl *nl, struct vn_sf_rep *rep)
{
    struct vn_nl_link link;
    int ret;

    if (!rep->ifname[0])
        return 0;
    ret = vn_nl_link_get(nl, rep->ifname, &link);
    if (ret == -ENODEV) {
        VN_INFO(SF, "%s: representor already gone", rep->ifname);
        goto out_forget;
    }
    if (ret < 0) {
        VN_ERR(SF, "%s: cannot look the representor up: %s", rep->ifname, strerror(-ret));
        return ret;
    }
    if (rep->ifindex && link.ifindex != rep->ifindex) {
        VN_WARN(SF,
                "%s: the netdev of that name has ifindex %d, not the representor's %d: "
                "left alone",
                rep->ifname, link.ifindex, rep->ifindex);
        goto out_forget;
    }
    if (!is_rep_tap(&link)) {
        VN_WARN(SF, "%s: the netdev of that name is %s: left alone", rep->ifname,
                not_rep_reason(&link));
        goto out_forget;
    }
    ret = vn_nl_link_del(nl, link.ifindex);
    if (ret < 0 && ret != -ENODEV) {
        VN_ERR(SF, "%s: cannot remove the representor: %s", rep->ifname, strerror(-ret));
        return ret;
    }
    VN_INFO(SF, "%s: representor removed", rep->ifname);
out_forget:
    rep->ifname[0] = '\0';
    rep->ifindex = 0;
    rep->adopted = false;
    return 0;
}

int vn_sf_rep_set_mtu(struct vn_nl *nl, struct vn_sf_rep *rep, uint32_t mtu)
{
    int ret;

    if (!rep->ifindex)
        return -ENODEV;
    ret = vn_nl_link_set_mtu(nl, rep->ifindex, mtu);
    if (ret < 0) {
        VN_ERR(SF, "%s: cannot set MTU %u: %s", rep->ifname, mtu, strerror(-ret));
        return ret;
    }
    VN_INFO(SF, "%s: MTU %u -> %u", rep->ifname, rep->mtu, mtu);
    rep->mtu = mtu;
    return 0;
}

int vn_sf_rep_open_queue(const struct vn_sf_rep *rep, int *fd_out)
{
    int fd, ret;

    /*
     * TUNSETIFF makes a new tap when the name is free, so check that the
     * representor is there before, and that the queue is on it after.
     */
    if (!rep->ifindex || if_nametoindex(rep->ifname) != (unsigned int)rep->ifindex) {
        VN_ERR(SF, "%s: cannot open a queue: the representor (ifindex %d) is gone",
               rep->ifname[0] ? rep->ifname : "(none)", rep->ifindex);
        return -ENODEV;
    }
    fd = tap_attach(rep->ifname, O_NONBLOCK);
    if (fd < 0) {
        VN_ERR(SF, "%s: cannot open a queue: %s", rep->ifname, strerror(-fd));
        return fd;
    }
    if (if_nametoindex(rep->ifname) != (unsigned int)rep->ifindex) {
        ret = -ENODEV;
        VN_ERR(SF, "%s: cannot open a queue: the representor went away", rep->ifname);
        goto err_close_queue;
    }
    *fd_out = fd;
    return 0;

err_close_queue:
    close(fd); /* a tap that TUNSETIFF made in the meantime is not persistent: gone with it */
    return ret;
}

/* ---- the class ---------------------------------------------------------- */

#define MARK_PREFIX "virtnet:" /* the alias of our representors: virtnet:<serial>:<owner> */

struct tap_priv {
    struct vn_nl *nl;
    char mark[VN_NL_ALIAS_LEN]; /* "virtnet:<serial>:" */
};

static int tap_init(const struct vn_sfmgr_cfg *cfg, void **priv)
{
    struct tap_priv *t;

    if (!cfg->nl || !cfg->serial)
        return -EINVAL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->nl = cfg->nl;
    if (vn_snprintf(t->mark, sizeof(t->mark), MARK_PREFIX "%s:", cfg->serial) < 0) {
        free(t);
        return -ENAMETOOLONG;
    }
    *priv = t;
    return 0;
}

static void tap_fini(void *priv)
{
    free(priv);
}

static bool is_ours(const struct tap_priv *t, const struct vn_nl_link *l)
{
    return !strncmp(l->alias, t->mark, strlen(t->mark));
}

static int tap_set_owner(void *priv, const struct vn_sf_rep *rep, const char *owner)
{
    struct tap_priv *t = priv;
    char alias[VN_NL_ALIAS_LEN];
    int ret;

    if (vn_snprintf(alias, sizeof(alias), "%s%s", t->mark, owner) < 0)
        return -ENAMETOOLONG;
    ret = vn_nl_link_set_alias(t->nl, rep->ifindex, alias);
    if (ret < 0)
        VN_ERR(SF, "%s: cannot mark the representor as %s's: %s", rep->ifname, owner,
               strerror(-ret));
    return ret;
}

struct adopt_check {
    const struct tap_priv *t;
    const struct vn_sf_req *req;
};

/* A tap of that name is adopted only with our mark, or unmarked if a record names it. */
static bool may_adopt(const struct vn_nl_link *l, void *ctx)
{
    const struct adopt_check *a = ctx;

    if (is_ours(a->t, l) || (!l->alias[0] && a->req->recorded))
        return true;
    VN_ERR(SF, "%s: a tap of that name exists and is not this controller's (%s%s%s): left alone",
           l->name, l->alias[0] ? "alias '" : "no mark", l->alias, l->alias[0] ? "'" : "");
    return false;
}

static int tap_create(void *priv, const struct vn_sf_req *req, struct vn_sf_rep *out)
{
    struct tap_priv *t = priv;
    struct adopt_check a = {t, req};
    struct vn_sf_rep rep;
    int ret;

    ret = rep_create(t->nl, req->pf_num, req->sf_num, req->mtu, may_adopt, &a, &rep);
    if (ret < 0)
        return ret;
    ret = tap_set_owner(t, &rep, req->owner);
    if (ret < 0) {
        if (!rep.adopted)
            (void)vn_sf_rep_destroy(t->nl, &rep);
        return ret;
    }
    *out = rep;
    return 0;
}

static int tap_destroy(void *priv, struct vn_sf_rep *rep)
{
    struct tap_priv *t = priv;
    struct vn_nl_link l;

    /* Someone else's now (same name, another mark): not ours to delete. */
    if (vn_nl_link_get(t->nl, rep->ifname, &l) == 0 && l.alias[0] && !is_ours(t, &l)) {
        VN_WARN(SF, "%s: the netdev of that name carries another mark ('%s'): left alone",
                rep->ifname, l.alias);
        rep->ifname[0] = '\0';
        rep->ifindex = 0;
        rep->adopted = false;
        return 0;
    }
    return vn_sf_rep_destroy(t->nl, rep);
}

static int tap_set_mtu(void *priv, struct vn_sf_rep *rep, uint32_t mtu)
{
    return vn_sf_rep_set_mtu(((struct tap_priv *)priv)->nl, rep, mtu);
}

static int tap_open_queue(void *priv, const struct vn_sf_rep *rep, int *fd_out)
{
    (void)priv;
    return vn_sf_rep_open_queue(rep, fd_out);
}

/* A tap counts each frame written into it and taken as received (rx_packets). */
static int tap_rx_frames(void *priv, const struct vn_sf_rep *rep, uint64_t *out)
{
    struct vn_nl_link l;
    int ret = vn_nl_link_get_stats(((struct tap_priv *)priv)->nl, rep->ifname, &l);

    if (ret < 0)
        return ret;
    if (rep->ifindex && l.ifindex != rep->ifindex)
        return -ENODEV;
    if (!l.has_stats)
        return -EOPNOTSUPP;
    *out = l.rx_packets;
    return 0;
}

struct owned_walk {
    const struct tap_priv *t;
    void (*fn)(const struct vn_sf_rep *rep, void *ctx);
    void *ctx;
};

static int owned_cb(const struct vn_nl_link *l, void *ctx)
{
    struct owned_walk *w = ctx;
    struct vn_sf_rep rep = {.ifindex = l->ifindex, .mtu = l->mtu};

    if (is_rep_tap(l) && is_ours(w->t, l)) {
        vn_strlcpy(rep.ifname, l->name, sizeof(rep.ifname));
        w->fn(&rep, w->ctx);
    }
    return 0;
}

static int tap_for_each_owned(void *priv, void (*fn)(const struct vn_sf_rep *rep, void *ctx),
                              void *ctx)
{
    struct owned_walk w = {priv, fn, ctx};

    return vn_nl_link_foreach(((struct tap_priv *)priv)->nl, owned_cb, &w);
}

const struct vn_sfmgr_class vn_sfmgr_tap_class = {
    .name = "tap",
    .init = tap_init,
    .fini = tap_fini,
    .create = tap_create,
    .destroy = tap_destroy,
    .set_mtu = tap_set_mtu,
    .open_queue = tap_open_queue,
    .rx_frames = tap_rx_frames,
    .set_owner = tap_set_owner,
    .for_each_owned = tap_for_each_owned,
};
