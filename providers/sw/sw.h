/*
 * sw.h - internals of the `sw` provider (providers/sw/): the software DPU's
 * datapath.  Not part of the SDK; only the files of this folder include it.
 *
 * Pieces:
 *   sw.c        the ops table: probe, init/fini (worker threads), queue_start/
 *               stop/modify/stats, which talk to the workers through commands;
 *   sw_worker.c one worker thread: epoll over its queues' kick eventfds and
 *               representor (tap) fds, a command channel, moderation timers;
 *   sw_net.c    moving frames: guest TX (pop, write to the tap, push) and
 *               guest RX (gather guest buffers, read from the tap, push),
 *               interrupts and counters;
 *   sw_uring.c  io_uring (liburing): a round's reads or writes in one system
 *               call (plain readv()/writev() per frame when there is none).
 *
 * Threads: a queue belongs to exactly one worker, which alone touches its
 * rings, its fds and its worker-side state.  The main thread creates a queue,
 * hands it over with SW_CMD_ADD and takes it back with SW_CMD_DEL; both wait
 * until the worker has run the command (the worker never waits for the main
 * thread: it takes the command lock only to unlink the list).  Counters are
 * written by the worker with relaxed atomic stores and read by anyone;
 * moderation settings are written by the main thread with relaxed stores and
 * read by the worker once per batch.
 */
#ifndef VN_SW_H
#define VN_SW_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtnet/provider.h"
#include "virtq.h"

#define SW_BATCH 64          /* frames one queue moves per round before others get a turn */
#define SW_MAX_WORKERS 24    /* eth_vq_workers' range */
#define SW_MAX_QUEUES 1024   /* queues one worker serves */
#define SW_ADAPTIVE_COUNT 64 /* adaptive moderation defaults (when the queue's are unset) */
#define SW_URING_BATCH 64    /* frames one io_uring submission carries */
#define SW_URING_ENTRIES 128 /* submission queue size (>= SW_URING_BATCH) */
#define SW_TX_IOV 2048       /* iovecs of the frames one transmit submission carries (>= VN_VQ_MAX_IOV) */
#define SW_ADAPTIVE_PERIOD_US 50
/*
 * After a round that moved frames, a worker polls (epoll with no timeout)
 * this long before it sleeps: a frame that comes meanwhile costs no wake-up,
 * which under a stream of frames is most of a small frame's cost.  Idle
 * workers sleep; the spin is bounded by this after the last frame.
 */
#define SW_BUSY_POLL_US 50

/* What an epoll event points at. */
enum sw_src_kind {
    SW_SRC_CMD,  /* the worker's command eventfd */
    SW_SRC_KICK, /* a queue's kick eventfd */
    SW_SRC_TAP,  /* a receive queue's representor fd */
};

struct sw_queue;

struct sw_src {
    enum sw_src_kind kind;
    struct sw_queue *q; /* NULL for SW_SRC_CMD */
};

/* A receive chain taken from the avail ring and not yet filled. */
struct sw_rx_buf {
    uint16_t head;     /* for the used ring */
    uint32_t iov_off;  /* its iovecs: rx_iov[iov_off, iov_off + iov_cnt) */
    uint32_t iov_cnt;
    uint32_t len;      /* writable bytes */
};

struct sw_worker;

/* A transmit chain taken and waiting for its submission. */
struct sw_tx_frame {
    uint16_t head;
    uint16_t pos;      /* the avail position it was taken from (split rings) */
    uint32_t iov_off;  /* its readable iovecs: tx_iov[iov_off, iov_off + iov_cnt) */
    uint32_t iov_cnt;
    uint64_t len;      /* header + frame bytes */
};

/* A worker's io_uring (sw_uring.c). */
struct sw_uring {
    struct io_uring ring;
    int fd; /* the ring's fd; -1: none (io_uring unavailable): plain system calls */
};

struct sw_queue {
    /* Set by queue_start, constant afterwards. */
    struct sw_worker *w;        /* the worker that owns it */
    char dev_name[64];          /* device VUID, for logs */
    uint16_t index;
    bool is_tx;
    struct vn_virtq *vq;        /* borrowed from the controller */
    int kick_fd, call_fd, tap_fd; /* borrowed from the controller */
    uint32_t hdr_len;
    uint32_t max_rx_len;
    bool mrg_rxbuf;
    vn_dp_queue_error_fn *on_error;
    void *error_ctx;
    struct vn_virtq_stats base; /* the ring's counters at queue_start */

    /* Moderation: written by the main thread (relaxed), read by the worker. */
    uint8_t mod_mode;
    uint32_t mod_period_us;
    uint32_t mod_max_count;

    /* Worker-only state. */
    struct sw_src kick_src, tap_src;
    bool tap_polled;            /* receive: the tap fd is in the epoll set */
    bool pending;               /* in the worker's run list */
    bool broken;                /* a guest error stopped it */
    uint16_t signalled_used;    /* used index when an interrupt was last decided */
    uint32_t unsignalled;       /* completions pushed since */
    uint64_t deadline_ns;       /* coalescing: interrupt due then; 0 = none waiting */
    unsigned last_round;        /* frames of the last round (adaptive moderation) */
    struct vring_used_elem *used; /* completions of this round, ring-size entries */
    unsigned nused;
    uint32_t pushed;            /* chains returned used since queue_start (a packed ring's
                                   used index counts descriptor slots instead) */
    /* Receive: chains taken and held until a frame fills them (MRG_RXBUF gathers several). */
    struct sw_rx_buf *rx_bufs;  /* ring-size entries, [0, rx_n) held, in avail order */
    unsigned rx_n;
    uint16_t rx_reads;          /* reads the next io_uring submission carries (2..SW_URING_BATCH):
                                   twice the frames the last one found */
    uint64_t rx_cap;            /* writable bytes they offer */
    struct iovec *rx_iov;       /* VN_VQ_MAX_IOV entries, [0, rx_niov) in use */
    unsigned rx_niov;
    /* Transmit: the chains of one submission. */
    struct sw_tx_frame *tx_frames; /* SW_URING_BATCH entries */
    struct iovec *tx_iov;       /* SW_TX_IOV entries */

    /* Counters since queue_start, worker-written (sw_net.c's SW_STAT_ADD). */
    struct vn_dp_queue_stats st;
};

/* Only the worker writes a counter: a relaxed load and store keep readers exact. */
#define SW_STAT_ADD(q, field, v)                                                                   \
    __atomic_store_n(&(q)->st.field, __atomic_load_n(&(q)->st.field, __ATOMIC_RELAXED) + (v),      \
                     __ATOMIC_RELAXED)

enum sw_cmd_op {
    SW_CMD_ADD,  /* start serving 'q' */
    SW_CMD_DEL,  /* stop serving 'q', write its final counters to 'final' */
    SW_CMD_QUIT, /* leave the thread */
};

/* A command from the main thread; lives on the poster's stack until done. */
struct sw_cmd {
    enum sw_cmd_op op;
    struct sw_queue *q;
    struct vn_dp_queue_stats *final;
    int result;           /* 0 or -errno, written by the worker */
    bool done;            /* under the worker's lock */
    struct sw_cmd *next;
};

struct sw_worker {
    unsigned id;
    pthread_t thread;
    bool started;         /* the thread runs (main thread's view) */
    int epfd;
    int cmd_fd;           /* eventfd: commands are waiting */
    struct sw_src cmd_src;
    pthread_mutex_t lock; /* guards cmds, cmd->done */
    pthread_cond_t cond;  /* signalled when a command is done */
    struct sw_cmd *cmds, **cmds_tail;
    unsigned nqueues_main; /* queues handed to it (main thread's count, for placement) */

    /* Worker-only. */
    struct sw_queue *queues[SW_MAX_QUEUES];
    unsigned nqueues;
    struct sw_queue *pending[SW_MAX_QUEUES];
    unsigned npending;
    struct vn_vq_chain *chain; /* scratch for vn_virtq_pop() */
    struct sw_uring uring;     /* batches the queues' reads and writes */
    uint64_t busy_until_ns;    /* poll without sleeping until then (SW_BUSY_POLL_US) */
    bool no_pwait2;            /* epoll_pwait2() missing: epoll_wait() in milliseconds */
};

/* sw_worker.c */
int sw_worker_init(struct sw_worker *w, unsigned id);
void sw_worker_fini(struct sw_worker *w);
/* Posts 'cmd' and waits until the worker ran it; returns cmd->result. */
int sw_worker_call(struct sw_worker *w, struct sw_cmd *cmd);
/* Marks 'q' as having work (worker thread). */
void sw_queue_mark_pending(struct sw_queue *q);
/* Adds or removes the receive queue's tap fd from the epoll set (worker thread). */
void sw_queue_poll_tap(struct sw_queue *q, bool on);
/* Stops watching every fd of 'q' (a broken queue; worker thread). */
void sw_queue_unwatch(struct sw_queue *q);

/* True while 'w' busy-polls (SW_BUSY_POLL_US after its last frame; worker thread). */
bool sw_worker_polling(const struct sw_worker *w);

/* sw_uring.c (worker thread) */
/* Sets up 'u'; returns 0 or -errno (then u->fd is -1). */
int sw_uring_init(struct sw_uring *u);
/* Releases 'u'; idempotent. */
void sw_uring_fini(struct sw_uring *u);
/*
 * Submits 'n' (<= SW_URING_BATCH) writev (or readv) requests on 'fd', request
 * i over iov[i][0, iovcnt[i]), and waits until all are done; res[i] gets each
 * result (bytes or -errno).  The requests run one after the other, in
 * order.  Returns 0, or -errno when the ring failed (it is then released:
 * use plain calls).
 */
int sw_uring_rw(struct sw_uring *u, bool write, int fd, const struct iovec *const *iov,
                const unsigned *iovcnt, unsigned n, int *res);

/* sw_net.c (worker thread) */
/* One round of work on 'q': up to SW_BATCH frames; clears q->pending when it ran dry. */
void sw_queue_run(struct sw_worker *w, struct sw_queue *q);
/* Sends the interrupt a coalescing queue owes when its deadline passed, or when 'force'. */
void sw_queue_irq_due(struct sw_queue *q, uint64_t now_ns, bool force);
/* Stops 'q' after a guest error 'err': no more polling, counted, logged, reported. */
void sw_queue_fail(struct sw_queue *q, int err);
/* Gives back receive chains held and pushes what is owed (SW_CMD_DEL). */
void sw_queue_drain(struct sw_queue *q);
/* The queue's counters since queue_start (any thread). */
void sw_queue_read_stats(const struct sw_queue *q, struct vn_dp_queue_stats *out);

#endif /* VN_SW_H */
