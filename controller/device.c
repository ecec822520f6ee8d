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
 */
#include <config.h>

#include "device.h"

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

#define BIT(n) (UINT64_C(1) << (n))

#define STATIC_PF_BUS 0x40
#define HOTPLUG_BUS_BASE 0x81
#define STATIC_PF_BDF(i) ((uint16_t)(STATIC_PF_BUS << 8 | (i)))
#define RECOVERY_FORMAT 1

/* Features a device gets only when asked for (`hotplug -f`, `modify -f`). */
#define OPTIONAL_FEATURES (BIT(VIRTIO_NET_F_CTRL_VLAN) | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE))
/* Only static PFs with VFs carry SR-IOV. */
#define PF_ONLY_FEATURES BIT(VIRTIO_F_SR_IOV)

#define DEFAULT_MTU 1500
#define DEFAULT_QUEUE_SIZE 256

struct vn_dev_mgr {
    const struct vn_conf *conf;
    const char *recovery_dir;         /* NULL when recovery is off */
    struct vn_emu *emu;
    struct vn_sfmgr *sfm;
    uint32_t max_pfs;                 /* num_pf + hotplug_ports */
    struct vn_device **pfs;           /* by pf_id, max_pfs entries */
    struct vn_device **ports;         /* hotplug PF by switch port */
    struct vn_dev_counts counts;
    cJSON *pending;                   /* recovery records not yet claimed, by VUID */
};

static const char *const event_mode_names[VN_EVENT_N_MODES] = {
#define VN_EVENT_MODE_NAME(e, s) [VN_EVENT_##e] = s,
    VN_EVENT_MODES(VN_EVENT_MODE_NAME)
#undef VN_EVENT_MODE_NAME
};

const char *vn_dev_type_name(enum vn_dev_type type)
{
    switch (type) {
    case VN_DEV_STATIC_PF:
        return "static";
    case VN_DEV_HOTPLUG_PF:
        return "hotplug";
    case VN_DEV_VF:
        return "vf";
    }
    return "?";
}

const char *vn_dev_state_name(enum vn_dev_state state)
{
    static const char *const names[] = {
#define VN_DEV_STATE_NAME(e, s) [VN_DEV_S_##e] = s,
        VN_DEV_STATES(VN_DEV_STATE_NAME)
#undef VN_DEV_STATE_NAME
    };

    return (unsigned)state < VN_DEV_N_STATES ? names[state] : "unknown";
}

void vn_bdf_format(uint16_t bdf, char buf[16])
{
    snprintf(buf, 16, "%02x:%02x.%x", bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
}

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

static const char *emu_manager(const struct vn_conf *c)
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
static uint32_t max_queues_for(const struct vn_conf *c, uint32_t msix)
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
        f &= ~BIT(VIRTIO_F_VERSION_1);
    return f & c->emu.features;
}

/* ---- validation --------------------------------------------------------- */

static int check_mac(const char *s, uint8_t mac[VN_MAC_LEN], char *err, size_t errlen)
{
    if (vn_parse_mac(s, mac) < 0) {
        snprintf(err, errlen, "invalid MAC '%.32s': expected xx:xx:xx:xx:xx:xx", s);
        return -EINVAL;
    }
    if (mac[0] & 1) {
        snprintf(err, errlen, "invalid MAC '%.32s': multicast address", s);
        return -EINVAL;
    }
    return 0;
}

static int check_mtu(uint32_t mtu, char *err, size_t errlen)
{
    if (mtu < VN_DEV_MTU_MIN || mtu > VN_DEV_MTU_MAX) {
        snprintf(err, errlen, "MTU %u out of range [%u, %u]", mtu, VN_DEV_MTU_MIN, VN_DEV_MTU_MAX);
        return -EINVAL;
    }
    return 0;
}

static int check_queue_size(const struct vn_conf *c, uint32_t qs, char *err, size_t errlen)
{
    if (qs < VN_DEV_QUEUE_SIZE_MIN || qs > c->emu.max_queue_size || (qs & (qs - 1))) {
        snprintf(err, errlen, "queue size %u must be a power of two in [%u, %u]", qs,
                 VN_DEV_QUEUE_SIZE_MIN, c->emu.max_queue_size);
        return -EINVAL;
    }
    return 0;
}

static int check_queues(const struct vn_conf *c, uint32_t n, uint32_t msix, char *err,
                        size_t errlen)
{
    uint32_t max = max_queues_for(c, msix);

    if (n < 1 || n > max) {
        snprintf(err, errlen,
                 "%u queues out of range [1, %u] (min of MSI-X vectors %u and max_virtq %u)", n,
                 max, msix, c->emu.max_virtq);
        return -ERANGE;
    }
    return 0;
}

static int check_features(const struct vn_conf *c, uint64_t f, bool legacy, char *err,
                          size_t errlen)
{
    uint64_t bad = f & ~c->emu.features;

    if (bad) {
        snprintf(err, errlen, "features 0x%" PRIx64 " not supported (supported: 0x%" PRIx64 ")",
                 bad, c->emu.features);
        return -EINVAL;
    }
    if (!legacy && !(f & BIT(VIRTIO_F_VERSION_1))) {
        snprintf(err, errlen,
                 "features must include VIRTIO_F_VERSION_1 (bit 32) for a modern device");
        return -EINVAL;
    }
    return 0;
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
static int device_push(struct vn_device *dev)
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

static int device_set_queues(struct vn_device *dev, uint32_t n)
{
    struct vn_queue_cfg *q;

    if (n > VN_EMU_MAX_VIRTQ)
        return -ERANGE;
    q = calloc(n, sizeof(*q));
    if (!q)
        return -ENOMEM;
    /* Keep the moderation of queues that stay. */
    if (dev->queues)
        memcpy(q, dev->queues, VN_MIN(n, dev->max_queues) * sizeof(*q));
    free(dev->queues);
    dev->queues = q;
    dev->max_queues = n;
    return 0;
}

static cJSON *device_record(const struct vn_device *dev)
{
    cJSON *o = cJSON_CreateObject(), *qs;
    char mac[VN_MAC_STR_LEN];

    vn_format_mac(dev->mac, mac);
    /* The vendor's keys ... */
    vn_json_add_str(o, "port_ib_dev", dev->ib_dev);
    vn_json_add_num(o, "pf_id", dev->pf_id);
    if (dev->type == VN_DEV_VF)
        vn_json_add_num(o, "vf_id", dev->vf_id);
    vn_json_add_str(o, "function_type", dev->type == VN_DEV_VF ? "vf" : "pf");
    vn_json_add_num(o, "bdf_raw", dev->bdf);
    if (dev->type != VN_DEV_VF)
        vn_json_add_str(o, "device_type", vn_dev_type_name(dev->type));
    vn_json_add_str(o, "mac", mac);
    vn_json_add_num(o, "pf_num", dev->pf_num);
    vn_json_add_num(o, "sf_num", dev->rep.sf_num);
    vn_json_add_num(o, "mq", dev->max_queues);
    /* ... and what an exact restore needs. */
    vn_json_add_num(o, "format", RECOVERY_FORMAT);
    vn_json_add_str(o, "vuid", dev->vuid);
    vn_json_add_num(o, "port", dev->port);
    vn_json_add_num(o, "mtu", dev->mtu);
    vn_json_add_num(o, "max_queue_size", dev->max_queue_size);
    vn_json_add_hex(o, "features", dev->features);
    vn_json_add_num(o, "msix_num", dev->msix);
    vn_json_add_bool(o, "transitional", dev->legacy);
    vn_json_add_str(o, "sf_rep_net_device", dev->rep.ifname);
    if (dev->type == VN_DEV_STATIC_PF)
        vn_json_add_num(o, "num_vfs", dev->num_vfs);
    qs = cJSON_CreateArray();
    for (uint32_t i = 0; i < dev->max_queues; i++) {
        const struct vn_queue_cfg *q = &dev->queues[i];
        cJSON *j;

        if (!q->period_us && !q->max_count && q->event_mode == VN_EVENT_EVENT)
            continue;
        j = cJSON_CreateObject();
        vn_json_add_num(j, "index", i);
        vn_json_add_str(j, "event_mode", event_mode_names[q->event_mode]);
        vn_json_add_num(j, "period", q->period_us);
        vn_json_add_num(j, "max_count", q->max_count);
        vn_json_add(qs, NULL, j);
    }
    vn_json_add(o, "queues", qs);
    return o;
}

static int device_save(struct vn_dev_mgr *m, const struct vn_device *dev)
{
    cJSON *rec;
    int ret;

    if (!m->recovery_dir)
        return 0;
    rec = device_record(dev);
    if (!rec)
        return -ENOMEM;
    ret = vn_recovery_save(m->recovery_dir, dev->vuid, rec);
    cJSON_Delete(rec);
    return ret;
}

static void device_unsave(struct vn_dev_mgr *m, const struct vn_device *dev)
{
    if (m->recovery_dir)
        vn_recovery_remove(m->recovery_dir, dev->vuid);
}

/* Reads an unsigned member of a recovery record within [0, max]. */
static int rec_u32(const cJSON *o, const char *key, uint32_t max, uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    uint64_t u;

    if (!v || vn_json_get_u64(v, &u) < 0 || u > max)
        return -EINVAL;
    *out = (uint32_t)u;
    return 0;
}

/*
 * Applies the mutable properties of recovery record 'rec' to 'dev' (built
 * from the profile with defaults): MAC, MTU, queues, queue size, features,
 * MSI-X, SF number, queue moderation.  The whole record is checked before
 * anything changes.  Returns 0 or -EINVAL with the reason in 'err'.
 */
static int device_apply_record(struct vn_dev_mgr *m, struct vn_device *dev, const cJSON *rec,
                               char *err, size_t errlen)
{
    const struct vn_conf *c = m->conf;
    const cJSON *mac = cJSON_GetObjectItemCaseSensitive(rec, "mac");
    const cJSON *feat = cJSON_GetObjectItemCaseSensitive(rec, "features");
    const cJSON *qs = cJSON_GetObjectItemCaseSensitive(rec, "queues");
    const cJSON *q;
    uint32_t mtu, mq, qsize, msix, sf, bdf;
    uint64_t features;
    uint8_t macb[VN_MAC_LEN];

    /* Syntax only: configured MACs (the vendor's example mac_base too) may be multicast. */
    if (!cJSON_IsString(mac) || vn_parse_mac(mac->valuestring, macb) < 0) {
        snprintf(err, errlen, "bad 'mac'");
        return -EINVAL;
    }
    if (rec_u32(rec, "mtu", VN_DEV_MTU_MAX, &mtu) < 0 || check_mtu(mtu, err, errlen) < 0 ||
        rec_u32(rec, "msix_num", c->emu.num_msix, &msix) < 0 || msix < 2 ||
        rec_u32(rec, "mq", UINT32_MAX, &mq) < 0 || check_queues(c, mq, msix, err, errlen) < 0 ||
        rec_u32(rec, "max_queue_size", UINT32_MAX, &qsize) < 0 ||
        check_queue_size(c, qsize, err, errlen) < 0 ||
        rec_u32(rec, "sf_num", VN_SF_NUM_MAX, &sf) < 0 || sf < VN_SF_NUM_MIN ||
        rec_u32(rec, "bdf_raw", UINT16_MAX, &bdf) < 0 || bdf != dev->bdf || !feat ||
        vn_json_get_u64(feat, &features) < 0 ||
        check_features(c, features, dev->legacy, err, errlen) < 0) {
        if (!err[0])
            snprintf(err, errlen, "a value is missing or out of range for this profile");
        return -EINVAL;
    }
    if (vn_sfmgr_sf_used(m->sfm, sf)) {
        snprintf(err, errlen, "SF %u already used by another device", sf);
        return -EINVAL;
    }
    if (device_set_queues(dev, mq) < 0)
        return -ENOMEM;
    memcpy(dev->mac, macb, VN_MAC_LEN);
    dev->mtu = mtu;
    dev->max_queue_size = qsize;
    dev->features = features;
    dev->msix = msix;
    dev->rep.sf_num = sf;
    cJSON_ArrayForEach(q, qs) {
        uint32_t idx, period, count;
        const cJSON *mode = cJSON_GetObjectItemCaseSensitive(q, "event_mode");

        if (rec_u32(q, "index", mq - 1, &idx) < 0 || rec_u32(q, "period", UINT32_MAX, &period) < 0 ||
            rec_u32(q, "max_count", UINT32_MAX, &count) < 0 || !cJSON_IsString(mode))
            continue;
        for (int i = 0; i < VN_EVENT_N_MODES; i++)
            if (!strcmp(mode->valuestring, event_mode_names[i]))
                dev->queues[idx].event_mode = (uint8_t)i;
        dev->queues[idx].period_us = period;
        dev->queues[idx].max_count = count;
    }
    return 0;
}

/* Takes the pending recovery record of 'vuid' (caller deletes), or NULL. */
static cJSON *take_record(struct vn_dev_mgr *m, const char *vuid)
{
    return m->pending ? cJSON_DetachItemFromObjectCaseSensitive(m->pending, vuid) : NULL;
}

/* ---- representors ------------------------------------------------------ */

/*
 * Gives 'dev' its SF and representor: SF dev->rep.sf_num, or any (the SF
 * pool's first) when 0.  Returns 0 or -errno with the reason in 'err'.
 */
static int device_attach_rep(struct vn_dev_mgr *m, struct vn_device *dev, char *err,
                             size_t errlen)
{
    struct vn_sf_rep rep;
    int ret;

    ret = vn_sfmgr_acquire(m->sfm, dev->pf_num, dev->rep.sf_num, dev->mtu, &rep, err, errlen);
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

/*
 * The one construction sequence of every device, whatever its type and
 * origin: representor, emulated function, recovery file, with fault points
 * "<stage>_after_rep" and "<stage>_after_save" ('stage' names the caller:
 * hotplug, restore, device).  'is_new': the device had no recovery file
 * before (a failure removes the one written here).  On failure every step is
 * undone in reverse -- a representor made here is deleted, one adopted from
 * an earlier run is left as found -- and the caller frees 'dev'.
 */
static int device_build(struct vn_dev_mgr *m, struct vn_device *dev, bool is_new,
                        const char *stage, char *err, size_t errlen)
{
    char point[64];
    int ret;

    dev->state = VN_DEV_S_CREATING;
    ret = device_attach_rep(m, dev, err, errlen);
    if (ret < 0)
        return ret;
    ret = device_attach_fn(m, dev, err, errlen);
    if (ret < 0)
        goto err_detach_rep;
    snprintf(point, sizeof(point), "%s_after_rep", stage);
    if (vn_fault(point)) {
        snprintf(err, errlen, "fault injected at %s", point);
        ret = -EIO;
        goto err_detach_fn;
    }
    ret = device_save(m, dev);
    if (ret < 0) {
        snprintf(err, errlen, "cannot write the recovery file: %s", strerror(-ret));
        goto err_detach_fn;
    }
    snprintf(point, sizeof(point), "%s_after_save", stage);
    if (vn_fault(point)) {
        snprintf(err, errlen, "fault injected at %s", point);
        ret = -EIO;
        goto err_unsave;
    }
    dev->state = VN_DEV_S_READY;
    return 0;

err_unsave:
    if (is_new)
        device_unsave(m, dev);
err_detach_fn:
    device_detach_fn(dev);
err_detach_rep:
    device_detach_rep(m, dev, !dev->rep.adopted);
    return ret;
}

/*
 * The mirror of device_build(): ends the function, then lets the
 * representor go.  'forget' (the device is gone for good): the recovery
 * file is removed and the representor deleted; else both stay for the next
 * start.
 */
static void device_unbuild(struct vn_dev_mgr *m, struct vn_device *dev, bool forget)
{
    if (forget)
        device_unsave(m, dev);
    device_detach_fn(dev);
    device_detach_rep(m, dev, forget);
}

/*
 * Second half of creating a static PF or VF: adopts a recovery record if
 * there is one, then builds the device.  On failure the caller frees 'dev'.
 */
static int device_finish(struct vn_dev_mgr *m, struct vn_device *dev, char *err, size_t errlen)
{
    cJSON *rec = take_record(m, dev->vuid);

    if (rec) {
        char why[256] = "";

        if (device_apply_record(m, dev, rec, why, sizeof(why)) < 0)
            VN_WARN(REC, "%s: recovery file not used (%s); using the configured values",
                    dev->vuid, why);
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
    if (device_set_queues(dev, VN_MIN(3u, max_queues_for(c, dev->msix))) < 0) {
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
    vn_mac_from_u64(mac + (uint64_t)pf->pf_id * c->emu.num_vf + vf, dev->mac);
    dev->features = default_features(c, VN_DEV_VF, false, &c->vf.features);
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
    uint32_t old = pf->num_vfs;
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
    if (num_vfs < old) {
        /* The host destroyed VFs: their recovery files go too (vendor rule). */
        for (uint32_t i = num_vfs; i < old; i++) {
            vf_destroy(m, pf->vfs[i], true);
            pf->vfs[i] = NULL;
        }
        pf->num_vfs = num_vfs;
    } else if (num_vfs > old) {
        vfs = realloc(pf->vfs, num_vfs * sizeof(*vfs));
        if (!vfs)
            return -ENOMEM;
        pf->vfs = vfs;
        for (uint32_t i = old; i < num_vfs; i++) {
            ret = vf_create(m, pf, i, &pf->vfs[i], err, errlen);
            if (ret < 0) {
                /* Back to where we were. */
                for (uint32_t j = old; j < i; j++)
                    vf_destroy(m, pf->vfs[j], true);
                return ret;
            }
        }
        pf->num_vfs = num_vfs;
    }
    if (old != num_vfs) {
        VN_INFO(DEV, "%s: %u VFs (was %u)", pf->vuid, num_vfs, old);
        device_save(m, pf);
    }
    return 0;
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
    /* The host's sriov_numvfs survives a controller restart. */
    rec = m->pending ? cJSON_GetObjectItemCaseSensitive(m->pending, dev->vuid) : NULL;
    if (rec) {
        uint32_t n;

        if (rec_u32(rec, "num_vfs", c->emu.num_vf, &n) == 0)
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
    if ((ret = check_mac(req->mac, mac, err, errlen)) < 0 ||
        (ret = check_mtu(req->mtu, err, errlen)) < 0 ||
        (ret = check_queue_size(c, req->max_queue_size, err, errlen)) < 0 ||
        (ret = check_queues(c, req->max_queues, c->emu.num_msix, err, errlen)) < 0)
        return ret;
    if (req->has_features && (req->features & ~c->emu.features)) {
        snprintf(err, errlen, "features 0x%" PRIx64 " not supported (supported: 0x%" PRIx64 ")",
                 req->features & ~c->emu.features, c->emu.features);
        return -EINVAL;
    }
    features = default_features(c, VN_DEV_HOTPLUG_PF, req->legacy, NULL) |
               (req->has_features ? req->features : 0);
    if (req->legacy)
        features &= ~BIT(VIRTIO_F_VERSION_1);
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
    dev->mtu = req->mtu;
    dev->max_queue_size = req->max_queue_size;
    dev->features = features;
    dev->legacy = req->legacy;
    dev->rep.sf_num = req->has_sf_num ? req->sf_num : 0;
    ret = device_set_queues(dev, req->max_queues);
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
    *out = dev;
    return 0;

err_free:
    device_free(dev);
    VN_WARN(DEV, "hotplug failed: %s", err);
    return ret;
}

int vn_dev_unplug(struct vn_dev_mgr *m, struct vn_device *dev, char *err, size_t errlen)
{
    if (dev->type != VN_DEV_HOTPLUG_PF) {
        snprintf(err, errlen, "%s is a %s %s: only hotplug PFs can be unplugged", dev->vuid,
                 vn_dev_type_name(dev->type), dev->type == VN_DEV_VF ? "" : "PF");
        return -EINVAL;
    }
    VN_INFO(DEV, "%s: unplugging hotplug PF %u from port %u", dev->vuid, dev->pf_id, dev->port);
    pf_destroy(m, dev, true);
    return 0;
}

/* Restores a hotplug PF from its recovery record. */
static int hotplug_restore(struct vn_dev_mgr *m, const char *vuid, const cJSON *rec)
{
    const struct vn_conf *c = m->conf;
    const cJSON *ib = cJSON_GetObjectItemCaseSensitive(rec, "port_ib_dev");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(rec, "transitional");
    struct vn_device *dev;
    char err[256] = "", expect[VN_VUID_MAX];
    uint32_t port, pf_id;
    int ret;

    if (rec_u32(rec, "port", VN_EMU_MAX_HOTPLUG_PORTS, &port) < 0 ||
        port >= c->emu.hotplug_ports) {
        VN_WARN(REC, "skipping recovery file %s: its switch port is not in this profile", vuid);
        return -EINVAL;
    }
    make_vuid(c, VN_DEV_HOTPLUG_PF, port, 0, 0, expect);
    if (strcmp(expect, vuid) || m->ports[port]) {
        VN_WARN(REC, "skipping recovery file %s: does not match port %u of this DPU", vuid, port);
        return -EINVAL;
    }
    if (!cJSON_IsString(ib) || !ibdev_known(c, ib->valuestring)) {
        VN_WARN(REC, "skipping recovery file %s: its ib device is not part of this port layout",
                vuid);
        return -EINVAL;
    }
    if (rec_u32(rec, "pf_id", m->max_pfs - 1, &pf_id) < 0 || pf_id < c->emu.num_pf ||
        m->pfs[pf_id]) {
        VN_WARN(REC, "skipping recovery file %s: PF id missing, out of range or taken", vuid);
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
    ret = device_apply_record(m, dev, rec, err, sizeof(err));
    if (ret < 0) {
        VN_WARN(REC, "skipping recovery file %s: %s", vuid, err);
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

/* ---- manager --------------------------------------------------------------- */

static int collect_record(const char *vuid, const cJSON *obj, void *ctx)
{
    struct vn_dev_mgr *m = ctx;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "vuid");
    size_t sl = strlen(m->conf->emu.serial);

    if (strncmp(vuid, m->conf->emu.serial, sl) || strncmp(vuid + sl, "VNET", 4)) {
        VN_WARN(REC, "skipping recovery file %s: not a device of this DPU (serial %s)", vuid,
                m->conf->emu.serial);
        return 0;
    }
    if (v && (!cJSON_IsString(v) || strcmp(v->valuestring, vuid))) {
        VN_WARN(REC, "skipping recovery file %s: its 'vuid' does not match its name", vuid);
        return 0;
    }
    vn_json_add(m->pending, vuid, cJSON_Duplicate(obj, true));
    return 0;
}

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
    if (!m->pfs || !m->ports || !m->pending)
        goto err;

    if (m->recovery_dir) {
        ret = vn_recovery_scan(m->recovery_dir, collect_record, m);
        if (ret < 0)
            VN_ERR(REC, "cannot read recovery dir %s: %s", m->recovery_dir, strerror(-ret));
        else if (ret > 0)
            VN_INFO(REC, "%d recovery files found in %s", ret, m->recovery_dir);
        /* Keep recorded SF numbers for their devices: new ones must not take them first. */
        cJSON_ArrayForEach(rec, m->pending) {
            uint32_t sf;

            if (rec_u32(rec, "sf_num", VN_SF_NUM_MAX, &sf) == 0 && sf >= VN_SF_NUM_MIN)
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
        VN_WARN(REC, "skipping recovery file %s: no such device in this profile (stale)",
                rec->string);
    vn_sfmgr_unreserve_all(m->sfm);
    vn_sfmgr_pool_fill(m->sfm);
    cJSON_Delete(m->pending);
    m->pending = NULL;
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
    free(m->pfs);
    free(m->ports);
    free(m);
}

uint32_t vn_dev_nrings(const struct vn_device *dev)
{
    return vn_emu_fn_nrings(dev->fn);
}

int vn_dev_queue_stats(const struct vn_device *dev, uint32_t index, struct vn_dp_queue_stats *out)
{
    return vn_emu_fn_queue_stats(dev->fn, index, out);
}

/* ---- lookups ----------------------------------------------------------------- */

struct vn_device *vn_dev_find_pf(struct vn_dev_mgr *m, uint32_t pf_id)
{
    return pf_id < m->max_pfs ? m->pfs[pf_id] : NULL;
}

struct vn_device *vn_dev_find_vf(struct vn_dev_mgr *m, uint32_t pf_id, uint32_t vf_id)
{
    struct vn_device *pf = vn_dev_find_pf(m, pf_id);

    return pf && vf_id < pf->num_vfs ? pf->vfs[vf_id] : NULL;
}

struct vn_device *vn_dev_find_vuid(struct vn_dev_mgr *m, const char *vuid)
{
    for (uint32_t i = 0; i < m->max_pfs; i++) {
        struct vn_device *pf = m->pfs[i];

        if (!pf)
            continue;
        if (!strcmp(pf->vuid, vuid))
            return pf;
        /* VF VUIDs extend their PF's. */
        if (!strncmp(pf->vuid, vuid, strlen(pf->vuid)))
            for (uint32_t j = 0; j < pf->num_vfs; j++)
                if (!strcmp(pf->vfs[j]->vuid, vuid))
                    return pf->vfs[j];
    }
    return NULL;
}

int vn_dev_select(struct vn_dev_mgr *m, bool has_pf, uint32_t pf, bool has_vf, uint32_t vf,
                  const char *vuid, struct vn_device **out, char *err, size_t errlen)
{
    struct vn_device *dev;

    if (vuid && (has_pf || has_vf)) {
        snprintf(err, errlen, "give either a PF id (with an optional VF id) or a VUID, not both");
        return -EINVAL;
    }
    if (has_vf && !has_pf) {
        snprintf(err, errlen, "a VF id needs its PF id");
        return -EINVAL;
    }
    if (!vuid && !has_pf) {
        snprintf(err, errlen, "no device given: use a PF id (and VF id) or a VUID");
        return -EINVAL;
    }
    if (vuid) {
        dev = vn_dev_find_vuid(m, vuid);
        if (!dev) {
            snprintf(err, errlen, "no device with VUID '%.64s'", vuid);
            return -ENODEV;
        }
    } else if (has_vf) {
        dev = vn_dev_find_vf(m, pf, vf);
        if (!dev) {
            snprintf(err, errlen, "no VF %u on PF %u", vf, pf);
            return -ENODEV;
        }
    } else {
        dev = vn_dev_find_pf(m, pf);
        if (!dev) {
            snprintf(err, errlen, "no PF with id %u", pf);
            return -ENODEV;
        }
    }
    *out = dev;
    return 0;
}

void vn_dev_for_each(struct vn_dev_mgr *m, vn_dev_visit_fn *fn, void *ctx)
{
    for (uint32_t i = 0; i < m->max_pfs; i++) {
        struct vn_device *pf = m->pfs[i];

        if (!pf)
            continue;
        fn(pf, ctx);
        for (uint32_t j = 0; j < pf->num_vfs; j++)
            fn(pf->vfs[j], ctx);
    }
}

void vn_dev_counts(const struct vn_dev_mgr *m, struct vn_dev_counts *out)
{
    *out = m->counts;
}

/* ---- modify ------------------------------------------------------------------- */

int vn_dev_modify(struct vn_dev_mgr *m, struct vn_device *dev, const struct vn_modify_req *req,
                  char *err, size_t errlen)
{
    const struct vn_conf *c = m->conf;
    struct vn_device old = *dev;
    uint8_t mac[VN_MAC_LEN];
    uint32_t msix = req->has_msix ? req->msix : dev->msix;
    int ret;

    if (!req->has_mac && !req->has_mtu && !req->has_features && !req->has_max_queue_size &&
        !req->has_msix) {
        snprintf(err, errlen, "nothing to modify");
        return -EINVAL;
    }
    /* Validate everything first. */
    if (req->has_mac && (ret = check_mac(req->mac, mac, err, errlen)) < 0)
        return ret;
    if (req->has_mtu && (ret = check_mtu(req->mtu, err, errlen)) < 0)
        return ret;
    if (req->has_features && (ret = check_features(c, req->features, dev->legacy, err, errlen)) < 0)
        return ret;
    if (req->has_max_queue_size &&
        (ret = check_queue_size(c, req->max_queue_size, err, errlen)) < 0)
        return ret;
    if (req->has_msix) {
        if (dev->type != VN_DEV_VF) {
            snprintf(err, errlen, "MSI-X can only be modified on VFs (dynamic MSI-X); "
                                  "%s is a PF", dev->vuid);
            return -EOPNOTSUPP;
        }
        if (req->msix < 2 || req->msix > c->emu.num_msix) {
            snprintf(err, errlen, "MSI-X %u out of range [2, %u] (VIRTIO_NET_EMULATION_NUM_MSIX)",
                     req->msix, c->emu.num_msix);
            return -ERANGE;
        }
    }
    /* Fewer vectors may leave fewer queues possible. */
    if (dev->max_queues > max_queues_for(c, msix)) {
        snprintf(err, errlen, "%u MSI-X vectors cannot serve the device's %u queues", msix,
                 dev->max_queues);
        return -ERANGE;
    }
    if (req->has_mtu && dev->has_rep && req->mtu > dev->rep.mtu) {
        ret = vn_sfmgr_set_mtu(m->sfm, &dev->rep, req->mtu);
        if (ret < 0) {
            snprintf(err, errlen, "cannot raise the representor's MTU to %u: %s", req->mtu,
                     strerror(-ret));
            return ret;
        }
    }
    if (req->has_mac)
        memcpy(dev->mac, mac, VN_MAC_LEN);
    if (req->has_mtu)
        dev->mtu = req->mtu;
    if (req->has_features)
        dev->features = req->features;
    if (req->has_max_queue_size)
        dev->max_queue_size = req->max_queue_size;
    dev->msix = msix;
    ret = device_push(dev);
    if (ret < 0)
        snprintf(err, errlen, "the emulation backend refused the change: %s", strerror(-ret));
    else if ((ret = device_save(m, dev)) < 0)
        snprintf(err, errlen, "cannot write the recovery file: %s", strerror(-ret));
    if (ret < 0) {
        /* Keep memory, backend and disk in agreement (the representor's MTU may stay raised). */
        memcpy(dev->mac, old.mac, VN_MAC_LEN);
        dev->mtu = old.mtu;
        dev->features = old.features;
        dev->max_queue_size = old.max_queue_size;
        dev->msix = old.msix;
        (void)device_push(dev);
        return ret;
    }
    VN_INFO(DEV, "%s: modified; takes effect when the host driver next resets the device",
            dev->vuid);
    return 0;
}

int vn_dev_modify_queue(struct vn_dev_mgr *m, struct vn_device *dev, int64_t queue,
                        const char *event_mode, const uint32_t *period, const uint32_t *max_count,
                        char *err, size_t errlen)
{
    struct vn_queue_cfg *old;
    int mode = -1, ret;

    if (!event_mode && !period && !max_count) {
        snprintf(err, errlen, "nothing to modify");
        return -EINVAL;
    }
    if (event_mode) {
        for (int i = 0; i < VN_EVENT_N_MODES; i++)
            if (!strcmp(event_mode, event_mode_names[i]))
                mode = i;
        if (mode < 0) {
            snprintf(err, errlen, "unknown event mode '%.32s' (event, adaptive)", event_mode);
            return -EINVAL;
        }
    }
    if (queue >= (int64_t)dev->max_queues) {
        snprintf(err, errlen, "queue %" PRId64 " out of range: the device has %u queues", queue,
                 dev->max_queues);
        return -ERANGE;
    }
    old = malloc(dev->max_queues * sizeof(*old));
    if (!old)
        return -ENOMEM;
    memcpy(old, dev->queues, dev->max_queues * sizeof(*old));
    for (uint32_t i = 0; i < dev->max_queues; i++) {
        if (queue >= 0 && i != (uint32_t)queue)
            continue;
        if (mode >= 0)
            dev->queues[i].event_mode = (uint8_t)mode;
        if (period)
            dev->queues[i].period_us = *period;
        if (max_count)
            dev->queues[i].max_count = *max_count;
    }
    /* Durable before it is acknowledged: a change that cannot be saved is undone. */
    ret = device_save(m, dev);
    if (ret < 0)
        snprintf(err, errlen, "cannot write the recovery file: %s", strerror(-ret));
    else if ((ret = device_push(dev)) < 0)
        snprintf(err, errlen, "the emulation backend refused the change: %s", strerror(-ret));
    if (ret < 0) {
        memcpy(dev->queues, old, dev->max_queues * sizeof(*old));
        (void)device_save(m, dev);
        (void)device_push(dev);
    }
    free(old);
    return ret;
}

/* ---- JSON --------------------------------------------------------------------- */

/* X(bit, name) - the virtio-net feature bits, as the vendor's docs name them. */
#define VN_FEATURE_NAMES(X)                        \
    X(0, "VIRTIO_NET_F_CSUM")                      \
    X(1, "VIRTIO_NET_F_GUEST_CSUM")                \
    X(2, "VIRTIO_NET_F_CTRL_GUEST_OFFLOADS")       \
    X(3, "VIRTIO_NET_F_MTU")                       \
    X(5, "VIRTIO_NET_F_MAC")                       \
    X(7, "VIRTIO_NET_F_GUEST_TSO4")                \
    X(8, "VIRTIO_NET_F_GUEST_TSO6")                \
    X(9, "VIRTIO_NET_F_GUEST_ECN")                 \
    X(10, "VIRTIO_NET_F_GUEST_UFO")                \
    X(11, "VIRTIO_NET_F_HOST_TSO4")                \
    X(12, "VIRTIO_NET_F_HOST_TSO6")                \
    X(13, "VIRTIO_NET_F_HOST_ECN")                 \
    X(14, "VIRTIO_NET_F_HOST_UFO")                 \
    X(15, "VIRTIO_NET_F_MRG_RXBUF")                \
    X(16, "VIRTIO_NET_F_STATUS")                   \
    X(17, "VIRTIO_NET_F_CTRL_VQ")                  \
    X(18, "VIRTIO_NET_F_CTRL_RX")                  \
    X(19, "VIRTIO_NET_F_CTRL_VLAN")                \
    X(21, "VIRTIO_NET_F_GUEST_ANNOUNCE")           \
    X(22, "VIRTIO_NET_F_MQ")                       \
    X(23, "VIRTIO_NET_F_CTRL_MAC_ADDR")            \
    X(28, "VIRTIO_F_RING_INDIRECT_DESC")           \
    X(29, "VIRTIO_F_RING_EVENT_IDX")               \
    X(32, "VIRTIO_F_VERSION_1")                    \
    X(33, "VIRTIO_F_IOMMU_PLATFORM")               \
    X(34, "VIRTIO_F_RING_PACKED")                  \
    X(36, "VIRTIO_F_ORDER_PLATFORM")               \
    X(37, "VIRTIO_F_SR_IOV")                       \
    X(38, "VIRTIO_F_NOTIFICATION_DATA")            \
    X(40, "VIRTIO_F_RING_RESET")                   \
    X(41, "VIRTIO_F_ADMIN_VQ")                     \
    X(56, "VIRTIO_NET_F_HOST_USO")                 \
    X(57, "VIRTIO_NET_F_HASH_REPORT")              \
    X(59, "VIRTIO_NET_F_GUEST_HDRLEN")             \
    X(63, "VIRTIO_NET_F_SPEED_DUPLEX")

cJSON *vn_dev_feature_names(uint64_t f)
{
    cJSON *a = cJSON_CreateArray();

#define VN_FEATURE_NAME_ADD(bit, name) \
    if (f & BIT(bit))                  \
        vn_json_add_str(a, NULL, name);
    VN_FEATURE_NAMES(VN_FEATURE_NAME_ADD)
#undef VN_FEATURE_NAME_ADD
    return a;
}

cJSON *vn_dev_mgr_to_json(const struct vn_dev_mgr *m)
{
    const struct vn_conf *c = m->conf;
    struct vn_sfmgr_counts sfc;
    cJSON *o = cJSON_CreateObject(), *a;

    vn_json_add_str(o, "emulation_manager", emu_manager(c));
    vn_json_add_str(o, "port_layout", c->is_lag ? "lag" : c->single_port ? "single" : "dual");
    a = cJSON_CreateArray();
    if (c->is_lag) {
        vn_json_add_str(a, NULL, c->ib_dev_lag);
    } else {
        vn_json_add_str(a, NULL, c->ib_dev_p0);
        if (!c->single_port)
            vn_json_add_str(a, NULL, c->ib_dev_p1);
    }
    vn_json_add(o, "ib_devices", a);
    vn_json_add_str(o, "serial", c->emu.serial);
    vn_json_add_num(o, "max_hotplug_devices", c->emu.hotplug_ports);
    vn_json_add_num(o, "hotplug_devices", m->counts.hotplug_pf);
    vn_json_add_num(o, "static_pfs", c->emu.num_pf);
    vn_json_add_num(o, "max_vfs_per_pf", c->emu.num_vf);
    vn_json_add_num(o, "max_vfs", c->emu.num_vf * c->emu.num_pf);
    vn_json_add_num(o, "max_virtq", c->emu.max_virtq);
    vn_json_add_num(o, "max_queue_size", c->emu.max_queue_size);
    vn_json_add_num(o, "max_msix", c->emu.num_msix);
    vn_json_add_num(o, "max_sfs", c->emu.pf_total_sf);
    vn_sfmgr_counts(m->sfm, &sfc);
    vn_json_add_num(o, "sfs_in_use", sfc.in_use);
    vn_json_add_num(o, "sf_pool_size", sfc.pool_size);
    vn_json_add_num(o, "sf_pool_free", sfc.pool_free);
    vn_json_add_hex(o, "supported_features", c->emu.features);
    vn_json_add(o, "supported_feature_names", vn_dev_feature_names(c->emu.features));
    a = cJSON_CreateArray();
    vn_json_add_str(a, NULL, "split");
    vn_json_add(o, "supported_virt_queue_types", a);
    a = cJSON_CreateArray();
    for (int i = 0; i < VN_EVENT_N_MODES; i++)
        vn_json_add_str(a, NULL, event_mode_names[i]);
    vn_json_add(o, "supported_event_modes", a);
    vn_json_add_num(o, "mtu_min", VN_DEV_MTU_MIN);
    vn_json_add_num(o, "mtu_max", VN_DEV_MTU_MAX);
    vn_json_add_bool(o, "recovery", m->recovery_dir != NULL);
    return o;
}

/*
 * The function's state (emu.h) in the keys `virtnet query` has always
 * printed: "vhost_socket", "vhost_connected", "vhost_connections",
 * "driver_status" (names) and "driver_status_raw", "negotiated_features"
 * (and names), "negotiated_protocol_features", "vnet_hdr_len" while
 * connected, "vhost_queue_pairs", "vhost_last_error" when a session ended
 * badly.  Nothing for a backend without sessions (dummy).
 */
static void fn_to_json(const struct vn_emu_fn *fn, cJSON *o)
{
    struct vn_emu_state st;

    vn_emu_fn_state(fn, &st);
    if (!st.has_session)
        return;
    vn_json_add_str(o, "vhost_socket", st.endpoint);
    vn_json_add_bool(o, "vhost_connected", st.connected);
    vn_json_add_u64(o, "vhost_connections", st.connections);
    vn_json_add(o, "driver_status", vn_emu_status_names(st.status));
    vn_json_add_num(o, "driver_status_raw", st.status);
    vn_json_add_hex(o, "negotiated_features", st.negotiated_features);
    vn_json_add(o, "negotiated_feature_names", vn_dev_feature_names(st.negotiated_features));
    vn_json_add_hex(o, "negotiated_protocol_features", st.protocol_features);
    if (st.connected)
        vn_json_add_num(o, "vnet_hdr_len", st.vnet_hdr_len);
    vn_json_add_num(o, "vhost_queue_pairs", st.nrings / 2);
    if (st.last_error[0])
        vn_json_add_str(o, "vhost_last_error", st.last_error);
}

/* Queue 'index''s run state into the queue object 'q' (see vn_emu_queue_state). */
static void fn_queue_to_json(const struct vn_emu_fn *fn, uint32_t index, cJSON *q)
{
    struct vn_emu_queue_state qs;

    if (!fn)
        return;
    vn_emu_fn_queue_state(fn, index, &qs);
    vn_json_add_str(q, "state", vn_emu_queue_run_name(qs.run));
    if (qs.run == VN_EMU_Q_FRONTEND)
        return;
    vn_json_add_bool(q, "enabled", qs.enabled);
    if (qs.size)
        cJSON_ReplaceItemInObjectCaseSensitive(q, "size", cJSON_CreateNumber(qs.size));
    vn_json_add_num(q, "avail_idx", qs.avail_idx);
    vn_json_add_num(q, "used_idx", qs.used_idx);
    if (qs.has_driver_avail)
        vn_json_add_num(q, "driver_avail_idx", qs.driver_avail_idx);
    if (qs.error)
        vn_json_add_str(q, "error", qs.error);
}

static void add_ids(cJSON *o, const struct vn_device *dev)
{
    char bdf[16], mac[VN_MAC_STR_LEN];

    vn_bdf_format(dev->bdf, bdf);
    vn_format_mac(dev->mac, mac);
    vn_json_add_num(o, "pf_id", dev->pf_id);
    if (dev->type == VN_DEV_VF)
        vn_json_add_num(o, "vf_id", dev->vf_id);
    vn_json_add_str(o, "vuid", dev->vuid);
    vn_json_add_str(o, "function_type", dev->type == VN_DEV_VF ? "vf" : "pf");
    vn_json_add_str(o, "device_type", vn_dev_type_name(dev->type));
    vn_json_add_str(o, "bdf", bdf);
    vn_json_add_str(o, "mac", mac);
    vn_json_add_str(o, "sf_rep_net_device", dev->rep.ifname);
}

cJSON *vn_dev_to_list_json(const struct vn_device *dev)
{
    cJSON *o = cJSON_CreateObject();

    add_ids(o, dev);
    return o;
}

static const char *queue_type(const struct vn_device *dev, uint32_t i)
{
    if ((dev->features & BIT(VIRTIO_NET_F_CTRL_VQ)) && (dev->max_queues & 1) &&
        i == dev->max_queues - 1)
        return "ctrl";
    return (i & 1) ? "tx" : "rx";
}

cJSON *vn_dev_to_json(const struct vn_device *dev, bool brief)
{
    cJSON *o = cJSON_CreateObject();

    add_ids(o, dev);
    vn_json_add_str(o, "state", vn_dev_state_name(dev->state));
    vn_json_add_num(o, "bdf_raw", dev->bdf);
    vn_json_add_str(o, "port_ib_dev", dev->ib_dev);
    vn_json_add_num(o, "pf_num", dev->pf_num);
    vn_json_add_num(o, "transitional", dev->legacy);
    vn_json_add_num(o, "sf_num", dev->rep.sf_num);
    vn_json_add_num(o, "sf_rep_ifindex", dev->rep.ifindex);
    vn_json_add_num(o, "mtu", dev->mtu);
    vn_json_add_num(o, "max_queues", dev->max_queues);
    vn_json_add_num(o, "max_queue_size", dev->max_queue_size);
    vn_json_add_num(o, "msix_num", dev->msix);
    vn_json_add_hex(o, "features", dev->features);
    vn_json_add(o, "feature_names", vn_dev_feature_names(dev->features));
    if (dev->type == VN_DEV_HOTPLUG_PF)
        vn_json_add_num(o, "hotplug_port", dev->port);
    if (dev->type == VN_DEV_STATIC_PF) {
        cJSON *sriov = cJSON_CreateObject();

        vn_json_add_num(sriov, "num_vfs", dev->num_vfs);
        vn_json_add_num(sriov, "total_vfs", dev->total_vfs);
        vn_json_add_num(sriov, "first_vf_offset", dev->first_vf_offset);
        vn_json_add_num(sriov, "vf_stride", 1);
        vn_json_add(o, "sriov", sriov);
    }
    fn_to_json(dev->fn, o);
    if (!brief) {
        cJSON *qs = cJSON_CreateArray();

        for (uint32_t i = 0; i < dev->max_queues; i++) {
            cJSON *q = cJSON_CreateObject();

            vn_json_add_num(q, "index", i);
            vn_json_add_str(q, "type", queue_type(dev, i));
            vn_json_add_num(q, "size", dev->max_queue_size);
            vn_json_add_str(q, "event_mode", event_mode_names[dev->queues[i].event_mode]);
            vn_json_add_num(q, "period", dev->queues[i].period_us);
            vn_json_add_num(q, "max_count", dev->queues[i].max_count);
            fn_queue_to_json(dev->fn, i, q);
            vn_json_add(qs, NULL, q);
        }
        vn_json_add(o, "queues", qs);
    }
    return o;
}
