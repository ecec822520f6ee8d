/*
 * host.c - plugging hotplug PFs into the host VM over QMP (see host.h).
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "device.h"
#include "host.h"
#include "host_libvirt.h"
#include "json.h"
#include "log.h"
#include "qmp.h"
#include "util.h"

#define QEMU_ID_MAX (VN_VUID_MAX + 8)

/* One attach or detach under way. */
struct host_op {
    struct vn_ctl *ctl;
    char vuid[VN_VUID_MAX];
    char dev_id[QEMU_ID_MAX], netdev_id[QEMU_ID_MAX], chardev_id[QEMU_ID_MAX];
    char sock[108];
    char root_port[64];
    char mac[VN_MAC_STR_LEN];
    unsigned pairs, queue_size, mtu;
    bool legacy, has_mtu;
    bool iommu;                /* VIRTIO_F_IOMMU_PLATFORM: iommu_platform=on,ats=on (a vIOMMU) */
    int err;                   /* the error being rolled back */
    char why[256];
    char bdf[16];
    vn_host_done_fn *done;
    void *ctx;
};

/*
 * The device offers VIRTIO_F_IOMMU_PLATFORM (a driver behind a vIOMMU): its NIC asks QEMU
 * for it, with ATS (the vIOMMU's device-IOTLB invalidations are what reach the back-end).
 * QEMU leaves the bit out of what it negotiates with the back-end when the VM has no vIOMMU.
 */
static bool dev_iommu(const struct vn_device *dev)
{
    return !dev->legacy && (dev->features & (UINT64_C(1) << 33));
}

bool vn_host_enabled(const struct vn_ctl *ctl)
{
    return ctl->conf.host.qmp_socket[0] != '\0' || vn_host_libvirt_enabled(ctl);
}

/* A new operation on the device 'vuid', its QEMU ids set; NULL when out of memory. */
static struct host_op *op_new(struct vn_ctl *ctl, const char *vuid, vn_host_done_fn *done, void *ctx)
{
    struct host_op *op = calloc(1, sizeof(*op));

    if (!op)
        return NULL;
    op->ctl = ctl;
    op->done = done;
    op->ctx = ctx;
    vn_strlcpy(op->vuid, vuid, sizeof(op->vuid));
    snprintf(op->dev_id, sizeof(op->dev_id), "vn-%s", vuid);
    snprintf(op->netdev_id, sizeof(op->netdev_id), "vnnd-%s", vuid);
    snprintf(op->chardev_id, sizeof(op->chardev_id), "vnch-%s", vuid);
    return op;
}

/* The n-th id of the comma-separated root_ports, into 'out'; false when there is none. */
static bool root_port(const char *list, uint32_t n, char *out, size_t len)
{
    const char *p = list;

    for (uint32_t i = 0; i < n && p; i++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (!p || !*p || *p == ',')
        return false;
    snprintf(out, len, "%.*s", (int)strcspn(p, ","), p);
    return true;
}

static cJSON *cmd(const char *execute, cJSON *args)
{
    cJSON *c = cJSON_CreateObject();

    vn_json_add_str(c, "execute", execute);
    if (args)
        vn_json_add(c, "arguments", args);
    return c;
}

static cJSON *id_arg(const char *name, const char *id)
{
    cJSON *a = cJSON_CreateObject();

    vn_json_add_str(a, name, id);
    return a;
}

static int run(struct host_op *op, cJSON *steps, bool keep_going, vn_qmp_done_fn *cb)
{
    return vn_qmp_run(op->ctl->loop, op->ctl->conf.host.qmp_socket, steps, keep_going,
                      op->ctl->conf.host.timeout_ms, cb, op);
}

/* Starts the operation's first QMP exchange; on failure says why and frees 'op'. */
static int start(struct host_op *op, cJSON *steps, vn_qmp_done_fn *cb, char *why, size_t whylen)
{
    int ret = run(op, steps, false, cb);

    if (ret < 0) {
        snprintf(why, whylen, "cannot reach QEMU at %s: %s", op->ctl->conf.host.qmp_socket,
                 strerror(-ret));
        free(op);
    }
    return ret;
}

static void finish(struct host_op *op, int err, const char *why)
{
    op->done(op->ctx, err, why ? why : "", op->bdf);
    free(op);
}

static void backend_removed(void *ctx, int err, const char *why, const cJSON *ret)
{
    struct host_op *op = ctx;

    finish(op, op->err, op->why);
}

/* Appends the steps that take the device's netdev and chardev out of QEMU. */
static void add_backend_removal(const struct host_op *op, cJSON *steps)
{
    vn_json_add(steps, NULL, cmd("netdev_del", id_arg("id", op->netdev_id)));
    vn_json_add(steps, NULL, cmd("chardev-remove", id_arg("id", op->chardev_id)));
}

/*
 * Removes the device's netdev and chardev from QEMU, whatever is left of
 * them (errors do not stop it), then ends the operation with 'err'/'why'.
 */
static void remove_backend(struct host_op *op, int err, const char *why)
{
    cJSON *steps = cJSON_CreateArray();

    op->err = err;
    vn_strlcpy(op->why, why, sizeof(op->why));
    add_backend_removal(op, steps);
    if (run(op, steps, true, backend_removed) < 0)
        finish(op, op->err, op->why);
}

/* ---- attach ------------------------------------------------------------------------------ */

/* Finds device 'id' in a query-pci "devices" array, bridges (our root ports) included. */
static bool find_in(const cJSON *devices, const char *id, char *out, size_t len)
{
    const cJSON *d;

    cJSON_ArrayForEach(d, devices) {
        const char *qid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "qdev_id"));
        const cJSON *br = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(d, "pci_bridge"), "devices");

        if (qid && !strcmp(qid, id)) {
            snprintf(out, len, "%02x:%02x.%x",
                     (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "bus")),
                     (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "slot")),
                     (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "function")));
            return true;
        }
        if (cJSON_IsArray(br) && find_in(br, id, out, len))
            return true;
    }
    return false;
}

/* Where the guest sees our device, from query-pci's answer: "bus:slot.function". */
static void find_bdf(struct host_op *op, const cJSON *buses)
{
    const cJSON *bus;

    cJSON_ArrayForEach(bus, buses) {
        if (find_in(cJSON_GetObjectItemCaseSensitive(bus, "devices"), op->dev_id, op->bdf,
                    sizeof(op->bdf)))
            return;
    }
}

static void query_pci_done(void *ctx, int err, const char *why, const cJSON *ret)
{
    struct host_op *op = ctx;

    /* Only for the answer's bdf: the device is attached either way. */
    if (!err)
        find_bdf(op, ret);
    VN_INFO(HOST, "%s: attached to the host on %s as %s (guest PCI %s)", op->vuid, op->root_port,
            op->dev_id, op->bdf[0] ? op->bdf : "unknown");
    finish(op, 0, NULL);
}

static void plug_done(void *ctx, int err, const char *why, const cJSON *ret)
{
    struct host_op *op = ctx;
    cJSON *steps;

    if (err) {
        /* Take out of QEMU what the attach may have added, then report its error. */
        remove_backend(op, err, why);
        return;
    }
    steps = cJSON_CreateArray();
    vn_json_add(steps, NULL, cmd("query-pci", NULL));
    if (run(op, steps, false, query_pci_done) < 0)
        query_pci_done(op, -EIO, "", NULL);
}

/* query-kvm answered: under TCG (no KVM) the device gets no MSI-X (QEMU 7.2, machine.md). */
static void kvm_done(void *ctx, int err, const char *why, const cJSON *ret)
{
    struct host_op *op = ctx;
    bool kvm = !err && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ret, "enabled"));
    cJSON *steps, *a, *backend, *data, *addr;
    int r;

    if (err) {
        finish(op, err, why);
        return;
    }
    steps = cJSON_CreateArray();
    /* The vhost-user chardev: a client of the device's socket, reconnecting after restarts. */
    a = cJSON_CreateObject();
    vn_json_add_str(a, "id", op->chardev_id);
    backend = cJSON_AddObjectToObject(a, "backend");
    vn_json_add_str(backend, "type", "socket");
    data = cJSON_AddObjectToObject(backend, "data");
    addr = cJSON_AddObjectToObject(data, "addr");
    vn_json_add_str(addr, "type", "unix");
    vn_json_add_str(cJSON_AddObjectToObject(addr, "data"), "path", op->sock);
    vn_json_add_bool(data, "server", false);
    vn_json_add_num(data, "reconnect", 1);
    vn_json_add(steps, NULL, cmd("chardev-add", a));
    a = cJSON_CreateObject();
    vn_json_add_str(a, "type", "vhost-user");
    vn_json_add_str(a, "id", op->netdev_id);
    vn_json_add_str(a, "chardev", op->chardev_id);
    vn_json_add_num(a, "queues", op->pairs);
    vn_json_add(steps, NULL, cmd("netdev_add", a));
    a = cJSON_CreateObject();
    vn_json_add_str(a, "driver", "virtio-net-pci");
    vn_json_add_str(a, "id", op->dev_id);
    vn_json_add_str(a, "netdev", op->netdev_id);
    vn_json_add_str(a, "bus", op->root_port);
    vn_json_add_str(a, "mac", op->mac);
    if (op->has_mtu)
        vn_json_add_num(a, "host_mtu", op->mtu);
    if (op->pairs > 1)
        vn_json_add_bool(a, "mq", true);
    vn_json_add_num(a, "vectors", kvm ? 2 * op->pairs + 2 : 0);
    if (op->queue_size >= 256 && op->queue_size <= 1024) {
        vn_json_add_num(a, "rx_queue_size", op->queue_size);
        vn_json_add_num(a, "tx_queue_size", op->queue_size);
    }
    vn_json_add_str(a, "disable-legacy", op->legacy ? "off" : "on");
    vn_json_add_bool(a, "disable-modern", false);
    if (op->iommu) {
        vn_json_add_bool(a, "iommu_platform", true);
        vn_json_add_bool(a, "ats", true);
    }
    vn_json_add(steps, NULL, cmd("device_add", a));
    r = run(op, steps, false, plug_done);
    if (r < 0)
        finish(op, r, "cannot reach QEMU's QMP socket");
}

int vn_host_attach(struct vn_ctl *ctl, struct vn_device *dev, vn_host_done_fn *done, void *ctx,
                   char *why, size_t whylen)
{
    struct vn_emu_host_info hi;
    struct host_op *op;
    cJSON *steps;

    if (vn_host_libvirt_enabled(ctl))
        return vn_host_libvirt_attach(ctl, dev, done, ctx, why, whylen);
    if (vn_emu_fn_host_info(dev->fn, &hi) < 0 || hi.kind != VN_EMU_ATTACH_VHOST_USER) {
        snprintf(why, whylen, "the emulation backend gives the device no vhost-user socket");
        return -ENODEV;
    }
    op = op_new(ctl, dev->vuid, done, ctx);
    if (!op)
        return -ENOMEM;
    if (!root_port(ctl->conf.host.root_ports, dev->port, op->root_port, sizeof(op->root_port))) {
        snprintf(why, whylen, "host.root_ports names no root port for hotplug port %u",
                 dev->port);
        free(op);
        return -ENOSPC;
    }
    vn_strlcpy(op->sock, hi.path, sizeof(op->sock));
    vn_format_mac(dev->mac, op->mac);
    op->pairs = VN_MAX(1u, dev->max_queues / 2);
    op->queue_size = dev->max_queue_size;
    op->mtu = dev->mtu;
    op->has_mtu = dev->features & (UINT64_C(1) << 3); /* VIRTIO_NET_F_MTU */
    op->legacy = dev->legacy;
    op->iommu = dev_iommu(dev);
    steps = cJSON_CreateArray();
    vn_json_add(steps, NULL, cmd("query-kvm", NULL));
    return start(op, steps, kvm_done, why, whylen);
}

/* ---- detach -------------------------------------------------------------------------------- */

static void unplug_done(void *ctx, int err, const char *why, const cJSON *ret)
{
    struct host_op *op = ctx;

    if (err == -EREMOTEIO && strstr(why, "device_del") && strstr(why, "not found")) {
        /* QEMU does not have it (a VM restarted, or it never got it): drop the rest quietly. */
        remove_backend(op, 0, "");
        return;
    }
    /* QEMU may drop a vhost-user netdev's chardev with it. */
    if (err == -EREMOTEIO && strstr(why, "chardev-remove") && strstr(why, "not found"))
        err = 0;
    if (!err)
        VN_INFO(HOST, "%s: detached from the host", op->vuid);
    finish(op, err, err ? why : NULL);
}

int vn_host_detach(struct vn_ctl *ctl, struct vn_device *dev, vn_host_done_fn *done, void *ctx,
                   char *why, size_t whylen)
{
    struct host_op *op;
    cJSON *steps, *w;

    if (vn_host_libvirt_enabled(ctl))
        return vn_host_libvirt_detach(ctl, dev, done, ctx, why, whylen);
    op = op_new(ctl, dev->vuid, done, ctx);
    if (!op)
        return -ENOMEM;
    steps = cJSON_CreateArray();
    vn_json_add(steps, NULL, cmd("device_del", id_arg("id", op->dev_id)));
    /* The guest acks the removal (PCIe native hot-unplug): bounded by host.timeout_ms. */
    w = cJSON_CreateObject();
    vn_json_add_str(w, "wait_event", "DEVICE_DELETED");
    vn_json_add_str(w, "device", op->dev_id);
    vn_json_add(steps, NULL, w);
    add_backend_removal(op, steps);
    return start(op, steps, unplug_done, why, whylen);
}

char *vn_host_cmdline(const struct vn_device *dev)
{
    char mac[VN_MAC_STR_LEN], *s = NULL;
    unsigned pairs = VN_MAX(1u, dev->max_queues / 2);
    struct vn_emu_host_info hi;

    if (vn_emu_fn_host_info(dev->fn, &hi) < 0 || hi.kind != VN_EMU_ATTACH_VHOST_USER)
        return NULL;
    vn_format_mac(dev->mac, mac);
    if (asprintf(&s,
                 "-chardev socket,id=vnch-%s,path=%s,reconnect=1 "
                 "-netdev vhost-user,id=vnnd-%s,chardev=vnch-%s,queues=%u "
                 "-device virtio-net-pci,id=vn-%s,netdev=vnnd-%s,mac=%s%s%s%s",
                 dev->vuid, hi.path, dev->vuid, dev->vuid, pairs, dev->vuid,
                 dev->vuid, mac, pairs > 1 ? ",mq=on" : "",
                 dev->legacy ? ",disable-legacy=off" : "",
                 dev_iommu(dev) ? ",iommu_platform=on,ats=on" : "") < 0)
        return NULL;
    return s;
}
