/*
 * emu_vhost_conn.h - the vhost-user back-end as a *client* (emu_vhost.c's
 * client mode): connects to a socket the front-end listens on (DPDK
 * virtio-user `server=1`, QEMU `server=on`, OVS's dpdkvhostuserclient
 * convention) and connects again, with a bounded exponential back-off, when
 * that fails or the connection drops.
 *
 * A connector is embedded in the object that owns it (the vhost device) and
 * runs on that object's libev loop: connect() is non-blocking, a connect in
 * progress is watched for writability, a failed attempt arms a timer; nothing
 * here blocks the loop.  On success the connected fd goes to the owner's
 * on_connect callback (which owns it from then on) and the connector idles
 * until the owner asks it to connect again (vn_vhost_conn_retry() after a
 * disconnect).
 *
 * Main loop thread only.
 */
#ifndef VN_EMU_VHOST_CONN_H
#define VN_EMU_VHOST_CONN_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define VN_VHOST_CONN_DELAY_MIN_MS 50   /* first retry after a failure or a hang-up */
#define VN_VHOST_CONN_DELAY_MAX_MS 2000 /* the back-off doubles up to this */

struct vn_vhost_conn;

/* Connected: 'fd' (non-blocking, close-on-exec) is the callee's in all cases. */
typedef void vn_vhost_conn_cb(struct vn_vhost_conn *c, int fd);

struct vn_vhost_conn {
    struct ev_loop *loop;
    char path[108];            /* the front-end's listening socket */
    const char *name;          /* for log lines (the device's VUID); borrowed */
    vn_vhost_conn_cb *on_connect;
    int fd;                    /* a connect in progress, -1 otherwise */
    ev_io io_w;                /* writability of 'fd' */
    ev_timer timer_w;          /* the back-off */
    bool active;               /* connecting or waiting to: the owner has no connection */
    uint32_t delay_ms;         /* the next back-off */
    uint64_t attempts;         /* connect attempts over the connector's life */
    uint64_t failures;         /* attempts since the last success */
    int last_err;              /* errno of the last failed attempt, 0 */
    struct vn_ratelimit log_rl;
};

/* Prepares 'c'; nothing runs until vn_vhost_conn_start().  'path' is copied. */
void vn_vhost_conn_init(struct vn_vhost_conn *c, struct ev_loop *loop, const char *path,
                        const char *name, vn_vhost_conn_cb *on_connect);

/* Connects now (an attempt on the loop's next turn is not waited for). No-op while active. */
void vn_vhost_conn_start(struct vn_vhost_conn *c);

/* The connection the owner had dropped: connect again after the shortest back-off. */
void vn_vhost_conn_retry(struct vn_vhost_conn *c);

/* Stops connecting: an attempt in progress is abandoned, the timer stopped.  Idempotent. */
void vn_vhost_conn_stop(struct vn_vhost_conn *c);

#endif /* VN_EMU_VHOST_CONN_H */
