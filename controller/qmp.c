/*
 * qmp.c - a QMP client on the main loop (see qmp.h).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "qmp.h"
#include "util.h"

#define QMP_MAX_LINE (1 << 20)

enum qmp_state { QMP_GREETING, QMP_CAPS, QMP_STEP };

struct qmp_op {
    struct ev_loop *loop;
    int fd;
    ev_io io;
    ev_timer timer;
    cJSON *steps;
    int step;                  /* index of the running step */
    enum qmp_state state;
    bool keep_going;
    bool finished;             /* op_end() was called: reaped when the callback returns */
    int first_err;
    char why[256];
    cJSON *last_ret;
    char *buf;                 /* received bytes not yet a whole line */
    size_t len;
    vn_qmp_done_fn *done;
    void *ctx;
};

/* Marks the operation over; the loop callback that got here reaps it (op_reap). */
static void op_finish(struct qmp_op *op, int err)
{
    if (op->finished)
        return;
    op->finished = true;
    if (err && !op->first_err)
        op->first_err = err;
}

/* Tells the owner and frees the operation. */
static void op_reap(struct qmp_op *op)
{
    ev_io_stop(op->loop, &op->io);
    ev_timer_stop(op->loop, &op->timer);
    close(op->fd);
    op->done(op->ctx, op->first_err, op->why, op->first_err ? NULL : op->last_ret);
    cJSON_Delete(op->last_ret);
    cJSON_Delete(op->steps);
    free(op->buf);
    free(op);
}

static int op_send(struct qmp_op *op, const cJSON *cmd)
{
    char *text = cJSON_PrintUnformatted(cmd);
    size_t len, off = 0;

    if (!text)
        return -ENOMEM;
    len = strlen(text);
    text[len] = '\n'; /* cJSON's terminator becomes the line end */
    len++;
    /* Commands are small and QEMU reads them at once: a short blocking write is fine. */
    while (off < len) {
        ssize_t n = write(op->fd, text + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = -errno;

            free(text);
            return err;
        }
        off += (size_t)n;
    }
    free(text);
    return 0;
}

/* Sends the next step's command (an event step just waits); finishes when none is left. */
static void op_next(struct qmp_op *op)
{
    const cJSON *s = cJSON_GetArrayItem(op->steps, op->step);
    int ret;

    if (!s) {
        op_finish(op, 0);
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(s, "wait_event"))
        return;
    VN_DBG(HOST, "QMP: %s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "execute")));
    ret = op_send(op, s);
    if (ret < 0) {
        snprintf(op->why, sizeof(op->why), "cannot send to QEMU: %s", strerror(-ret));
        op_finish(op, ret);
    }
}

/* The step is done (a return or the awaited event): on to the next. */
static void step_done(struct qmp_op *op)
{
    op->step++;
    op_next(op);
}

/* One JSON line from QEMU. */
static void on_line(struct qmp_op *op, cJSON *m)
{
    const cJSON *s = cJSON_GetArrayItem(op->steps, op->step);
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(m, "event");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(m, "error");
    const cJSON *ret = cJSON_GetObjectItemCaseSensitive(m, "return");

    switch (op->state) {
    case QMP_GREETING:
        if (!cJSON_GetObjectItemCaseSensitive(m, "QMP")) {
            snprintf(op->why, sizeof(op->why), "not a QMP greeting");
            op_finish(op, -EPROTO);
            return;
        }
        op->state = QMP_CAPS;
        {
            cJSON *caps = cJSON_CreateObject();
            int r;

            vn_json_add_str(caps, "execute", "qmp_capabilities");
            r = op_send(op, caps);
            cJSON_Delete(caps);
            if (r < 0)
                op_finish(op, r);
        }
        return;
    case QMP_CAPS:
        if (ev)
            return;
        if (!ret) {
            snprintf(op->why, sizeof(op->why), "qmp_capabilities refused");
            op_finish(op, -EPROTO);
            return;
        }
        op->state = QMP_STEP;
        op_next(op);
        return;
    case QMP_STEP:
        break;
    }
    if (ev) {
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(s, "wait_event");
        const cJSON *dev = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(m, "data"), "device");

        if (cJSON_IsString(want) && cJSON_IsString(ev) && !strcmp(want->valuestring, ev->valuestring) &&
            cJSON_IsString(dev) &&
            !strcmp(dev->valuestring,
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "device")) ?: ""))
            step_done(op);
        return;
    }
    if (err) {
        const char *desc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "desc"));
        const char *cmd = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "execute"));

        if (!op->first_err) {
            op->first_err = -EREMOTEIO;
            snprintf(op->why, sizeof(op->why), "QEMU refused %s: %s", cmd ? cmd : "?",
                     desc ? desc : "no reason given");
        }
        VN_WARN(HOST, "QMP %s: %s", cmd ? cmd : "?", desc ? desc : "error");
        if (!op->keep_going)
            op_finish(op, -EREMOTEIO);
        else
            step_done(op);
        return;
    }
    if (ret) {
        cJSON_Delete(op->last_ret);
        op->last_ret = cJSON_Duplicate(ret, true);
        step_done(op);
    }
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct qmp_op *op = vn_container_of(w, struct qmp_op, io);
    char chunk[4096];
    ssize_t n = read(op->fd, chunk, sizeof(chunk));
    char *nl;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        snprintf(op->why, sizeof(op->why), "QEMU closed the QMP connection%s",
                 n < 0 ? " (error)" : "");
        op_finish(op, -ECONNRESET);
        op_reap(op);
        return;
    }
    if (op->len + (size_t)n > QMP_MAX_LINE) {
        snprintf(op->why, sizeof(op->why), "QMP line too long");
        op_finish(op, -EPROTO);
        op_reap(op);
        return;
    }
    {
        char *g = realloc(op->buf, op->len + (size_t)n + 1);

        if (!g) {
            op_finish(op, -ENOMEM);
            op_reap(op);
            return;
        }
        op->buf = g;
    }
    memcpy(op->buf + op->len, chunk, (size_t)n);
    op->len += (size_t)n;
    op->buf[op->len] = '\0';
    while (!op->finished && (nl = memchr(op->buf, '\n', op->len))) {
        size_t line = (size_t)(nl - op->buf) + 1;
        cJSON *m;

        *nl = '\0';
        m = cJSON_Parse(op->buf);
        memmove(op->buf, op->buf + line, op->len - line + 1);
        op->len -= line;
        if (m)
            on_line(op, m);
        cJSON_Delete(m);
    }
    if (op->finished)
        op_reap(op);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct qmp_op *op = vn_container_of(w, struct qmp_op, timer);
    const cJSON *s = cJSON_GetArrayItem(op->steps, op->step);
    const char *what = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "execute"));

    if (!what)
        what = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "wait_event"));
    snprintf(op->why, sizeof(op->why), "QEMU did not answer in time (%s)",
             op->state == QMP_STEP && what ? what : "greeting");
    op_finish(op, -ETIMEDOUT);
    op_reap(op);
}

int vn_qmp_run(struct ev_loop *loop, const char *path, cJSON *steps, bool keep_going,
               unsigned timeout_ms, vn_qmp_done_fn *done, void *ctx)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct qmp_op *op;
    int fd, ret;

    if (!cJSON_IsArray(steps) || strlen(path) >= sizeof(sa.sun_path)) {
        cJSON_Delete(steps);
        return -EINVAL;
    }
    memcpy(sa.sun_path, path, strlen(path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cJSON_Delete(steps);
        return -errno;
    }
    /* A local socket connects at once or not at all. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        ret = -errno;
        close(fd);
        cJSON_Delete(steps);
        return ret;
    }
    op = calloc(1, sizeof(*op));
    if (!op) {
        close(fd);
        cJSON_Delete(steps);
        return -ENOMEM;
    }
    op->loop = loop;
    op->fd = fd;
    op->steps = steps;
    op->keep_going = keep_going;
    op->done = done;
    op->ctx = ctx;
    ev_io_init(&op->io, io_cb, fd, EV_READ);
    ev_io_start(loop, &op->io);
    ev_timer_init(&op->timer, timer_cb, timeout_ms / 1000.0, 0);
    ev_timer_start(loop, &op->timer);
    return 0;
}
