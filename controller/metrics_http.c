/*
 * metrics_http.c - the optional HTTP listener for Prometheus (virtnet.conf
 * "metrics": {"listen": ...}); see metrics.h.
 *
 * libmicrohttpd runs it in a thread of its own, so nothing a scraper does --
 * connecting and never sending, reading slowly, hammering -- reaches the
 * controller's libev loop.  Threads:
 *   - the MHD thread never touches controller state.  It answers GET
 *     /metrics with a copy of the last snapshot, taken under 'lock'.  When
 *     that snapshot is older than VN_METRICS_MIN_INTERVAL_MS it asks the main
 *     loop for a fresh one (ev_async) and waits for it at most
 *     VN_METRICS_REFRESH_WAIT_MS; if the loop is busy (a live update) the
 *     scraper gets the older text rather than a hang.
 *   - the main loop renders (metrics.c) in refresh_cb() and swaps the new
 *     text in.  A scraper can make it render at most once per
 *     VN_METRICS_MIN_INTERVAL_MS, whatever the request rate.
 * Every other method gets 405 (with Allow: GET), every other path 404.
 * Clients are bounded by connection_limit, per_ip_limit and timeout_s.
 *
 * The socket is bound with SO_REUSEPORT so that the new process of a live
 * update binds while the old one still listens.
 */
#include <config.h>

#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifdef HAVE_MICROHTTPD
#include <microhttpd.h>
#endif

#include "conf.h"
#include "ctl.h"
#include "json.h"
#include "log.h"
#include "util.h"

#define METRICS_PATH "/metrics"

struct vn_metrics_http {
    struct vn_ctl *ctl;
    struct ev_loop *loop;
    ev_async refresh;              /* MHD thread -> main loop: render a snapshot */
    char listen[80];               /* the address bound, "ADDR:PORT" / "[ADDR6]:PORT" */

    pthread_mutex_t lock;          /* protects the members below */
    pthread_cond_t fresh;          /* signalled when 'gen' moves (CLOCK_MONOTONIC) */
    char *text;                    /* the last snapshot (never NULL once started) */
    size_t len;
    uint64_t gen;                  /* snapshots taken */
    uint64_t snap_ns;              /* when the last one was taken (vn_now_ns) */
    bool stopping;                 /* no more waiting for the loop */

    /* Read by `health` on the main loop, written by the MHD thread. */
    atomic_uint_fast64_t served;   /* 200 answers */
    atomic_uint_fast64_t refused;  /* 404 and 405 answers */
#ifdef HAVE_MICROHTTPD
    struct MHD_Daemon *mhd;
#endif
};

/* Main loop: takes a snapshot and swaps it in. */
static void refresh_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    struct vn_metrics_http *h = vn_container_of(w, struct vn_metrics_http, refresh);
    char *text, *old;
    size_t len;
    int ret = vn_metrics_render(h->ctl, &text, &len);

    if (ret < 0) {
        VN_WARN(MAIN, "metrics: cannot render a snapshot: %s", strerror(-ret));
        return;
    }
    pthread_mutex_lock(&h->lock);
    old = h->text;
    h->text = text;
    h->len = len;
    h->gen++;
    h->snap_ns = vn_now_ns();
    pthread_cond_broadcast(&h->fresh);
    pthread_mutex_unlock(&h->lock);
    free(old);
}

#ifdef HAVE_MICROHTTPD

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             size_t len, enum MHD_ResponseMemoryMode mode, const char *ctype)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, mode);
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, MHD_HTTP_METHOD_GET);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result refuse(struct vn_metrics_http *h, struct MHD_Connection *c,
                              unsigned status)
{
    static const char not_found[] = "not found: the metrics are at " METRICS_PATH "\n";
    static const char not_allowed[] = "method not allowed: GET only\n";
    const char *body = status == MHD_HTTP_NOT_FOUND ? not_found : not_allowed;

    atomic_fetch_add(&h->refused, 1);
    return reply(c, status, body, strlen(body), MHD_RESPMEM_PERSISTENT,
                 "text/plain; charset=utf-8");
}

/* MHD thread: one request.  Answers on the first call (headers read), body or not. */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    struct vn_metrics_http *h = cls;
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (strcmp(method, MHD_HTTP_METHOD_GET))
        return refuse(h, c, MHD_HTTP_METHOD_NOT_ALLOWED);
    if (strcmp(url, METRICS_PATH))
        return refuse(h, c, MHD_HTTP_NOT_FOUND);

    pthread_mutex_lock(&h->lock);
    if (!h->stopping && vn_now_ns() - h->snap_ns >= VN_METRICS_MIN_INTERVAL_MS * 1000000ull) {
        uint64_t gen = h->gen;
        struct timespec deadline;

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += VN_METRICS_REFRESH_WAIT_MS / 1000;
        deadline.tv_nsec += (VN_METRICS_REFRESH_WAIT_MS % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        ev_async_send(h->loop, &h->refresh);
        while (h->gen == gen && !h->stopping)
            if (pthread_cond_timedwait(&h->fresh, &h->lock, &deadline) == ETIMEDOUT)
                break;
    }
    r = MHD_create_response_from_buffer(h->len, h->text, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&h->lock);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, VN_METRICS_CONTENT_TYPE);
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    atomic_fetch_add(&h->served, 1);
    return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    VN_WARN(MAIN, "metrics: %s", msg);
}

/* "PORT", "ADDR:PORT" or "[ADDR6]:PORT" (conf.c checked the syntax) into 'ss'. */
static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    char host[64] = "127.0.0.1";
    const char *port = s;
    uint64_t p;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        port = end + 2;
    } else if (strchr(s, ':')) {
        const char *colon = strrchr(s, ':');

        if ((size_t)(colon - s) >= sizeof(host))
            return -EINVAL;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    if (vn_parse_u64(port, 10, 0, 65535, &p) < 0)
        return -EINVAL;
    if (s[0] == '[') {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return -EINVAL;
    } else {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
            return -EINVAL;
    }
    return 0;
}

/* The address MHD bound (the port is the kernel's choice when 0 was asked for). */
static void format_bound(struct vn_metrics_http *h, const struct sockaddr_storage *ss)
{
    const union MHD_DaemonInfo *fd = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    char addr[INET6_ADDRSTRLEN];
    uint16_t port;

    if (!fd || getsockname(fd->listen_fd, (struct sockaddr *)&bound, &blen) < 0)
        bound = *ss;
    if (bound.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&bound;

        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
        port = ntohs(in6->sin6_port);
        snprintf(h->listen, sizeof(h->listen), "[%s]:%u", addr, port);
    } else {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)&bound;

        inet_ntop(AF_INET, &in4->sin_addr, addr, sizeof(addr));
        port = ntohs(in4->sin_port);
        snprintf(h->listen, sizeof(h->listen), "%s:%u", addr, port);
    }
}

static int start_mhd(struct vn_metrics_http *h, const struct vn_conf_metrics *cfg)
{
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

    if (parse_listen(cfg->listen, &ss) < 0) {
        VN_ERR(MAIN, "metrics: listen address '%s' is not valid", cfg->listen);
        return -EINVAL;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
        flags |= MHD_USE_EPOLL;
    else
        flags |= MHD_USE_POLL;
    h->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, handle_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->connection_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->per_ip_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
    if (!h->mhd) {
        VN_ERR(MAIN, "metrics: cannot listen on %s (address in use, or not on this host?)",
               cfg->listen);
        return -EADDRNOTAVAIL;
    }
    format_bound(h, &ss);
    return 0;
}

static void stop_mhd(struct vn_metrics_http *h)
{
    if (h->mhd)
        MHD_stop_daemon(h->mhd);
    h->mhd = NULL;
}

#else /* !HAVE_MICROHTTPD */

static int start_mhd(struct vn_metrics_http *h, const struct vn_conf_metrics *cfg)
{
    VN_ERR(MAIN, "metrics: listen is set (%s) but this controller was built without "
                 "libmicrohttpd; `virtnet metrics` still works", cfg->listen);
    return -EOPNOTSUPP;
}

static void stop_mhd(struct vn_metrics_http *h)
{
}

#endif /* HAVE_MICROHTTPD */

int vn_metrics_http_start(struct ev_loop *loop, struct vn_ctl *ctl,
                          const struct vn_conf_metrics *cfg, struct vn_metrics_http **out)
{
    struct vn_metrics_http *h = calloc(1, sizeof(*h));
    pthread_condattr_t ca;
    int ret;

    if (!h)
        return -ENOMEM;
    h->ctl = ctl;
    h->loop = loop;
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->fresh, &ca);
    pthread_condattr_destroy(&ca);
    ev_async_init(&h->refresh, refresh_cb);
    ev_async_start(loop, &h->refresh);
    /* The first snapshot, so that the first scrape has something to read. */
    refresh_cb(loop, &h->refresh, 0);
    if (!h->text) {
        ret = -ENOMEM;
        goto err_free;
    }
    ret = start_mhd(h, cfg);
    if (ret < 0)
        goto err_free;
    VN_INFO(MAIN, "metrics: serving Prometheus text on http://%s%s", h->listen, METRICS_PATH);
    *out = h;
    return 0;

err_free:
    vn_metrics_http_stop(h);
    return ret;
}

void vn_metrics_http_stop(struct vn_metrics_http *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_cond_broadcast(&h->fresh);
    pthread_mutex_unlock(&h->lock);
    stop_mhd(h);
    ev_async_stop(h->loop, &h->refresh);
    pthread_cond_destroy(&h->fresh);
    pthread_mutex_destroy(&h->lock);
    free(h->text);
    free(h);
}

struct cJSON *vn_metrics_http_to_json(const struct vn_metrics_http *h)
{
    cJSON *o = cJSON_CreateObject();

    vn_json_add_str(o, "listen", h->listen);
    vn_json_add_str(o, "path", METRICS_PATH);
    vn_json_add_u64(o, "served", atomic_load(&h->served));
    vn_json_add_u64(o, "refused", atomic_load(&h->refused));
    return o;
}
