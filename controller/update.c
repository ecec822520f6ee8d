/*
 * update.c - live update and fast restart, the running (old) process's side:
 * the hand-over to the process it starts, step by step on the main loop, and
 * the status `update -t` shows.  Protocol and guarantees: update.h; the new
 * process's side: update_follow.c.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
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
#include "emu.h"
#include "fault.h"
#include "json.h"
#include "log.h"
#include "rpc_server.h"
#include "statefile.h"
#include "update.h"
#include "update_msg.h"
#include "util.h"

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

static void write_status(struct vn_ctl *ctl, cJSON *report)
{
    char *pretty = vn_json_print_pretty(report), *text = NULL;
    int dfd, ret;

    ret = pretty ? asprintf(&text, "%s\n", pretty) : -1;
    free(pretty);
    if (ret < 0)
        return;
    /* Relative to the state dir, never through a symlink (statefile.h). */
    ret = dfd = vn_statedir_open(ctl->state_dir);
    if (ret >= 0) {
        ret = vn_statefile_replace(dfd, VN_UPDATE_STATUS_FILE, text, strlen(text), 0644);
        close(dfd);
    }
    if (ret < 0)
        VN_ERR(MAIN, "cannot write %s/%s: %s%s", ctl->state_dir, VN_UPDATE_STATUS_FILE,
               strerror(-ret), ret == -ELOOP ? " (a symlink is there: refused)" : "");
    free(text);
}

/*
 * One hand-over, driven by the main loop: each step sends what it can
 * without blocking and waits for the new process's answer with an ev_io and
 * a timer, so RPC requests and vhost-user messages keep being served while
 * the new process starts, and a new process that hangs only makes its step
 * time out.  Devices are "updating" (no unplug, modify, num_vfs) until the
 * hand-over ends either way.
 */
enum ho_phase {
    HO_HELLO,  /* sending hello, the listening sockets, hello_end */
    HO_READY,  /* waiting for "ready" (the new process restored every device) */
    HO_DEVICE, /* device 'cur' exported and sent, waiting for "moved" */
    HO_COMMIT, /* "commit" sent, waiting for "committed" */
    HO_DYING,  /* the new process went away: waiting (briefly) for its exit status */
};

struct vn_update_run {
    struct vn_ctl *ctl;
    char binary[PATH_MAX];
    vn_update_done_fn *done;
    void *done_ctx;
    struct devlist l;
    enum ho_phase phase;
    unsigned cur;          /* HO_HELLO: next message (0 hello, 1..n listen, n+1 end);
                              HO_DEVICE: the device being moved */
    unsigned handed;       /* devices whose rings are stopped here: resumed on failure */
    int sock;
    pid_t child;
    bool reaped;           /* its exit status was read (by the ev_child watcher) */
    int child_rstatus;
    int dying_ret;         /* HO_DYING: the error to report */
    char dying_why[400];
    uint64_t t0, t_stop;
    cJSON *downs;
    ev_io io;
    ev_timer timer;
    ev_child child_w;      /* the loop reaps children (SIGCHLD): this gets ours */
};

static void run_finish(struct vn_update_run *r, int ret, const char *why);

static void set_states(struct vn_update_run *r, enum vn_dev_state state)
{
    for (unsigned i = 0; i < r->l.n; i++)
        r->l.v[i]->state = state;
}

/* Waits for the socket to be readable (or writable) for at most 'ms'. */
static void run_wait(struct vn_update_run *r, int events, int ms)
{
    ev_io_stop(r->ctl->loop, &r->io);
    ev_io_set(&r->io, r->sock, events);
    ev_io_start(r->ctl->loop, &r->io);
    ev_timer_stop(r->ctl->loop, &r->timer);
    ev_timer_set(&r->timer, ms / 1000.0, 0);
    ev_timer_start(r->ctl->loop, &r->timer);
}

/* How the child ended, once it did: " (it exited with status N)", else "". */
static void run_child_why(const struct vn_update_run *r, char *why, size_t len)
{
    int st = r->child_rstatus;

    why[0] = '\0';
    if (!r->reaped)
        return;
    if (WIFEXITED(st))
        snprintf(why, len, " (it exited with status %d%s)", WEXITSTATUS(st),
                 WEXITSTATUS(st) == 127 ? ": cannot execute it" : "");
    else if (WIFSIGNALED(st))
        snprintf(why, len, " (it was killed by signal %d)", WTERMSIG(st));
}

/*
 * The new process went away ('ret'; 'why' says when): the report waits up
 * to 500 ms for its exit status so that it can say how it ended.
 */
static void run_lost(struct vn_update_run *r, int ret, const char *why)
{
    r->phase = HO_DYING;
    r->dying_ret = ret;
    vn_strlcpy(r->dying_why, why, sizeof(r->dying_why));
    ev_io_stop(r->ctl->loop, &r->io);
    ev_timer_stop(r->ctl->loop, &r->timer);
    if (r->reaped) {
        ev_feed_event(r->ctl->loop, &r->timer, EV_TIMER);
        return;
    }
    ev_timer_set(&r->timer, 0.5, 0);
    ev_timer_start(r->ctl->loop, &r->timer);
}

static void run_lost_finish(struct vn_update_run *r)
{
    char why[512], child[96];

    run_child_why(r, child, sizeof(child));
    snprintf(why, sizeof(why), "%s%s", r->dying_why, child);
    run_finish(r, r->dying_ret, why);
}

static void run_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct vn_update_run *r = vn_container_of(w, struct vn_update_run, child_w);

    (void)revents;
    ev_child_stop(loop, w);
    r->reaped = true;
    r->child_rstatus = w->rstatus;
    if (r->phase == HO_DYING)
        run_lost_finish(r);
}

/* Sends the next hello-phase messages until the socket is full or all went. */
static int run_send_hello(struct vn_update_run *r)
{
    int fds[2];
    cJSON *msg;
    int ret = 0;

    for (; r->cur <= r->l.n + 1; r->cur++) {
        if (r->cur == 0) {
            msg = ho_msg_new("hello");
            vn_json_add_num(msg, "version", HO_VERSION);
            vn_json_add_num(msg, "pid", getpid());
            fds[0] = r->ctl->lock_fd;
            fds[1] = vn_rpc_server_fd(r->ctl->rpc);
            ret = ho_send(r->sock, msg, fds, 2);
        } else if (r->cur <= r->l.n) {
            struct vn_device *dev = r->l.v[r->cur - 1];

            fds[0] = vn_emu_fn_listen_fd(dev->fn);
            if (fds[0] < 0)
                continue; /* the backend has nothing to adopt before restore (dummy) */
            msg = ho_msg_new("listen");
            vn_json_add_str(msg, "vuid", dev->vuid);
            ret = ho_send(r->sock, msg, fds, 1);
        } else {
            ret = ho_send(r->sock, ho_msg_new("hello_end"), NULL, 0);
        }
        if (ret == -EAGAIN)
            return -EAGAIN; /* the same message again once there is room */
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* Exports device 'cur', stops it here and sends it. */
static int run_send_device(struct vn_update_run *r, char *why, size_t len)
{
    struct vn_device *dev = r->l.v[r->cur];
    int fds[HO_MAX_FDS];
    unsigned nfds;
    cJSON *session, *msg;
    int ret;

    if (vn_fault("update_device")) {
        snprintf(why, len, "%s: fault injected at update_device", dev->vuid);
        return -EIO;
    }
    ret = vn_emu_fn_export(dev->fn, &session, fds, &nfds, HO_MAX_FDS);
    if (ret < 0) {
        snprintf(why, len, "%s: cannot describe its session: %s", dev->vuid, strerror(-ret));
        return ret;
    }
    r->t_stop = vn_now_ns();
    r->handed = r->cur + 1; /* its rings are stopped: resumed on failure */
    vn_emu_fn_handed_over(dev->fn);
    msg = ho_msg_new("device");
    vn_json_add_str(msg, "vuid", dev->vuid);
    vn_json_add(msg, "session", session);
    /* One message; a full socket here means the new process stopped reading. */
    ret = ho_send(r->sock, msg, fds, nfds);
    if (ret < 0)
        snprintf(why, len, "%s: cannot send its session: %s", dev->vuid, strerror(-ret));
    return ret;
}

/* The next step after the previous one completed. */
static void run_next(struct vn_update_run *r)
{
    char why[512] = "";
    int ret;

    if (r->phase == HO_HELLO) {
        ret = run_send_hello(r);
        if (ret == -EAGAIN) {
            run_wait(r, EV_WRITE, HO_STEP_TIMEOUT_MS);
            return;
        }
        if (ret < 0) {
            snprintf(why, sizeof(why), "the new controller failed before taking over: %s",
                     ret == -EPIPE || ret == -ECONNRESET ? "it went away" : strerror(-ret));
            run_lost(r, ret, why);
            return;
        }
        r->phase = HO_READY;
        run_wait(r, EV_READ, HO_START_TIMEOUT_MS);
        return;
    }
    if (r->cur < r->l.n) {
        r->phase = HO_DEVICE;
        ret = run_send_device(r, why, sizeof(why));
        if (ret < 0) {
            run_finish(r, ret, why);
            return;
        }
        run_wait(r, EV_READ, HO_STEP_TIMEOUT_MS);
        return;
    }
    r->phase = HO_COMMIT;
    if (vn_fault("update_commit")) {
        run_finish(r, -EIO, "fault injected at update_commit");
        return;
    }
    ret = ho_send(r->sock, ho_msg_new("commit"), NULL, 0);
    if (ret < 0) {
        run_finish(r, ret, "cannot send commit");
        return;
    }
    run_wait(r, EV_READ, HO_STEP_TIMEOUT_MS);
}

/* An answer from the new process (or its end of the socket closed). */
static void run_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct vn_update_run *r = vn_container_of(w, struct vn_update_run, io);
    char why[512];
    int fds[HO_MAX_FDS];
    unsigned nfds;
    cJSON *msg, *d;
    int ret;

    (void)loop;
    if (r->phase == HO_HELLO) {
        if (revents & EV_WRITE)
            run_next(r);
        return;
    }
    ret = ho_recv(r->sock, 0, &msg, fds, &nfds);
    if (ret == -ETIMEDOUT)
        return; /* spurious wake-up */
    if (ret == 0)
        ho_close_fds(fds, nfds); /* the new process sends no fds */
    if (ret < 0) {
        const char *how = ret == -ECONNRESET ? "it went away" : strerror(-ret);

        if (r->phase == HO_READY)
            snprintf(why, sizeof(why), "the new controller failed before taking over: %s", how);
        else
            snprintf(why, sizeof(why), "the new controller went away during the hand-over: %s",
                     how);
        run_lost(r, ret, why);
        return;
    }
    switch (r->phase) {
    case HO_READY:
        if (!ho_is_type(msg, "ready")) {
            cJSON_Delete(msg);
            run_finish(r, -EPROTO, "the new controller failed before taking over: protocol error");
            return;
        }
        r->cur = 0;
        break;
    case HO_DEVICE:
        if (!ho_is_type(msg, "moved") || strcmp(ho_str_of(msg, "vuid"), r->l.v[r->cur]->vuid)) {
            snprintf(why, sizeof(why), "%s: the new controller could not take it: %s",
                     r->l.v[r->cur]->vuid,
                     ho_str_of(msg, "error")[0] ? ho_str_of(msg, "error") : "protocol error");
            cJSON_Delete(msg);
            run_finish(r, -EPROTO, why);
            return;
        }
        d = cJSON_CreateObject();
        vn_json_add_str(d, "vuid", r->l.v[r->cur]->vuid);
        vn_json_add_num(d, "downtime (ms)",
                        (double)(vn_json_member_u64(msg, "t_start") - r->t_stop) / 1e6);
        vn_json_add(r->downs, NULL, d);
        r->cur++;
        break;
    case HO_COMMIT:
        if (!ho_is_type(msg, "committed")) {
            cJSON_Delete(msg);
            run_finish(r, -EPROTO, "the new controller did not commit: protocol error");
            return;
        }
        cJSON_Delete(msg);
        run_finish(r, 0, NULL);
        return;
    case HO_HELLO:
    case HO_DYING:
        break;
    }
    cJSON_Delete(msg);
    run_next(r);
}

static void run_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct vn_update_run *r = vn_container_of(w, struct vn_update_run, timer);
    char why[512];

    (void)loop;
    (void)revents;
    if (r->phase == HO_DYING) {
        run_lost_finish(r);
        return;
    }
    snprintf(why, sizeof(why), "the new controller did not answer within %d s %s",
             (r->phase == HO_READY ? HO_START_TIMEOUT_MS : HO_STEP_TIMEOUT_MS) / 1000,
             r->phase == HO_HELLO    ? "(it does not read the hello)"
             : r->phase == HO_READY  ? "(start-up with every device restored)"
             : r->phase == HO_DEVICE ? "(taking a device)"
                                     : "(commit)");
    run_finish(r, -ETIMEDOUT, why);
}

/* Status while it runs: merged into the status object by vn_update_status(). */
static void run_progress(const struct vn_update_run *r, cJSON *o)
{
    static const char *const phases[] = {
        [HO_HELLO] = "starting", [HO_READY] = "restoring",
        [HO_DEVICE] = "moving devices", [HO_COMMIT] = "committing",
        [HO_DYING] = "failing",
    };

    vn_json_add_str(o, "phase", phases[r->phase]);
    vn_json_add_num(o, "devices moved", r->phase == HO_DEVICE ? r->cur :
                                        r->phase == HO_COMMIT ? r->l.n : 0);
    vn_json_add_num(o, "devices total", r->l.n);
    vn_json_add_num(o, "new pid", r->child);
    vn_json_add_str(o, "binary", r->binary);
    vn_json_add_num(o, "time_used (s)", (double)(vn_now_ns() - r->t0) / 1e9);
}

/* The status object both key sets name: v24.07's and v24.10's. */
static void status_keys(cJSON *o, const char *current, const char *last)
{
    vn_json_add_str(o, "current status", current);
    vn_json_add_str(o, "last status", last);
    vn_json_add_str(o, "status", current);
    vn_json_add_str(o, "last live update status", last);
}

/*
 * Ends the run: 'ret' 0 (committed: our copies go, the sockets and taps stay
 * for the new process, and 'done' tells the RPC layer to answer and leave)
 * or -errno and 'why' (the child goes; every device handed over is served
 * here again).  Frees 'r'.
 */
static void run_finish(struct vn_update_run *r, int ret, const char *why)
{
    struct vn_ctl *ctl = r->ctl;
    cJSON *rep = cJSON_CreateObject();

    ev_io_stop(ctl->loop, &r->io);
    ev_timer_stop(ctl->loop, &r->timer);
    ev_child_stop(ctl->loop, &r->child_w);
    if (ret == 0) {
        for (unsigned i = 0; i < r->l.n; i++)
            vn_emu_fn_release(r->l.v[i]->fn);
        vn_rpc_server_release(ctl->rpc);
        status_keys(rep, "inactive", "success");
        vn_json_add_num(rep, "time_used (s)", (double)(vn_now_ns() - r->t0) / 1e9);
        vn_json_add_num(rep, "old pid", getpid());
        vn_json_add_num(rep, "new pid", r->child);
        vn_json_add_str(rep, "binary", r->binary);
        vn_json_add(rep, "devices", r->downs);
        r->downs = NULL;
        VN_INFO(UPD, "live update committed: pid %d serves %u devices; this process exits",
                (int)r->child, r->l.n);
    } else {
        if (!r->reaped) {
            /* Not reaped yet, so the pid is still ours.  The loop reaps it later. */
            kill(r->child, SIGKILL);
        }
        for (unsigned i = 0; i < r->handed; i++)
            vn_emu_fn_resume(r->l.v[i]->fn);
        status_keys(rep, "inactive", "failed");
        vn_json_add_str(rep, "error", why);
        vn_json_add_num(rep, "time_used (s)", (double)(vn_now_ns() - r->t0) / 1e9);
        vn_json_add_str(rep, "binary", r->binary);
        VN_ERR(UPD, "live update failed, every device stays here: %s", why);
    }
    set_states(r, VN_DEV_S_READY);
    write_status(ctl, rep);
    close(r->sock);
    ctl->upd.run = NULL;
    r->done(r->done_ctx, ret, rep, why);
    cJSON_Delete(r->downs);
    free(r->l.v);
    free(r);
}

int vn_update_start(struct vn_ctl *ctl, const char *binary, vn_update_done_fn *done, void *ctx,
                    char *err, size_t errlen)
{
    struct vn_update_run *r;
    int sv[2];

    if (ctl->upd.run) {
        snprintf(err, errlen, "busy: %s: a live update is already under way",
                 vn_dev_state_name(VN_DEV_S_UPDATING));
        return -EBUSY;
    }
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->ctl = ctl;
    r->done = done;
    r->done_ctx = ctx;
    r->t0 = vn_now_ns();
    vn_strlcpy(r->binary, binary, sizeof(r->binary));
    vn_dev_for_each(ctl->devs, collect, &r->l);
    for (unsigned i = 0; i < r->l.n; i++) {
        if (r->l.v[i]->state != VN_DEV_S_READY) {
            snprintf(err, errlen, "busy: %s: %s must be ready for a live update",
                     vn_dev_state_name(r->l.v[i]->state), r->l.v[i]->vuid);
            free(r->l.v);
            free(r);
            return -EBUSY;
        }
    }
    r->downs = cJSON_CreateArray();
    if (!r->downs || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        int e = r->downs ? -errno : -ENOMEM;

        snprintf(err, errlen, "socketpair: %s", strerror(-e));
        cJSON_Delete(r->downs);
        free(r->l.v);
        free(r);
        return e;
    }
    r->child = spawn(ctl, binary, sv[1]);
    close(sv[1]);
    if (r->child < 0) {
        int e = -errno;

        snprintf(err, errlen, "cannot start %s: %s", binary, strerror(-e));
        close(sv[0]);
        cJSON_Delete(r->downs);
        free(r->l.v);
        free(r);
        return e;
    }
    /* Our end never blocks the loop: a full socket waits for EV_WRITE. */
    r->sock = sv[0];
    (void)fcntl(r->sock, F_SETFL, fcntl(r->sock, F_GETFL) | O_NONBLOCK);
    ev_io_init(&r->io, run_io_cb, r->sock, EV_READ);
    ev_timer_init(&r->timer, run_timer_cb, 0, 0);
    ev_child_init(&r->child_w, run_child_cb, r->child, 0);
    ev_child_start(ctl->loop, &r->child_w);
    ctl->upd.run = r;
    set_states(r, VN_DEV_S_UPDATING);
    VN_INFO(UPD, "live update: started %s (pid %d), handing over %u devices", binary,
            (int)r->child, r->l.n);
    r->phase = HO_HELLO;
    run_next(r);
    return 0;
}

cJSON *vn_update_status(const struct vn_ctl *ctl)
{
    char *text = NULL;
    size_t len;
    cJSON *r = NULL;
    int dfd;

    /* Read as it is written: relative to the state dir, never through a symlink. */
    dfd = vn_statedir_open(ctl->state_dir);
    if (dfd >= 0 && vn_statefile_read(dfd, VN_UPDATE_STATUS_FILE, 1 << 20, &text, &len) == 0)
        r = cJSON_Parse(text);
    if (dfd >= 0)
        close(dfd);
    free(text);
    if (!cJSON_IsObject(r)) {
        cJSON_Delete(r);
        r = cJSON_CreateObject();
        status_keys(r, "inactive", "none");
    }
    if (ctl->upd.run) {
        /* The last outcome stays under its key; what runs now replaces the rest. */
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(r, "last status");
        cJSON *now = cJSON_CreateObject();

        status_keys(now, "in progress", cJSON_IsString(last) ? last->valuestring : "none");
        run_progress(ctl->upd.run, now);
        cJSON_Delete(r);
        r = now;
    }
    return r;
}
