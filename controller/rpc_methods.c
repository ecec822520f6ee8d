/*
 * rpc_methods.c - the JSON-RPC methods of the controller (docs/rpc.md).
 *
 * One params struct and table per method; the server decodes the request's
 * params with the table before the handler runs, so a handler only
 * validates meaning, acts and replies.  Methods whose backend comes with a
 * later part of the controller decode their params and answer
 * "not implemented yet" (VN_RPC_ERR_NOT_IMPLEMENTED).  Device methods live
 * in rpc_device.c.
 */
#include <config.h>

#include "rpc_methods.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "device.h"
#include "json.h"
#include "jsonrpc.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "update.h"
#include "util.h"

#define VERSION_STRING "v" VN_VERSION
#define VERSION_PROBE_TIMEOUT_MS 3000

/* ---- version --------------------------------------------------------- */

/*
 * Runs '<binary> --version' and extracts its "vX.Y.Z" token into 'out'.
 * Bounded by VERSION_PROBE_TIMEOUT_MS.  Returns 0 or a negative errno.
 */
static int probe_binary_version(const char *binary, char *out, size_t outlen)
{
    char arg0[PATH_MAX], arg1[] = "--version";
    char *argv[] = { arg0, arg1, NULL };
    posix_spawn_file_actions_t fa;
    char buf[256];
    size_t len = 0;
    int pipefd[2], ret, status;
    pid_t pid;
    uint64_t deadline = vn_now_ns() + (uint64_t)VERSION_PROBE_TIMEOUT_MS * 1000000ull;

    if (vn_strlcpy(arg0, binary, sizeof(arg0)) < 0)
        return -ENAMETOOLONG;
    if (access(binary, X_OK) < 0)
        return -errno;
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    ret = -posix_spawn(&pid, binary, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (ret < 0) {
        close(pipefd[0]);
        return ret;
    }
    for (;;) {
        uint64_t now = vn_now_ns();
        struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
        ssize_t n;

        if (now >= deadline || len >= sizeof(buf) - 1)
            break;
        if (poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1) <= 0)
            break;
        n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(pipefd[0]);
    buf[len] = '\0';
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    for (char *tok = strtok(buf, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
        if (tok[0] == 'v' && tok[1] >= '0' && tok[1] <= '9')
            return vn_strlcpy(out, tok, outlen);
    }
    return -EPROTO;
}

static void method_version(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct vn_ctl *ctl = ctx;
    cJSON *res = cJSON_CreateObject();
    char dest[64];
    int ret;

    vn_json_add_str(res, "Original Controller", VERSION_STRING);
    ret = probe_binary_version(ctl->update_binary, dest, sizeof(dest));
    if (ret == 0) {
        vn_json_add_str(res, "Destination Controller", dest);
    } else {
        vn_json_add(res, "Destination Controller", cJSON_CreateNull());
        vn_json_add_str(res, "destination_error",
                        ret == -ENOENT ? "no controller installed at that path"
                        : ret == -EPROTO ? "the installed binary printed no version"
                                         : strerror(-ret));
    }
    vn_json_add_str(res, "destination_path", ctl->update_binary);
    vn_rpc_reply_result(req, res);
}

/* ---- log ------------------------------------------------------------- */

struct log_params {
    const char *module;
    bool has_module;
    const char *level;
    bool has_level;
};

static const struct vn_rpc_param log_params[] = {
    VN_RPC_OPT_STR(struct log_params, module),
    VN_RPC_OPT_STR(struct log_params, level),
};

static void method_log(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct log_params *p = params;
    int mod = -1, lvl = -1;
    cJSON *res, *levels;

    if (p->has_module && strcmp(p->module, "all")) {
        mod = vn_log_module_from_name(p->module);
        if (mod < 0) {
            vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS,
                               "unknown log module '%.64s' (see `virtnet log` for the list)",
                               p->module);
            return;
        }
    }
    if (p->has_level) {
        lvl = vn_log_level_from_name(p->level);
        if (lvl < 0) {
            vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS,
                               "unknown log level '%.64s' (error, warn, info, debug)", p->level);
            return;
        }
        if (!vn_rpc_request_privileged(req)) {
            vn_rpc_reply_error(req, VN_RPC_ERR_PERMISSION,
                               "changing log levels needs root or the controller's group");
            return;
        }
        if (mod < 0)
            vn_log_set_all_levels((enum vn_log_level)lvl);
        else
            vn_log_set_level((enum vn_log_module)mod, (enum vn_log_level)lvl);
        VN_INFO(MAIN, "log level of %s set to %s", mod < 0 ? "all modules" : p->module,
                vn_log_level_name((enum vn_log_level)lvl));
    }

    res = cJSON_CreateObject();
    levels = cJSON_CreateObject();
    for (int i = 0; i < VN_LOG_N_MODULES; i++) {
        if (mod >= 0 && i != mod)
            continue;
        vn_json_add_str(levels, vn_log_module_name((enum vn_log_module)i),
                        vn_log_level_name(vn_log_get_level((enum vn_log_module)i)));
    }
    vn_json_add(res, "levels", levels);
    vn_rpc_reply_result(req, res);
}

/* ---- validate -------------------------------------------------------- */

struct validate_params {
    const char *config;
    bool has_config;
    const char *path;
    bool has_path;
};

static const struct vn_rpc_param validate_params[] = {
    VN_RPC_OPT_STR(struct validate_params, config),
    VN_RPC_OPT_STR(struct validate_params, path),
};

static void method_validate(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct vn_ctl *ctl = ctx;
    struct validate_params *p = params;
    struct vn_conf_errors *errs = calloc(1, sizeof(*errs));
    struct vn_conf *conf = calloc(1, sizeof(*conf));
    cJSON *res, *list;
    const char *file;
    int ret;

    if (!errs || !conf) {
        free(errs);
        free(conf);
        vn_rpc_reply_error(req, VN_RPC_ERR_INTERNAL, "out of memory");
        return;
    }
    res = cJSON_CreateObject();
    if (p->has_config) {
        file = p->has_path ? p->path : NULL;
        ret = vn_conf_parse(p->config, strlen(p->config), conf, errs);
    } else if (ctl->has_config_file) {
        file = ctl->config_path;
        ret = vn_conf_load(ctl->config_path, conf, errs);
    } else {
        file = NULL;
        ret = 0;
        vn_json_add_str(res, "note", "no configuration file: the built-in defaults are in use");
    }
    vn_json_add_bool(res, "valid", ret == 0);
    vn_json_add_str(res, "file", file);
    list = cJSON_CreateArray();
    for (unsigned i = 0; ret < 0 && i < errs->n; i++)
        vn_json_add_str(list, NULL, errs->msg[i]);
    if (ret < 0 && errs->dropped) {
        char more[64];

        snprintf(more, sizeof(more), "... and %u more errors", errs->dropped);
        vn_json_add_str(list, NULL, more);
    }
    if (ret < 0 && !errs->n)
        vn_json_add_str(list, NULL, strerror(-ret));
    vn_json_add(res, "errors", list);
    free(errs);
    free(conf);
    vn_rpc_reply_result(req, res);
}

/* ---- health ---------------------------------------------------------- */

/* RSS (from /proc) and what malloc holds: in use by the controller, and free in its heap. */
static cJSON *memory_json(void)
{
    struct mallinfo2 mi = mallinfo2();
    cJSON *mem = cJSON_CreateObject();
    char line[128];
    FILE *f = fopen("/proc/self/status", "re");
    unsigned long long rss = 0;

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %llu kB", &rss) == 1)
            break;
    if (f)
        fclose(f);
    vn_json_add_u64(mem, "rss_kib", rss);
    vn_json_add_u64(mem, "heap_in_use_kib", (mi.uordblks + mi.hblkhd) / 1024);
    vn_json_add_u64(mem, "heap_free_kib", mi.fordblks / 1024);
    return mem;
}

cJSON *vn_rpc_health_json(struct vn_ctl *ctl)
{
    const struct vn_rpc_stats *st = vn_rpc_server_stats(ctl->rpc);
    cJSON *res = cJSON_CreateObject(), *lat = cJSON_CreateObject();
    cJSON *devs = cJSON_CreateObject(), *rpc = cJSON_CreateObject();

    /* Degraded: the controller answers but devices cannot move traffic. */
    bool no_dp = vn_ctl_needs_datapath(ctl) && !vn_providers_active_name(ctl->providers);

    vn_json_add_str(res, "status", no_dp ? "degraded" : "ok");
    if (no_dp) {
        cJSON *problems = cJSON_CreateArray();

        vn_json_add_str(problems, NULL,
                        "no datapath provider could be loaded (see provider.candidates): "
                        "hotplug is refused");
        vn_json_add(res, "problems", problems);
    }
    vn_json_add(res, "provider", vn_providers_to_json(ctl->providers));
    vn_json_add_str(res, "version", VERSION_STRING);
    vn_json_add_num(res, "pid", getpid());
    vn_json_add_num(res, "uptime_s", (double)(long long)(vn_ctl_uptime(ctl) * 1000) / 1000.0);
    vn_json_add_num(lat, "last", (double)(long long)ctl->latency.last_us);
    vn_json_add_num(lat, "avg", ctl->latency.samples
                                    ? (double)(long long)(ctl->latency.sum_us /
                                                          (double)ctl->latency.samples)
                                    : 0);
    vn_json_add_num(lat, "max", (double)(long long)ctl->latency.max_us);
    vn_json_add_u64(lat, "samples", ctl->latency.samples);
    vn_json_add(res, "loop_latency_us", lat);
    struct vn_dev_counts n = { 0 };

    if (ctl->devs)
        vn_dev_counts(ctl->devs, &n);
    vn_json_add_num(devs, "total", n.total);
    vn_json_add_num(devs, "static_pf", n.static_pf);
    vn_json_add_num(devs, "hotplug_pf", n.hotplug_pf);
    vn_json_add_num(devs, "vf", n.vf);
    vn_json_add(res, "devices", devs);
    vn_json_add(res, "config_reload", ctl->reload_status ? cJSON_Duplicate(ctl->reload_status, true)
                                                         : cJSON_CreateNull());
    vn_json_add(res, "recovery_rejected",
                ctl->devs ? vn_dev_mgr_rejected_json(ctl->devs) : cJSON_CreateArray());
    vn_json_add_num(rpc, "clients", st->clients);
    vn_json_add_u64(rpc, "requests", st->requests);
    vn_json_add_u64(rpc, "errors", st->errors);
    vn_json_add_u64(rpc, "clients_rejected", st->clients_rejected);
    vn_json_add_u64(rpc, "clients_dropped", st->clients_dropped);
    vn_json_add_u64(rpc, "clients_idle", st->clients_idle);
    vn_json_add_u64(rpc, "unsent_bytes", vn_rpc_server_unsent(ctl->rpc));
    vn_json_add(res, "rpc", rpc);
    vn_json_add(res, "memory", memory_json());
    if (ctl->metrics)
        vn_json_add(res, "metrics_http", vn_metrics_http_to_json(ctl->metrics));
    return res;
}

static void method_health(void *ctx, struct vn_rpc_request *req, void *params)
{
    vn_rpc_reply_result(req, vn_rpc_health_json(ctx));
}

/* ---- stats ------------------------------------------------------------ */

struct stats_params {
    VN_SELECTOR_FIELDS;
    uint32_t queue_id;
    bool has_queue_id;
};

static const struct vn_rpc_param stats_params[] = {
    VN_SELECTOR_PARAMS(struct stats_params),
    VN_RPC_OPT(struct stats_params, queue_id, VN_RPC_T_U32, 0, UINT32_MAX),
};

/* The vendor's size histogram: X(suffix after "rx_"/"tx_", member). */
#define VN_STATS_SIZES(X)                                                                          \
    X("64_or_less_octet_packets", size_64)                                                         \
    X("65_to_127_octet_packets", size_65_127)                                                      \
    X("128_to_255_octet_packets", size_128_255)                                                    \
    X("256_to_511_octet_packets", size_256_511)                                                    \
    X("512_to_1023_octet_packets", size_512_1023)                                                  \
    X("1024_to_1522_octet_packets", size_1024_1522)                                                \
    X("1523_to_2047_octet_packets", size_1523_2047)                                                \
    X("2048_to_4095_octet_packets", size_2048_4095)                                                \
    X("4096_to_8191_octet_packets", size_4096_8191)                                                \
    X("8192_to_9022_octet_packets", size_8192_9022)                                                \
    X("9023_or_more_octet_packets", size_9023_plus)

/*
 * Descriptor and event counters, printed as strings as the vendor does:
 * X(name, value of the queue counters 's').  The vendor's names first, in its
 * order, then ours.  What each vendor counter means on the software DPU, and
 * why some are always 0, is in docs/datapath.md ("Counters").
 */
#define VN_STATS_ERRORS(s)                                                                         \
    ((s)->bad_desc_errors + (s)->exceed_max_chain + (s)->invalid_buffer + (s)->avail_idx_errors)
#define VN_STATS_COUNTERS(X)                                                                       \
    X("received_desc", s->received_desc)                                                           \
    X("completed_desc", s->completed_desc)                                                         \
    X("bad_desc_errors", s->bad_desc_errors)                                                       \
    X("error_cqes", 0)                  /* no completion queues: nothing completes in error */     \
    X("exceed_max_chain", s->exceed_max_chain)                                                     \
    X("invalid_buffer", s->invalid_buffer)                                                         \
    X("batch_number", s->batches)                                                                  \
    X("dma_q_used_number", 0)           /* no DMA queues: the kernel copies (tap) */               \
    X("handler_schd_number", s->kicks)  /* each kick schedules the queue's handler */              \
    X("aux_handler_schd_number", 0)     /* one handler per queue, no auxiliary one */              \
    X("max_post_desc_number", 0)        /* nothing is posted to hardware */                        \
    X("total_bytes", s->total_bytes)                                                               \
    X("err_handler_schd_number", VN_STATS_ERRORS(s)) /* each error stops the queue once */         \
    X("total_packets", s->total_packets)                                                           \
    X("avail_idx_errors", s->avail_idx_errors)                                                     \
    X("dropped_packets", s->dropped)                                                               \
    X("interrupts", s->interrupts)                                                                 \
    X("kicks", s->kicks)

/* Adds the counters of 's' to 'o' as the vendor prints them (strings). */
static void queue_counters_json(cJSON *o, const struct vn_dp_queue_stats *s)
{
#define VN_STATS_COUNTER_ADD(key, value) vn_json_add_u64_str(o, key, (uint64_t)(value));
    VN_STATS_COUNTERS(VN_STATS_COUNTER_ADD)
#undef VN_STATS_COUNTER_ADD
}

static cJSON *queue_stats_json(uint32_t index, const struct vn_dp_queue_stats *st)
{
    const char *dir = index & 1 ? "tx_" : "rx_";
    cJSON *q = cJSON_CreateObject();
    char name[64];

    vn_json_add_num(q, "VQ Index", index);
#define VN_STATS_SIZE_ADD(suffix, member)                                                          \
    snprintf(name, sizeof(name), "%s%s", dir, suffix);                                             \
    vn_json_add_u64(q, name, st->member);
    VN_STATS_SIZES(VN_STATS_SIZE_ADD)
#undef VN_STATS_SIZE_ADD
    queue_counters_json(q, st);
    return q;
}

static cJSON *totals_json(const struct vn_dp_queue_stats t[2])
{
    struct vn_dp_queue_stats sum = t[0];
    cJSON *o = cJSON_CreateObject();

    vn_dp_queue_stats_add(&sum, &t[1]);
    vn_json_add_u64_str(o, "rx_packets", t[0].total_packets);
    vn_json_add_u64_str(o, "rx_total_bytes", t[0].total_bytes);
    vn_json_add_u64_str(o, "rx_dropped_packets", t[0].dropped);
    vn_json_add_u64_str(o, "tx_packets", t[1].total_packets);
    vn_json_add_u64_str(o, "tx_total_bytes", t[1].total_bytes);
    vn_json_add_u64_str(o, "tx_dropped_packets", t[1].dropped);
    queue_counters_json(o, &sum);
    return o;
}

/*
 * `virtnet stats`: the vendor's shape, {"device": {"pf_id", "vf_id",
 * "packet_counters": "Enabled", "queues-stats": [...]}}, plus "vuid" and
 * "totals" over the queues listed.  Queues are the rings the vhost-user
 * back-end serves (a control queue is the front-end's and has none).
 */
cJSON *vn_rpc_stats_json(struct vn_device *dev, int64_t queue)
{
    struct vn_dp_queue_stats st, totals[2];
    uint32_t n = vn_dev_nrings(dev);
    cJSON *res, *d, *qs;

    memset(totals, 0, sizeof(totals));
    qs = cJSON_CreateArray();
    for (uint32_t i = 0; i < n; i++) {
        if (queue >= 0 && i != queue)
            continue;
        if (vn_dev_queue_stats(dev, i, &st) < 0)
            continue;
        vn_dp_queue_stats_add(&totals[i & 1], &st);
        vn_json_add(qs, NULL, queue_stats_json(i, &st));
    }
    d = cJSON_CreateObject();
    vn_json_add_num(d, "pf_id", dev->pf_id);
    if (dev->type == VN_DEV_VF)
        vn_json_add_num(d, "vf_id", dev->vf_id);
    vn_json_add_str(d, "vuid", dev->vuid);
    vn_json_add_str(d, "packet_counters", "Enabled");
    vn_json_add(d, "queues-stats", qs);
    vn_json_add(d, "totals", totals_json(totals));
    res = cJSON_CreateObject();
    vn_json_add(res, "device", d);
    return res;
}

static void method_stats(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct vn_ctl *ctl = ctx;
    struct stats_params *p = params;
    struct vn_device *dev;
    char err[256];
    uint32_t n;
    int ret;

    ret = vn_dev_select(ctl->devs, p->has_pf, p->pf, p->has_vf, p->vf,
                        p->has_vuid ? p->vuid : NULL, &dev, err, sizeof(err));
    if (ret < 0) {
        vn_rpc_reply_errno(req, ret, "%s", err);
        return;
    }
    n = vn_dev_nrings(dev);
    if (p->has_queue_id && p->queue_id >= n) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS,
                           "queue %u out of range: %s has %u data queues (0..%u)", p->queue_id,
                           dev->vuid, n, n ? n - 1 : 0);
        return;
    }
    vn_rpc_reply_result(req, vn_rpc_stats_json(dev, p->has_queue_id ? (int64_t)p->queue_id : -1));
}

/* ---- live update and restart ------------------------------------------ */

struct update_params {
    bool start;
    bool has_start;
    bool status;
    bool has_status;
    bool wait;
    bool has_wait;
};

static const struct vn_rpc_param update_params[] = {
    VN_RPC_OPT_BOOL(struct update_params, start),
    VN_RPC_OPT_BOOL(struct update_params, status),
    VN_RPC_OPT_BOOL(struct update_params, wait),
};

/* The request that waits for a hand-over's end (NULL: it was answered at the start). */
struct update_wait {
    struct vn_ctl *ctl;
    struct vn_rpc_request *req;
};

static void update_done(void *ctx, int err, cJSON *report, const char *why)
{
    struct update_wait *w = ctx;
    struct vn_ctl *ctl = w->ctl;

    if (w->req && err)
        vn_rpc_reply_error(w->req, VN_RPC_ERR_IO, "live update failed: %s", why);
    else if (w->req)
        vn_rpc_reply_result(w->req, cJSON_Duplicate(report, true));
    cJSON_Delete(report);
    free(w);
    if (!err) {
        /* Committed: the new process serves from now on. */
        ctl->exit_requested = true;
        ev_break(ctl->loop, EVBREAK_ALL);
    }
}

/*
 * Hands every device to 'binary' (update.h) on the loop.  'wait': the answer
 * is the outcome, once the hand-over ended; else it is "started" at once and
 * `update -t` tells the rest.  Either way requests keep being served.
 */
static void hand_over(struct vn_ctl *ctl, struct vn_rpc_request *req, const char *binary,
                      bool wait)
{
    struct update_wait *w;
    char err[512];
    cJSON *res;
    int ret;

    if (!vn_rpc_request_privileged(req)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_PERMISSION, "%s needs root, the controller's user or "
                           "rpc_group", vn_rpc_request_method(req));
        return;
    }
    if (ctl->exit_requested) {
        vn_rpc_reply_error(req, VN_RPC_ERR_BUSY, "busy: the controller is handing over");
        return;
    }
    if (access(binary, X_OK) < 0) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_STATE, "cannot run %s: %s", binary,
                           strerror(errno));
        return;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        vn_rpc_reply_errno(req, -ENOMEM, "out of memory");
        return;
    }
    w->ctl = ctl;
    w->req = wait ? req : NULL;
    ret = vn_update_start(ctl, binary, update_done, w, err, sizeof(err));
    if (ret < 0) {
        free(w);
        vn_rpc_reply_errno(req, ret, "live update not started: %s", err);
        return;
    }
    if (wait)
        return;
    res = vn_update_status(ctl);
    cJSON_ReplaceItemInObjectCaseSensitive(res, "current status", cJSON_CreateString("started"));
    vn_rpc_reply_result(req, res);
}

static void method_update(void *ctx, struct vn_rpc_request *req, void *params)
{
    struct vn_ctl *ctl = ctx;
    const struct update_params *p = params;

    if (p->has_start == p->has_status || (p->has_start && !p->start) ||
        (p->has_status && !p->status)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS,
                           "give exactly one of start (-s) and status (-t)");
        return;
    }
    if (p->has_wait && !p->has_start) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS, "wait (-w) goes with start (-s)");
        return;
    }
    if (p->status) {
        vn_rpc_reply_result(req, vn_update_status(ctl));
        return;
    }
    hand_over(ctl, req, ctl->update_binary, p->wait);
}

static void method_restart(void *ctx, struct vn_rpc_request *req, void *params)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n <= 0) {
        vn_rpc_reply_errno(req, -errno, "cannot find the running binary");
        return;
    }
    self[n] = '\0';
    /* Replaced on disk (an upgrade): the file now at that path is what a restart runs. */
    if (n > 10 && !strcmp(self + n - 10, " (deleted)"))
        self[n - 10] = '\0';
    /* A restart answers when it is done, as scripts expect of it. */
    hand_over(ctx, req, self, true);
}

/* ---- the registry ---------------------------------------------------- */

/* log: reading the levels is open, setting one (-l) is not. */
static const char *const log_mutating[] = { "level", NULL };
VN_RPC_METHOD_MUTATING_WITH(log, "set log level", log_mutating, struct log_params, log_params,
                            method_log);
VN_RPC_METHOD_NOPARAMS(version, "show virtio net controller version info", 0, method_version);
VN_RPC_METHOD_NOPARAMS(restart, "Do fast restart of controller without killing the service",
                       VN_RPC_MUTATING, method_restart);
VN_RPC_METHOD(validate, "validate configurations", 0, struct validate_params, validate_params,
              method_validate);
/* update: -t (status) is open; -s (start) is not. */
static const char *const update_mutating[] = { "start", NULL };
VN_RPC_METHOD_MUTATING_WITH(update, "update controller", update_mutating, struct update_params,
                            update_params, method_update);
VN_RPC_METHOD_NOPARAMS(health, "controller health utility", 0, method_health);
VN_RPC_METHOD(stats, "stats of virtnet device", 0, struct stats_params, stats_params,
              method_stats);

/* In the order `virtnet -h` lists the sub-commands. */
const struct vn_rpc_method *const vn_rpc_methods[] = {
    &vn_rpc_method_hotplug, &vn_rpc_method_unplug,   &vn_rpc_method_list,
    &vn_rpc_method_query,   &vn_rpc_method_modify,   &vn_rpc_method_log,
    &vn_rpc_method_version, &vn_rpc_method_restart,  &vn_rpc_method_validate,
    &vn_rpc_method_update,  &vn_rpc_method_health,   &vn_rpc_method_debug,
    &vn_rpc_method_stats,   &vn_rpc_method_metrics,
};

const size_t vn_rpc_n_methods = VN_ARRAY_SIZE(vn_rpc_methods);
