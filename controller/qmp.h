/*
 * qmp.h - a QMP client on the main loop, for attaching devices to the host
 * VM that stands for the DPU's host (docs/host.md).
 *
 * One operation = one connection: connect to QEMU's QMP socket, read the
 * greeting, qmp_capabilities, then run 'steps' in order and close.  A step is
 * a command ({"execute": ..., "arguments": ...}) or a wait for an event
 * ({"wait_event": "DEVICE_DELETED", "device": ID}).  Everything is
 * asynchronous: while QEMU runs `netdev_add type=vhost-user` it connects to
 * the device's vhost-user socket and waits for our answers, which this same
 * loop gives.  The whole operation is bounded by 'timeout_ms'.
 */
#ifndef VN_QMP_H
#define VN_QMP_H

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <ev.h>

/*
 * Called once at the end: 'err' 0 or -errno (-ETIMEDOUT, -ECONNREFUSED: no VM,
 * -EPROTO, -EREMOTEIO: QEMU answered an error, in 'why'); 'ret' is the
 * "return" of the last command (borrowed for the call; NULL on error).
 */
typedef void vn_qmp_done_fn(void *ctx, int err, const char *why, const cJSON *ret);

/*
 * Starts an operation; takes 'steps' (an array).  'keep_going': a command's
 * error does not stop the later steps (rollback), the first error is still
 * reported.  Returns 0 (the callback will run, never from inside this call)
 * or -errno (it will not).
 */
int vn_qmp_run(struct ev_loop *loop, const char *path, cJSON *steps, bool keep_going,
               unsigned timeout_ms, vn_qmp_done_fn *done, void *ctx);

#endif /* VN_QMP_H */
