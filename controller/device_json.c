/*
 * device_json.c - the device manager's objects as `virtnet list` and
 * `virtnet query` print them (the vendor's keys, plus ours).  See device.h.
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

const char *const vn_event_mode_names[VN_EVENT_N_MODES] = {
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
    snprintf(buf, 16, "%02x:%x.%x", bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
}

void vn_bdf_format_pci(uint16_t bdf, char buf[16])
{
    snprintf(buf, 16, "%02x:%02x.%x", bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
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
    if (f & VN_BIT(bit))                  \
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

    vn_json_add_str(o, "emulation_manager", dev_emu_manager(c));
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
    vn_json_add_hex(o, "config_only_features", c->emu.features & VN_CONF_FEATURES_CONFIG_ONLY);
    a = cJSON_CreateArray();
    vn_json_add_str(a, NULL, "split");
    if (c->emu.features & VN_BIT(VIRTIO_F_RING_PACKED))
        vn_json_add_str(a, NULL, "packed");
    vn_json_add(o, "supported_virt_queue_types", a);
    a = cJSON_CreateArray();
    for (int i = 0; i < VN_EVENT_N_MODES; i++)
        vn_json_add_str(a, NULL, vn_event_mode_names[i]);
    vn_json_add(o, "supported_event_modes", a);
    vn_json_add_num(o, "mtu_min", VN_DEV_MTU_MIN);
    vn_json_add_num(o, "mtu_max", VN_DEV_MTU_MAX);
    vn_json_add_bool(o, "recovery", m->recovery_dir != NULL);
    return o;
}

/*
 * The function's state (emu.h) in the keys `virtnet query` has always
 * printed: "vhost_socket", "vhost_mode" ("server", or "client": the
 * controller connects to vhost_socket, with "vhost_reconnect_attempts" and
 * "vhost_reconnect_failures" since the last success), "vhost_connected", "vhost_connections",
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
    vn_json_add_str(o, "vhost_mode", st.client_mode ? "client" : "server");
    vn_json_add_bool(o, "vhost_connected", st.connected);
    if (st.client_mode) {
        vn_json_add_u64(o, "vhost_reconnect_attempts", st.connect_attempts);
        vn_json_add_u64(o, "vhost_reconnect_failures", st.connect_failures);
    }
    vn_json_add_u64(o, "vhost_connections", st.connections);
    vn_json_add(o, "driver_status", vn_emu_status_names(st.status));
    vn_json_add_num(o, "driver_status_raw", st.status);
    vn_json_add_hex(o, "negotiated_features", st.negotiated_features);
    vn_json_add(o, "negotiated_feature_names", vn_dev_feature_names(st.negotiated_features));
    vn_json_add_hex(o, "negotiated_protocol_features", st.protocol_features);
    vn_json_add_hex(o, "offered_features", st.offered_features);
    vn_json_add_bool(o, "dirty_log_active", st.dirty_log_active);
    vn_json_add_u64(o, "dirty_pages_logged", st.dirty_pages_logged);
    vn_json_add_u64(o, "dirty_pages_missed", st.dirty_pages_missed);
    vn_json_add_u64(o, "rarps_sent", st.rarps_sent);
    if (st.connected)
        vn_json_add_num(o, "vnet_hdr_len", st.vnet_hdr_len);
    vn_json_add_num(o, "vhost_queue_pairs", st.nrings / 2);
    if (st.last_error[0])
        vn_json_add_str(o, "vhost_last_error", st.last_error);
    if (st.iotlb.offered) {
        cJSON *t = cJSON_CreateObject();

        vn_json_add_bool(t, "active", st.iotlb.active);
#define IOTLB_JSON(m) vn_json_add_u64(t, #m, st.iotlb.m);
        VN_EMU_IOTLB_COUNTERS(IOTLB_JSON)
#undef IOTLB_JSON
        vn_json_add(o, "iotlb", t);
    }
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
    char bdf[16], pci_bdf[16], mac[VN_MAC_STR_LEN];

    vn_bdf_format(dev->bdf, bdf);
    vn_bdf_format_pci(dev->bdf, pci_bdf);
    vn_dev_mac_string(dev, mac);
    vn_json_add_num(o, "pf_id", dev->pf_id);
    if (dev->type == VN_DEV_VF)
        vn_json_add_num(o, "vf_id", dev->vf_id);
    vn_json_add_str(o, "vuid", dev->vuid);
    vn_json_add_str(o, "function_type", dev->type == VN_DEV_VF ? "vf" : "pf");
    vn_json_add_str(o, "device_type", vn_dev_type_name(dev->type));
    vn_json_add_str(o, "bdf", bdf);
    vn_json_add_str(o, "pci_bdf", pci_bdf);
    vn_json_add_str(o, "mac", mac);
    vn_json_add_str(o, "sf_rep_net_device", dev->rep.ifname);
}

/*
 * The packet counters `list` and `query` carry for scripts written against
 * the vendor's controller, which has them there too (deprecated in favour of
 * `virtnet stats`, which has the whole set).  Strings, as `stats` prints them.
 */
static void queue_packets_json(const struct vn_device *dev, uint32_t index, cJSON *q)
{
    struct vn_dp_queue_stats st;

    if (!dev->fn || vn_dev_queue_stats(dev, index, &st) < 0)
        return;
    vn_json_add_u64_str(q, "received_desc", st.received_desc);
    vn_json_add_u64_str(q, "completed_desc", st.completed_desc);
    vn_json_add_u64_str(q, "total_packets", st.total_packets);
    vn_json_add_u64_str(q, "total_bytes", st.total_bytes);
}

/* The device's received ("rx_") and transmitted ("tx_") frames and bytes over its data queues. */
static void device_packets_json(const struct vn_device *dev, cJSON *o)
{
    uint64_t packets[2] = {0, 0}, bytes[2] = {0, 0};
    struct vn_dp_queue_stats st;
    uint32_t n = dev->fn ? vn_dev_nrings(dev) : 0;

    for (uint32_t i = 0; i < n; i++) {
        if (vn_dev_queue_stats(dev, i, &st) < 0)
            continue;
        packets[i & 1] += st.total_packets;
        bytes[i & 1] += st.total_bytes;
    }
    vn_json_add_u64_str(o, "rx_packets", packets[0]);
    vn_json_add_u64_str(o, "rx_bytes", bytes[0]);
    vn_json_add_u64_str(o, "tx_packets", packets[1]);
    vn_json_add_u64_str(o, "tx_bytes", bytes[1]);
}

cJSON *vn_dev_to_list_json(const struct vn_device *dev)
{
    cJSON *o = cJSON_CreateObject();

    add_ids(o, dev);
    device_packets_json(dev, o);
    return o;
}

static const char *queue_type(const struct vn_device *dev, uint32_t i)
{
    if ((dev->features & VN_BIT(VIRTIO_NET_F_CTRL_VQ)) && (dev->max_queues & 1) &&
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
    if (dev->fn) {
        struct vn_emu_state st;

        /* Configured but not offered to a driver by this DPU: see docs/devices.md. */
        vn_emu_fn_state(dev->fn, &st);
        if (st.has_session) {
            vn_json_add_hex(o, "config_only_features", dev->features & ~st.offered_features);
            vn_json_add(o, "config_only_feature_names",
                        vn_dev_feature_names(dev->features & ~st.offered_features));
        }
    }
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
    device_packets_json(dev, o);
    if (!brief) {
        cJSON *qs = cJSON_CreateArray();

        for (uint32_t i = 0; i < dev->max_queues; i++) {
            cJSON *q = cJSON_CreateObject();

            vn_json_add_num(q, "index", i);
            vn_json_add_str(q, "type", queue_type(dev, i));
            vn_json_add_num(q, "size", dev->max_queue_size);
            vn_json_add_str(q, "event_mode", vn_event_mode_names[dev->queues[i].event_mode]);
            vn_json_add_num(q, "period", dev->queues[i].period_us);
            vn_json_add_num(q, "max_count", dev->queues[i].max_count);
            fn_queue_to_json(dev->fn, i, q);
            queue_packets_json(dev, i, q);
            vn_json_add(qs, NULL, q);
        }
        vn_json_add(o, "queues", qs);
    }
    return o;
}
