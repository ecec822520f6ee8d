/*
 * rpc_device.c - the device methods: hotplug, unplug, list, query, modify
 * and the debug commands that stand for host actions (sriov_numvfs).
 *
 * Each handler: the server has decoded the params by the table; the handler
 * resolves the device, calls the device manager, and prints the result.
 * All meaning (limits, validation, rollback) lives in device.c.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "device.h"
#include "fault.h"
#include "host.h"
#include "host_libvirt.h"
#include "json.h"
#include "log.h"
#include "provider.h"
#include "jsonrpc.h"
#include "rpc_methods.h"
#include "rpc_server.h"

#define ERRLEN 256

/* ---- hotplug ------------------------------------------------------------ */

struct hotplug_params {
    const char *ib_device;
    const char *mac;
    uint32_t mtu;
    uint32_t max_queues;
    uint32_t max_queue_size;
    uint32_t sf_num;
    bool has_sf_num;
    uint64_t features;
    bool has_features;
    bool legacy;
    bool has_legacy;
    const char *vhost_server_path;
    bool has_vhost_server_path;
};

static const struct vn_rpc_param hotplug_params[] = {
    VN_RPC_REQ_STR(struct hotplug_params, ib_device),
    VN_RPC_REQ_STR(struct hotplug_params, mac),
    VN_RPC_REQ(struct hotplug_params, mtu, VN_RPC_T_U32, 0, UINT32_MAX),
    VN_RPC_REQ(struct hotplug_params, max_queues, VN_RPC_T_U32, 0, UINT32_MAX),
    VN_RPC_REQ(struct hotplug_params, max_queue_size, VN_RPC_T_U32, 0, UINT32_MAX),
    VN_RPC_OPT(struct hotplug_params, sf_num, VN_RPC_T_U32, 0, UINT32_MAX),
    VN_RPC_OPT(struct hotplug_params, features, VN_RPC_T_U64, 0, UINT64_MAX),
    VN_RPC_OPT_BOOL(struct hotplug_params, legacy),
    VN_RPC_OPT_STR(struct hotplug_params, vhost_server_path),
};

/*
 * Flags in 'o' (a reply) that another device has 'dev''s MAC: "warnings", a
 * list of sentences.  Duplicates are allowed (a migration destination shares
 * its source's MAC); device_ops.c logs them too.
 */
static void add_mac_warning(struct vn_dev_mgr *mgr, const struct vn_device *dev, cJSON *o)
{
    const struct vn_device *twin = vn_dev_mac_twin(mgr, dev);
    char mac[VN_MAC_STR_LEN], msg[160];
    cJSON *a;

    if (!twin)
        return;
    vn_dev_mac_string(dev, mac);
    snprintf(msg, sizeof(msg), "MAC %s is also the MAC of %s", mac, twin->vuid);
    a = cJSON_CreateArray();
    vn_json_add_str(a, NULL, msg);
    vn_json_add(o, "warnings", a);
}

/* The vendor's hotplug reply, plus the VUID (and "warnings" for a shared MAC). */
static cJSON *hotplug_result(struct vn_dev_mgr *mgr, const struct vn_device *dev)
{
    char bdf[16], pci_bdf[16], mac[VN_MAC_STR_LEN];
    cJSON *res = cJSON_CreateObject();

    vn_bdf_format(dev->bdf, bdf);
    vn_bdf_format_pci(dev->bdf, pci_bdf);
    vn_dev_mac_string(dev, mac);
    vn_json_add_str(res, "bdf", bdf);
    vn_json_add_num(res, "id", dev->pf_id);
    vn_json_add_num(res, "transitional", dev->legacy);
    vn_json_add_str(res, "sf_rep_net_device", dev->rep.ifname);
    vn_json_add_str(res, "mac", mac);
    vn_json_add_str(res, "vuid", dev->vuid);
    vn_json_add_str(res, "pci_bdf", pci_bdf);
    add_mac_warning(mgr, dev, res);
    return res;
}

/* A hotplug or unplug waiting for the host VM (host.h). */
struct host_wait {
    struct vn_ctl *ctl;
    struct vn_rpc_request *req;
    char vuid[VN_VUID_MAX];
    uint32_t id;
};

/* 'dev' waits for the host VM in 'state' (attaching or removing) until the wait ends. */
static struct host_wait *host_wait_new(struct vn_ctl *ctl, struct vn_rpc_request *req,
                                       struct vn_device *dev, enum vn_dev_state state)
{
    struct host_wait *w = calloc(1, sizeof(*w));

    if (w) {
        w->ctl = ctl;
        w->req = req;
        w->id = dev->pf_id;
        vn_strlcpy(w->vuid, dev->vuid, sizeof(w->vuid));
        dev->state = state;
    }
    return w;
}

static void attach_done(void *ctx, int err, const char *why, const char *guest_bdf)
{
    struct host_wait *w = ctx;
    struct vn_device *dev = vn_dev_find_vuid(w->ctl->devs, w->vuid);
    char e[ERRLEN];
    cJSON *res;

    if (dev)
        dev->state = VN_DEV_S_READY;
    if (err && dev) {
        /* QEMU has nothing left of it (host.c rolled back): neither do we. */
        vn_dev_unplug(w->ctl->devs, dev, e, sizeof(e));
        dev = NULL;
    }
    if (err || !dev) {
        vn_rpc_reply_errno(w->req, err ? err : -ENODEV, "the host VM did not take the device: %s",
                           err ? why : "it went away meanwhile");
    } else {
        res = hotplug_result(w->ctl->devs, dev);
        if (guest_bdf[0])
            vn_json_add_str(res, "host_bdf", guest_bdf);
        vn_rpc_reply_result(w->req, res);
    }
    free(w);
}

/* Hotplug with a host VM: the device is ours, now QEMU plugs it; the answer waits for that. */
static void host_attach(struct vn_ctl *ctl, struct vn_rpc_request *req, struct vn_device *dev)
{
    struct host_wait *w = host_wait_new(ctl, req, dev, VN_DEV_S_ATTACHING);
    char why[ERRLEN], e[ERRLEN];
    int ret = w ? vn_host_attach(ctl, dev, attach_done, w, why, sizeof(why)) : -ENOMEM;

    if (ret < 0) {
        free(w);
        vn_dev_unplug(ctl->devs, dev, e, sizeof(e));
        vn_rpc_reply_errno(req, ret, "the host VM did not take the device: %s",
                           ret == -ENOMEM ? "out of memory" : why);
    }
}

static void method_hotplug(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct vn_ctl *ctl = ctx;
    struct hotplug_params *p = params;
    struct vn_hotplug_req hr = {
        .ib_device = p->ib_device,
        .mac = p->mac,
        .mtu = p->mtu,
        .max_queues = p->max_queues,
        .max_queue_size = p->max_queue_size,
        .has_sf_num = p->has_sf_num,
        .sf_num = p->sf_num,
        .has_features = p->has_features,
        .features = p->features,
        .legacy = p->legacy,
        .vhost_server_path = p->vhost_server_path,
    };
    struct vn_device *dev;
    char err[ERRLEN] = "";
    int ret;

    if (ctl->upd.run) {
        vn_rpc_reply_error(req, VN_RPC_ERR_BUSY, "busy: %s: a live update is under way",
                           vn_dev_state_name(VN_DEV_S_UPDATING));
        return;
    }
    if (vn_ctl_needs_datapath(ctl) && !vn_providers_active(ctl->providers)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_STATE,
                           "no datapath provider is loaded: a device would carry no traffic "
                           "(see `virtnet health`)");
        return;
    }
    ret = vn_dev_hotplug(ctl->devs, &hr, &dev, err, sizeof(err));
    if (ret < 0) {
        vn_rpc_reply_errno(req, ret, "%s", err);
        return;
    }
    if (vn_host_enabled(ctl)) {
        host_attach(ctl, req, dev);
        return;
    }
    vn_rpc_reply_result(req, hotplug_result(ctl->devs, dev));
}

VN_RPC_METHOD(hotplug, "hotplug virtnet device", VN_RPC_MUTATING, struct hotplug_params,
              hotplug_params, method_hotplug);

/* ---- unplug ------------------------------------------------------------- */

struct selector_params {
    VN_SELECTOR_FIELDS;
};

static const struct vn_rpc_param unplug_params[] = {
    VN_SELECTOR_PARAMS(struct selector_params),
};

/*
 * Answers "busy: <state>" and returns -EBUSY when the method of 'req' does not
 * accept 'dev' in the state it is in (the registry's state mask).
 */
static int check_state(struct vn_rpc_request *req, const struct vn_device *dev)
{
    if (vn_rpc_request_accepts(req, dev->state))
        return 0;
    vn_rpc_reply_error(req, VN_RPC_ERR_BUSY, "busy: %s: %s cannot %s now",
                       vn_dev_state_name(dev->state), dev->vuid, vn_rpc_request_method(req));
    return -EBUSY;
}

/*
 * Resolves the selector of any params struct that starts with
 * VN_SELECTOR_FIELDS, and checks the device's state against the method's.
 */
static int select_dev(struct vn_ctl *ctl, struct vn_rpc_request *req, const void *params,
                      struct vn_device **out)
{
    const struct selector_params *s = params;
    char err[ERRLEN];
    int ret;

    ret = vn_dev_select(ctl->devs, s->has_pf, s->pf, s->has_vf, s->vf,
                        s->has_vuid ? s->vuid : NULL, out, err, sizeof(err));
    if (ret < 0) {
        vn_rpc_reply_errno(req, ret, "%s", err);
        return ret;
    }
    return check_state(req, *out);
}

/*
 * The controller's side of an unplug, and the answer.  A front-end still
 * attached (no host VM configured to detach the device first, or a static
 * device's) loses the device at once, as a host whose PCIe device is
 * surprise-removed: the unplug goes ahead, as the vendor's does, and the reply
 * ("frontend": "disconnected") and the log say so (docs/devices.md).
 */
static void unplug_finish(struct vn_ctl *ctl, struct vn_rpc_request *req, struct vn_device *dev)
{
    char err[ERRLEN], vuid[VN_VUID_MAX];
    uint32_t id = dev->pf_id;
    struct vn_emu_state st;
    cJSON *res;
    int ret;

    vn_strlcpy(vuid, dev->vuid, sizeof(vuid));
    vn_emu_fn_state(dev->fn, &st);
    ret = vn_dev_unplug(ctl->devs, dev, err, sizeof(err));
    if (ret < 0) {
        vn_rpc_reply_errno(req, ret, "%s", err);
        return;
    }
    res = cJSON_CreateObject();
    vn_json_add_num(res, "id", id);
    vn_json_add_str(res, "vuid", vuid);
    vn_json_add_str(res, "status", "unplugged");
    if (st.has_session) {
        vn_json_add_str(res, "frontend", st.connected ? "disconnected" : "none");
        if (st.connected)
            VN_WARN(DEV, "%s: unplugged with its front-end attached: the driver lost the device "
                         "without a detach (configure \"host\" to detach it from the VM first)",
                    vuid);
    }
    vn_rpc_reply_result(req, res);
}

static void detach_done(void *ctx, int err, const char *why, const char *guest_bdf)
{
    struct host_wait *w = ctx;
    struct vn_device *dev = vn_dev_find_vuid(w->ctl->devs, w->vuid);

    if (dev)
        dev->state = VN_DEV_S_READY;
    if (!dev)
        vn_rpc_reply_errno(w->req, -ENODEV, "%s went away meanwhile", w->vuid);
    else if (err)
        /* QEMU still has it: so do we, or its driver would lose its back-end. */
        vn_rpc_reply_errno(w->req, err, "the host VM did not release the device: %s", why);
    else
        unplug_finish(w->ctl, w->req, dev);
    free(w);
}

static void method_unplug(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct vn_ctl *ctl = ctx;
    struct vn_device *dev;
    struct host_wait *w;
    char why[ERRLEN];
    int ret;

    if (select_dev(ctl, req, params, &dev) < 0)
        return;
    if (!vn_host_enabled(ctl) || dev->type != VN_DEV_HOTPLUG_PF) {
        unplug_finish(ctl, req, dev);
        return;
    }
    w = host_wait_new(ctl, req, dev, VN_DEV_S_REMOVING);
    ret = w ? vn_host_detach(ctl, dev, detach_done, w, why, sizeof(why)) : -ENOMEM;
    if (ret < 0) {
        dev->state = VN_DEV_S_READY;
        free(w);
        vn_rpc_reply_errno(req, ret, "the host VM did not release the device: %s",
                           ret == -ENOMEM ? "out of memory" : why);
    }
}

VN_RPC_DEVICE_METHOD(unplug, "unplug virtnet device", VN_RPC_MUTATING, VN_DEV_S_MASK(READY),
                     struct selector_params, unplug_params, method_unplug);

/* ---- list / query ---------------------------------------------------------- */

/* A device as query prints it; the full form says how to attach it to a VM by hand. */
static cJSON *device_json(const struct vn_device *dev, bool brief)
{
    cJSON *o = vn_dev_to_json(dev, brief);
    char *qemu;

    if (brief)
        return o;
    qemu = vn_host_cmdline(dev);
    if (qemu)
        vn_json_add_str(o, "qemu_args", qemu);
    free(qemu);
    /* The libvirt interface that attaches it (docs/host.md). */
    qemu = vn_host_libvirt_xml(dev, false);
    if (qemu)
        vn_json_add_str(o, "libvirt_xml", qemu);
    free(qemu);
    return o;
}

struct json_visit {
    cJSON *array;
    bool brief;
    bool list_form;
};

static void add_device(struct vn_device *dev, void *ctx)
{
    struct json_visit *v = ctx;

    vn_json_add(v->array, NULL, v->list_form ? vn_dev_to_list_json(dev) : device_json(dev, v->brief));
}

cJSON *vn_rpc_list_json(struct vn_ctl *ctl)
{
    struct json_visit v = { .array = cJSON_CreateArray(), .list_form = true };
    cJSON *res = cJSON_CreateObject();

    cJSON *ctrl = vn_dev_mgr_to_json(ctl->devs);

    vn_json_add(ctrl, "provider", vn_providers_to_json(ctl->providers));
    vn_json_add(res, "controller", ctrl);
    vn_dev_for_each(ctl->devs, add_device, &v);
    vn_json_add(res, "devices", v.array);
    return res;
}

static void method_list(void *ctx, struct vn_rpc_request *req, void *params)
{
    vn_rpc_reply_result(req, vn_rpc_list_json(ctx));
}

VN_RPC_METHOD_NOPARAMS(list, "list all virtnet devices", 0, method_list);

struct query_params {
    VN_SELECTOR_FIELDS;
    bool all;
    bool has_all;
    bool brief;
    bool has_brief;
};

static const struct vn_rpc_param query_params[] = {
    VN_SELECTOR_PARAMS(struct query_params),
    VN_RPC_OPT_BOOL(struct query_params, all),
    VN_RPC_OPT_BOOL(struct query_params, brief),
};

static void method_query(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct vn_ctl *ctl = ctx;
    struct query_params *p = params;
    struct json_visit v = { .brief = p->brief };
    struct vn_device *dev;
    cJSON *res;

    if (p->all && (p->has_pf || p->has_vf || p->has_vuid)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS,
                           "'all' cannot be combined with a PF, VF or VUID");
        return;
    }
    v.array = cJSON_CreateArray();
    if (p->has_pf || p->has_vf || p->has_vuid) {
        if (select_dev(ctl, req, params, &dev) < 0) {
            cJSON_Delete(v.array);
            return;
        }
        add_device(dev, &v);
    } else {
        vn_dev_for_each(ctl->devs, add_device, &v);
    }
    res = cJSON_CreateObject();
    vn_json_add(res, "devices", v.array);
    vn_rpc_reply_result(req, res);
}

VN_RPC_METHOD(query, "query all or individual virtnet device(s)", 0, struct query_params,
              query_params, method_query);

/* ---- modify --------------------------------------------------------------- */

struct modify_params {
    VN_SELECTOR_FIELDS;
    const char *target;
    const char *mac;
    bool has_mac;
    uint32_t mtu;
    bool has_mtu;
    uint64_t features;
    bool has_features;
    uint32_t max_queue_size;
    bool has_max_queue_size;
    uint32_t msix_num;
    bool has_msix_num;
    const char *event_mode;
    bool has_event_mode;
    uint32_t period;
    bool has_period;
    uint32_t max_count;
    bool has_max_count;
    uint32_t queue_id;
    bool has_queue_id;
    uint32_t packed_vq;
    bool has_packed_vq;
    uint32_t mrg_rxbuf;
    bool has_mrg_rxbuf;
};

/*
 * Interrupt moderation bounds: those of the completion queues of the NICs the
 * vendor's controller runs on (mlx5 CQ context: cq_period 12 bits, in µs;
 * cq_max_count 16 bits), so a setting valid here is valid on the hardware.
 */
#define VN_MODERATION_MAX_PERIOD_US 4095
#define VN_MODERATION_MAX_COUNT 65535

static const struct vn_rpc_param modify_params[] = {
    VN_SELECTOR_PARAMS(struct modify_params),
    VN_RPC_REQ_STR(struct modify_params, target),
    VN_RPC_OPT_STR(struct modify_params, mac),
    VN_RPC_OPT(struct modify_params, mtu, VN_RPC_T_U32, 0, UINT32_MAX),
    VN_RPC_OPT(struct modify_params, features, VN_RPC_T_U64, 0, UINT64_MAX),
    VN_RPC_OPT(struct modify_params, max_queue_size, VN_RPC_T_U32, 0, UINT32_MAX),
    VN_RPC_OPT(struct modify_params, msix_num, VN_RPC_T_U32, 0, UINT32_MAX),
    VN_RPC_OPT_STR(struct modify_params, event_mode),
    VN_RPC_OPT(struct modify_params, period, VN_RPC_T_U32, 0, VN_MODERATION_MAX_PERIOD_US),
    VN_RPC_OPT(struct modify_params, max_count, VN_RPC_T_U32, 0, VN_MODERATION_MAX_COUNT),
    VN_RPC_OPT(struct modify_params, queue_id, VN_RPC_T_U32, 0, UINT32_MAX),
    VN_RPC_OPT(struct modify_params, packed_vq, VN_RPC_T_U32, 0, 1),
    VN_RPC_OPT(struct modify_params, mrg_rxbuf, VN_RPC_T_U32, 0, 1),
};

static void method_modify(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct vn_ctl *ctl = ctx;
    struct modify_params *p = params;
    struct vn_device *dev;
    char err[ERRLEN] = "";
    bool device = !strcmp(p->target, "device"), queue = !strcmp(p->target, "queue");
    int ret;

    if (!device && !queue) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS,
                           "'target' must be \"device\" or \"queue\", not '%.32s'", p->target);
        return;
    }
    if (device && (p->has_event_mode || p->has_period || p->has_max_count || p->has_queue_id)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS,
                           "event_mode, period, max_count and queue_id are queue options");
        return;
    }
    if (queue && (p->has_mac || p->has_mtu || p->has_features || p->has_max_queue_size ||
                  p->has_msix_num || p->has_packed_vq || p->has_mrg_rxbuf)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS,
                           "mac, mtu, features, max_queue_size, msix_num, packed_vq and mrg_rxbuf "
                           "are device options");
        return;
    }
    if (select_dev(ctl, req, params, &dev) < 0)
        return;
    if (device) {
        struct vn_modify_req mr = {
            .has_mac = p->has_mac, .mac = p->mac,
            .has_mtu = p->has_mtu, .mtu = p->mtu,
            .has_features = p->has_features, .features = p->features,
            .has_max_queue_size = p->has_max_queue_size, .max_queue_size = p->max_queue_size,
            .has_msix = p->has_msix_num, .msix = p->msix_num,
            .has_packed_vq = p->has_packed_vq, .packed_vq = p->packed_vq,
            .has_mrg_rxbuf = p->has_mrg_rxbuf, .mrg_rxbuf = p->mrg_rxbuf,
        };

        ret = vn_dev_modify(ctl->devs, dev, &mr, err, sizeof(err));
    } else {
        ret = vn_dev_modify_queue(ctl->devs, dev, p->has_queue_id ? (int64_t)p->queue_id : -1,
                                  p->has_event_mode ? p->event_mode : NULL,
                                  p->has_period ? &p->period : NULL,
                                  p->has_max_count ? &p->max_count : NULL, err, sizeof(err));
    }
    if (ret < 0) {
        vn_rpc_reply_errno(req, ret, "%s", err);
        return;
    }
    if (device && p->has_mac) {
        cJSON *res = device_json(dev, true);

        add_mac_warning(ctl->devs, dev, res);
        vn_rpc_reply_result(req, res);
        return;
    }
    vn_rpc_reply_result(req, device_json(dev, !queue));
}

VN_RPC_DEVICE_METHOD(modify, "modify virtnet device", VN_RPC_MUTATING, VN_DEV_S_MASK(READY),
                     struct modify_params, modify_params, method_modify);

/* ---- debug -------------------------------------------------------------- */

struct debug_params {
    const char *cmd;
    const cJSON *args;
    bool has_args;
};

static const struct vn_rpc_param debug_params[] = {
    VN_RPC_REQ_STR(struct debug_params, cmd),
    VN_RPC_OPT(struct debug_params, args, VN_RPC_T_JSON, 0, 0),
};

/* num_vfs: stands for the host writing sriov_numvfs of static PF 'pf'. */
struct debug_num_vfs {
    uint32_t pf;
    uint32_t num_vfs;
};

static const struct vn_rpc_param debug_num_vfs_params[] = {
    VN_RPC_REQ(struct debug_num_vfs, pf, VN_RPC_T_U32, 0, UINT32_MAX),
    VN_RPC_REQ(struct debug_num_vfs, num_vfs, VN_RPC_T_U32, 0, UINT32_MAX),
};

static void debug_num_vfs(struct vn_ctl *ctl, struct vn_rpc_request *req, const cJSON *args)
{
    struct debug_num_vfs p = { 0 };
    struct vn_device *pf;
    char err[ERRLEN];
    int ret;

    if (vn_rpc_decode_params(args, debug_num_vfs_params, VN_ARRAY_SIZE(debug_num_vfs_params), &p,
                             err, sizeof(err)) < 0) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS, "num_vfs: %s", err);
        return;
    }
    pf = vn_dev_find_pf(ctl->devs, p.pf);
    if (!pf) {
        vn_rpc_reply_error(req, VN_RPC_ERR_NOT_FOUND, "no PF with id %u", p.pf);
        return;
    }
    if (check_state(req, pf) < 0)
        return;
    ret = vn_dev_set_num_vfs(ctl->devs, pf, p.num_vfs, err, sizeof(err));
    if (ret < 0) {
        vn_rpc_reply_errno(req, ret, "%s", err);
        return;
    }
    vn_rpc_reply_result(req, vn_dev_to_json(pf, true));
}

/* fault: arms a one-shot fault at a named point (tests of rollback). */
struct debug_fault {
    const char *point;
};

static const struct vn_rpc_param debug_fault_params[] = {
    VN_RPC_REQ_STR(struct debug_fault, point),
};

static void debug_fault(struct vn_rpc_request *req, const cJSON *args)
{
    struct debug_fault p = { 0 };
    char err[ERRLEN];
    int ret;

    if (vn_rpc_decode_params(args, debug_fault_params, VN_ARRAY_SIZE(debug_fault_params), &p, err,
                             sizeof(err)) < 0) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS, "fault: %s", err);
        return;
    }
    ret = vn_fault_arm(p.point);
    if (ret < 0) {
        vn_rpc_reply_errno(req, ret, "cannot arm fault point '%.32s'", p.point);
        return;
    }
    cJSON *res = cJSON_CreateObject();

    vn_json_add_str(res, "armed", p.point);
    vn_rpc_reply_result(req, res);
}

static void method_debug(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct vn_ctl *ctl = ctx;
    struct debug_params *p = params;

    if (p->has_args && !cJSON_IsObject(p->args)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS, "'args' must be an object");
        return;
    }
    if (!strcmp(p->cmd, "num_vfs")) {
        debug_num_vfs(ctl, req, p->has_args ? p->args : NULL);
        return;
    }
    if (!strcmp(p->cmd, "fault")) {
        debug_fault(req, p->has_args ? p->args : NULL);
        return;
    }
    vn_rpc_reply_error(req, VN_RPC_ERR_METHOD_NOT_FOUND,
                       "unknown debug command '%.32s' (num_vfs, fault)", p->cmd);
}

/* debug num_vfs addresses a static PF, which must be ready; debug fault addresses none. */
VN_RPC_DEVICE_METHOD(debug, "For debug purpose, cmds can be changed without notice",
                     VN_RPC_MUTATING, VN_DEV_S_MASK(READY), struct debug_params, debug_params,
                     method_debug);
