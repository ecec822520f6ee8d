/*
 * host_libvirt.c - plugging hotplug PFs into a libvirt domain; see
 * host_libvirt.h.
 *
 * Attach (main loop, then worker):
 *   1. main loop: the socket gets vhost_socket's group and mode (libvirt runs
 *      QEMU as another user), the interface XML is built from the device;
 *   2. worker: connect to 'uri', find the running domain by name or UUID,
 *      virDomainAttachDeviceFlags(LIVE).  libvirt takes back its own half when
 *      QEMU refuses; with "persistent" the definition is changed next
 *      (CONFIG), and if that fails the live device is detached again;
 *   3. worker: the live XML gives the PCI address libvirt chose (a free
 *      pcie-root-port), returned as the guest BDF;
 *   4. main loop: 'done' (rpc_device.c rolls the controller's side back on
 *      error, as for QMP).
 * Detach: virDomainDetachDeviceAlias(LIVE) of "ua-vn-<VUID>", then a bounded
 * wait for VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED (or REMOVAL_FAILED) on libvirt's
 * default event loop, which only the worker runs; a device the domain does
 * not have is fine.  With "persistent", the definition loses it too.
 */
#include <config.h>

#include "host_libvirt.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#ifdef HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif

#include "ctl.h"
#include "device.h"
#include "log.h"
#include "util.h"
#include "emu.h"

#define LV_DEFAULT_URI "qemu:///system"
#define LV_ALIAS_PREFIX "ua-vn-"   /* libvirt's user aliases start with "ua-" */
#define LV_TICK_MS 100             /* how often the worker's event loop wakes up */

enum lv_kind { LV_ATTACH, LV_DETACH };

/* One operation: filled on the main loop, run on the worker, finished on the main loop. */
struct lv_op {
    struct lv_op *next;
    enum lv_kind kind;
    char vuid[VN_VUID_MAX];
    char alias[VN_VUID_MAX + 8];
    char *xml_live;             /* attach: the interface for the running domain */
    char *xml_config;           /* attach with persistent: the one for its definition */
    /* Results, written by the worker. */
    int err;
    char why[512];
    char bdf[16];
    bool removed, removal_failed; /* detach: the events seen */
    vn_host_done_fn *done;
    void *ctx;
};

struct vn_host_libvirt {
    struct ev_loop *loop;
    ev_async finished;          /* worker -> main loop: ops in 'done_list' */
    pthread_t thread;
    pthread_mutex_t lock;       /* protects the lists and 'stop' */
    pthread_cond_t work;        /* signalled when 'todo' grows or 'stop' is set */
    struct lv_op *todo, *done_list;
    bool stop;
    /* Settings, copied at creation; the worker reads them. */
    char uri[256], domain[128];
    bool persistent;
    unsigned timeout_ms;
};

bool vn_host_libvirt_enabled(const struct vn_ctl *ctl)
{
    return !strcmp(ctl->conf.host.type, "libvirt");
}

/* Appends 'op' to the list at 'head'. */
static void list_append(struct lv_op **head, struct lv_op *op)
{
    while (*head)
        head = &(*head)->next;
    op->next = NULL;
    *head = op;
}

static void op_free(struct lv_op *op)
{
    if (op) {
        free(op->xml_live);
        free(op->xml_config);
        free(op);
    }
}

/* ---- the XML ------------------------------------------------------------------------------- */

/* 's' with XML's special characters escaped, appended to 'f'. */
static void put_xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '\'': fputs("&apos;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

char *vn_host_libvirt_xml(const struct vn_device *dev, bool live)
{
    unsigned pairs = VN_MAX(1u, dev->max_queues / 2);
    char mac[VN_MAC_STR_LEN], *buf = NULL;
    struct vn_emu_host_info hi;
    size_t len = 0;
    FILE *f;

    if (vn_emu_fn_host_info(dev->fn, &hi) < 0 || hi.kind != VN_EMU_ATTACH_VHOST_USER)
        return NULL;
    f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    vn_format_mac(dev->mac, mac);
    fprintf(f, "<interface type='vhostuser'>\n  <mac address='%s'/>\n", mac);
    fputs("  <source type='unix' path='", f);
    put_xml_text(f, hi.path);
    /* QEMU reconnects within a second when the controller restarts (recovery). */
    fputs("' mode='client'>\n    <reconnect enabled='yes' timeout='1'/>\n  </source>\n", f);
    fprintf(f, "  <model type='%s'/>\n", dev->legacy ? "virtio-transitional" : "virtio");
    fprintf(f, "  <driver queues='%u'", pairs);
    if (dev->max_queue_size >= 256 && dev->max_queue_size <= 1024)
        fprintf(f, " rx_queue_size='%u' tx_queue_size='%u'", dev->max_queue_size,
                dev->max_queue_size);
    fputs("/>\n", f);
    if (!live && (dev->features & (UINT64_C(1) << 3))) /* VIRTIO_NET_F_MTU */
        fprintf(f, "  <mtu size='%u'/>\n", dev->mtu);
    fprintf(f, "  <alias name='" LV_ALIAS_PREFIX "%s'/>\n</interface>\n", dev->vuid);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- the worker (libvirt's API: nothing of the controller's state) -------------------------- */

#ifdef HAVE_LIBVIRT

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static int lv_event_impl = -1;   /* virEventRegisterDefaultImpl()'s result */

/* libvirt prints every error on stderr unless told otherwise: ours are returned. */
static void lv_quiet(void *data, virErrorPtr err)
{
}

static void lv_global_init(void)
{
    virSetErrorFunc(NULL, lv_quiet);
    lv_event_impl = virEventRegisterDefaultImpl();
}

static const char *lv_error(void)
{
    const char *m = virGetLastErrorMessage();

    return m && *m ? m : "unknown libvirt error";
}

static bool is_uuid(const char *s)
{
    static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (strlen(s) != sizeof(form) - 1)
        return false;
    for (size_t i = 0; form[i]; i++)
        if (form[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    return true;
}

/* Connects and finds the running domain.  0, or -errno with op->why. */
static int lv_open(struct vn_host_libvirt *h, struct lv_op *op, virConnectPtr *conn,
                   virDomainPtr *dom)
{
    const char *uri = h->uri[0] ? h->uri : LV_DEFAULT_URI;

    *dom = NULL;
    *conn = virConnectOpen(uri);
    if (!*conn) {
        snprintf(op->why, sizeof(op->why), "cannot connect to libvirt at %s: %s", uri,
                 lv_error());
        return -EHOSTUNREACH;
    }
    *dom = is_uuid(h->domain) ? virDomainLookupByUUIDString(*conn, h->domain)
                              : virDomainLookupByName(*conn, h->domain);
    if (!*dom) {
        snprintf(op->why, sizeof(op->why), "libvirt at %s has no domain '%s': %s", uri, h->domain,
                 lv_error());
        return -ENOENT;
    }
    if (virDomainIsActive(*dom) != 1) {
        snprintf(op->why, sizeof(op->why), "domain '%s' is not running", h->domain);
        return -ESRCH;
    }
    return 0;
}

static void lv_tick(int timer, void *opaque)
{
}

/*
 * Closes the connection.  libvirt frees a connection's event-loop handles
 * (and with them its socket and eventfds) only on a later pass of the loop:
 * run passes until none is pending, bounded.
 */
static void lv_close(virConnectPtr conn, virDomainPtr dom)
{
    int timer;

    if (dom)
        virDomainFree(dom);
    if (!conn)
        return;
    virConnectClose(conn);
    if (lv_event_impl < 0)
        return;
    timer = virEventAddTimeout(0, lv_tick, NULL, NULL);
    for (int i = 0; i < 3; i++)
        if (virEventRunDefaultImpl() < 0)
            break;
    if (timer >= 0)
        virEventRemoveTimeout(timer);
    virEventRunDefaultImpl();
}

/* True when the domain's XML (live, or its definition with 'flags' INACTIVE) has 'alias'. */
static bool lv_has_alias(virDomainPtr dom, const char *alias, unsigned flags)
{
    char *xml = virDomainGetXMLDesc(dom, flags), needle[128];
    bool has;

    if (!xml)
        return true; /* cannot tell: assume it is still there */
    snprintf(needle, sizeof(needle), "<alias name='%s'/>", alias);
    has = strstr(xml, needle) != NULL;
    free(xml);
    return has;
}

/* Where libvirt put our interface ("bb:ss.f" of its <address type='pci'>), from the live XML. */
static void lv_find_bdf(virDomainPtr dom, struct lv_op *op)
{
    char *xml = virDomainGetXMLDesc(dom, 0), needle[128];
    const char *alias, *start = NULL, *end, *addr, *b, *sl, *fn;
    unsigned bus, slot, func;

    if (!xml)
        return;
    snprintf(needle, sizeof(needle), "<alias name='%s'/>", op->alias);
    alias = strstr(xml, needle);
    for (const char *p = strstr(xml, "<interface "); alias && p && p < alias;
         p = strstr(p + 1, "<interface "))
        start = p;
    end = alias ? strstr(alias, "</interface>") : NULL;
    addr = start && end ? strstr(start, "<address type='pci'") : NULL;
    if (addr && addr < end) {
        b = strstr(addr, "bus='0x");
        sl = strstr(addr, "slot='0x");
        fn = strstr(addr, "function='0x");
        if (b && sl && fn && b < end && sl < end && fn < end &&
            sscanf(b, "bus='0x%x'", &bus) == 1 && sscanf(sl, "slot='0x%x'", &slot) == 1 &&
            sscanf(fn, "function='0x%x'", &func) == 1)
            snprintf(op->bdf, sizeof(op->bdf), "%02x:%02x.%x", bus & 0xff, slot & 0x1f,
                     func & 7);
    }
    free(xml);
}

static void lv_removed_cb(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
    struct lv_op *op = opaque;

    if (alias && !strcmp(alias, op->alias))
        op->removed = true;
}

static void lv_removal_failed_cb(virConnectPtr conn, virDomainPtr dom, const char *alias,
                                 void *opaque)
{
    struct lv_op *op = opaque;

    if (alias && !strcmp(alias, op->alias))
        op->removal_failed = true;
}

/*
 * Asks libvirt to take the interface out of the running domain and waits for
 * the device-removed event (the guest released it), at most 'timeout_ms'.
 * An interface the domain does not have is fine.  0, or -errno with op->why.
 */
static int lv_detach_live(struct vn_host_libvirt *h, virConnectPtr conn, virDomainPtr dom,
                          struct lv_op *op)
{
    int cb_removed = -1, cb_failed = -1, timer, ret = 0;
    uint64_t deadline, next_check = 0;

    op->removed = op->removal_failed = false;
    if (lv_event_impl < 0) {
        snprintf(op->why, sizeof(op->why), "libvirt's event loop could not be set up");
        return -EIO;
    }
    cb_removed = virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                                  VIR_DOMAIN_EVENT_CALLBACK(lv_removed_cb), op,
                                                  NULL);
    cb_failed = virConnectDomainEventRegisterAny(conn, dom,
                                                 VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED,
                                                 VIR_DOMAIN_EVENT_CALLBACK(lv_removal_failed_cb),
                                                 op, NULL);
    if (cb_removed < 0 || cb_failed < 0) {
        snprintf(op->why, sizeof(op->why), "cannot watch libvirt's device events: %s",
                 lv_error());
        ret = -EIO;
        goto out;
    }
    if (!lv_has_alias(dom, op->alias, 0))
        goto out;
    if (virDomainDetachDeviceAlias(dom, op->alias, VIR_DOMAIN_AFFECT_LIVE) < 0) {
        if (!lv_has_alias(dom, op->alias, 0))
            goto out; /* went meanwhile */
        snprintf(op->why, sizeof(op->why), "libvirt did not detach %s: %s", op->alias,
                 lv_error());
        ret = -EREMOTEIO;
        goto out;
    }
    timer = virEventAddTimeout(LV_TICK_MS, lv_tick, NULL, NULL);
    deadline = vn_now_ns() + (uint64_t)h->timeout_ms * 1000000ull;
    while (!op->removed && !op->removal_failed && vn_now_ns() < deadline) {
        if (virEventRunDefaultImpl() < 0)
            break;
        /* An event lost with a reconnect still shows in the XML, once a second. */
        if (vn_now_ns() >= next_check) {
            next_check = vn_now_ns() + 1000000000ull;
            if (!op->removed && !lv_has_alias(dom, op->alias, 0))
                op->removed = true;
        }
    }
    if (timer >= 0)
        virEventRemoveTimeout(timer);
    if (op->removal_failed && !op->removed) {
        snprintf(op->why, sizeof(op->why), "the guest refused to release %s (libvirt's "
                 "device-removal-failed event)", op->alias);
        ret = -EBUSY;
    } else if (!op->removed) {
        snprintf(op->why, sizeof(op->why), "the guest did not release %s within %u ms",
                 op->alias, h->timeout_ms);
        ret = -ETIMEDOUT;
    }
out:
    if (cb_removed >= 0)
        virConnectDomainEventDeregisterAny(conn, cb_removed);
    if (cb_failed >= 0)
        virConnectDomainEventDeregisterAny(conn, cb_failed);
    return ret;
}

static void lv_run_attach(struct vn_host_libvirt *h, struct lv_op *op)
{
    virConnectPtr conn;
    virDomainPtr dom;
    char cfg_why[256];
    int ret;

    op->err = lv_open(h, op, &conn, &dom);
    if (op->err)
        goto out;
    if (virDomainAttachDeviceFlags(dom, op->xml_live, VIR_DOMAIN_AFFECT_LIVE) < 0) {
        /* libvirt took back whatever QEMU had got of it. */
        snprintf(op->why, sizeof(op->why), "libvirt did not attach the interface to '%s': %s",
                 h->domain, lv_error());
        op->err = -EREMOTEIO;
        goto out;
    }
    if (op->xml_config &&
        virDomainAttachDeviceFlags(dom, op->xml_config, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
        snprintf(cfg_why, sizeof(cfg_why), "%s", lv_error());
        ret = lv_detach_live(h, conn, dom, op);
        snprintf(op->why + (ret ? strlen(op->why) : 0), sizeof(op->why) - (ret ? strlen(op->why) : 0),
                 "%slibvirt did not add the interface to the definition of '%s': %s%s",
                 ret ? "; and " : "", h->domain, cfg_why,
                 ret ? " (the live interface is left)" : " (the live interface was detached)");
        op->err = -EREMOTEIO;
        goto out;
    }
    lv_find_bdf(dom, op);
out:
    lv_close(conn, dom);
}

static void lv_run_detach(struct vn_host_libvirt *h, struct lv_op *op)
{
    virConnectPtr conn;
    virDomainPtr dom;
    int ret = lv_open(h, op, &conn, &dom);

    if (ret == -ESRCH) {
        /* Not running: no live device to release. */
        op->why[0] = '\0';
        ret = 0;
    } else if (ret == 0) {
        ret = lv_detach_live(h, conn, dom, op);
    }
    if (ret == 0 && h->persistent && dom &&
        lv_has_alias(dom, op->alias, VIR_DOMAIN_XML_INACTIVE) &&
        virDomainDetachDeviceAlias(dom, op->alias, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
        snprintf(op->why, sizeof(op->why), "libvirt did not remove %s from the definition of "
                 "'%s': %s", op->alias, h->domain, lv_error());
        ret = -EREMOTEIO;
    }
    op->err = ret;
    lv_close(conn, dom);
}

static void lv_run(struct vn_host_libvirt *h, struct lv_op *op)
{
    if (op->kind == LV_ATTACH)
        lv_run_attach(h, op);
    else
        lv_run_detach(h, op);
}

#else /* !HAVE_LIBVIRT */

static void lv_run(struct vn_host_libvirt *h, struct lv_op *op)
{
    op->err = -EOPNOTSUPP;
    snprintf(op->why, sizeof(op->why), "this controller was built without libvirt");
}

#endif /* HAVE_LIBVIRT */

static void *lv_worker(void *arg)
{
    struct vn_host_libvirt *h = arg;
    sigset_t all;
    struct lv_op *op;

    /* Signals are the main loop's. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (!h->todo && !h->stop)
            pthread_cond_wait(&h->work, &h->lock);
        if (!h->todo)
            break;
        op = h->todo;
        h->todo = op->next;
        pthread_mutex_unlock(&h->lock);
        lv_run(h, op);
        pthread_mutex_lock(&h->lock);
        list_append(&h->done_list, op);
        ev_async_send(h->loop, &h->finished);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* ---- the main loop's side -------------------------------------------------------------------- */

/* Runs 'done' of every finished operation. */
static void lv_finished_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    struct vn_host_libvirt *h = vn_container_of(w, struct vn_host_libvirt, finished);
    struct lv_op *op, *next;

    pthread_mutex_lock(&h->lock);
    op = h->done_list;
    h->done_list = NULL;
    pthread_mutex_unlock(&h->lock);
    for (; op; op = next) {
        next = op->next;
        if (op->err)
            VN_WARN(HOST, "%s: %s", op->vuid, op->why);
        else if (op->kind == LV_ATTACH)
            VN_INFO(HOST, "%s: attached to libvirt domain as %s (PCI %s)", op->vuid, op->alias,
                    op->bdf[0] ? op->bdf : "unknown");
        else
            VN_INFO(HOST, "%s: detached from the libvirt domain", op->vuid);
        op->done(op->ctx, op->err, op->err ? op->why : "", op->bdf);
        op_free(op);
    }
}

/* The worker of 'ctl', started on first use.  NULL (with 'why') when it cannot start. */
static struct vn_host_libvirt *lv_get(struct vn_ctl *ctl, char *why, size_t whylen)
{
    struct vn_host_libvirt *h = ctl->libvirt;
    int ret;

    if (h)
        return h;
    h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
#ifdef HAVE_LIBVIRT
    /* Process-wide, before any connection: libvirt's error handler and event loop. */
    pthread_once(&lv_once, lv_global_init);
#endif
    h->loop = ctl->loop;
    vn_strlcpy(h->uri, ctl->conf.host.uri, sizeof(h->uri));
    vn_strlcpy(h->domain, ctl->conf.host.domain, sizeof(h->domain));
    h->persistent = ctl->conf.host.persistent;
    h->timeout_ms = ctl->conf.host.timeout_ms;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->work, NULL);
    ev_async_init(&h->finished, lv_finished_cb);
    ev_async_start(h->loop, &h->finished);
    ret = pthread_create(&h->thread, NULL, lv_worker, h);
    if (ret) {
        snprintf(why, whylen, "cannot start the libvirt worker thread: %s", strerror(ret));
        ev_async_stop(h->loop, &h->finished);
        pthread_cond_destroy(&h->work);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    ctl->libvirt = h;
    return h;
}

/* Hands 'op' to the worker (consumes it), or fails with 'why' (then it is freed). */
static int lv_submit(struct vn_ctl *ctl, struct lv_op *op, char *why, size_t whylen)
{
    struct vn_host_libvirt *h = lv_get(ctl, why, whylen);

    if (!h) {
        op_free(op);
        return -EAGAIN;
    }
    pthread_mutex_lock(&h->lock);
    list_append(&h->todo, op);
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->lock);
    return 0;
}

static struct lv_op *op_new(enum lv_kind kind, const struct vn_device *dev, vn_host_done_fn *done,
                            void *ctx)
{
    struct lv_op *op = calloc(1, sizeof(*op));

    if (!op)
        return NULL;
    op->kind = kind;
    op->done = done;
    op->ctx = ctx;
    vn_strlcpy(op->vuid, dev->vuid, sizeof(op->vuid));
    snprintf(op->alias, sizeof(op->alias), LV_ALIAS_PREFIX "%s", dev->vuid);
    return op;
}

int vn_host_libvirt_attach(struct vn_ctl *ctl, struct vn_device *dev, vn_host_done_fn *done,
                           void *ctx, char *why, size_t whylen)
{
    struct vn_emu_host_info hi;
    struct lv_op *op;

    if (vn_emu_fn_host_info(dev->fn, &hi) < 0 || hi.kind != VN_EMU_ATTACH_VHOST_USER) {
        snprintf(why, whylen, "the emulation backend gives the device no vhost-user socket");
        return -ENODEV;
    }
    /* QEMU runs as libvirt's user: the vhost backend gave the socket and its
       directory vhost_socket's group and mode when it made them. */
    op = op_new(LV_ATTACH, dev, done, ctx);
    if (!op)
        return -ENOMEM;
    op->xml_live = vn_host_libvirt_xml(dev, true);
    if (ctl->conf.host.persistent)
        op->xml_config = vn_host_libvirt_xml(dev, false);
    if (!op->xml_live || (ctl->conf.host.persistent && !op->xml_config)) {
        op_free(op);
        return -ENOMEM;
    }
    return lv_submit(ctl, op, why, whylen);
}

int vn_host_libvirt_detach(struct vn_ctl *ctl, struct vn_device *dev, vn_host_done_fn *done,
                           void *ctx, char *why, size_t whylen)
{
    struct lv_op *op = op_new(LV_DETACH, dev, done, ctx);

    if (!op)
        return -ENOMEM;
    return lv_submit(ctl, op, why, whylen);
}

int vn_host_libvirt_start(struct vn_ctl *ctl)
{
    char why[256];

    if (!vn_host_libvirt_enabled(ctl) || lv_get(ctl, why, sizeof(why)))
        return 0;
    VN_ERR(HOST, "%s", why);
    return -EAGAIN;
}

void vn_host_libvirt_stop(struct vn_ctl *ctl)
{
    struct vn_host_libvirt *h = ctl->libvirt;

    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    lv_finished_cb(h->loop, &h->finished, 0);
    ev_async_stop(h->loop, &h->finished);
    pthread_cond_destroy(&h->work);
    pthread_mutex_destroy(&h->lock);
    free(h);
    ctl->libvirt = NULL;
}
