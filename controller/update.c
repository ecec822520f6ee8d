/*
 * update.c - live update and fast restart: the hand-over between the running
 * controller and the one it starts.  Protocol and guarantees: update.h.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "device.h"
#include "json.h"
#include "log.h"
#include "rpc_server.h"
#include "update.h"
#include "util.h"
#include "emu.h"

#define HO_VERSION 1
#define HO_MAX_FDS 250            /* below the kernel's SCM_MAX_FD (253) */
#define HO_MAX_MSG (256 * 1024)
#define HO_START_TIMEOUT_MS 120000 /* new process: start-up with every device restored */
#define HO_STEP_TIMEOUT_MS 10000   /* one device, the commit */

/* ---- messages ------------------------------------------------------------------------ */

/* Sends 'msg' (consumed) with 'nfds' fds. */
static int ho_send(int sock, cJSON *msg, const int *fds, unsigned nfds)
{
    char *text = cJSON_PrintUnformatted(msg);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * HO_MAX_FDS)];
    } u;
    struct iovec iov;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    cJSON_Delete(msg);
    if (!text)
        return -ENOMEM;
    iov.iov_base = text;
    iov.iov_len = strlen(text);
    if (nfds > HO_MAX_FDS || iov.iov_len > HO_MAX_MSG) {
        free(text);
        return -E2BIG;
    }
    if (nfds)
        vn_msg_put_fds(&mh, u.buf, fds, nfds);
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    free(text);
    return n < 0 ? -errno : 0;
}

static void close_fds(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/*
 * Receives one message within 'timeout_ms': '*msg' (caller deletes) and its
 * fds (caller owns).  -ETIMEDOUT, -ECONNRESET (the other side is gone),
 * -EPROTO (truncated, not JSON, no "type").
 */
static int ho_recv(int sock, int timeout_ms, cJSON **msg, int *fds, unsigned *nfds)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * HO_MAX_FDS)];
    } u;
    struct pollfd pfd = { .fd = sock, .events = POLLIN };
    char *buf = malloc(HO_MAX_MSG + 1);
    struct iovec iov = { buf, HO_MAX_MSG };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *c;
    ssize_t n;
    int ret;

    *msg = NULL;
    *nfds = 0;
    if (!buf)
        return -ENOMEM;
    do
        ret = poll(&pfd, 1, timeout_ms);
    while (ret < 0 && errno == EINTR);
    if (ret <= 0) {
        free(buf);
        return ret == 0 ? -ETIMEDOUT : -errno;
    }
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    for (c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

            memcpy(fds + *nfds, CMSG_DATA(c), k * sizeof(int));
            *nfds += k;
        }
    }
    if (n <= 0) {
        free(buf);
        return n == 0 ? -ECONNRESET : -errno;
    }
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        close_fds(fds, *nfds);
        *nfds = 0;
        free(buf);
        return -EPROTO;
    }
    buf[n] = '\0';
    *msg = cJSON_Parse(buf);
    free(buf);
    if (!*msg || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*msg, "type"))) {
        cJSON_Delete(*msg);
        *msg = NULL;
        close_fds(fds, *nfds);
        *nfds = 0;
        return -EPROTO;
    }
    return 0;
}

static bool is_type(const cJSON *msg, const char *type)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "type");

    return cJSON_IsString(t) && !strcmp(t->valuestring, type);
}

static const char *str_of(const cJSON *msg, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static cJSON *msg_new(const char *type)
{
    cJSON *m = cJSON_CreateObject();

    vn_json_add_str(m, "type", type);
    return m;
}

/* An fd that arrived is what the message says it is. */
static bool fd_is(int fd, mode_t type)
{
    struct stat st;

    return fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

/* ---- new process ----------------------------------------------------------------------- */

int vn_update_receive_hello(struct vn_ctl *ctl)
{
    struct vn_ctl_update *u = &ctl->upd;
    int fds[HO_MAX_FDS];
    unsigned nfds;
    cJSON *msg;
    int ret;

    ret = ho_recv(u->fd, HO_STEP_TIMEOUT_MS, &msg, fds, &nfds);
    if (ret < 0 || !is_type(msg, "hello") || vn_json_member_u64(msg, "version") != HO_VERSION || nfds != 2 ||
        !fd_is(fds[0], S_IFREG) || !fd_is(fds[1], S_IFSOCK)) {
        VN_ERR(UPD, "hand-over: no valid hello from the running controller (%s)",
               ret < 0 ? strerror(-ret) : "wrong message or fds");
        cJSON_Delete(msg);
        close_fds(fds, nfds);
        return ret < 0 ? ret : -EPROTO;
    }
    ctl->lock_fd = fds[0];
    u->rpc_fd = fds[1];
    u->old_pid = (pid_t)vn_json_member_u64(msg, "pid");
    cJSON_Delete(msg);
    for (;;) {
        ret = ho_recv(u->fd, HO_STEP_TIMEOUT_MS, &msg, fds, &nfds);
        if (ret == 0 && is_type(msg, "hello_end")) {
            cJSON_Delete(msg);
            break;
        }
        if (ret < 0 || !is_type(msg, "listen") || nfds != 1 || !fd_is(fds[0], S_IFSOCK) ||
            strlen(str_of(msg, "vuid")) >= VN_VUID_MAX) {
            VN_ERR(UPD, "hand-over: bad listening socket message (%s)",
                   ret < 0 ? strerror(-ret) : "wrong message or fd");
            cJSON_Delete(msg);
            close_fds(fds, nfds);
            return ret < 0 ? ret : -EPROTO;
        }
        void *grown = realloc(u->listen, (u->nlisten + 1) * sizeof(*u->listen));

        if (!grown) {
            cJSON_Delete(msg);
            close(fds[0]);
            return -ENOMEM;
        }
        u->listen = grown;
        snprintf(u->listen[u->nlisten].vuid, VN_VUID_MAX, "%s", str_of(msg, "vuid"));
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
    m = msg_new("ready");
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
        if (is_type(msg, "commit")) {
            cJSON_Delete(msg);
            close_fds(fds, nfds);
            break;
        }
        dev = vn_dev_find_vuid(ctl->devs, str_of(msg, "vuid"));
        session = cJSON_GetObjectItemCaseSensitive(msg, "session");
        if (!is_type(msg, "device") || !dev || !dev->fn || !cJSON_IsObject(session)) {
            VN_ERR(UPD, "hand-over: unexpected message for device '%s'", str_of(msg, "vuid"));
            cJSON_Delete(msg);
            close_fds(fds, nfds);
            return -EPROTO;
        }
        ret = vn_emu_fn_import(dev->fn, session, fds, nfds);
        close_fds(fds, nfds);
        m = msg_new(ret < 0 ? "fail" : "moved");
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
    ret = ho_send(u->fd, msg_new("committed"), NULL, 0);
    VN_INFO(UPD, "hand-over committed: %u devices moved from pid %d", moved, (int)u->old_pid);
    return ret < 0 ? ret : 0;
}

/* ---- old process ----------------------------------------------------------------------- */

struct devlist {
    struct vn_device **v;
    unsigned n, cap;
};

static void collect(struct vn_device *dev, void *ctx)
{
    struct devlist *l = ctx;

    if (!dev->fn)
        return;
    if (l->n == l->cap) {
        unsigned cap = l->cap ? 2 * l->cap : 64;
        void *g = realloc(l->v, cap * sizeof(*l->v));

        if (!g)
            return;
        l->v = g;
        l->cap = cap;
    }
    l->v[l->n++] = dev;
}

/* Starts 'binary' with our paths and its end of the hand-over socket; returns its pid. */
static pid_t spawn(struct vn_ctl *ctl, const char *binary, int child_fd)
{
    char fdarg[32];
    char *argv[20];
    int n = 0;
    pid_t pid;

    snprintf(fdarg, sizeof(fdarg), "--handover-fd=%d", child_fd);
    /* execv() takes char *const[] and does not write to them. */
    argv[n++] = (char *)(uintptr_t)binary;
    argv[n++] = (char *)(uintptr_t)"--foreground";
    argv[n++] = fdarg;
    argv[n++] = (char *)(uintptr_t)"--state-dir";
    argv[n++] = ctl->state_dir;
    argv[n++] = (char *)(uintptr_t)"--socket";
    argv[n++] = ctl->rpc_socket;
    argv[n++] = (char *)(uintptr_t)"--provider-lib-dir";
    argv[n++] = ctl->provider_lib_dir;
    argv[n++] = (char *)(uintptr_t)"--update-binary";
    argv[n++] = ctl->update_binary;
    if (ctl->has_config_file) {
        argv[n++] = (char *)(uintptr_t)"--config";
        argv[n++] = ctl->config_path;
    }
    if (ctl->log_level_arg[0]) {
        argv[n++] = (char *)(uintptr_t)"--log-level";
        argv[n++] = ctl->log_level_arg;
    }
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        sigset_t none;

        /* Its own session: it outlives us and our terminal's signals. */
        setsid();
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (fcntl(child_fd, F_SETFD, 0) < 0)
            _exit(126);
        execv(binary, argv);
        _exit(127);
    }
    return pid;
}

/*
 * Why the child failed, if it exits within a second (it closed its end): true
 * and 'buf' says how (it is reaped); false and "" when it still runs.
 */
static bool child_status(pid_t pid, char *buf, size_t len)
{
    struct timespec tick = { 0, 10 * 1000 * 1000 };
    int st, i;

    buf[0] = '\0';
    for (i = 0; i < 100 && waitpid(pid, &st, WNOHANG) != pid; i++)
        nanosleep(&tick, NULL);
    if (i == 100)
        return false;
    if (WIFEXITED(st))
        snprintf(buf, len, " (it exited with status %d%s)", WEXITSTATUS(st),
                 WEXITSTATUS(st) == 127 ? ": cannot execute it" : "");
    else if (WIFSIGNALED(st))
        snprintf(buf, len, " (it was killed by signal %d)", WTERMSIG(st));
    return true;
}

static void write_status(struct vn_ctl *ctl, cJSON *report)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    char *text = vn_json_print_pretty(report);
    FILE *f;

    if (!text || vn_snprintf(path, sizeof(path), "%s/%s", ctl->state_dir,
                             VN_UPDATE_STATUS_FILE) < 0) {
        free(text);
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "we");
    if (f) {
        fputs(text, f);
        fputc('\n', f);
        if (fclose(f) == 0)
            rename(tmp, path);
        else
            unlink(tmp);
    }
    free(text);
}

int vn_update_run(struct vn_ctl *ctl, const char *binary, cJSON **report, char *err,
                  size_t errlen)
{
    uint64_t t0 = vn_now_ns();
    struct devlist l = { 0 };
    unsigned handed = 0, nfds;
    int sv[2], fds[HO_MAX_FDS], ret;
    char why[96];
    cJSON *msg, *r, *downs;
    bool reaped = false;
    pid_t child;

    *report = NULL;
    vn_dev_for_each(ctl->devs, collect, &l);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        free(l.v);
        return -errno;
    }
    child = spawn(ctl, binary, sv[1]);
    close(sv[1]);
    if (child < 0) {
        ret = -errno;
        snprintf(err, errlen, "cannot start %s: %s", binary, strerror(errno));
        goto out_close;
    }
    VN_INFO(UPD, "live update: started %s (pid %d), handing over %u devices", binary, (int)child,
            l.n);

    /* Hello: the lock and the RPC socket, then every device's listening socket. */
    msg = msg_new("hello");
    vn_json_add_num(msg, "version", HO_VERSION);
    vn_json_add_num(msg, "pid", getpid());
    fds[0] = ctl->lock_fd;
    fds[1] = vn_rpc_server_fd(ctl->rpc);
    ret = ho_send(sv[0], msg, fds, 2);
    for (unsigned i = 0; ret == 0 && i < l.n; i++) {
        fds[0] = vn_emu_fn_listen_fd(l.v[i]->fn);
        if (fds[0] < 0)
            continue; /* the backend has nothing to adopt before restore (dummy) */
        msg = msg_new("listen");
        vn_json_add_str(msg, "vuid", l.v[i]->vuid);
        ret = ho_send(sv[0], msg, fds, 1);
    }
    if (ret == 0)
        ret = ho_send(sv[0], msg_new("hello_end"), NULL, 0);
    if (ret == 0)
        ret = ho_recv(sv[0], HO_START_TIMEOUT_MS, &msg, fds, &nfds);
    if (ret == 0 && !is_type(msg, "ready")) {
        close_fds(fds, nfds);
        ret = -EPROTO;
    }
    cJSON_Delete(msg);
    if (ret < 0) {
        reaped = child_status(child, why, sizeof(why));
        snprintf(err, errlen, "the new controller failed before taking over: %s%s",
                 ret == -ECONNRESET ? "it went away" : strerror(-ret), why);
        goto out_abort;
    }

    /* Device by device: stop here, move, run there. */
    downs = cJSON_CreateArray();
    for (unsigned i = 0; i < l.n; i++) {
        struct vn_device *dev = l.v[i];
        uint64_t t_stop;
        cJSON *session, *d;

        ret = vn_emu_fn_export(dev->fn, &session, fds, &nfds, HO_MAX_FDS);
        if (ret < 0) {
            snprintf(err, errlen, "%s: cannot describe its session: %s", dev->vuid,
                     strerror(-ret));
            cJSON_Delete(downs);
            goto out_abort;
        }
        t_stop = vn_now_ns();
        handed = i + 1; /* its rings are stopped: resumed on failure */
        vn_emu_fn_handed_over(dev->fn);
        msg = msg_new("device");
        vn_json_add_str(msg, "vuid", dev->vuid);
        vn_json_add(msg, "session", session);
        ret = ho_send(sv[0], msg, fds, nfds);
        if (ret == 0)
            ret = ho_recv(sv[0], HO_STEP_TIMEOUT_MS, &msg, fds, &nfds);
        if (ret == 0) {
            close_fds(fds, nfds);
            if (!is_type(msg, "moved") || strcmp(str_of(msg, "vuid"), dev->vuid)) {
                snprintf(err, errlen, "%s: the new controller could not take it: %s", dev->vuid,
                         str_of(msg, "error")[0] ? str_of(msg, "error") : "protocol error");
                ret = -EPROTO;
            }
        } else {
            reaped = child_status(child, why, sizeof(why));
            snprintf(err, errlen, "%s: the new controller went away during the hand-over: %s%s",
                     dev->vuid, strerror(-ret), why);
        }
        if (ret < 0) {
            cJSON_Delete(msg);
            cJSON_Delete(downs);
            goto out_abort;
        }
        d = cJSON_CreateObject();
        vn_json_add_str(d, "vuid", dev->vuid);
        vn_json_add_num(d, "downtime (ms)", (double)(vn_json_member_u64(msg, "t_start") - t_stop) / 1e6);
        vn_json_add(downs, NULL, d);
        cJSON_Delete(msg);
    }

    ret = ho_send(sv[0], msg_new("commit"), NULL, 0);
    if (ret == 0)
        ret = ho_recv(sv[0], HO_STEP_TIMEOUT_MS, &msg, fds, &nfds);
    if (ret == 0) {
        close_fds(fds, nfds);
        if (!is_type(msg, "committed"))
            ret = -EPROTO;
        cJSON_Delete(msg);
    }
    if (ret < 0) {
        snprintf(err, errlen, "the new controller did not commit: %s", strerror(-ret));
        cJSON_Delete(downs);
        goto out_abort;
    }

    /* Committed: our copies go, the sockets and taps stay for the new process. */
    for (unsigned i = 0; i < l.n; i++)
        vn_emu_fn_release(l.v[i]->fn);
    vn_rpc_server_release(ctl->rpc);
    r = cJSON_CreateObject();
    vn_json_add_str(r, "current status", "inactive");
    vn_json_add_str(r, "last status", "success");
    vn_json_add_num(r, "time_used (s)", (double)(vn_now_ns() - t0) / 1e9);
    vn_json_add_num(r, "old pid", getpid());
    vn_json_add_num(r, "new pid", child);
    vn_json_add_str(r, "binary", binary);
    vn_json_add(r, "devices", downs);
    write_status(ctl, r);
    *report = r;
    VN_INFO(UPD, "live update committed: pid %d serves %u devices; this process exits",
            (int)child, l.n);
    ret = 0;
    goto out_close;

out_abort:
    /* Everything comes back here; the child, if it still runs, goes. */
    if (!reaped) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    for (unsigned i = 0; i < handed; i++)
        vn_emu_fn_resume(l.v[i]->fn);
    r = cJSON_CreateObject();
    vn_json_add_str(r, "current status", "inactive");
    vn_json_add_str(r, "last status", "failed");
    vn_json_add_str(r, "error", err);
    vn_json_add_num(r, "time_used (s)", (double)(vn_now_ns() - t0) / 1e9);
    vn_json_add_str(r, "binary", binary);
    write_status(ctl, r);
    *report = r;
    VN_ERR(UPD, "live update failed, every device stays here: %s", err);
out_close:
    close(sv[0]);
    free(l.v);
    return ret;
}

cJSON *vn_update_status(const struct vn_ctl *ctl)
{
    char path[PATH_MAX], *text = NULL;
    size_t len;
    cJSON *r = NULL;

    if (vn_snprintf(path, sizeof(path), "%s/%s", ctl->state_dir, VN_UPDATE_STATUS_FILE) == 0 &&
        vn_read_file(path, 1 << 20, &text, &len) == 0)
        r = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(r)) {
        cJSON_Delete(r);
        r = cJSON_CreateObject();
        vn_json_add_str(r, "current status", "inactive");
        vn_json_add_str(r, "last status", "none");
    }
    if (ctl->upd.running)
        cJSON_ReplaceItemInObjectCaseSensitive(r, "current status",
                                               cJSON_CreateString("in progress"));
    return r;
}
