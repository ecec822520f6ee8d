/*
 * device_ops.c - the device manager's lookups and the changes of a running
 * device (modify device, modify queue).  See device.h.
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

#include "json.h"
#include "log.h"

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

/* The options that set one feature bit each (vendor 25.x names). */
static const struct {
    const char *name;
    unsigned int bit;
    size_t has_off, val_off;
} ring_opts[] = {
    { "packed_vq", VIRTIO_F_RING_PACKED, offsetof(struct vn_modify_req, has_packed_vq),
      offsetof(struct vn_modify_req, packed_vq) },
    { "mrg_rxbuf", VIRTIO_NET_F_MRG_RXBUF, offsetof(struct vn_modify_req, has_mrg_rxbuf),
      offsetof(struct vn_modify_req, mrg_rxbuf) },
};

/* True while a driver uses the device: what it negotiated cannot change until it resets. */
static bool dev_driver_running(const struct vn_device *dev, struct vn_emu_state *st)
{
    vn_emu_fn_state(dev->fn, st);
    return (st->status & VIRTIO_CONFIG_S_DRIVER_OK) || (st->has_session && st->connected);
}

/*
 * The features 'req' asks for: its 'features' or the device's, with the bits
 * of packed_vq and mrg_rxbuf applied.  Refuses a disagreement with
 * 'features' and a change of those bits while a driver runs.
 */
static int dev_modify_features(const struct vn_device *dev, const struct vn_modify_req *req,
                               uint64_t *ret_features, char *err, size_t errlen)
{
    uint64_t f = req->has_features ? req->features : dev->features, changed = 0;
    struct vn_emu_state st;

    for (size_t i = 0; i < VN_ARRAY_SIZE(ring_opts); i++) {
        const bool *has = (const bool *)((const char *)req + ring_opts[i].has_off);
        uint32_t v = *(const uint32_t *)((const char *)req + ring_opts[i].val_off);
        uint64_t bit = VN_BIT(ring_opts[i].bit);

        if (!*has)
            continue;
        if (v > 1) {
            snprintf(err, errlen, "%s must be 0 or 1, not %u", ring_opts[i].name, v);
            return -EINVAL;
        }
        if (req->has_features && !!(req->features & bit) != v) {
            snprintf(err, errlen, "features 0x%" PRIx64 " %s bit %u and %s %u asks the opposite",
                     req->features, req->features & bit ? "have" : "lack", ring_opts[i].bit,
                     ring_opts[i].name, v);
            return -EINVAL;
        }
        f = v ? f | bit : f & ~bit;
        if ((f ^ dev->features) & bit)
            changed |= bit;
    }
    if (changed && dev_driver_running(dev, &st)) {
        snprintf(err, errlen,
                 "a driver is running on %s (status 0x%x, features 0x%" PRIx64 " negotiated): "
                 "changing %s needs a device reset; stop the driver (unbind it in the guest, or "
                 "stop the front-end) and modify again",
                 dev->vuid, st.status, st.negotiated_features,
                 changed & VN_BIT(VIRTIO_F_RING_PACKED)
                     ? (changed & VN_BIT(VIRTIO_NET_F_MRG_RXBUF) ? "packed_vq and mrg_rxbuf"
                                                                  : "packed_vq")
                     : "mrg_rxbuf");
        return -EBUSY;
    }
    *ret_features = f;
    return 0;
}

int vn_dev_modify(struct vn_dev_mgr *m, struct vn_device *dev, const struct vn_modify_req *req,
                  char *err, size_t errlen)
{
    const struct vn_conf *c = m->conf;
    struct vn_device old = *dev;
    uint8_t mac[VN_MAC_LEN];
    uint32_t msix = req->has_msix ? req->msix : dev->msix;
    bool set_features = req->has_features || req->has_packed_vq || req->has_mrg_rxbuf;
    uint64_t features = dev->features;
    int ret;

    if (!req->has_mac && !req->has_mtu && !set_features && !req->has_max_queue_size &&
        !req->has_msix) {
        snprintf(err, errlen, "nothing to modify");
        return -EINVAL;
    }
    /* Validate everything first. */
    if (req->has_mac && (ret = dev_check_mac(req->mac, mac, err, errlen)) < 0)
        return ret;
    if (req->has_mtu && (ret = dev_check_mtu(req->mtu, err, errlen)) < 0)
        return ret;
    if (set_features && ((ret = dev_modify_features(dev, req, &features, err, errlen)) < 0 ||
                         (ret = dev_check_features(c, features, dev->legacy, err, errlen)) < 0))
        return ret;
    if (req->has_max_queue_size &&
        (ret = dev_check_queue_size(c, req->max_queue_size, err, errlen)) < 0)
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
    if (dev->max_queues > dev_max_queues_for(c, msix)) {
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
    if (req->has_mac) {
        memcpy(dev->mac, mac, VN_MAC_LEN);
        (void)vn_mac_text(req->mac, dev->mac_text);
    }
    if (req->has_mtu)
        dev->mtu = req->mtu;
    if (set_features)
        dev->features = features;
    if (req->has_max_queue_size)
        dev->max_queue_size = req->max_queue_size;
    dev->msix = msix;
    ret = dev_push(dev);
    if (ret < 0)
        snprintf(err, errlen, "the emulation backend refused the change: %s", strerror(-ret));
    else if ((ret = dev_save(m, dev)) < 0)
        snprintf(err, errlen, "cannot write the recovery file: %s", strerror(-ret));
    if (ret < 0) {
        /* Keep memory, backend and disk in agreement (the representor's MTU may stay raised). */
        memcpy(dev->mac, old.mac, VN_MAC_LEN);
        memcpy(dev->mac_text, old.mac_text, sizeof(dev->mac_text));
        dev->mtu = old.mtu;
        dev->features = old.features;
        dev->max_queue_size = old.max_queue_size;
        dev->msix = old.msix;
        (void)dev_push(dev);
        return ret;
    }
    VN_INFO(DEV, "%s: modified; takes effect when the host driver next resets the device",
            dev->vuid);
    if (req->has_mac)
        dev_warn_mac_twin(m, dev);
    return 0;
}

void vn_dev_mac_string(const struct vn_device *dev, char buf[VN_MAC_STR_LEN])
{
    if (dev->mac_text[0])
        memcpy(buf, dev->mac_text, VN_MAC_STR_LEN);
    else
        vn_format_mac(dev->mac, buf);
}

struct mac_twin {
    const struct vn_device *dev, *twin;
};

static void find_mac_twin(struct vn_device *d, void *ctx)
{
    struct mac_twin *t = ctx;

    if (!t->twin && d != t->dev && !memcmp(d->mac, t->dev->mac, VN_MAC_LEN))
        t->twin = d;
}

const struct vn_device *vn_dev_mac_twin(struct vn_dev_mgr *m, const struct vn_device *dev)
{
    struct mac_twin t = { .dev = dev, .twin = NULL };

    vn_dev_for_each(m, find_mac_twin, &t);
    return t.twin;
}

void dev_warn_mac_twin(struct vn_dev_mgr *m, const struct vn_device *dev)
{
    const struct vn_device *twin = vn_dev_mac_twin(m, dev);
    char mac[VN_MAC_STR_LEN];

    if (!twin)
        return;
    vn_dev_mac_string(dev, mac);
    VN_WARN(DEV, "%s: MAC %s is also the MAC of %s (allowed: a migration destination shares "
                 "its source's MAC; otherwise the host sees two NICs with one address)",
            dev->vuid, mac, twin->vuid);
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
            if (!strcmp(event_mode, vn_event_mode_names[i]))
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
    ret = dev_save(m, dev);
    if (ret < 0)
        snprintf(err, errlen, "cannot write the recovery file: %s", strerror(-ret));
    else if ((ret = dev_push(dev)) < 0)
        snprintf(err, errlen, "the emulation backend refused the change: %s", strerror(-ret));
    if (ret < 0) {
        memcpy(dev->queues, old, dev->max_queues * sizeof(*old));
        (void)dev_save(m, dev);
        (void)dev_push(dev);
    }
    free(old);
    return ret;
}

