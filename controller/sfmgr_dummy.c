/*
 * sfmgr_dummy.c - the dummy SF manager class: representors that exist only
 * in this process's memory.  No netdev is made, nothing needs root; names,
 * SF numbers, MTUs and the pool behave as with taps, so everything above the
 * seam (numbers, pool, recovery, rollback) runs unchanged.  The ifindex is
 * derived from the port and SF number, so a restart reports the same one.
 * Honours the tap class's fault points, "sf_create" and "sf_link_up".
 */
#include <config.h>

#include "sfmgr_class.h"

#include <errno.h>

#include "fault.h"
#include "log.h"

#define DUMMY_IFINDEX_BASE 1000000

static int dummy_create(void *priv, const struct vn_sf_req *req, struct vn_sf_rep *out)
{
    uint32_t pf_num = req->pf_num, sf_num = req->sf_num, mtu = req->mtu;
    struct vn_sf_rep rep = {.pf_num = pf_num, .sf_num = sf_num, .mtu = mtu};
    int ret;

    (void)priv;
    ret = vn_sf_rep_name(pf_num, sf_num, rep.ifname);
    if (ret < 0)
        return ret;
    if (vn_fault("sf_create") || vn_fault("sf_link_up"))
        return -EIO;
    rep.ifindex = (int)(DUMMY_IFINDEX_BASE + pf_num * (VN_SF_NUM_MAX + 1) + sf_num);
    VN_INFO(SF, "%s: dummy representor of SF %u (MTU %u)", rep.ifname, sf_num, mtu);
    *out = rep;
    return 0;
}

static int dummy_destroy(void *priv, struct vn_sf_rep *rep)
{
    (void)priv;
    VN_INFO(SF, "%s: dummy representor removed", rep->ifname);
    rep->ifname[0] = '\0';
    rep->ifindex = 0;
    rep->adopted = false;
    return 0;
}

static int dummy_set_mtu(void *priv, struct vn_sf_rep *rep, uint32_t mtu)
{
    (void)priv;
    rep->mtu = mtu;
    return 0;
}

/* Owners are not marked anywhere: dummy representors end with the process. */
static int dummy_set_owner(void *priv, const struct vn_sf_rep *rep, const char *owner)
{
    (void)priv;
    (void)rep;
    (void)owner;
    return 0;
}

const struct vn_sfmgr_class vn_sfmgr_dummy_class = {
    .name = "dummy",
    .create = dummy_create,
    .destroy = dummy_destroy,
    .set_mtu = dummy_set_mtu,
    .set_owner = dummy_set_owner,
};
