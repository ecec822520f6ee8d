/*
 * update.h - live update (`virtnet update -s`) and fast restart (`virtnet
 * restart`): the running controller starts the installed binary (or itself)
 * and hands it every device, one by one, without tearing anything down.
 *
 * The two processes talk over a SOCK_SEQPACKET socketpair (the new one gets
 * its end as --handover-fd); each message is one JSON object plus the fds it
 * names by index (SCM_RIGHTS); the lock and the sockets of the hello are
 * checked by type on arrival, a session's memory fds when they are mapped:
 *
 *   old -> new  hello {pid, lock, rpc}           state-dir lock, RPC listening socket
 *   old -> new  listen {vuid} + socket           one per device, then "hello_end"
 *   new -> old  ready {pid}                      devices restored from recovery files,
 *                                                their sockets adopted, not served yet
 *   old -> new  device {vuid, session, t_stop}   per device: the old stopped its rings
 *                                                (exact avail indices), sends the
 *                                                vhost-user session with its fds
 *   new -> old  moved {vuid, t_start}            rings running in the new process
 *   old -> new  commit                           then the old one answers the RPC and exits
 *   new -> old  committed
 *
 * Until commit, the old process keeps every fd: if the new one fails or goes
 * away, the old one resumes the devices it handed over (rings restarted from
 * the guest's used index) and reports why.  The outcome and per-device
 * downtime (old ring stop to new ring start, CLOCK_MONOTONIC) go to
 * <state-dir>/live_update.json, which `virtnet update -t` shows.
 */
#ifndef VN_UPDATE_H
#define VN_UPDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct vn_ctl;

#define VN_UPDATE_STATUS_FILE "live_update.json"

/* New process, from vn_ctl_init(): the hello and listening sockets.  0 or -errno (logged). */
int vn_update_receive_hello(struct vn_ctl *ctl);

/* New process, devices created: takes each session until commit.  0 or -errno (logged). */
int vn_update_follow(struct vn_ctl *ctl);

/*
 * New process: the listening fd handed over for 'vuid', -1 when the hand-over
 * under way has none for it, -ESRCH once no hand-over is under way (the
 * adopt_listen callback, lib's emu.h).
 */
int vn_update_adopt_listen(void *ctl, const char *vuid);

/*
 * The end of a hand-over: 'err' 0 when the new process committed (the
 * caller answers, then leaves the loop: the new process serves), or -errno
 * and 'why' (every device is served here again).  'report' is the outcome
 * (the live_update.json object), consumed.
 */
typedef void vn_update_done_fn(void *ctx, int err, cJSON *report, const char *why);

/*
 * Old process: starts a hand-over to 'binary' on the main loop and returns
 * at once: 0 ('done' is called exactly once, later), or -errno with 'err'
 * saying why nothing started (-EBUSY: one runs already, or a device is not
 * ready).  Each wait on the new process is bounded (start-up 120 s, each
 * device and the commit 10 s) and never blocks the loop; meanwhile RPC and
 * vhost-user are served and every device is "updating".  Fault points
 * "update_device" (before a device is exported) and "update_commit".
 */
int vn_update_start(struct vn_ctl *ctl, const char *binary, vn_update_done_fn *done, void *ctx,
                    char *err, size_t errlen);

/*
 * The status object `update -t` shows: the last outcome (live_update.json),
 * under the v24.07 keys ("current status", "last status") and the v24.10
 * ones ("status", "last live update status"); while one runs, its phase and
 * "devices moved" of "devices total".
 */
cJSON *vn_update_status(const struct vn_ctl *ctl);

#endif /* VN_UPDATE_H */
