/*
 * device_rec.c - the device manager's checks of what a device may be (the
 * profile's limits) and its recovery records: written atomically after every
 * change, read back and checked whole at start-up.  See device.h.
 */
#include <config.h>

#include "device_priv.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

/* What a recovery file set aside is renamed to: "VUID" REJECTED_SUFFIX. */
#define REJECTED_SUFFIX ".rejected"

/* ---- validation --------------------------------------------------------- */

int dev_check_mac(const char *s, uint8_t mac[VN_MAC_LEN], char *err, size_t errlen)
{
    static const uint8_t zero[VN_MAC_LEN];
    uint8_t m[VN_MAC_LEN];

    if (vn_parse_mac(s, m) < 0) {
        snprintf(err, errlen,
                 "invalid MAC '%.32s': expected 6 bytes in hex, as xx:xx:xx:xx:xx:xx, "
                 "xx-xx-xx-xx-xx-xx or xxxxxxxxxxxx", s);
        return -EINVAL;
    }
    if (!memcmp(m, zero, sizeof(m))) {
        snprintf(err, errlen, "invalid MAC '%.32s': the all-zero address", s);
        return -EINVAL;
    }
    if (vn_mac_to_u64(m) == UINT64_C(0xffffffffffff)) {
        snprintf(err, errlen, "invalid MAC '%.32s': the broadcast address", s);
        return -EINVAL;
    }
    if (m[0] & 1) {
        snprintf(err, errlen, "invalid MAC '%.32s': multicast address", s);
        return -EINVAL;
    }
    memcpy(mac, m, VN_MAC_LEN);
    return 0;
}

int dev_check_mtu(uint32_t mtu, char *err, size_t errlen)
{
    if (mtu < VN_DEV_MTU_MIN || mtu > VN_DEV_MTU_MAX) {
        snprintf(err, errlen, "MTU %u out of range [%u, %u]", mtu, VN_DEV_MTU_MIN, VN_DEV_MTU_MAX);
        return -EINVAL;
    }
    return 0;
}

int dev_check_server_path(const char *path, char *err, size_t errlen)
{
    size_t max = sizeof(((struct vn_device *)0)->vhost_server_path);

    if (path[0] != '/' || strlen(path) >= max) {
        snprintf(err, errlen, "vhost_server_path '%.64s' must be an absolute path of at most %zu bytes",
                 path, max - 1);
        return -EINVAL;
    }
    return 0;
}

int dev_static_server_path(struct vn_device *dev, const char *prefix, char *err, size_t errlen)
{
    if (!prefix[0])
        return 0;
    if (vn_snprintf(dev->vhost_server_path, sizeof(dev->vhost_server_path), "%s%s.sock", prefix,
                    dev->vuid) < 0) {
        snprintf(err, errlen, "vhost_server_path_prefix '%.64s': the socket path of %s is too long",
                 prefix, dev->vuid);
        return -ENAMETOOLONG;
    }
    return 0;
}

int dev_check_queue_size(const struct vn_conf *c, uint32_t qs, char *err, size_t errlen)
{
    if (qs < VN_DEV_QUEUE_SIZE_MIN || qs > c->emu.max_queue_size || (qs & (qs - 1))) {
        snprintf(err, errlen, "queue size %u must be a power of two in [%u, %u]", qs,
                 VN_DEV_QUEUE_SIZE_MIN, c->emu.max_queue_size);
        return -EINVAL;
    }
    return 0;
}

int dev_check_queues(const struct vn_conf *c, uint32_t n, uint32_t msix, char *err,
                        size_t errlen)
{
    uint32_t max = dev_max_queues_for(c, msix);

    if (n < 1 || n > max) {
        snprintf(err, errlen,
                 "%u queues out of range [1, %u] (min of MSI-X vectors %u and max_virtq %u)", n,
                 max, msix, c->emu.max_virtq);
        return -ERANGE;
    }
    return 0;
}

int dev_check_queue_layout(uint32_t n, uint64_t f, char *err, size_t errlen)
{
    if (n < 2) {
        snprintf(err, errlen,
                 "%u queue%s cannot make a virtio-net device: it needs at least one receive/transmit "
                 "pair (2 queues), and a third for the control queue (3)",
                 n, n == 1 ? "" : "s");
        return -EINVAL;
    }
    if ((n & 1) && !(f & VN_BIT(VIRTIO_NET_F_CTRL_VQ))) {
        snprintf(err, errlen,
                 "%u queues: with an odd count the last queue is the control queue, which needs "
                 "VIRTIO_NET_F_CTRL_VQ (0x%llx) in the features",
                 n, 1ULL << VIRTIO_NET_F_CTRL_VQ);
        return -EINVAL;
    }
    return 0;
}

int dev_check_supported(const struct vn_conf *c, uint64_t f, char *err, size_t errlen)
{
    uint64_t bad = f & ~c->emu.features;

    if (bad) {
        snprintf(err, errlen, "features 0x%" PRIx64 " not supported (supported: 0x%" PRIx64 ")",
                 bad, c->emu.features);
        return -EINVAL;
    }
    return 0;
}

int dev_check_features(const struct vn_conf *c, uint64_t f, bool legacy, char *err,
                       size_t errlen)
{
    int ret = dev_check_supported(c, f, err, errlen);

    if (ret < 0)
        return ret;
    if (!legacy && !(f & VN_BIT(VIRTIO_F_VERSION_1))) {
        snprintf(err, errlen,
                 "features must include VIRTIO_F_VERSION_1 (bit 32) for a modern device");
        return -EINVAL;
    }
    return 0;
}

int dev_set_queues(struct vn_device *dev, uint32_t n)
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

/* ---- recovery records ---------------------------------------------------- */

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
    if (dev->mac_text[0])
        vn_json_add_str(o, "mac_text", dev->mac_text);
    vn_json_add_num(o, "mtu", dev->mtu);
    vn_json_add_num(o, "max_queue_size", dev->max_queue_size);
    vn_json_add_hex(o, "features", dev->features);
    vn_json_add_num(o, "msix_num", dev->msix);
    vn_json_add_bool(o, "transitional", dev->legacy);
    vn_json_add_str(o, "sf_rep_net_device", dev->rep.ifname);
    if (dev->vhost_server_path[0])
        vn_json_add_str(o, "vhost_server_path", dev->vhost_server_path);
    /* An intent a crash may interrupt (device_build, device_intent_remove); else ready. */
    vn_json_add_str(o, "state", vn_dev_state_name(dev->state == VN_DEV_S_CREATING ||
                                                          dev->state == VN_DEV_S_REMOVING
                                                      ? dev->state
                                                      : VN_DEV_S_READY));
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
        vn_json_add_str(j, "event_mode", vn_event_mode_names[q->event_mode]);
        vn_json_add_num(j, "period", q->period_us);
        vn_json_add_num(j, "max_count", q->max_count);
        vn_json_add(qs, NULL, j);
    }
    vn_json_add(o, "queues", qs);
    return o;
}

int dev_save(struct vn_dev_mgr *m, const struct vn_device *dev)
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

int dev_unsave(struct vn_dev_mgr *m, const struct vn_device *dev)
{
    return m->recovery_dir ? vn_recovery_remove(m->recovery_dir, dev->vuid) : 0;
}

/* Reads an unsigned member of a recovery record within [0, max]. */
int dev_rec_u32(const cJSON *o, const char *key, uint32_t max, uint32_t *out)
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
int dev_apply_record(struct vn_dev_mgr *m, struct vn_device *dev, const cJSON *rec,
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
    if (dev_rec_u32(rec, "mtu", VN_DEV_MTU_MAX, &mtu) < 0 || dev_check_mtu(mtu, err, errlen) < 0 ||
        dev_rec_u32(rec, "msix_num", c->emu.num_msix, &msix) < 0 || msix < 2 ||
        dev_rec_u32(rec, "mq", UINT32_MAX, &mq) < 0 || dev_check_queues(c, mq, msix, err, errlen) < 0 ||
        dev_rec_u32(rec, "max_queue_size", UINT32_MAX, &qsize) < 0 ||
        dev_check_queue_size(c, qsize, err, errlen) < 0 ||
        dev_rec_u32(rec, "sf_num", VN_SF_NUM_MAX, &sf) < 0 || sf < VN_SF_NUM_MIN ||
        (cJSON_GetObjectItemCaseSensitive(rec, "bdf_raw") &&
         (dev_rec_u32(rec, "bdf_raw", UINT16_MAX, &bdf) < 0 || bdf != dev->bdf)) || !feat ||
        vn_json_get_u64(feat, &features) < 0 ||
        dev_check_features(c, features, dev->legacy, err, errlen) < 0) {
        if (!err[0])
            snprintf(err, errlen, "a value is missing or out of range for this profile");
        return -EINVAL;
    }
    if (vn_sfmgr_sf_used(m->sfm, sf)) {
        snprintf(err, errlen, "SF %u already used by another device", sf);
        return -EINVAL;
    }
    if (dev_set_queues(dev, mq) < 0)
        return -ENOMEM;
    memcpy(dev->mac, macb, VN_MAC_LEN);
    dev->mac_text[0] = '\0';
    mac = cJSON_GetObjectItemCaseSensitive(rec, "mac_text");
    if (cJSON_IsString(mac) && vn_parse_mac(mac->valuestring, macb) == 0 &&
        !memcmp(macb, dev->mac, VN_MAC_LEN))
        (void)vn_mac_text(mac->valuestring, dev->mac_text);
    dev->mtu = mtu;
    dev->max_queue_size = qsize;
    dev->features = features;
    dev->msix = msix;
    dev->rep.sf_num = sf;
    cJSON_ArrayForEach(q, qs) {
        uint32_t idx, period, count;
        const cJSON *mode = cJSON_GetObjectItemCaseSensitive(q, "event_mode");

        if (dev_rec_u32(q, "index", mq - 1, &idx) < 0 || dev_rec_u32(q, "period", UINT32_MAX, &period) < 0 ||
            dev_rec_u32(q, "max_count", UINT32_MAX, &count) < 0 || !cJSON_IsString(mode))
            continue;
        for (int i = 0; i < VN_EVENT_N_MODES; i++)
            if (!strcmp(mode->valuestring, vn_event_mode_names[i]))
                dev->queues[idx].event_mode = (uint8_t)i;
        dev->queues[idx].period_us = period;
        dev->queues[idx].max_count = count;
    }
    return 0;
}

static void add_rejected(struct vn_dev_mgr *m, const char *file, const char *reason)
{
    cJSON *o;

    if (!m->rejected)
        m->rejected = cJSON_CreateArray();
    o = cJSON_CreateObject();
    vn_json_add_str(o, "file", file);
    vn_json_add_str(o, "reason", reason);
    vn_json_add(m->rejected, NULL, o);
}

void dev_reject_record(struct vn_dev_mgr *m, const char *vuid, const char *fmt, ...)
{
    char reason[256], from[PATH_MAX], to[PATH_MAX], file[VN_VUID_MAX + sizeof(REJECTED_SUFFIX)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(file, sizeof(file), "%s%s", vuid, REJECTED_SUFFIX);
    if (!m->recovery_dir || vn_snprintf(from, sizeof(from), "%s/%s", m->recovery_dir, vuid) < 0 ||
        vn_snprintf(to, sizeof(to), "%s/%s", m->recovery_dir, file) < 0 || rename(from, to) < 0) {
        VN_WARN(REC, "recovery file %s not used (%s); cannot rename it aside: %s", vuid, reason,
                strerror(errno));
        add_rejected(m, vuid, reason);
        return;
    }
    VN_WARN(REC, "recovery file %s not used: %s; kept as %s", vuid, reason, file);
    add_rejected(m, file, reason);
}

void dev_list_rejected(struct vn_dev_mgr *m)
{
    size_t sl = strlen(REJECTED_SUFFIX);
    DIR *d = m->recovery_dir ? opendir(m->recovery_dir) : NULL;
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);

        if (de->d_name[0] != '.' && len > sl && !strcmp(de->d_name + len - sl, REJECTED_SUFFIX))
            add_rejected(m, de->d_name, "set aside by an earlier start (see its log)");
    }
    closedir(d);
}

/* Takes the pending recovery record of 'vuid' (caller deletes), or NULL. */
cJSON *dev_take_record(struct vn_dev_mgr *m, const char *vuid)
{
    return m->pending ? cJSON_DetachItemFromObjectCaseSensitive(m->pending, vuid) : NULL;
}

int dev_collect_record(const char *vuid, const cJSON *obj, void *ctx)
{
    struct vn_dev_mgr *m = ctx;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "vuid");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "state");
    size_t sl = strlen(m->conf->emu.serial), len = strlen(vuid);
    char rep[IFNAMSIZ];
    uint32_t pf, sf;

    /* Set aside by an earlier start: listed by dev_list_rejected(), never read again. */
    if (len > strlen(REJECTED_SUFFIX) &&
        !strcmp(vuid + len - strlen(REJECTED_SUFFIX), REJECTED_SUFFIX))
        return 0;
    if (strncmp(vuid, m->conf->emu.serial, sl) || strncmp(vuid + sl, "VNET", 4)) {
        dev_reject_record(m, vuid, "not a device of this DPU (serial %s)", m->conf->emu.serial);
        return 0;
    }
    if (v && (!cJSON_IsString(v) || strcmp(v->valuestring, vuid))) {
        dev_reject_record(m, vuid, "its 'vuid' does not match its name");
        return 0;
    }
    /*
     * An operation a crash interrupted: a hotplug (or creation) is rolled
     * back, a removal finished.  The representor, if one was made, is
     * reaped as an orphan once every device has taken its own.
     */
    if (cJSON_IsString(st) && (!strcmp(st->valuestring, vn_dev_state_name(VN_DEV_S_CREATING)) ||
                               !strcmp(st->valuestring, vn_dev_state_name(VN_DEV_S_REMOVING)))) {
        int ret = vn_recovery_remove(m->recovery_dir, vuid);

        VN_WARN(REC, "%s: interrupted while %s: %s", vuid, st->valuestring,
                ret < 0 ? "cannot remove its recovery file" : "recovery file removed");
        return 0;
    }
    vn_json_add(m->pending, vuid, cJSON_Duplicate(obj, true));
    if (dev_rec_u32(obj, "pf_num", UINT32_MAX, &pf) == 0 &&
        dev_rec_u32(obj, "sf_num", VN_SF_NUM_MAX, &sf) == 0 && vn_sf_rep_name(pf, sf, rep) == 0)
        vn_json_add(m->recorded_reps, rep, cJSON_CreateTrue());
    return 0;
}

