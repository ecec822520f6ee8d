/*
 * metrics.h - Prometheus text exposition of the controller (metrics.c) and
 * its optional HTTP listener (metrics_http.c).
 *
 * The text is built on the main loop from the results of the `list`,
 * `query`, `stats`, `health` and `update -t` methods; the listener's thread
 * only ever serves a copy of the last text the main loop built.
 */
#ifndef VN_METRICS_H
#define VN_METRICS_H

#include <stddef.h>

#include <ev.h>

struct vn_ctl;
struct vn_conf_metrics;

/* The Content-Type of the exposition (text format 0.0.4). */
#define VN_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Renders the exposition of 'ctl' into a malloc'ed, NUL-terminated '*text'
 * of '*len' bytes (the caller frees it).  Main loop only.  Returns 0 or
 * -ENOMEM; '*text' and '*len' are written only on success.
 */
int vn_metrics_render(struct vn_ctl *ctl, char **text, size_t *len);

struct vn_metrics_http;

/*
 * Starts the HTTP listener of 'cfg' (cfg->listen must be set): a thread of
 * its own (libmicrohttpd) answers GET /metrics with the last snapshot, asking
 * the main loop (an ev_async on 'loop') for a fresh one at most every
 * VN_METRICS_MIN_INTERVAL_MS and waiting for it at most
 * VN_METRICS_REFRESH_WAIT_MS; anything else gets 404 or 405.  Returns 0 and
 * '*out', or a negative errno (logged, naming the address).
 */
int vn_metrics_http_start(struct ev_loop *loop, struct vn_ctl *ctl,
                          const struct vn_conf_metrics *cfg, struct vn_metrics_http **out);

/* Stops the listener (joins its thread) and frees it; accepts NULL. */
void vn_metrics_http_stop(struct vn_metrics_http *h);

/* {"listen": the address bound, "path", "served", "refused"} for `health`; NULL on ENOMEM. */
struct cJSON *vn_metrics_http_to_json(const struct vn_metrics_http *h);

#define VN_METRICS_MIN_INTERVAL_MS 250
#define VN_METRICS_REFRESH_WAIT_MS 1000

#endif /* VN_METRICS_H */
