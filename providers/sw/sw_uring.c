/*
 * sw_uring.c - batched reads and writes on a tap for the sw provider's
 * worker threads, over io_uring (liburing): one call submits a round of
 * readv/writev requests and waits for all of them, so a round of frames costs
 * one system call instead of one per frame (on a virtual machine the system
 * call is most of what a small frame costs).  Reads carry RWF_NOWAIT (the
 * fd's O_NONBLOCK is not enough: io_uring would otherwise wait for a frame
 * on a pollable fd), so every request completes during the submission (a
 * read with no frame waiting ends with -EAGAIN) and nothing is left in
 * flight when sw_uring_rw() returns.
 *
 * Requests are not linked: io_uring issues them inline, one after the other
 * in submission order, within the submission (a tap write never waits: its
 * socket's send buffer is unlimited), so frames reach the tap in the order
 * they were submitted, and the frames of a write batch that went out are its
 * first ones (the transmit record, lib/virtq_inflight.h, relies on it).
 * Links cost more than they give: a plain link ends at a short read (every
 * frame smaller than its buffer), and hard-linked writes took 25-30% more
 * worker CPU per frame (each issued from task work once the one before
 * completed; bench/dp_bench.sh -B, docs/benchmarks.md).
 *
 * A kernel without io_uring (or with it disabled by sysctl) makes
 * sw_uring_init() fail; the worker then makes one readv()/writev() per frame.
 *
 * Thread: each ring belongs to one worker thread.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "sw.h"

int sw_uring_init(struct sw_uring *u)
{
    int ret;

    memset(u, 0, sizeof(*u));
    u->fd = -1;
    ret = io_uring_queue_init(SW_URING_ENTRIES, &u->ring, 0);
    if (ret < 0)
        return ret;
    u->fd = u->ring.ring_fd;
    return 0;
}

void sw_uring_fini(struct sw_uring *u)
{
    if (u->fd < 0)
        return;
    io_uring_queue_exit(&u->ring);
    u->fd = -1;
}

int sw_uring_rw(struct sw_uring *u, bool write, int fd, const struct iovec *const *iov,
                const unsigned *iovcnt, unsigned n, int *res)
{
    unsigned done = 0;
    int ret;

    if (u->fd < 0 || n == 0 || n > SW_URING_BATCH)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

        /* Never short: the ring is empty between calls and larger than a batch. */
        if (!sqe)
            return -EBUSY;
        if (write)
            io_uring_prep_writev(sqe, fd, iov[i], iovcnt[i], 0);
        else
            io_uring_prep_readv2(sqe, fd, iov[i], iovcnt[i], 0, RWF_NOWAIT);
        io_uring_sqe_set_data64(sqe, i);
        res[i] = -ECANCELED;
    }
    ret = io_uring_submit_and_wait(&u->ring, n);
    while (ret == -EINTR)
        ret = io_uring_submit_and_wait(&u->ring, n - done);
    if (ret < 0) {
        /* The ring cannot be trusted any more: the caller falls back to plain calls. */
        sw_uring_fini(u);
        return ret;
    }
    while (done < n) {
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;

        io_uring_for_each_cqe(&u->ring, head, cqe) {
            uint64_t i = io_uring_cqe_get_data64(cqe);

            if (i < n)
                res[i] = cqe->res;
            seen++;
        }
        io_uring_cq_advance(&u->ring, seen);
        done += seen;
        if (done < n) {
            ret = io_uring_wait_cqe(&u->ring, &cqe);
            if (ret < 0 && ret != -EINTR) {
                sw_uring_fini(u);
                return ret;
            }
        }
    }
    return 0;
}
