/*
 * sfmgr.c - the SF manager core: class dispatch, SF number ownership and the
 * SF pool; see sfmgr.h.
 */
#include <config.h>

#include "sfmgr.h"
#include "sfmgr_class.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define POOL_PORT 0 /* the emulation manager's port */
#define POOL_OWNER "pool"
#define NO_PORT 0xff /* held_pf[] of a number nobody holds */

struct vn_sfmgr {
    const struct vn_sfmgr_class *cls;
    void *priv;
    struct vn_sfmgr_cfg cfg;
    uint8_t used[VN_SF_NUM_MAX / 8 + 1];     /* held by a device or the pool */
    uint8_t reserved[VN_SF_NUM_MAX / 8 + 1]; /* claimed by a recovery file during start */
    uint32_t in_use;
    uint8_t held_pf[VN_SF_NUM_MAX + 1];      /* the port of the representor holding a number */
    struct vn_sf_rep *pool; /* free representors, pool_n of cfg.pool_size */
    uint32_t pool_n;
};

static const struct vn_sfmgr_class *const classes[] = {
    &vn_sfmgr_tap_class,
    &vn_sfmgr_dummy_class,
};

int vn_sf_rep_name(uint32_t pf_num, uint32_t sf_num, char buf[IFNAMSIZ])
{
    return vn_snprintf(buf, IFNAMSIZ, "en3f%upf%usf%u", pf_num, pf_num, sf_num);
}

static const struct vn_sfmgr_class *class_find(const char *name)
{
    for (size_t i = 0; i < VN_ARRAY_SIZE(classes); i++)
        if (!strcmp(classes[i]->name, name))
            return classes[i];
    return NULL;
}

bool vn_sfmgr_backend_known(const char *name)
{
    return class_find(name) != NULL;
}

static bool bit_get(const uint8_t *map, uint32_t sf)
{
    return sf <= VN_SF_NUM_MAX && (map[sf / 8] & (1u << (sf % 8)));
}

static void bit_set(uint8_t *map, uint32_t sf, bool on)
{
    if (sf > VN_SF_NUM_MAX)
        return;
    if (on)
        map[sf / 8] |= (uint8_t)(1u << (sf % 8));
    else
        map[sf / 8] &= (uint8_t)~(1u << (sf % 8));
}

/* Marks number 'sf' held (by a representor on port 'pf') or free. */
static void sf_mark(struct vn_sfmgr *sfm, uint32_t sf, uint32_t pf, bool used)
{
    if (sf <= VN_SF_NUM_MAX)
        sfm->held_pf[sf] = used && pf < NO_PORT ? (uint8_t)pf : NO_PORT;
    if (used == bit_get(sfm->used, sf))
        return;
    bit_set(sfm->used, sf, used);
    if (used)
        sfm->in_use++;
    else
        sfm->in_use--;
}

/* Lowest free SF number >= sf_num_base, or -ENOSPC. */
static int64_t sf_alloc_any(const struct vn_sfmgr *sfm)
{
    for (uint32_t sf = sfm->cfg.sf_num_base; sf <= VN_SF_NUM_MAX; sf++)
        if (!bit_get(sfm->used, sf) && !bit_get(sfm->reserved, sf))
            return sf;
    return -ENOSPC;
}

int vn_sfmgr_open(const struct vn_sfmgr_cfg *cfg, struct vn_sfmgr **out)
{
    const struct vn_sfmgr_class *cls = class_find(cfg->backend ? cfg->backend : "");
    struct vn_sfmgr *sfm;
    int ret;

    if (!cls) {
        VN_ERR(SF, "no SF manager called '%s'", cfg->backend ? cfg->backend : "");
        return -ENOENT;
    }
    if (!cls->create || !cls->destroy || !cls->set_mtu || !cls->set_owner) {
        VN_ERR(SF, "SF manager '%s' lacks a mandatory op", cls->name);
        return -EINVAL;
    }
    sfm = calloc(1, sizeof(*sfm));
    if (!sfm)
        return -ENOMEM;
    sfm->cls = cls;
    sfm->cfg = *cfg;
    memset(sfm->held_pf, NO_PORT, sizeof(sfm->held_pf));
    if (cfg->pool_size) {
        sfm->pool = calloc(cfg->pool_size, sizeof(*sfm->pool));
        if (!sfm->pool) {
            free(sfm);
            return -ENOMEM;
        }
    }
    if (cls->init) {
        ret = cls->init(&sfm->cfg, &sfm->priv);
        if (ret < 0) {
            VN_ERR(SF, "SF manager '%s': %s", cls->name, strerror(-ret));
            free(sfm->pool);
            free(sfm);
            return ret;
        }
    }
    *out = sfm;
    return 0;
}

void vn_sfmgr_close(struct vn_sfmgr *sfm)
{
    if (!sfm)
        return;
    if (sfm->pool_n && sfm->cfg.pool_force_destroy) {
        for (uint32_t i = 0; i < sfm->pool_n; i++)
            (void)sfm->cls->destroy(sfm->priv, &sfm->pool[i]);
        VN_INFO(SF, "SF pool: %u representors removed (sf_pool_force_destroy)", sfm->pool_n);
    } else if (sfm->pool_n) {
        VN_INFO(SF, "SF pool: %u representors kept for the next start", sfm->pool_n);
    }
    if (sfm->cls->fini)
        sfm->cls->fini(sfm->priv);
    free(sfm->pool);
    free(sfm);
}

const char *vn_sfmgr_name(const struct vn_sfmgr *sfm)
{
    return sfm->cls->name;
}

void vn_sfmgr_reserve(struct vn_sfmgr *sfm, uint32_t sf)
{
    bit_set(sfm->reserved, sf, true);
}

void vn_sfmgr_unreserve_all(struct vn_sfmgr *sfm)
{
    memset(sfm->reserved, 0, sizeof(sfm->reserved));
}

bool vn_sfmgr_sf_used(const struct vn_sfmgr *sfm, uint32_t sf)
{
    return bit_get(sfm->used, sf);
}

void vn_sfmgr_pool_fill(struct vn_sfmgr *sfm)
{
    while (sfm->pool_n < sfm->cfg.pool_size && sfm->in_use < sfm->cfg.total_sf) {
        int64_t sf = sf_alloc_any(sfm);
        struct vn_sf_req req = {
            .pf_num = POOL_PORT, .mtu = sfm->cfg.pool_mtu, .owner = POOL_OWNER,
            /* A pool representor of an earlier run was never in a recovery file. */
        };
        int ret;

        if (sf < 0)
            break;
        req.sf_num = (uint32_t)sf;
        ret = sfm->cls->create(sfm->priv, &req, &sfm->pool[sfm->pool_n]);
        if (ret < 0) {
            VN_ERR(SF, "SF pool: cannot create SF %u: %s", (uint32_t)sf, strerror(-ret));
            break;
        }
        sf_mark(sfm, (uint32_t)sf, POOL_PORT, true);
        sfm->pool_n++;
    }
    if (sfm->cfg.pool_size)
        VN_INFO(SF, "SF pool: %u of %u representors ready", sfm->pool_n, sfm->cfg.pool_size);
}

/* Hands the last pool representor to 'owner' when it can serve (MTU raised if needed). */
static bool pool_take(struct vn_sfmgr *sfm, uint32_t mtu, const char *owner,
                      struct vn_sf_rep *out)
{
    struct vn_sf_rep rep;

    if (!sfm->pool_n)
        return false;
    rep = sfm->pool[sfm->pool_n - 1];
    if (rep.mtu < mtu && sfm->cls->set_mtu(sfm->priv, &rep, mtu) < 0)
        return false;
    if (sfm->cls->set_owner(sfm->priv, &rep, owner) < 0)
        return false;
    sfm->pool_n--;
    *out = rep;
    VN_INFO(SF, "%s: SF %u taken from the SF pool (%u left)", rep.ifname, rep.sf_num,
            sfm->pool_n);
    return true;
}

int vn_sfmgr_acquire(struct vn_sfmgr *sfm, const struct vn_sf_req *req, struct vn_sf_rep *out,
                     char *err, size_t errlen)
{
    struct vn_sf_req r = *req;
    uint32_t sf_num = req->sf_num;
    int64_t any;
    int ret;

    if (!sf_num && req->pf_num == POOL_PORT && pool_take(sfm, req->mtu, req->owner, out))
        return 0;
    if (sf_num && bit_get(sfm->used, sf_num)) {
        snprintf(err, errlen, "SF number %u is already in use", sf_num);
        return -EEXIST;
    }
    if (sfm->in_use >= sfm->cfg.total_sf) {
        snprintf(err, errlen, "no free SF: all %u (PF_TOTAL_SF) are in use", sfm->cfg.total_sf);
        return -ENOSPC;
    }
    if (!sf_num) {
        any = sf_alloc_any(sfm);
        if (any < 0) {
            snprintf(err, errlen, "no free SF number");
            return (int)any;
        }
        sf_num = (uint32_t)any;
    }
    r.sf_num = sf_num;
    ret = sfm->cls->create(sfm->priv, &r, out);
    if (ret == -EEXIST) {
        snprintf(err, errlen, "SF %u: a netdev with its representor's name exists and is not "
                 "this controller's", sf_num);
        return ret;
    }
    if (ret < 0) {
        snprintf(err, errlen, "cannot create the representor of SF %u: %s", sf_num,
                 strerror(-ret));
        return ret;
    }
    sf_mark(sfm, sf_num, req->pf_num, true);
    return 0;
}

/* Takes a representor into the pool when it belongs there and there is room. */
static bool pool_give_back(struct vn_sfmgr *sfm, struct vn_sf_rep *rep)
{
    if (sfm->pool_n >= sfm->cfg.pool_size || rep->pf_num != POOL_PORT)
        return false;
    if (sfm->cls->set_owner(sfm->priv, rep, POOL_OWNER) < 0)
        return false;
    sfm->pool[sfm->pool_n++] = *rep;
    VN_INFO(SF, "%s: SF %u back in the SF pool (%u free)", rep->ifname, rep->sf_num,
            sfm->pool_n);
    return true;
}

int vn_sfmgr_release(struct vn_sfmgr *sfm, struct vn_sf_rep *rep, bool destroy)
{
    int ret = 0;

    if (!rep->ifname[0])
        return 0;
    if (destroy && pool_give_back(sfm, rep))
        goto out_forget; /* the number stays in use, by the pool */
    if (destroy) {
        ret = sfm->cls->destroy(sfm->priv, rep);
        if (ret < 0)
            return ret;
    }
    sf_mark(sfm, rep->sf_num, rep->pf_num, false);
out_forget:
    rep->ifname[0] = '\0';
    rep->ifindex = 0;
    rep->adopted = false;
    return ret;
}

int vn_sfmgr_set_mtu(struct vn_sfmgr *sfm, struct vn_sf_rep *rep, uint32_t mtu)
{
    if (!rep->ifname[0])
        return -ENODEV;
    return sfm->cls->set_mtu(sfm->priv, rep, mtu);
}

int vn_sfmgr_open_queue(struct vn_sfmgr *sfm, const struct vn_sf_rep *rep, int *fd_out)
{
    if (!sfm->cls->open_queue)
        return -EOPNOTSUPP;
    return sfm->cls->open_queue(sfm->priv, rep, fd_out);
}

int vn_sfmgr_rx_frames(struct vn_sfmgr *sfm, const struct vn_sf_rep *rep, uint64_t *out)
{
    if (!sfm->cls->rx_frames)
        return -EOPNOTSUPP;
    if (!rep->ifname[0])
        return -ENODEV;
    return sfm->cls->rx_frames(sfm->priv, rep, out);
}

struct reap {
    struct vn_sfmgr *sfm;
    vn_sfmgr_keep_fn *keep;
    void *keep_ctx;
    struct vn_sf_rep *orphans;
    unsigned n, cap;
};

static void reap_collect(const struct vn_sf_rep *rep, void *ctx)
{
    struct reap *r = ctx;
    uint32_t pf, sf, pf2;
    int end = 0;

    /* Ours by its mark; an orphan when no device or pool holds that name. */
    if (sscanf(rep->ifname, "en3f%upf%usf%u%n", &pf, &pf2, &sf, &end) == 3 &&
        !rep->ifname[end] && pf == pf2 && sf <= VN_SF_NUM_MAX && bit_get(r->sfm->used, sf) &&
        r->sfm->held_pf[sf] == pf)
        return;
    if (r->keep && r->keep(r->keep_ctx, rep->ifname))
        return;
    if (r->n == r->cap) {
        unsigned cap = r->cap ? 2 * r->cap : 16;
        void *g = realloc(r->orphans, cap * sizeof(*r->orphans));

        if (!g)
            return;
        r->orphans = g;
        r->cap = cap;
    }
    r->orphans[r->n++] = *rep;
}

int vn_sfmgr_reap_orphans(struct vn_sfmgr *sfm, vn_sfmgr_keep_fn *keep, void *ctx)
{
    struct reap r = {.sfm = sfm, .keep = keep, .keep_ctx = ctx};
    int ret, gone = 0;

    if (!sfm->cls->for_each_owned)
        return 0;
    /* Collected first: the class's walk must not be interleaved with deletions. */
    ret = sfm->cls->for_each_owned(sfm->priv, reap_collect, &r);
    for (unsigned i = 0; ret == 0 && i < r.n; i++) {
        char name[IFNAMSIZ];

        vn_strlcpy(name, r.orphans[i].ifname, sizeof(name));
        if (sfm->cls->destroy(sfm->priv, &r.orphans[i]) == 0) {
            VN_WARN(SF, "%s: representor of this controller with no device (an interrupted "
                        "hotplug or unplug, or a recovery file removed): deleted", name);
            gone++;
        }
    }
    free(r.orphans);
    return ret < 0 ? ret : gone;
}

void vn_sfmgr_counts(const struct vn_sfmgr *sfm, struct vn_sfmgr_counts *out)
{
    out->in_use = sfm->in_use;
    out->pool_size = sfm->cfg.pool_size;
    out->pool_free = sfm->pool_n;
}
