/*
 * sw_worker.c - one datapath thread of the `sw` provider; see sw.h.
 *
 * The thread sleeps in epoll_wait() on its command eventfd, the kick eventfd
 * of every queue it serves and the tap fd of every receive queue that has
 * guest buffers.  An event marks the queue pending; each pass of the loop
 * gives every pending queue one round (at most SW_BATCH frames), so a busy
 * queue cannot starve the others, and polls epoll without sleeping while any
 * queue is still pending.  Interrupts a queue holds back for moderation are
 * sent when their deadline passes (the epoll timeout is the nearest one).
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sw.h"
#include "util.h"

#define SW_MAX_EVENTS 64

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- epoll set ----------------------------------------------------------------- */

static int watch(struct sw_worker *w, int fd, struct sw_src *src)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };

    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void unwatch(struct sw_worker *w, int fd)
{
    /* Fails only for an fd not in the set: nothing to undo then. */
    (void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int tap_watch(struct sw_queue *q, bool on)
{
    int ret = 0;

    if (q->is_tx || q->tap_polled == on)
        return 0;
    if (on)
        ret = watch(q->w, q->tap_fd, &q->tap_src);
    else
        unwatch(q->w, q->tap_fd);
    if (ret == 0)
        q->tap_polled = on;
    return ret;
}

void sw_queue_poll_tap(struct sw_queue *q, bool on)
{
    int ret = tap_watch(q, on);

    if (ret < 0)
        VN_ERR_RL(DP, "%s: queue %u: cannot poll the representor: %s", q->dev_name, q->index,
                  strerror(-ret));
}

void sw_queue_unwatch(struct sw_queue *q)
{
    tap_watch(q, false);
    unwatch(q->w, q->kick_fd);
}

void sw_queue_mark_pending(struct sw_queue *q)
{
    struct sw_worker *w = q->w;

    if (q->pending || q->broken)
        return;
    q->pending = true;
    w->pending[w->npending++] = q;
    /* No kicks while we work: the round re-enables them when the ring runs dry. */
    vn_virtq_disable_notify(q->vq);
}

/* ---- commands ------------------------------------------------------------------ */

static int cmd_add(struct sw_worker *w, struct sw_queue *q)
{
    int ret;

    if (w->nqueues == SW_MAX_QUEUES)
        return -ENOSPC;
    ret = watch(w, q->kick_fd, &q->kick_src);
    if (ret < 0)
        return ret;
    ret = tap_watch(q, true);
    if (ret < 0) {
        unwatch(w, q->kick_fd);
        return ret;
    }
    w->queues[w->nqueues++] = q;
    q->signalled_used = vn_virtq_used_idx(q->vq);
    /* Chains may be waiting already (a restart, a kick before we watched). */
    sw_queue_mark_pending(q);
    return 0;
}

static void remove_from(struct sw_queue **arr, unsigned *n, const struct sw_queue *q)
{
    for (unsigned i = 0; i < *n; i++) {
        if (arr[i] == q) {
            arr[i] = arr[--*n];
            return;
        }
    }
}

static void cmd_del(struct sw_worker *w, struct sw_queue *q, struct vn_dp_queue_stats *final)
{
    sw_queue_unwatch(q);
    sw_queue_drain(q);
    if (final)
        sw_queue_read_stats(q, final);
    remove_from(w->queues, &w->nqueues, q);
    remove_from(w->pending, &w->npending, q);
    q->pending = false;
}

/* Runs the waiting commands; returns true when told to quit. */
static bool run_commands(struct sw_worker *w)
{
    struct sw_cmd *list, *next;
    eventfd_t v;
    bool quit = false;

    (void)eventfd_read(w->cmd_fd, &v);
    pthread_mutex_lock(&w->lock);
    list = w->cmds;
    w->cmds = NULL;
    w->cmds_tail = &w->cmds;
    pthread_mutex_unlock(&w->lock);

    for (struct sw_cmd *c = list; c; c = next) {
        next = c->next;
        switch (c->op) {
        case SW_CMD_ADD:
            c->result = cmd_add(w, c->q);
            break;
        case SW_CMD_DEL:
            cmd_del(w, c->q, c->final);
            c->result = 0;
            break;
        case SW_CMD_QUIT:
            quit = true;
            c->result = 0;
            break;
        }
        /* After 'done' the poster may return: 'c' is not ours any more. */
        pthread_mutex_lock(&w->lock);
        c->done = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
    }
    return quit;
}

int sw_worker_call(struct sw_worker *w, struct sw_cmd *cmd)
{
    cmd->done = false;
    cmd->next = NULL;
    pthread_mutex_lock(&w->lock);
    *w->cmds_tail = cmd;
    w->cmds_tail = &cmd->next;
    pthread_mutex_unlock(&w->lock);
    (void)!eventfd_write(w->cmd_fd, 1);
    pthread_mutex_lock(&w->lock);
    while (!cmd->done)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    return cmd->result;
}

/* ---- the loop ------------------------------------------------------------------- */

bool sw_worker_polling(const struct sw_worker *w)
{
    return w->busy_until_ns && mono_ns() < w->busy_until_ns;
}

/*
 * How long epoll may sleep: 0 with work pending or while busy-polling, until
 * the nearest interrupt deadline, or for ever.
 */
static struct timespec *sleep_for(struct sw_worker *w, struct timespec *ts)
{
    uint64_t next = 0, now;

    if (w->npending || sw_worker_polling(w)) {
        ts->tv_sec = 0;
        ts->tv_nsec = 0;
        return ts;
    }
    for (unsigned i = 0; i < w->nqueues; i++) {
        uint64_t d = w->queues[i]->deadline_ns;

        if (d && !w->queues[i]->broken && (!next || d < next))
            next = d;
    }
    if (!next)
        return NULL;
    now = mono_ns();
    next = next > now ? next - now : 0;
    ts->tv_sec = (time_t)(next / 1000000000u);
    ts->tv_nsec = (long)(next % 1000000000u);
    return ts;
}

/*
 * Waits for events until 'ts' (NULL: for ever).  epoll_pwait2() (Linux 5.11)
 * for its nanosecond timeout; where the kernel, or a checker such as valgrind
 * 3.19, lacks it, epoll_wait() with the timeout rounded up to a millisecond
 * (a moderated interrupt may then be up to 1 ms late).
 */
static int wait_events(struct sw_worker *w, struct epoll_event *evs, const struct timespec *ts)
{
    int64_t ms;

    if (!w->no_pwait2) {
        int n = epoll_pwait2(w->epfd, evs, SW_MAX_EVENTS, ts, NULL);

        if (n >= 0 || errno != ENOSYS)
            return n;
        w->no_pwait2 = true;
        VN_INFO(DP, "sw worker %u: no epoll_pwait2() here: timeouts in milliseconds", w->id);
    }
    if (!ts)
        return epoll_wait(w->epfd, evs, SW_MAX_EVENTS, -1);
    ms = (int64_t)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
    return epoll_wait(w->epfd, evs, SW_MAX_EVENTS, (int)VN_MIN(ms, (int64_t)INT32_MAX));
}

/* A queue's event (the command channel's is run by worker_main() after the batch). */
static void handle_event(const struct epoll_event *ev)
{
    struct sw_src *src = ev->data.ptr;
    struct sw_queue *q = src->q;
    eventfd_t v;

    switch (src->kind) {
    case SW_SRC_CMD:
        break;
    case SW_SRC_KICK:
        if (eventfd_read(q->kick_fd, &v) == 0)
            SW_STAT_ADD(q, kicks, 1);
        if (q->broken)
            break;
        /* Receive: the driver posted buffers; the tap is worth reading again. */
        if (!q->is_tx)
            sw_queue_poll_tap(q, true);
        sw_queue_mark_pending(q);
        break;
    case SW_SRC_TAP:
        if (ev->events & (EPOLLERR | EPOLLHUP)) {
            /* The representor went away under us: wait for the controller to stop the queue. */
            VN_ERR_RL(DP, "%s: queue %u: representor queue hung up", q->dev_name, q->index);
            sw_queue_poll_tap(q, false);
            break;
        }
        sw_queue_mark_pending(q);
        break;
    }
}

static void *worker_main(void *arg)
{
    struct sw_worker *w = arg;
    struct epoll_event evs[SW_MAX_EVENTS];

    for (;;) {
        struct timespec ts, *tp = sleep_for(w, &ts);
        unsigned j = 0, n_pending;
        bool moved = false, cmd = false;
        uint64_t now;
        int n = wait_events(w, evs, tp);

        if (n < 0) {
            if (errno != EINTR)
                VN_ERR_RL(DP, "sw worker %u: waiting for events: %s", w->id, strerror(errno));
            n = 0;
        }
        /*
         * Commands last: one may remove a queue (and the main thread then
         * frees it) whose events are further down this batch.
         */
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &w->cmd_src)
                cmd = true; /* compared, never read: the others may be freed below */
            else
                handle_event(&evs[i]);
        }
        if (cmd && run_commands(w))
            break;

        /* One round for each pending queue; keep the ones with work left. */
        n_pending = w->npending;
        for (unsigned i = 0; i < n_pending; i++) {
            struct sw_queue *q = w->pending[i];

            sw_queue_run(w, q);
            moved |= q->last_round > 0;
            if (q->pending)
                w->pending[j++] = q;
        }
        w->npending = j;

        now = mono_ns();
        if (moved)
            w->busy_until_ns = now + SW_BUSY_POLL_US * 1000u;
        for (unsigned i = 0; i < w->nqueues; i++)
            if (!w->queues[i]->broken)
                sw_queue_irq_due(w->queues[i], now, false);
    }
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------ */

int sw_worker_init(struct sw_worker *w, unsigned id)
{
    sigset_t all, old;
    char name[16];
    int ret;

    w->id = id;
    w->epfd = -1;
    w->cmd_fd = -1;
    w->cmds = NULL;
    w->cmds_tail = &w->cmds;
    w->cmd_src.kind = SW_SRC_CMD;
    w->cmd_src.q = NULL;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->uring.fd = -1;
    w->chain = malloc(sizeof(*w->chain));
    if (!w->chain)
        return -ENOMEM;
    ret = sw_uring_init(&w->uring);
    if (ret < 0)
        VN_WARN(DP, "worker %u: no io_uring (%s): one system call per frame", id, strerror(-ret));
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return -errno;
    w->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->cmd_fd < 0)
        return -errno;
    ret = watch(w, w->cmd_fd, &w->cmd_src);
    if (ret < 0)
        return ret;
    /* Signals are the main loop's: the thread starts with all of them blocked. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ret = -pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret < 0)
        return ret;
    w->started = true;
    snprintf(name, sizeof(name), "vn-sw-%u", id);
    pthread_setname_np(w->thread, name);
    return 0;
}

void sw_worker_fini(struct sw_worker *w)
{
    if (w->started) {
        struct sw_cmd quit = { .op = SW_CMD_QUIT };

        sw_worker_call(w, &quit);
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    if (w->cmd_fd >= 0)
        close(w->cmd_fd);
    if (w->epfd >= 0)
        close(w->epfd);
    w->cmd_fd = w->epfd = -1;
    sw_uring_fini(&w->uring);
    free(w->chain);
    w->chain = NULL;
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}
