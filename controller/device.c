/*
 * device.c - the device manager; see device.h.
 *
 * Addressing on the software DPU (what a BlueField's firmware would decide):
 *   - PF ids: static PFs 0..num_pf-1, hotplug PFs the lowest free id after
 *     them; a hotplug PF sits on the lowest free switch port.
 *   - BDFs: static PF i at 40:00.i; the VFs of all static PFs follow them
 *     (SR-IOV First VF Offset = num_pf - i + i * num_vf, VF Stride = 1,
 *     ARI numbering across buses); hotplug port p is a switch downstream
 *     port whose secondary bus is 0x81 + p, the device at (0x81 + p):00.0.
 *   - VUIDs: <serial>VNETS<port>D<pf>F<i> for static PFs, ...VF<n> appended for
 *     VFs, <serial>VNETH<port>D0F0 for hotplug port p: stable across
 *     restarts, unique on the board.
 *
 * About 850 lines on purpose: the one construction sequence and its mirror
 * (device_build/device_unbuild) are kept in one file with every caller
 * (static PFs, VFs, hotplug, restore), so that they cannot drift apart
 * again.  Checks and records: device_rec.c; changes: device_ops.c.
 */
#include <config.h>

#include "device_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "json.h"
#include "log.h"

#define STATIC_PF_BUS 0x40
#define HOTPLUG_BUS_BASE 0x81
#define STATIC_PF_BDF(i) ((uint16_t)(STATIC_PF_BUS << 8 | (i)))

/*
 * Features a device gets only when asked for (`hotplug -f`, `modify -f`): the
 * optional control-queue ones, CTRL_GUEST_OFFLOADS, RING_PACKED and SPEED_DUPLEX (not in
 * the set devices have always had by default), IOMMU_PLATFORM (a driver without a vIOMMU
 * must not be offered it) and the configuration-only ones.
 */
#define OPTIONAL_FEATURES                                                                          \
    (VN_BIT(VIRTIO_NET_F_CTRL_VLAN) | VN_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) |                        \
     VN_BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | VN_BIT(VN_VIRTIO_NET_F_SPEED_DUPLEX) |             \
     VN_BIT(VIRTIO_F_RING_PACKED) | VN_BIT(VN_VIRTIO_F_IOMMU_PLATFORM) |                          \
     VN_CONF_FEATURES_CONFIG_ONLY)
/* Only static PFs with VFs carry SR-IOV. */
#define PF_ONLY_FEATURES VN_BIT(VIRTIO_F_SR_IOV)

#define DEFAULT_QUEUE_SIZE 256

/* ---- addressing -------------------------------------------------------- */

static uint32_t port_of_ibdev(const struct vn_conf *c, const char *ib_dev)
{
    if (!c->is_lag && !c->single_port && !strcmp(ib_dev, c->ib_dev_p1))
        return 1;
    return 0;
}

/* The RDMA devices a device may be created on, for this port layout. */
static bool ibdev_known(const struct vn_conf *c, const char *ib_dev)
{
    if (c->is_lag)
        return !strcmp(ib_dev, c->ib_dev_lag);
    if (c->single_port)
        return !strcmp(ib_dev, c->ib_dev_p0);
    return !strcmp(ib_dev, c->ib_dev_p0) || !strcmp(ib_dev, c->ib_dev_p1);
}

static void ibdev_list(const struct vn_conf *c, char *buf, size_t len)
{
    if (c->is_lag)
        snprintf(buf, len, "%s (LAG)", c->ib_dev_lag);
    else if (c->single_port)
        snprintf(buf, len, "%s (single port)", c->ib_dev_p0);
    else
        snprintf(buf, len, "%s or %s", c->ib_dev_p0, c->ib_dev_p1);
}

const char *dev_emu_manager(const struct vn_conf *c)
{
    return c->is_lag ? c->ib_dev_lag : c->ib_dev_p0;
}

static uint16_t vf_bdf(const struct vn_conf *c, uint32_t pf, uint32_t vf)
{
    uint32_t rid = (uint32_t)STATIC_PF_BDF(0) + c->emu.num_pf + pf * c->emu.num_vf + vf;

    return (uint16_t)rid;
}

static void make_vuid(const struct vn_conf *c, enum vn_dev_type type, uint32_t a, uint32_t vf,
                      uint32_t pf_num, char buf[VN_VUID_MAX])
{
    switch (type) {
    case VN_DEV_STATIC_PF:
        snprintf(buf, VN_VUID_MAX, "%sVNETS%uD0F%u", c->emu.serial, pf_num, a);
        break;
    case VN_DEV_VF:
        snprintf(buf, VN_VUID_MAX, "%sVNETS%uD0F%uVF%u", c->emu.serial, pf_num, a, vf);
        break;
    case VN_DEV_HOTPLUG_PF:
        snprintf(buf, VN_VUID_MAX, "%sVNETH%uD0F0", c->emu.serial, a);
        break;
    }
}

/* Queues a device may have: min(MSI-X bound, max virtqueues). */
uint32_t dev_max_queues_for(const struct vn_conf *c, uint32_t msix)
{
    return VN_MIN(msix, c->emu.max_virtq);
}

static uint64_t default_features(const struct vn_conf *c, enum vn_dev_type type, bool legacy,
                                 const struct vn_conf_features *cf)
{
    uint64_t f = (cf && !cf->is_auto) ? cf->mask : c->emu.features & ~OPTIONAL_FEATURES;

    if (type != VN_DEV_STATIC_PF || !c->emu.num_vf)
        f &= ~PF_ONLY_FEATURES;
    if (legacy)
        f &= ~VN_BIT(VIRTIO_F_VERSION_1);
    return f & c->emu.features;
}

/*
 * The vendor's VF MAC rule: "mac_base -> vf_0, mac_base + 1 -> vf_1, ...",
 * numbering the VFs across PFs: the vfs_per_pf VFs the config creates on
 * each PF come first, one after the other (PF 0's, then PF 1's, ...), so
 * PF p's VF v is mac_base + p * vfs_per_pf + v.  VFs the host adds beyond
 * vfs_per_pf (up to num_vf) follow all of those, PF by PF, so no two VFs
 * share a MAC.
 */
static uint64_t vf_mac_index(const struct vn_conf *c, uint32_t pf, uint32_t vf)
{
    uint64_t per = c->vf.has_vfs_per_pf ? VN_MIN(c->vf.vfs_per_pf, c->emu.num_vf) : 0;

    if (vf < per)
        return (uint64_t)pf * per + vf;
    return (uint64_t)c->emu.num_pf * per + (uint64_t)pf * (c->emu.num_vf - per) + (vf - per);
}

/* ---- construction -------------------------------------------------------- */

/* The value the emulation backend gets for 'dev'. */
static void device_spec(const struct vn_device *dev, struct vn_emu_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
    vn_strlcpy(spec->vuid, dev->vuid, sizeof(spec->vuid));
    spec->bdf = dev->bdf;
    memcpy(spec->mac, dev->mac, VN_MAC_LEN);
    spec->mtu = dev->mtu;
    spec->max_queues = dev->max_queues;
    spec->max_queue_size = dev->max_queue_size;
    spec->features = dev->features;
    spec->msix = dev->msix;
    spec->legacy = dev->legacy;
    memcpy(spec->queues, dev->queues, dev->max_queues * sizeof(*dev->queues));
    if (dev->has_rep)
        spec->rep = dev->rep;
    vn_strlcpy(spec->connect_path, dev->vhost_server_path, sizeof(spec->connect_path));
}

/* Gives 'dev' its emulated function. */
static int device_attach_fn(struct vn_dev_mgr *m, struct vn_device *dev, char *err,
                            size_t errlen)
{
    struct vn_emu_spec spec;
    int ret;

    device_spec(dev, &spec);
    ret = vn_emu_fn_create(m->emu, &spec, &dev->fn);
    if (ret < 0)
        snprintf(err, errlen, "cannot create the emulated function: %s", strerror(-ret));
    return ret;
}

/* Ends the function (its driver session, rings, socket) before the representor goes. */
static void device_detach_fn(struct vn_device *dev)
{
    vn_emu_fn_destroy(dev->fn);
    dev->fn = NULL;
}

/* Tells the backend what 'dev' is now; 0 or -errno (then the backend has the old value). */
int dev_push(struct vn_device *dev)
{
    struct vn_emu_spec spec;

    if (!dev->fn)
        return 0;
    device_spec(dev, &spec);
    return vn_emu_fn_update(dev->fn, &spec);
}

static void device_free(struct vn_device *dev)
{
    if (!dev)
        return;
    device_detach_fn(dev);
    free(dev->queues);
    free(dev->vfs);
    free(dev);
}

/* ---- representors ------------------------------------------------------ */

/*
 * Gives 'dev' its SF and representor: SF dev->rep.sf_num, or any (the SF
 * pool's first) when 0, marked as the device's.  'recorded': a recovery
 * record names it (an unmarked representor of that name may be adopted).
 * Returns 0 or -errno with the reason in 'err'.
 */
static int device_attach_rep(struct vn_dev_mgr *m, struct vn_device *dev, bool recorded,
                             char *err, size_t errlen)
{
    struct vn_sf_rep rep;
    int ret;

    const struct vn_sf_req req = {
        .pf_num = dev->pf_num, .sf_num = dev->rep.sf_num, .mtu = dev->mtu,
        .owner = dev->vuid, .recorded = recorded,
    };

    ret = vn_sfmgr_acquire(m->sfm, &req, &rep, err, errlen);
    if (ret < 0)
        return ret;
    dev->rep = rep;
    dev->has_rep = true;
    return 0;
}

/*
 * Lets go of the representor: 'destroy' deletes it (or gives it back to the
 * pool), else it stays for the next start.  The SF number stays in the
 * record (dev->rep.sf_num) either way.
 */
static void device_detach_rep(struct vn_dev_mgr *m, struct vn_device *dev, bool destroy)
{
    uint32_t sf = dev->rep.sf_num;
    int ret;

    if (!dev->has_rep)
        return;
    ret = vn_sfmgr_release(m->sfm, &dev->rep, destroy);
    if (ret < 0) {
        VN_ERR(SF, "%s: cannot remove representor %s: %s; it stays", dev->vuid, dev->rep.ifname,
               strerror(-ret));
        (void)vn_sfmgr_release(m->sfm, &dev->rep, false);
    }
    dev->rep.sf_num = sf;
    dev->has_rep = false;
}

static void count(struct vn_dev_mgr *m, const struct vn_device *dev, int delta)
{
    m->counts.total += (unsigned)delta;
    switch (dev->type) {
    case VN_DEV_STATIC_PF:
        m->counts.static_pf += (unsigned)delta;
        break;
    case VN_DEV_HOTPLUG_PF:
        m->counts.hotplug_pf += (unsigned)delta;
        break;
    case VN_DEV_VF:
        m->counts.vf += (unsigned)delta;
        break;
    }
}

/* Links 'dev' into the tables (ids, ports, counts). */
static void device_link(struct vn_dev_mgr *m, struct vn_device *dev)
{
    if (dev->type != VN_DEV_VF)
        m->pfs[dev->pf_id] = dev;
    if (dev->type == VN_DEV_HOTPLUG_PF)
        m->ports[dev->port] = dev;
    count(m, dev, 1);
}

static void device_unlink(struct vn_dev_mgr *m, struct vn_device *dev)
{
    if (dev->type != VN_DEV_VF && m->pfs[dev->pf_id] == dev)
        m->pfs[dev->pf_id] = NULL;
    if (dev->type == VN_DEV_HOTPLUG_PF && m->ports[dev->port] == dev)
        m->ports[dev->port] = NULL;
    count(m, dev, -1);
}

/* Fault point "<stage>_<step>": -EIO with the reason in 'err' when armed, else 0. */
static int stage_fault(const char *stage, const char *step, char *err, size_t errlen)
{
    char point[64];

    snprintf(point, sizeof(point), "%s_%s", stage, step);
    if (!vn_fault(point))
        return 0;
    snprintf(err, errlen, "fault injected at %s", point);
    return -EIO;
}

/*
 * The one construction sequence of every device, whatever its type and
 * origin: intent record, representor, emulated function, recovery file,
 * with fault points "<stage>_after_rep" and "<stage>_after_save" ('stage'
 * names the caller: hotplug, restore, device).  'is_new': the device had no
 * recovery file before: one in state "creating" is written before any side
 * effect, so that a crash midway is rolled back at the next start (the
 * record removed, the representor reaped as an orphan), and a failure
 * removes it again.  On failure every step is undone in reverse -- a
 * representor made here is deleted, one adopted from an earlier run is left
 * as found -- and the caller frees 'dev'.
 */
static int device_build(struct vn_dev_mgr *m, struct vn_device *dev, bool is_new,
                        const char *stage, char *err, size_t errlen)
{
    int ret;

    dev->state = VN_DEV_S_CREATING;
    if (is_new) {
        ret = dev_save(m, dev);
        if (ret < 0) {
            snprintf(err, errlen, "cannot write the recovery file: %s", strerror(-ret));
            return ret;
        }
    }
    ret = device_attach_rep(m, dev, !is_new, err, errlen);
    if (ret < 0)
        goto err_unsave;
    ret = device_attach_fn(m, dev, err, errlen);
    if (ret < 0)
        goto err_detach_rep;
    ret = stage_fault(stage, "after_rep", err, errlen);
    if (ret < 0)
        goto err_detach_fn;
    dev->state = VN_DEV_S_READY;
    ret = dev_save(m, dev);
    if (ret < 0) {
        snprintf(err, errlen, "cannot write the recovery file: %s", strerror(-ret));
        goto err_detach_fn;
    }
    ret = stage_fault(stage, "after_save", err, errlen);
    if (ret < 0)
        goto err_detach_fn;
    return 0;

err_detach_fn:
    device_detach_fn(dev);
err_detach_rep:
    device_detach_rep(m, dev, !dev->rep.adopted);
err_unsave:
    if (is_new)
        (void)dev_unsave(m, dev);
    dev->state = VN_DEV_S_CREATING;
    return ret;
}

/*
 * The mirror of device_build(): ends the function, then lets the
 * representor go.  'forget' (the device is gone for good): the representor
 * is deleted, then the recovery file -- the last side effect undone -- so a
 * crash midway leaves a record (in state "removing" when the caller marked
 * it, see device_intent_remove()) that the next start completes; else both
 * stay for the next start.
 */
static void device_unbuild(struct vn_dev_mgr *m, struct vn_device *dev, bool forget)
{
    int ret;

    device_detach_fn(dev);
    device_detach_rep(m, dev, forget);
    if (forget && (ret = dev_unsave(m, dev)) < 0)
        VN_ERR(REC, "%s: cannot remove its recovery file (%s): the next start removes it",
               dev->vuid, strerror(-ret));
}

/*
 * Before a device is removed for good: its recovery file says "removing",
 * so that whatever happens next, the next start finishes the removal rather
 * than bringing the device back.  Returns 0, or -errno (with the reason in
 * 'err') and nothing changed.
 */
static int device_intent_remove(struct vn_dev_mgr *m, struct vn_device *dev, char *err,
                                size_t errlen)
{
    enum vn_dev_state was = dev->state;
    int ret;

    dev->state = VN_DEV_S_REMOVING;
    ret = dev_save(m, dev);
    if (ret < 0) {
        dev->state = was;
        snprintf(err, errlen, "cannot mark the recovery file of %s as removing: %s; nothing "
                 "changed", dev->vuid, strerror(-ret));
    }
    return ret;
}

/*
 * Second half of creating a static PF or VF: adopts a recovery record if
 * there is one, then builds the device.  On failure the caller frees 'dev'.
 */
static int device_finish(struct vn_dev_mgr *m, struct vn_device *dev, char *err, size_t errlen)
{
    cJSON *rec = dev_take_record(m, dev->vuid);

    if (rec) {
        char why[256] = "";

        if (dev_apply_record(m, dev, rec, why, sizeof(why)) < 0)
            dev_reject_record(m, dev->vuid, "%s; the device uses the configured values", why);
        else
            VN_INFO(REC, "%s: restored from its recovery file", dev->vuid);
        cJSON_Delete(rec);
    }
    return device_build(m, dev, rec == NULL, "device", err, errlen);
}

static struct vn_device *device_alloc(const struct vn_conf *c, enum vn_dev_type type)
{
    struct vn_device *dev = calloc(1, sizeof(*dev));

    if (!dev)
        return NULL;
    dev->type = type;
    dev->mtu = DEFAULT_MTU;
    dev->max_queue_size = VN_MIN(DEFAULT_QUEUE_SIZE, c->emu.max_queue_size);
    dev->msix = c->emu.num_msix;
    if (dev_set_queues(dev, VN_MIN(3u, dev_max_queues_for(c, dev->msix))) < 0) {
        free(dev);
        return NULL;
    }
    return dev;
}

/* Creates VF 'vf' of static PF 'pf' (not linked into pf->vfs). */
static int vf_create(struct vn_dev_mgr *m, struct vn_device *pf, uint32_t vf,
                     struct vn_device **out, char *err, size_t errlen)
{
    const struct vn_conf *c = m->conf;
    struct vn_device *dev = device_alloc(c, VN_DEV_VF);
    uint64_t mac;
    int ret;

    if (!dev)
        return -ENOMEM;
    dev->pf_id = pf->pf_id;
    dev->vf_id = vf;
    dev->port = pf->port;
    dev->pf_num = pf->pf_num;
    dev->parent = pf;
    vn_strlcpy(dev->ib_dev, pf->ib_dev, sizeof(dev->ib_dev));
    dev->bdf = vf_bdf(c, pf->pf_id, vf);
    make_vuid(c, VN_DEV_VF, pf->pf_id, vf, pf->pf_num, dev->vuid);
    mac = c->vf.has_mac_base ? vn_mac_to_u64(c->vf.mac_base) : 0x02766e010000ull;
    vn_mac_from_u64(mac + vf_mac_index(c, pf->pf_id, vf), dev->mac);
    dev->features = default_features(c, VN_DEV_VF, false, &c->vf.features);
    ret = dev_static_server_path(dev, c->vf.vhost_server_path_prefix, err, errlen);
    if (ret == 0)
        ret = device_finish(m, dev, err, errlen);
    if (ret < 0) {
        device_free(dev);
        return ret;
    }
    count(m, dev, 1);
    *out = dev;
    return 0;
}

static void vf_destroy(struct vn_dev_mgr *m, struct vn_device *vf, bool forget)
{
    device_unbuild(m, vf, forget);
    count(m, vf, -1);
    device_free(vf);
}

int vn_dev_set_num_vfs(struct vn_dev_mgr *m, struct vn_device *pf, uint32_t num_vfs, char *err,
                       size_t errlen)
{
    const struct vn_conf *c = m->conf;
    uint32_t old = pf->num_vfs, i;
    struct vn_device **vfs;
    int ret = 0;

    if (pf->type != VN_DEV_STATIC_PF) {
        snprintf(err, errlen, "PF %u is a hotplug PF: only static PFs have VFs", pf->pf_id);
        return -EINVAL;
    }
    if (num_vfs > c->emu.num_vf) {
        snprintf(err, errlen, "%u VFs exceed the %u reserved per PF (VIRTIO_NET_EMULATION_NUM_VF)",
                 num_vfs, c->emu.num_vf);
        return -ERANGE;
    }
    if (num_vfs == old)
        return 0;
    if (num_vfs < old) {
        /* The PF's record first: once it says fewer VFs, they are gone for good. */
        pf->num_vfs = num_vfs;
        ret = dev_save(m, pf);
        if (ret < 0) {
            pf->num_vfs = old;
            snprintf(err, errlen, "cannot write the recovery file of %s: %s; nothing changed",
                     pf->vuid, strerror(-ret));
            return ret;
        }
        /* The host destroyed VFs: their recovery files go too (vendor rule). */
        for (i = num_vfs; i < old; i++) {
            (void)device_intent_remove(m, pf->vfs[i], err, errlen);
            vf_destroy(m, pf->vfs[i], true);
            pf->vfs[i] = NULL;
        }
    } else {
        vfs = realloc(pf->vfs, num_vfs * sizeof(*vfs));
        if (!vfs)
            return -ENOMEM;
        pf->vfs = vfs;
        for (i = old; i < num_vfs; i++) {
            ret = vf_create(m, pf, i, &pf->vfs[i], err, errlen);
            if (ret < 0)
                goto err_destroy_vfs;
        }
        pf->num_vfs = num_vfs;
        ret = dev_save(m, pf);
        if (ret < 0) {
            snprintf(err, errlen, "cannot write the recovery file of %s: %s; nothing changed",
                     pf->vuid, strerror(-ret));
            pf->num_vfs = old;
            i = num_vfs;
            goto err_destroy_vfs;
        }
    }
    VN_INFO(DEV, "%s: %u VFs (was %u)", pf->vuid, num_vfs, old);
    return 0;

err_destroy_vfs:
    /* Back to where we were. */
    while (i-- > old)
        vf_destroy(m, pf->vfs[i], true);
    return ret;
}

static int static_pf_create(struct vn_dev_mgr *m, uint32_t i, char *err, size_t errlen)
{
    const struct vn_conf *c = m->conf;
    struct vn_device *dev = device_alloc(c, VN_DEV_STATIC_PF);
    uint32_t num_vfs = c->vf.has_vfs_per_pf ? c->vf.vfs_per_pf : 0;
    const cJSON *rec;
    uint64_t mac;
    int ret;

    if (!dev)
        return -ENOMEM;
    dev->pf_id = i;
    dev->port = i;
    vn_strlcpy(dev->ib_dev, c->ib_dev_for_static_pf, sizeof(dev->ib_dev));
    dev->pf_num = port_of_ibdev(c, dev->ib_dev);
    dev->bdf = STATIC_PF_BDF(i);
    dev->total_vfs = c->emu.num_vf;
    dev->first_vf_offset = (uint16_t)(vf_bdf(c, i, 0) - dev->bdf);
    make_vuid(c, VN_DEV_STATIC_PF, i, 0, dev->pf_num, dev->vuid);
    mac = c->static_pf.has_mac_base ? vn_mac_to_u64(c->static_pf.mac_base) : 0x02766e000000ull;
    vn_mac_from_u64(mac + i, dev->mac);
    dev->features = default_features(c, VN_DEV_STATIC_PF, false, &c->static_pf.features);
    ret = dev_static_server_path(dev, c->static_pf.vhost_server_path_prefix, err, errlen);
    if (ret < 0) {
        device_free(dev);
        return ret;
    }
    /* The host's sriov_numvfs survives a controller restart. */
    rec = m->pending ? cJSON_GetObjectItemCaseSensitive(m->pending, dev->vuid) : NULL;
    if (rec) {
        uint32_t n;

        if (dev_rec_u32(rec, "num_vfs", c->emu.num_vf, &n) == 0)
            num_vfs = n;
    }
    ret = device_finish(m, dev, err, errlen);
    if (ret < 0) {
        device_free(dev);
        return ret;
    }
    device_link(m, dev);
    ret = vn_dev_set_num_vfs(m, dev, num_vfs, err, errlen);
    if (ret < 0)
        VN_ERR(DEV, "%s: cannot create %u VFs: %s", dev->vuid, num_vfs, err);
    return ret;
}

/* Removes a PF and its VFs from the tables; 'forget' also deletes reps and files. */
static void pf_destroy(struct vn_dev_mgr *m, struct vn_device *dev, bool forget)
{
    for (uint32_t i = 0; i < dev->num_vfs; i++)
        vf_destroy(m, dev->vfs[i], forget);
    dev->num_vfs = 0;
    device_unbuild(m, dev, forget);
    device_unlink(m, dev);
    device_free(dev);
}

/* ---- hotplug ------------------------------------------------------------ */

static int hotplug_build(struct vn_dev_mgr *m, struct vn_device *dev, uint32_t port)
{
    const struct vn_conf *c = m->conf;
    uint32_t id;

    for (id = c->emu.num_pf; id < m->max_pfs; id++)
        if (!m->pfs[id])
            break;
    if (id == m->max_pfs)
        return -ENOSPC;
    dev->pf_id = id;
    dev->port = port;
    dev->bdf = (uint16_t)((HOTPLUG_BUS_BASE + port) << 8);
    make_vuid(c, VN_DEV_HOTPLUG_PF, port, 0, 0, dev->vuid);
    return 0;
}

int vn_dev_hotplug(struct vn_dev_mgr *m, const struct vn_hotplug_req *req, struct vn_device **out,
                   char *err, size_t errlen)
{
    const struct vn_conf *c = m->conf;
    struct vn_device *dev;
    uint8_t mac[VN_MAC_LEN];
    uint64_t features;
    uint32_t port;
    char list[160];
    int ret;

    /* Validate everything before touching anything. */
    if (!ibdev_known(c, req->ib_device)) {
        ibdev_list(c, list, sizeof(list));
        snprintf(err, errlen, "unknown ib_device '%.64s': this DPU has %s", req->ib_device, list);
        return -EINVAL;
    }
    if (req->has_features && (ret = dev_check_supported(c, req->features, err, errlen)) < 0)
        return ret;
    if (req->vhost_server_path &&
        (ret = dev_check_server_path(req->vhost_server_path, err, errlen)) < 0)
        return ret;
    features = default_features(c, VN_DEV_HOTPLUG_PF, req->legacy, NULL) |
               (req->has_features ? req->features : 0);
    if (req->legacy)
        features &= ~VN_BIT(VIRTIO_F_VERSION_1);
    if ((ret = dev_check_mac(req->mac, mac, err, errlen)) < 0 ||
        (ret = dev_check_mtu(req->mtu, err, errlen)) < 0 ||
        (ret = dev_check_queue_size(c, req->max_queue_size, err, errlen)) < 0 ||
        (ret = dev_check_queue_layout(req->max_queues, features, err, errlen)) < 0 ||
        (ret = dev_check_queues(c, req->max_queues, c->emu.num_msix, err, errlen)) < 0)
        return ret;
    if (req->has_sf_num) {
        if (req->sf_num < VN_SF_NUM_MIN || req->sf_num > VN_SF_NUM_MAX) {
            snprintf(err, errlen, "SF number %u out of range [%u, %u]", req->sf_num,
                     VN_SF_NUM_MIN, VN_SF_NUM_MAX);
            return -ERANGE;
        }
        if (vn_sfmgr_sf_used(m->sfm, req->sf_num)) {
            snprintf(err, errlen, "SF number %u is already in use", req->sf_num);
            return -EEXIST;
        }
    }
    for (port = 0; port < c->emu.hotplug_ports; port++)
        if (!m->ports[port])
            break;
    if (port == c->emu.hotplug_ports) {
        snprintf(err, errlen, "no free hotplug port: all %u (PCI_SWITCH_EMULATION_NUM_PORT) in use",
                 c->emu.hotplug_ports);
        return -ENOSPC;
    }

    dev = device_alloc(c, VN_DEV_HOTPLUG_PF);
    if (!dev)
        return -ENOMEM;
    ret = hotplug_build(m, dev, port);
    if (ret < 0) {
        snprintf(err, errlen, "no free PF id");
        goto err_free;
    }
    vn_strlcpy(dev->ib_dev, req->ib_device, sizeof(dev->ib_dev));
    dev->pf_num = port_of_ibdev(c, dev->ib_dev);
    memcpy(dev->mac, mac, VN_MAC_LEN);
    (void)vn_mac_text(req->mac, dev->mac_text);
    dev->mtu = req->mtu;
    dev->max_queue_size = req->max_queue_size;
    dev->features = features;
    dev->legacy = req->legacy;
    dev->rep.sf_num = req->has_sf_num ? req->sf_num : 0;
    if (req->vhost_server_path)
        vn_strlcpy(dev->vhost_server_path, req->vhost_server_path, sizeof(dev->vhost_server_path));
    ret = dev_set_queues(dev, req->max_queues);
    if (ret < 0)
        goto err_free;
    if (vn_fault("hotplug_start")) {
        snprintf(err, errlen, "fault injected at hotplug_start");
        ret = -EIO;
        goto err_free;
    }
    ret = device_build(m, dev, true, "hotplug", err, errlen);
    if (ret < 0)
        goto err_free;
    device_link(m, dev);
    VN_INFO(DEV, "%s: hotplug PF %u on port %u, SF %u, representor %s", dev->vuid, dev->pf_id,
            dev->port, dev->rep.sf_num, dev->rep.ifname);
    dev_warn_mac_twin(m, dev);
    *out = dev;
    return 0;

err_free:
    device_free(dev);
    VN_WARN(DEV, "hotplug failed: %s", err);
    return ret;
}

int vn_dev_unplug(struct vn_dev_mgr *m, struct vn_device *dev, char *err, size_t errlen)
{
    int ret;

    if (dev->type != VN_DEV_HOTPLUG_PF) {
        snprintf(err, errlen, "%s is a %s %s: only hotplug PFs can be unplugged", dev->vuid,
                 vn_dev_type_name(dev->type), dev->type == VN_DEV_VF ? "" : "PF");
        return -EINVAL;
    }
    ret = device_intent_remove(m, dev, err, errlen);
    if (ret < 0)
        return ret;
    VN_INFO(DEV, "%s: unplugging hotplug PF %u from port %u", dev->vuid, dev->pf_id, dev->port);
    pf_destroy(m, dev, true);
    return 0;
}

/* Sets 'key' of 'rec' to 'v' unless it is there. */
static void rec_default_num(cJSON *rec, const char *key, double v)
{
    if (!cJSON_GetObjectItemCaseSensitive(rec, key))
        vn_json_add_num(rec, key, v);
}

/*
 * A record in the vendor's shape (its keys only: port_ib_dev, pf_id, vf_id,
 * function_type, bdf_raw, device_type, mac, pf_num, sf_num, mq; no "format")
 * gets the keys an exact restore needs, derived from what it has: "vuid" from
 * its name, a hotplug PF's switch port from its name (VUIDs end in
 * VNETH<port>D0F0) and its BDF from that port, and this controller's defaults
 * for what the vendor does not record (MTU, queue size, MSI-X, features).
 * Where the vendor's bdf_raw differs from where this DPU puts the device, the
 * device keeps this DPU's (logged; the vendor's stays as "vendor_bdf_raw").
 */
static void vendor_record_fill(struct vn_dev_mgr *m, const char *vuid, cJSON *rec)
{
    const struct vn_conf *c = m->conf;
    const cJSON *ft = cJSON_GetObjectItemCaseSensitive(rec, "function_type");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(rec, "device_type");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(rec, "transitional");
    cJSON *bdf = cJSON_GetObjectItemCaseSensitive(rec, "bdf_raw");
    enum vn_dev_type type = VN_DEV_STATIC_PF;
    uint32_t port, vendor_bdf = 0;
    int used = 0;

    if (cJSON_GetObjectItemCaseSensitive(rec, "format"))
        return;
    if (cJSON_IsString(ft) && !strcmp(ft->valuestring, "vf"))
        type = VN_DEV_VF;
    else if (cJSON_IsString(dt) && !strcmp(dt->valuestring, "hotplug"))
        type = VN_DEV_HOTPLUG_PF;
    if (!cJSON_GetObjectItemCaseSensitive(rec, "vuid"))
        vn_json_add_str(rec, "vuid", vuid);
    if (bdf) {
        (void)dev_rec_u32(rec, "bdf_raw", UINT16_MAX, &vendor_bdf);
        cJSON_DetachItemViaPointer(rec, bdf);
        cJSON_Delete(bdf);
        vn_json_add_num(rec, "vendor_bdf_raw", vendor_bdf);
    }
    if (type == VN_DEV_HOTPLUG_PF &&
        sscanf(vuid + strlen(c->emu.serial), "VNETH%uD0F0%n", &port, &used) == 1 &&
        vuid[strlen(c->emu.serial) + (size_t)used] == '\0' && port < VN_EMU_MAX_HOTPLUG_PORTS) {
        uint16_t ours = (uint16_t)((HOTPLUG_BUS_BASE + port) << 8);

        rec_default_num(rec, "port", port);
        vn_json_add_num(rec, "bdf_raw", ours);
        if (bdf && vendor_bdf != ours)
            VN_INFO(REC, "%s: the vendor's bdf_raw %u is not where this DPU puts port %u; the "
                         "device keeps %u", vuid, vendor_bdf, port, ours);
    }
    rec_default_num(rec, "mtu", DEFAULT_MTU);
    rec_default_num(rec, "max_queue_size", VN_MIN(DEFAULT_QUEUE_SIZE, c->emu.max_queue_size));
    rec_default_num(rec, "msix_num", c->emu.num_msix);
    if (!cJSON_GetObjectItemCaseSensitive(rec, "features"))
        vn_json_add_hex(rec, "features",
                        default_features(c, type, cJSON_IsTrue(tr),
                                         type == VN_DEV_VF ? &c->vf.features
                                         : type == VN_DEV_STATIC_PF ? &c->static_pf.features
                                                                    : NULL));
    VN_INFO(REC, "%s: a recovery record in the vendor's shape; our keys derived from it", vuid);
}

/* Restores a hotplug PF from its recovery record. */
static int hotplug_restore(struct vn_dev_mgr *m, const char *vuid, const cJSON *rec)
{
    const struct vn_conf *c = m->conf;
    const cJSON *ib = cJSON_GetObjectItemCaseSensitive(rec, "port_ib_dev");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(rec, "transitional");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(rec, "vhost_server_path");
    struct vn_device *dev;
    char err[256] = "", expect[VN_VUID_MAX];
    uint32_t port, pf_id;
    int ret;

    if (dev_rec_u32(rec, "port", VN_EMU_MAX_HOTPLUG_PORTS, &port) < 0 ||
        port >= c->emu.hotplug_ports) {
        dev_reject_record(m, vuid, "its switch port ('port', or the H<port> of its name) is not "
                                   "one of this profile's %u", c->emu.hotplug_ports);
        return -EINVAL;
    }
    make_vuid(c, VN_DEV_HOTPLUG_PF, port, 0, 0, expect);
    if (strcmp(expect, vuid) || m->ports[port]) {
        dev_reject_record(m, vuid, "does not match port %u of this DPU", port);
        return -EINVAL;
    }
    if (!cJSON_IsString(ib) || !ibdev_known(c, ib->valuestring)) {
        dev_reject_record(m, vuid, "its port_ib_dev is not part of this port layout");
        return -EINVAL;
    }
    if (dev_rec_u32(rec, "pf_id", m->max_pfs - 1, &pf_id) < 0 || pf_id < c->emu.num_pf ||
        m->pfs[pf_id]) {
        dev_reject_record(m, vuid, "PF id missing, out of range or taken");
        return -EINVAL;
    }
    dev = device_alloc(c, VN_DEV_HOTPLUG_PF);
    if (!dev)
        return -ENOMEM;
    dev->pf_id = pf_id;
    dev->port = port;
    dev->bdf = (uint16_t)((HOTPLUG_BUS_BASE + port) << 8);
    vn_strlcpy(dev->vuid, vuid, sizeof(dev->vuid));
    vn_strlcpy(dev->ib_dev, ib->valuestring, sizeof(dev->ib_dev));
    dev->pf_num = port_of_ibdev(c, dev->ib_dev);
    dev->legacy = cJSON_IsTrue(tr);
    ret = dev_apply_record(m, dev, rec, err, sizeof(err));
    if (ret == 0 && cJSON_IsString(sp)) {
        ret = dev_check_server_path(sp->valuestring, err, sizeof(err));
        if (ret == 0)
            vn_strlcpy(dev->vhost_server_path, sp->valuestring, sizeof(dev->vhost_server_path));
    }
    if (ret < 0) {
        dev_reject_record(m, vuid, "%s", err);
        device_free(dev);
        return ret;
    }
    ret = device_build(m, dev, false, "restore", err, sizeof(err));
    if (ret < 0) {
        VN_ERR(REC, "cannot restore %s: %s", vuid, err);
        device_free(dev);
        return ret;
    }
    device_link(m, dev);
    VN_INFO(REC, "%s: hotplug PF %u restored on port %u, representor %s", vuid, pf_id, port,
            dev->rep.ifname);
    return 0;
}

/*
 * vn_sfmgr_keep_fn: a recovery file read at this start names 'ifname' (its
 * device may have failed to restore; its record stays, so does its tap).
 */
static bool recorded_rep(void *ctx, const char *ifname)
{
    const struct vn_dev_mgr *m = ctx;

    return cJSON_HasObjectItem(m->recorded_reps, ifname);
}

/* ---- manager --------------------------------------------------------------- */

int vn_dev_mgr_create(const struct vn_dev_mgr_cfg *cfg, struct vn_dev_mgr **out)
{
    const struct vn_conf *c = cfg->conf;
    struct vn_dev_mgr *m = calloc(1, sizeof(*m));
    char err[256] = "";
    cJSON *rec;
    int ret = -ENOMEM;

    if (!m)
        return -ENOMEM;
    m->conf = c;
    m->emu = cfg->emu;
    m->sfm = cfg->sfm;
    m->recovery_dir = c->recovery ? cfg->recovery_dir : NULL;
    m->max_pfs = c->emu.num_pf + c->emu.hotplug_ports;
    m->pfs = calloc(m->max_pfs ? m->max_pfs : 1, sizeof(*m->pfs));
    m->ports = calloc(c->emu.hotplug_ports ? c->emu.hotplug_ports : 1, sizeof(*m->ports));
    m->pending = cJSON_CreateObject();
    m->recorded_reps = cJSON_CreateObject();
    if (!m->pfs || !m->ports || !m->pending || !m->recorded_reps)
        goto err;

    if (m->recovery_dir) {
        dev_list_rejected(m);
        ret = vn_recovery_scan(m->recovery_dir, dev_collect_record, m);
        if (ret < 0)
            VN_ERR(REC, "cannot read recovery dir %s: %s", m->recovery_dir, strerror(-ret));
        else if (ret > 0)
            VN_INFO(REC, "%d recovery files found in %s", ret, m->recovery_dir);
        cJSON_ArrayForEach(rec, m->pending)
            vendor_record_fill(m, rec->string, rec);
        /* Keep recorded SF numbers for their devices: new ones must not take them first. */
        cJSON_ArrayForEach(rec, m->pending) {
            uint32_t sf;

            if (dev_rec_u32(rec, "sf_num", VN_SF_NUM_MAX, &sf) == 0 && sf >= VN_SF_NUM_MIN)
                vn_sfmgr_reserve(m->sfm, sf);
        }
    }
    if (!c->static_pf.features.is_auto && (c->static_pf.features.mask & ~c->emu.features))
        VN_WARN(DEV, "static_pf.features: bits 0x%" PRIx64 " are not supported by this DPU and "
                     "are left out", c->static_pf.features.mask & ~c->emu.features);
    if (!c->vf.features.is_auto && (c->vf.features.mask & ~c->emu.features))
        VN_WARN(DEV, "vf.features: bits 0x%" PRIx64 " are not supported by this DPU and are "
                     "left out", c->vf.features.mask & ~c->emu.features);
    /* Hotplug PFs first: their SF numbers and ids are fixed by their records. */
    for (cJSON *r = m->pending->child, *next; r; r = next) {
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(r, "device_type");

        next = r->next;
        if (cJSON_IsString(dt) && !strcmp(dt->valuestring, "hotplug")) {
            cJSON *own = cJSON_DetachItemViaPointer(m->pending, r);

            hotplug_restore(m, own->string, own);
            cJSON_Delete(own);
        }
    }
    for (uint32_t i = 0; i < c->emu.num_pf; i++) {
        ret = static_pf_create(m, i, err, sizeof(err));
        if (ret < 0) {
            VN_ERR(DEV, "cannot create static PF %u: %s", i, err);
            goto err;
        }
    }
    cJSON_ArrayForEach(rec, m->pending)
        dev_reject_record(m, rec->string, "no such device in this profile (stale)");
    vn_sfmgr_unreserve_all(m->sfm);
    vn_sfmgr_pool_fill(m->sfm);
    /* A live update's old process still holds its representors: only a cold start reaps. */
    if (cfg->reap_orphans)
        (void)vn_sfmgr_reap_orphans(m->sfm, recorded_rep, m);
    cJSON_Delete(m->pending);
    cJSON_Delete(m->recorded_reps);
    m->pending = NULL;
    m->recorded_reps = NULL;
    if (m->rejected)
        VN_WARN(REC, "%d recovery files set aside (see `virtnet health`)",
                cJSON_GetArraySize(m->rejected));
    VN_INFO(DEV, "%u devices: %u static PFs, %u VFs, %u hotplug PFs", m->counts.total,
            m->counts.static_pf, m->counts.vf, m->counts.hotplug_pf);
    *out = m;
    return 0;

err:
    /* Devices created so far stay as they were on disk: a restart adopts them. */
    for (uint32_t i = 0; m->pfs && i < m->max_pfs; i++)
        if (m->pfs[i])
            pf_destroy(m, m->pfs[i], false);
    vn_sfmgr_unreserve_all(m->sfm);
    cJSON_Delete(m->pending);
    cJSON_Delete(m->recorded_reps);
    cJSON_Delete(m->rejected);
    free(m->pfs);
    free(m->ports);
    free(m);
    return ret;
}

void vn_dev_mgr_destroy(struct vn_dev_mgr *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->max_pfs; i++) {
        struct vn_device *dev = m->pfs[i];

        if (!dev)
            continue;
        /* Without recovery nothing brings a hotplug PF back: remove its representor. */
        if (dev->type == VN_DEV_HOTPLUG_PF && !m->recovery_dir) {
            device_detach_fn(dev);
            device_detach_rep(m, dev, true);
        }
        pf_destroy(m, dev, false);
    }
    cJSON_Delete(m->rejected);
    free(m->pfs);
    free(m->ports);
    free(m);
}

cJSON *vn_dev_mgr_rejected_json(const struct vn_dev_mgr *m)
{
    return m->rejected ? cJSON_Duplicate(m->rejected, true) : cJSON_CreateArray();
}
