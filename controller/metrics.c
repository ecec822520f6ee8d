/*
 * metrics.c - the controller's state as Prometheus text exposition (format
 * 0.0.4): the `metrics` JSON-RPC method (`virtnet metrics`, for
 * node_exporter's textfile collector) and the snapshots the HTTP listener
 * serves (metrics_http.c).
 *
 * Nothing here reads device or datapath internals: the text is a
 * translation of the objects the `list`, `query`, `stats`, `health` and
 * `update -t` methods answer with (rpc_methods.h, device.h, update.h), so
 * whatever those show, the metrics show, with the same meaning.  The
 * translation is table-driven: one table row per exposed number, naming the
 * JSON member it comes from, the metric, its type and its help text.
 *
 * Naming follows the Prometheus rules: the prefix virtnet_, base units
 * (bytes, seconds), _total on counters, one HELP and TYPE per family, every
 * sample of a family together.  Per-queue series carry the labels vuid, pf,
 * vf (VFs only), queue (the virtqueue index) and direction (rx: the guest
 * receives, tx: the guest sends).  virtnet_device_info carries the
 * representor's name as "device", the label node_exporter's netdev series
 * use, so the two join:
 *   node_network_receive_bytes_total * on(device) group_left(vuid) virtnet_device_info
 */
#include <config.h>

#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "device.h"
#include "json.h"
#include "jsonrpc.h"
#include "rpc_methods.h"
#include "update.h"
#include "util.h"

/* ---- the tables ------------------------------------------------------- */

enum metric_type { M_COUNTER, M_GAUGE };

static const char *const type_names[] = { [M_COUNTER] = "counter", [M_GAUGE] = "gauge" };

/*
 * One per-queue family from a member of a `stats` queue object: X(JSON key,
 * metric name, type, help).  The JSON values are decimal strings (exact
 * 64-bit counters) or numbers.
 */
#define METRICS_QUEUE_COUNTERS(X)                                                                  \
    X("total_packets", "virtnet_queue_packets_total", M_COUNTER,                                   \
      "Frames moved through the virtqueue.")                                                       \
    X("total_bytes", "virtnet_queue_bytes_total", M_COUNTER,                                       \
      "Bytes of frames moved through the virtqueue.")                                              \
    X("dropped_packets", "virtnet_queue_dropped_packets_total", M_COUNTER,                         \
      "Frames dropped on the virtqueue (no buffer, representor not ready).")                       \
    X("received_desc", "virtnet_queue_received_descriptors_total", M_COUNTER,                      \
      "Descriptor chains taken from the available ring.")                                          \
    X("completed_desc", "virtnet_queue_completed_descriptors_total", M_COUNTER,                    \
      "Descriptor chains returned on the used ring.")                                              \
    X("bad_desc_errors", "virtnet_queue_bad_descriptor_errors_total", M_COUNTER,                   \
      "Descriptors the device refused (out of range, loops, bad flags).")                          \
    X("exceed_max_chain", "virtnet_queue_exceed_max_chain_errors_total", M_COUNTER,                \
      "Descriptor chains longer than the queue.")                                                  \
    X("invalid_buffer", "virtnet_queue_invalid_buffer_errors_total", M_COUNTER,                    \
      "Buffers outside guest memory or of the wrong direction.")                                   \
    X("avail_idx_errors", "virtnet_queue_avail_index_errors_total", M_COUNTER,                     \
      "Available ring indices that moved further than the queue size.")                            \
    X("batch_number", "virtnet_queue_batches_total", M_COUNTER,                                    \
      "Batches of chains the datapath processed.")                                                 \
    X("interrupts", "virtnet_queue_interrupts_total", M_COUNTER,                                   \
      "Interrupts (call eventfd writes) sent to the driver.")                                      \
    X("kicks", "virtnet_queue_kicks_total", M_COUNTER, "Notifications (kicks) from the driver.")

/* The size histogram of `stats` (disjoint ranges): X(key after "rx_"/"tx_", size label). */
#define METRICS_QUEUE_SIZES(X)                                                                     \
    X("64_or_less_octet_packets", "0-64")                                                          \
    X("65_to_127_octet_packets", "65-127")                                                         \
    X("128_to_255_octet_packets", "128-255")                                                       \
    X("256_to_511_octet_packets", "256-511")                                                       \
    X("512_to_1023_octet_packets", "512-1023")                                                     \
    X("1024_to_1522_octet_packets", "1024-1522")                                                   \
    X("1523_to_2047_octet_packets", "1523-2047")                                                   \
    X("2048_to_4095_octet_packets", "2048-4095")                                                   \
    X("4096_to_8191_octet_packets", "4096-8191")                                                   \
    X("8192_to_9022_octet_packets", "8192-9022")                                                   \
    X("9023_or_more_octet_packets", "9023+")

struct queue_metric {
    const char *key, *name, *help;
    enum metric_type type;
};

static const struct queue_metric queue_metrics[] = {
#define QM(KEY, NAME, TYPE, HELP) { .key = KEY, .name = NAME, .type = TYPE, .help = HELP },
    METRICS_QUEUE_COUNTERS(QM)
#undef QM
};

struct size_bucket {
    const char *key, *label;
};

static const struct size_bucket size_buckets[] = {
#define SB(KEY, LABEL) { .key = KEY, .label = LABEL },
    METRICS_QUEUE_SIZES(SB)
#undef SB
};

/*
 * Controller-wide numbers from `health` and `list`: X(source, JSON path,
 * metric name, type, scale to base units, help).  The path is members
 * separated by '/'.
 */
#define METRICS_CONTROLLER(X)                                                                      \
    X(SRC_HEALTH, "uptime_s", "virtnet_uptime_seconds", M_GAUGE, 1,                                \
      "Seconds since the controller process started.")                                             \
    X(SRC_HEALTH, "rpc/clients", "virtnet_rpc_clients", M_GAUGE, 1,                                \
      "JSON-RPC clients connected now.")                                                           \
    X(SRC_HEALTH, "rpc/requests", "virtnet_rpc_requests_total", M_COUNTER, 1,                      \
      "JSON-RPC requests received.")                                                               \
    X(SRC_HEALTH, "rpc/errors", "virtnet_rpc_errors_total", M_COUNTER, 1,                          \
      "JSON-RPC requests answered with an error.")                                                 \
    X(SRC_HEALTH, "rpc/clients_rejected", "virtnet_rpc_clients_rejected_total", M_COUNTER, 1,      \
      "JSON-RPC clients refused (too many connected).")                                            \
    X(SRC_HEALTH, "loop_latency_us/last", "virtnet_loop_latency_last_seconds", M_GAUGE, 1e-6,      \
      "How late the main loop ran its last probe timer.")                                          \
    X(SRC_HEALTH, "loop_latency_us/max", "virtnet_loop_latency_max_seconds", M_GAUGE, 1e-6,        \
      "The latest the main loop ran a probe timer since start.")                                   \
    X(SRC_HEALTH, "loop_latency_us/avg", "virtnet_loop_latency_average_seconds", M_GAUGE, 1e-6,    \
      "Mean lateness of the main loop's probe timer since start.")                                 \
    X(SRC_HEALTH, "loop_latency_us/samples", "virtnet_loop_latency_samples_total", M_COUNTER, 1,   \
      "Probe timer runs measured.")                                                                \
    X(SRC_HEALTH, "memory/rss_kib", "virtnet_resident_memory_bytes", M_GAUGE, 1024,                \
      "Resident set size of the controller process.")                                              \
    X(SRC_HEALTH, "memory/heap_in_use_kib", "virtnet_heap_in_use_bytes", M_GAUGE, 1024,            \
      "Heap memory the controller has allocated.")                                                 \
    X(SRC_HEALTH, "memory/heap_free_kib", "virtnet_heap_free_bytes", M_GAUGE, 1024,                \
      "Free memory held in the controller's heap.")                                                \
    X(SRC_LIST, "max_hotplug_devices", "virtnet_hotplug_ports", M_GAUGE, 1,                        \
      "Hotplug ports of the emulated PCIe switch.")                                                \
    X(SRC_LIST, "max_vfs", "virtnet_vfs_max", M_GAUGE, 1, "VFs the emulation profile allows.")     \
    X(SRC_LIST, "max_sfs", "virtnet_sfs_max", M_GAUGE, 1,                                          \
      "Scalable functions available for representors.")                                            \
    X(SRC_LIST, "sfs_in_use", "virtnet_sfs_in_use", M_GAUGE, 1,                                    \
      "Scalable functions (representors) in use.")

enum metric_source { SRC_HEALTH, SRC_LIST };

struct ctl_metric {
    enum metric_source src;
    const char *path, *name, *help;
    enum metric_type type;
    double scale;
};

static const struct ctl_metric ctl_metrics[] = {
#define CM(SRC, PATH, NAME, TYPE, SCALE, HELP)                                                    \
    { .src = SRC, .path = PATH, .name = NAME, .type = TYPE, .scale = SCALE, .help = HELP },
    METRICS_CONTROLLER(CM)
#undef CM
};

/* ---- writing ----------------------------------------------------------- */

/* What one rendering works from: the method results, taken once. */
struct snapshot {
    cJSON *health, *list, *update;
    unsigned n;           /* devices */
    struct snap_dev {
        const cJSON *ids;   /* the device's `list` entry (owned by 'list') */
        cJSON *detail;      /* its brief `query` object */
        cJSON *stats;       /* its `stats` result */
        char labels[256];   /* vuid="..",pf=".."[,vf=".."] */
    } *devs;
};

/* Writes 's' as a label value (backslash, quote and newline escaped). */
static void put_label_value(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void put_family(FILE *f, const char *name, enum metric_type type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type_names[type]);
}

/* A sample value: integers exactly, anything else in a short form that reads back the same. */
static void put_value(FILE *f, double v)
{
    char buf[32];

    if (isfinite(v) && floor(v) == v && fabs(v) < 9007199254740992.0) {
        fprintf(f, " %.0f\n", v);
        return;
    }
    snprintf(buf, sizeof(buf), "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof(buf), "%.17g", v);
    fprintf(f, " %s\n", buf);
}

/* A JSON counter: a decimal string (exact uint64) or a number.  false when neither. */
static bool json_counter(const cJSON *v, uint64_t *out)
{
    return v && vn_json_get_u64(v, out) == 0;
}

static const cJSON *json_path(const cJSON *obj, const char *path)
{
    char member[64];

    while (obj && *path) {
        size_t n = strcspn(path, "/");

        if (n >= sizeof(member))
            return NULL;
        memcpy(member, path, n);
        member[n] = '\0';
        obj = cJSON_GetObjectItemCaseSensitive(obj, member);
        path += n + (path[n] == '/');
    }
    return obj;
}

static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static void put_controller(FILE *f, const struct snapshot *s)
{
    const cJSON *ctrl = cJSON_GetObjectItemCaseSensitive(s->list, "controller");
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(ctrl, "provider"), *c;
    static const char *const dev_types[] = { "static_pf", "hotplug_pf", "vf" };

    put_family(f, "virtnet_build_info", M_GAUGE,
               "The controller's version and the datapath provider in use (value 1).");
    fputs("virtnet_build_info{version=\"", f);
    put_label_value(f, json_str(s->health, "version"));
    fputs("\",provider=\"", f);
    put_label_value(f, json_str(prov, "name"));
    fputs("\",emulation_manager=\"", f);
    put_label_value(f, json_str(ctrl, "emulation_manager"));
    fputs("\"} 1\n", f);

    for (size_t i = 0; i < VN_ARRAY_SIZE(ctl_metrics); i++) {
        const struct ctl_metric *m = &ctl_metrics[i];
        const cJSON *v = json_path(m->src == SRC_HEALTH ? s->health : ctrl, m->path);
        double d;

        if (!cJSON_IsNumber(v))
            continue;
        d = v->valuedouble * m->scale;
        put_family(f, m->name, m->type, m->help);
        fputs(m->name, f);
        put_value(f, d);
    }

    put_family(f, "virtnet_devices", M_GAUGE, "Emulated functions, by type.");
    for (size_t i = 0; i < VN_ARRAY_SIZE(dev_types); i++) {
        char path[32];
        const cJSON *v;

        snprintf(path, sizeof(path), "devices/%s", dev_types[i]);
        v = json_path(s->health, path);
        fprintf(f, "virtnet_devices{type=\"%s\"}", dev_types[i]);
        put_value(f, cJSON_IsNumber(v) ? v->valuedouble : 0);
    }

    put_family(f, "virtnet_provider_candidate", M_GAUGE,
               "Datapath providers considered at start: 1 for the one in use, 0 for the others.");
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(prov, "candidates")) {
        fputs("virtnet_provider_candidate{provider=\"", f);
        put_label_value(f, json_str(c, "name"));
        fputs("\",status=\"", f);
        put_label_value(f, json_str(c, "status"));
        fprintf(f, "\"} %d\n", !strcmp(json_str(c, "status"), "active"));
    }
}

/* The last live update or fast restart, as `virtnet update -t` shows it. */
static void put_update(FILE *f, const struct snapshot *s)
{
    const char *last = json_str(s->update, "last status");
    const cJSON *v, *d;

    put_family(f, "virtnet_live_update_in_progress", M_GAUGE,
               "1 while a live update or fast restart hands the devices over.");
    fprintf(f, "virtnet_live_update_in_progress %d\n",
            !strcmp(json_str(s->update, "current status"), "in progress"));
    put_family(f, "virtnet_live_update_last_status", M_GAUGE,
               "Outcome of the last live update of this state dir (value 1; none = never).");
    fputs("virtnet_live_update_last_status{status=\"", f);
    put_label_value(f, last[0] ? last : "none");
    fputs("\"} 1\n", f);
    v = cJSON_GetObjectItemCaseSensitive(s->update, "time_used (s)");
    if (cJSON_IsNumber(v)) {
        put_family(f, "virtnet_live_update_last_duration_seconds", M_GAUGE,
                   "How long the last live update took, start to commit or failure.");
        fputs("virtnet_live_update_last_duration_seconds", f);
        put_value(f, v->valuedouble);
    }
    d = cJSON_GetObjectItemCaseSensitive(s->update, "devices");
    if (cJSON_GetArraySize(d) > 0) {
        put_family(f, "virtnet_live_update_last_device_downtime_seconds", M_GAUGE,
                   "Per device, rings stopped in the old process to running in the new one, "
                   "in the last live update.");
        cJSON_ArrayForEach(v, d) {
            const cJSON *ms = cJSON_GetObjectItemCaseSensitive(v, "downtime (ms)");

            if (!cJSON_IsNumber(ms))
                continue;
            fputs("virtnet_live_update_last_device_downtime_seconds{vuid=\"", f);
            put_label_value(f, json_str(v, "vuid"));
            fputs("\"}", f);
            put_value(f, ms->valuedouble / 1000.0);
        }
    }
}

static void put_devices(FILE *f, const struct snapshot *s)
{
    put_family(f, "virtnet_device_info", M_GAUGE,
               "One per emulated function (value 1); \"device\" is its representor netdev, "
               "as in node_exporter's node_network_* series.");
    for (unsigned i = 0; i < s->n; i++) {
        const struct snap_dev *d = &s->devs[i];
        static const char *const keys[][2] = {
            { "type", "device_type" }, { "function", "function_type" }, { "bdf", "bdf" },
            { "mac", "mac" },          { "device", "sf_rep_net_device" },
        };

        fprintf(f, "virtnet_device_info{%s", d->labels);
        for (size_t k = 0; k < VN_ARRAY_SIZE(keys); k++) {
            fprintf(f, ",%s=\"", keys[k][0]);
            put_label_value(f, json_str(d->ids, keys[k][1]));
            fputc('"', f);
        }
        fputs("} 1\n", f);
    }

    put_family(f, "virtnet_device_driver_connected", M_GAUGE,
               "1 when a driver (a VMM's vhost-user front-end) is connected to the device.");
    for (unsigned i = 0; i < s->n; i++)
        fprintf(f, "virtnet_device_driver_connected{%s} %d\n", s->devs[i].labels,
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s->devs[i].detail,
                                                              "vhost_connected")));

    put_family(f, "virtnet_device_mtu_bytes", M_GAUGE, "MTU of the device.");
    for (unsigned i = 0; i < s->n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->devs[i].detail, "mtu");

        if (cJSON_IsNumber(v)) {
            fprintf(f, "virtnet_device_mtu_bytes{%s}", s->devs[i].labels);
            put_value(f, v->valuedouble);
        }
    }
}

/* Calls 'fn' for every queue of every device with the queue's labels. */
static void for_each_queue(FILE *f, const struct snapshot *s,
                           void (*fn)(FILE *f, const char *labels, const char *dir,
                                      const cJSON *q, const void *arg),
                           const void *arg)
{
    for (unsigned i = 0; i < s->n; i++) {
        const cJSON *dev = cJSON_GetObjectItemCaseSensitive(s->devs[i].stats, "device");
        const cJSON *q;

        cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(dev, "queues-stats")) {
            const cJSON *idx = cJSON_GetObjectItemCaseSensitive(q, "VQ Index");
            const char *dir;
            char labels[320];
            uint64_t index;

            if (!json_counter(idx, &index))
                continue;
            /* As `stats` does: even rings receive (device to driver), odd ones send. */
            dir = index & 1 ? "tx" : "rx";
            snprintf(labels, sizeof(labels), "%s,queue=\"%" PRIu64 "\",direction=\"%s\"",
                     s->devs[i].labels, index, dir);
            fn(f, labels, dir, q, arg);
        }
    }
}

static void put_queue_counter(FILE *f, const char *labels, const char *dir, const cJSON *q,
                              const void *arg)
{
    const struct queue_metric *m = arg;
    uint64_t v;

    if (json_counter(cJSON_GetObjectItemCaseSensitive(q, m->key), &v))
        fprintf(f, "%s{%s} %" PRIu64 "\n", m->name, labels, v);
}

static void put_queue_sizes(FILE *f, const char *labels, const char *dir, const cJSON *q,
                            const void *arg)
{
    for (size_t i = 0; i < VN_ARRAY_SIZE(size_buckets); i++) {
        char key[64];
        uint64_t v;

        snprintf(key, sizeof(key), "%s_%s", dir, size_buckets[i].key);
        if (json_counter(cJSON_GetObjectItemCaseSensitive(q, key), &v))
            fprintf(f, "virtnet_queue_packets_by_size_total{%s,size=\"%s\"} %" PRIu64 "\n", labels,
                    size_buckets[i].label, v);
    }
}

static void put_queues(FILE *f, const struct snapshot *s)
{
    for (size_t i = 0; i < VN_ARRAY_SIZE(queue_metrics); i++) {
        put_family(f, queue_metrics[i].name, queue_metrics[i].type, queue_metrics[i].help);
        for_each_queue(f, s, put_queue_counter, &queue_metrics[i]);
    }
    put_family(f, "virtnet_queue_packets_by_size_total", M_COUNTER,
               "Frames moved through the virtqueue, by frame size range in bytes.");
    for_each_queue(f, s, put_queue_sizes, NULL);
}

/* ---- snapshot ---------------------------------------------------------- */

static void snapshot_free(struct snapshot *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        cJSON_Delete(s->devs[i].detail);
        cJSON_Delete(s->devs[i].stats);
    }
    free(s->devs);
    cJSON_Delete(s->health);
    cJSON_Delete(s->list);
    cJSON_Delete(s->update);
    memset(s, 0, sizeof(*s));
}

/* 's' escaped as a label value into 'buf' (cut short to fit). */
static void escape_label(const char *s, char *buf, size_t size)
{
    size_t o = 0;

    for (; *s && o + 3 < size; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n')
            buf[o++] = '\\';
        buf[o++] = *s == '\n' ? 'n' : *s;
    }
    buf[o] = '\0';
}

/* Device labels: vuid, pf and (VFs) vf, from the `list` entry. */
static void device_labels(const cJSON *ids, char *buf, size_t size)
{
    const cJSON *pf = cJSON_GetObjectItemCaseSensitive(ids, "pf_id");
    const cJSON *vf = cJSON_GetObjectItemCaseSensitive(ids, "vf_id");
    char vuid[128], vfl[32] = "";

    escape_label(json_str(ids, "vuid"), vuid, sizeof(vuid));
    if (cJSON_IsNumber(vf))
        snprintf(vfl, sizeof(vfl), ",vf=\"%.0f\"", vf->valuedouble);
    snprintf(buf, size, "vuid=\"%s\",pf=\"%.0f\"%s", vuid, cJSON_IsNumber(pf) ? pf->valuedouble : -1,
             vfl);
}

static int snapshot_take(struct vn_ctl *ctl, struct snapshot *s)
{
    const cJSON *ids;
    int n;

    memset(s, 0, sizeof(*s));
    s->health = vn_rpc_health_json(ctl);
    s->list = vn_rpc_list_json(ctl);
    s->update = vn_update_status(ctl);
    if (!s->health || !s->list || !s->update)
        goto nomem;
    n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s->list, "devices"));
    s->devs = calloc(n > 0 ? (size_t)n : 1, sizeof(*s->devs));
    if (!s->devs)
        goto nomem;
    cJSON_ArrayForEach(ids, cJSON_GetObjectItemCaseSensitive(s->list, "devices")) {
        struct vn_device *dev = vn_dev_find_vuid(ctl->devs, json_str(ids, "vuid"));
        struct snap_dev *d = &s->devs[s->n];

        if (!dev || (int)s->n >= n)
            continue;
        d->ids = ids;
        d->detail = vn_dev_to_json(dev, true);
        d->stats = vn_rpc_stats_json(dev, -1);
        s->n++;
        if (!d->detail || !d->stats)
            goto nomem;
        device_labels(ids, d->labels, sizeof(d->labels));
    }
    return 0;
nomem:
    snapshot_free(s);
    return -ENOMEM;
}

int vn_metrics_render(struct vn_ctl *ctl, char **text, size_t *len)
{
    struct snapshot s;
    char *buf = NULL;
    size_t size = 0;
    FILE *f;
    int ret;

    ret = snapshot_take(ctl, &s);
    if (ret < 0)
        return ret;
    f = open_memstream(&buf, &size);
    if (!f) {
        snapshot_free(&s);
        return -ENOMEM;
    }
    put_controller(f, &s);
    put_update(f, &s);
    put_devices(f, &s);
    put_queues(f, &s);
    ret = ferror(f) ? -ENOMEM : 0;
    if (fclose(f) != 0)
        ret = -ENOMEM;
    snapshot_free(&s);
    if (ret < 0) {
        free(buf);
        return ret;
    }
    *text = buf;
    *len = size;
    return 0;
}

/* ---- the method ---------------------------------------------------------- */

/* {"content_type": ..., "text": the exposition}; `virtnet metrics` prints the text. */
static void method_metrics(void *ctx, struct vn_rpc_request *req, void *params)
{
    cJSON *res;
    char *text;
    size_t len;
    int ret = vn_metrics_render(ctx, &text, &len);

    if (ret < 0) {
        vn_rpc_reply_errno(req, ret, "cannot render the metrics");
        return;
    }
    res = cJSON_CreateObject();
    vn_json_add_str(res, "content_type", VN_METRICS_CONTENT_TYPE);
    vn_json_add_str(res, "text", text);
    free(text);
    vn_rpc_reply_result(req, res);
}

VN_RPC_METHOD_NOPARAMS(metrics, "Prometheus text exposition of the counters and health", 0,
                       method_metrics);
