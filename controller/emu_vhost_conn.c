/*
 * emu_vhost_conn.c - connect (and connect again) to a vhost-user front-end
 * that listens; see emu_vhost_conn.h.
 */
#include <config.h>

#include "emu_vhost_conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

/* Log lines of failed attempts per connector: 4 at once, then one a second. */
#define CONN_FAIL_LOG_BURST 4

static void conn_attempt(struct vn_vhost_conn *c);

static void conn_close(struct vn_vhost_conn *c)
{
    if (c->fd < 0)
        return;
    ev_io_stop(c->loop, &c->io_w);
    close(c->fd);
    c->fd = -1;
}

/* An attempt failed with 'err': try again after the current delay, which then doubles. */
static void conn_failed(struct vn_vhost_conn *c, int err)
{
    conn_close(c);
    if (err != c->last_err || c->failures == 0)
        VN_LOG_RL_ON(&c->log_rl, VHOST, VN_LL_WARN,
                     "%s: cannot connect to the front-end at %s: %s (retrying, at most every %u ms)",
                     c->name, c->path, strerror(err), VN_VHOST_CONN_DELAY_MAX_MS);
    c->last_err = err;
    c->failures++;
    ev_timer_set(&c->timer_w, c->delay_ms / 1000.0, 0.);
    ev_timer_start(c->loop, &c->timer_w);
    c->delay_ms = VN_MIN(c->delay_ms * 2, (uint32_t)VN_VHOST_CONN_DELAY_MAX_MS);
}

static void conn_done(struct vn_vhost_conn *c)
{
    int fd = c->fd;

    ev_io_stop(c->loop, &c->io_w);
    c->fd = -1;
    c->active = false;
    c->failures = 0;
    c->last_err = 0;
    c->delay_ms = VN_VHOST_CONN_DELAY_MIN_MS;
    c->on_connect(c, fd);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct vn_vhost_conn *c = vn_container_of(w, struct vn_vhost_conn, io_w);
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err)
        conn_failed(c, err);
    else
        conn_done(c);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct vn_vhost_conn *c = vn_container_of(w, struct vn_vhost_conn, timer_w);

    conn_attempt(c);
}

static void conn_attempt(struct vn_vhost_conn *c)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    c->attempts++;
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_failed(c, errno);
        return;
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        conn_done(c);
        return;
    }
    if (errno == EINPROGRESS) {
        ev_io_init(&c->io_w, conn_io_cb, c->fd, EV_WRITE);
        ev_io_start(c->loop, &c->io_w);
        return;
    }
    /* ENOENT / ECONNREFUSED: nobody listens (yet); EAGAIN: its backlog is full. */
    conn_failed(c, errno);
}

void vn_vhost_conn_init(struct vn_vhost_conn *c, struct ev_loop *loop, const char *path,
                        const char *name, vn_vhost_conn_cb *on_connect)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->name = name;
    c->on_connect = on_connect;
    c->fd = -1;
    c->delay_ms = VN_VHOST_CONN_DELAY_MIN_MS;
    c->log_rl = (struct vn_ratelimit)VN_RATELIMIT_INIT(1, CONN_FAIL_LOG_BURST);
    ev_timer_init(&c->timer_w, conn_timer_cb, 0., 0.);
}

void vn_vhost_conn_start(struct vn_vhost_conn *c)
{
    if (c->active)
        return;
    c->active = true;
    conn_attempt(c);
}

void vn_vhost_conn_retry(struct vn_vhost_conn *c)
{
    if (c->active)
        return;
    c->active = true;
    c->delay_ms = VN_VHOST_CONN_DELAY_MIN_MS;
    ev_timer_set(&c->timer_w, c->delay_ms / 1000.0, 0.);
    ev_timer_start(c->loop, &c->timer_w);
}

void vn_vhost_conn_stop(struct vn_vhost_conn *c)
{
    conn_close(c);
    ev_timer_stop(c->loop, &c->timer_w);
    c->active = false;
}
