/*
 * update_follow.c - live update, the new process's side: the hello with the
 * lock, the RPC socket and every device's listening socket, then each
 * device's session until commit.  Protocol and guarantees: update.h.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "device.h"
#include "emu.h"
#include "json.h"
#include "log.h"
#include "update.h"
#include "update_msg.h"
#include "util.h"

int vn_update_receive_hello(struct vn_ctl *ctl)
{
    struct vn_ctl_update *u = &ctl->upd;
    int fds[HO_MAX_FDS];
    unsigned nfds;
    cJSON *msg;
    int ret;

    ret = ho_recv(u->fd, HO_STEP_TIMEOUT_MS, &msg, fds, &nfds);
    if (ret < 0 || !ho_is_type(msg, "hello") || vn_json_member_u64(msg, "version") != HO_VERSION || nfds != 2 ||
        !ho_fd_is(fds[0], S_IFREG) || !ho_fd_is(fds[1], S_IFSOCK)) {
        VN_ERR(UPD, "hand-over: no valid hello from the running controller (%s)",
               ret < 0 ? strerror(-ret) : "wrong message or fds");
        cJSON_Delete(msg);
        ho_close_fds(fds, nfds);
        return ret < 0 ? ret : -EPROTO;
    }
    ctl->lock_fd = fds[0];
    u->rpc_fd = fds[1];
    u->old_pid = (pid_t)vn_json_member_u64(msg, "pid");
    cJSON_Delete(msg);
    for (;;) {
        ret = ho_recv(u->fd, HO_STEP_TIMEOUT_MS, &msg, fds, &nfds);
        if (ret == 0 && ho_is_type(msg, "hello_end")) {
            cJSON_Delete(msg);
            break;
        }
        if (ret < 0 || !ho_is_type(msg, "listen") || nfds != 1 || !ho_fd_is(fds[0], S_IFSOCK) ||
            strlen(ho_str_of(msg, "vuid")) >= VN_VUID_MAX) {
            VN_ERR(UPD, "hand-over: bad listening socket message (%s)",
                   ret < 0 ? strerror(-ret) : "wrong message or fd");
            cJSON_Delete(msg);
            ho_close_fds(fds, nfds);
            return ret < 0 ? ret : -EPROTO;
        }
        void *grown = realloc(u->listen, (u->nlisten + 1) * sizeof(*u->listen));

        if (!grown) {
            cJSON_Delete(msg);
            close(fds[0]);
            return -ENOMEM;
        }
        u->listen = grown;
        snprintf(u->listen[u->nlisten].vuid, VN_VUID_MAX, "%s", ho_str_of(msg, "vuid"));
        u->listen[u->nlisten].fd = fds[0];
        u->nlisten++;
        cJSON_Delete(msg);
    }
    VN_INFO(UPD, "hand-over from pid %d: %u device sockets", (int)u->old_pid, u->nlisten);
    return 0;
}

int vn_update_adopt_listen(void *ctx, const char *vuid)
{
    struct vn_ctl_update *u = &((struct vn_ctl *)ctx)->upd;

    /* Committed (or never started): a device made now is a new one, nothing to adopt. */
    if (u->fd < 0)
        return -ESRCH;
    for (unsigned i = 0; i < u->nlisten; i++) {
        if (u->listen[i].fd >= 0 && !strcmp(u->listen[i].vuid, vuid)) {
            int fd = u->listen[i].fd;

            u->listen[i].fd = -1;
            return fd;
        }
    }
    return -1;
}

/* Devices the old process did not hand over (none, normally): serve their sockets as they are. */
static void serve_rest(struct vn_device *dev, void *ctx)
{
    vn_emu_fn_serve_adopted(dev->fn);
}

int vn_update_follow(struct vn_ctl *ctl)
{
    struct vn_ctl_update *u = &ctl->upd;
    int fds[HO_MAX_FDS];
    unsigned nfds, moved = 0;
    cJSON *msg, *m;
    int ret;

    /* Sockets of devices that did not come back from the recovery files. */
    for (unsigned i = 0; i < u->nlisten; i++) {
        if (u->listen[i].fd >= 0) {
            VN_WARN(UPD, "hand-over: %s has no recovery file here; its socket is dropped",
                    u->listen[i].vuid);
            close(u->listen[i].fd);
            u->listen[i].fd = -1;
        }
    }
    m = ho_msg_new("ready");
    vn_json_add_num(m, "pid", getpid());
    ret = ho_send(u->fd, m, NULL, 0);
    if (ret < 0)
        return ret;
    for (;;) {
        struct vn_device *dev;
        const cJSON *session;

        ret = ho_recv(u->fd, HO_STEP_TIMEOUT_MS, &msg, fds, &nfds);
        if (ret < 0) {
            VN_ERR(UPD, "hand-over: the running controller went away: %s", strerror(-ret));
            return ret;
        }
        if (ho_is_type(msg, "commit")) {
            cJSON_Delete(msg);
            ho_close_fds(fds, nfds);
            break;
        }
        dev = vn_dev_find_vuid(ctl->devs, ho_str_of(msg, "vuid"));
        session = cJSON_GetObjectItemCaseSensitive(msg, "session");
        if (!ho_is_type(msg, "device") || !dev || !dev->fn || !cJSON_IsObject(session)) {
            VN_ERR(UPD, "hand-over: unexpected message for device '%s'", ho_str_of(msg, "vuid"));
            cJSON_Delete(msg);
            ho_close_fds(fds, nfds);
            return -EPROTO;
        }
        ret = vn_emu_fn_import(dev->fn, session, fds, nfds);
        ho_close_fds(fds, nfds);
        m = ho_msg_new(ret < 0 ? "fail" : "moved");
        vn_json_add_str(m, "vuid", dev->vuid);
        vn_json_add_u64_str(m, "t_start", vn_now_ns());
        if (ret < 0)
            vn_json_add_str(m, "error", strerror(-ret));
        cJSON_Delete(msg);
        if (ho_send(u->fd, m, NULL, 0) < 0 || ret < 0)
            return ret < 0 ? ret : -ECONNRESET;
        moved++;
    }
    vn_dev_for_each(ctl->devs, serve_rest, NULL);
    ret = ho_send(u->fd, ho_msg_new("committed"), NULL, 0);
    VN_INFO(UPD, "hand-over committed: %u devices moved from pid %d", moved, (int)u->old_pid);
    return ret < 0 ? ret : 0;
}
