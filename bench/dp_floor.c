/*
 * dp_floor.c - the floor of the datapath benchmark (bench/dp_bench.sh): no
 * virtio at all, only a tap of the representor's kind (multi-queue, 12-byte
 * vnet header) and a loop that injects frames into it, or drains frames from
 * it, as fast as the kernel takes them:
 *
 *   dp_floor tx-writev TAP SIZE SECONDS   one writev() per frame
 *   dp_floor tx-uring  TAP SIZE SECONDS   io_uring, 32 writes per submission
 *   dp_floor rx-readv  TAP SIZE SECONDS   one readv() per frame (a source
 *                                         must send into the tap meanwhile)
 *   dp_floor rx-uring  TAP SIZE SECONDS   io_uring, 32 reads per submission
 *   dp_floor source    IFACE SIZE SECONDS [PPS]
 *                                         a source for the rx cases: sends
 *                                         frames out of IFACE (the tap's
 *                                         reader gets them) over AF_PACKET,
 *                                         64 per sendmmsg(), qdisc bypassed;
 *                                         with PPS > 0, paced: a burst of 32
 *                                         every 32/PPS s (absolute deadlines,
 *                                         sleeping in between), and a fourth
 *                                         figure, the frames attempted
 *
 * Prints "<frames> <seconds> <Mpps>" (source with PPS: "... <attempted>").  The tap must exist (the bench creates
 * it); this attaches one queue to it.  The uring loops are what the sw
 * provider does per round (same batch, reads with RWF_NOWAIT), minus the
 * rings: the best batching the kernel offers for a tap.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define HDR 12
#define MAX_FRAME 9216

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int tap_open(const char *name)
{
    struct ifreq ifr;
    int hdr = HDR, fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 'n' readv/writev on 'fd' in one submission, waiting for all; returns the frames moved. */
static unsigned uring_batch(struct io_uring *u, bool write, int fd, struct iovec *iov, unsigned n)
{
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0, ok = 0;

    for (unsigned i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(u);

        if (write)
            io_uring_prep_writev(sqe, fd, &iov[i], 1, 0);
        else
            io_uring_prep_readv2(sqe, fd, &iov[i], 1, 0, RWF_NOWAIT);
    }
    if (io_uring_submit_and_wait(u, n) < 0)
        return 0;
    io_uring_for_each_cqe(u, head, cqe) {
        ok += cqe->res > 0;
        seen++;
    }
    io_uring_cq_advance(u, seen);
    return ok;
}

#define PACE_BURST 32

/* Sleeps until 't' (CLOCK_MONOTONIC seconds). */
static void sleep_until(double t)
{
    struct timespec ts = { .tv_sec = (time_t)t, .tv_nsec = (long)((t - (double)(time_t)t) * 1e9) };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/*
 * Sends SIZE-byte frames out of 'ifname' for 'secs' seconds, as fast as the
 * tap takes them or, with 'pps' > 0, paced at that rate; returns the frames
 * the tap took ('*attempted': the frames offered to it).
 */
static uint64_t source(const char *ifname, int size, double secs, double pps, double *busy,
                       uint64_t *attempted)
{
    static uint8_t frame[MAX_FRAME];
    struct mmsghdr msgs[64];
    struct iovec iov = { frame, (size_t)size };
    struct sockaddr_ll sll;
    uint64_t sent = 0;
    int one = 1, fd;
    double t0, first = 0, last = 0;

    fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = (int)if_nametoindex(ifname);
    if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        perror(ifname);
        exit(1);
    }
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    memset(frame, 0xff, 6);
    memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01\x88\xb5", 8);
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < 64; i++) {
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    /*
     * A full tap queue refuses frames (sendmmsg() stops at the first: ENOBUFS),
     * a tap nobody reads is down: only accepted frames count, over the time
     * from the first to the last of them.
     */
    t0 = now();
    *attempted = 0;
    if (pps > 0) {
        /* Paced: a burst on each deadline; a refused frame is not retried (it is late). */
        double due = t0;

        first = t0;
        while ((last = now()) - t0 < secs) {
            unsigned done = 0;

            while (done < PACE_BURST) {
                int n = sendmmsg(fd, msgs, PACE_BURST - done, 0);

                if (n <= 0)
                    break;
                done += (unsigned)n;
            }
            sent += done;
            *attempted += PACE_BURST;
            due += PACE_BURST / pps;
            if (due > last)
                sleep_until(due);
        }
        close(fd);
        *busy = last - first;
        return sent;
    }
    while ((last = now()) - t0 < secs) {
        int n = sendmmsg(fd, msgs, 64, 0);

        if (n > 0) {
            if (!sent)
                first = last;
            sent += (uint64_t)n;
        }
    }
    close(fd);
    *attempted = sent;
    *busy = sent ? last - first : 0;
    return sent;
}

int main(int argc, char **argv)
{
    static uint8_t bufs[BATCH][HDR + MAX_FRAME];
    struct iovec iov[BATCH];
    struct io_uring u;
    bool tx, uring;
    double t0, secs;
    uint64_t frames = 0;
    int fd, size;

    if ((argc != 5 && !(argc == 6 && !strcmp(argv[1], "source"))) || (size = atoi(argv[3])) < 60 || size > MAX_FRAME || atof(argv[4]) <= 0 ||
        (strcmp(argv[1], "tx-writev") && strcmp(argv[1], "tx-uring") &&
         strcmp(argv[1], "rx-readv") && strcmp(argv[1], "rx-uring") &&
         strcmp(argv[1], "source"))) {
        fprintf(stderr, "usage: dp_floor {tx-writev|tx-uring|rx-readv|rx-uring|source} TAP SIZE SECONDS [PPS]\n");
        return 2;
    }
    if (!strcmp(argv[1], "source")) {
        double pps = argc == 6 ? atof(argv[5]) : 0;
        uint64_t attempted;

        frames = source(argv[2], size, atof(argv[4]), pps, &secs, &attempted);
        if (secs <= 0)
            secs = 1;
        printf("%llu %.3f %.3f", (unsigned long long)frames, secs, (double)frames / secs / 1e6);
        if (pps > 0)
            printf(" %llu", (unsigned long long)attempted);
        printf("\n");
        return 0;
    }
    tx = argv[1][0] == 't';
    uring = strstr(argv[1], "uring") != NULL;
    secs = atof(argv[4]);
    fd = tap_open(argv[2]);
    if (fd < 0) {
        perror(argv[2]);
        return 1;
    }
    for (int i = 0; i < BATCH; i++) {
        memset(bufs[i], 0, sizeof(bufs[i]));
        /* Broadcast from a locally administered address, an unused ethertype. */
        memset(bufs[i] + HDR, 0xff, 6);
        memcpy(bufs[i] + HDR + 6, "\x02\x00\x00\x00\x00\x01\x88\xb5", 8);
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = HDR + (size_t)(tx ? size : MAX_FRAME);
    }
    if (uring && io_uring_queue_init(2 * BATCH, &u, 0) < 0) {
        fprintf(stderr, "io_uring: unavailable\n");
        return 1;
    }
    t0 = now();
    while (now() - t0 < secs) {
        for (int i = 0; i < 32; i++) {
            if (uring)
                frames += uring_batch(&u, tx, fd, iov, BATCH);
            else
                for (int j = 0; j < BATCH; j++)
                    frames += (tx ? writev(fd, &iov[0], 1) : readv(fd, &iov[0], 1)) > 0;
        }
    }
    secs = now() - t0;
    printf("%llu %.3f %.3f\n", (unsigned long long)frames, secs, (double)frames / secs / 1e6);
    if (uring)
        io_uring_queue_exit(&u);
    close(fd);
    return 0;
}
