/*
 * fuzz_vhost.c - libFuzzer target: vhost-user request handling, the real
 * controller/emu_vhost.c (its one validation step and every handler) behind a
 * real listening socket, driven by a fuzzed stream of messages with real fds.
 *
 * Input: a sequence of records
 *     [fds: 1 byte] [header: 12 bytes, sent as is] [payload: min(size & 0xfff, rest)]
 * 'fds' % 9 fds go with the record (SCM_RIGHTS): bit 7 set -> memfds of 64 KiB
 * (memory regions, in-flight), else eventfds (kick/call/err).  Each input is
 * one front-end connection; after it hangs up the back-end must have closed
 * every fd it received (checked: the process's fd count is back where it was).
 *
 * The device has no representor and no provider: rings are checked and set up
 * but never handed to a datapath (tests/fuzz/fuzz_virtq.c covers the ring
 * walking).  emu_vhost.c is compiled in whole; the function it needs from
 * the SF manager is given below, and the backend instance is set up by hand
 * (its socket dir is the scratch dir itself).
 * fuzz-links: controller/emu_vhost_conn.c controller/emu_vhost_iommu.c controller/emu_vhost_log.c controller/emu_vhost_txrec.c
 */
#include <config.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../controller/emu_vhost.c"
#include "fuzz_tmpdir.h"

/* The device has no representor: no queue to open. */
int vn_sfmgr_open_queue(struct vn_sfmgr *sfm, const struct vn_sf_rep *rep, int *fd_out)
{
    (void)sfm;
    (void)rep;
    (void)fd_out;
    return -ENODEV;
}

/* Nor a count of frames it took (the transmit record, emu_vhost_txrec.c). */
int vn_sfmgr_rx_frames(struct vn_sfmgr *sfm, const struct vn_sf_rep *rep, uint64_t *out)
{
    (void)sfm;
    (void)rep;
    (void)out;
    return -ENODEV;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ev_loop *loop;
static struct vn_vhost_dev *vd;
static struct vn_emu emu = { .cls = &vn_emu_vhost_class };
static struct vn_emu_spec spec;
static struct vn_emu_fn *fn;
static const char *dir;

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    vn_log_open("fuzz_vhost", true);
    vn_log_set_all_levels(VN_LL_ERR);
    dir = fuzz_tmpdir("fuzz_vhost", dir_prepare);
    loop = ev_default_loop(0);
    snprintf(spec.vuid, sizeof(spec.vuid), "FUZZ0");
    spec.max_queues = 4;
    spec.max_queue_size = 256;
    spec.mtu = 1500;
    spec.features = 0x2330efffabULL; /* with IOMMU_PLATFORM (bit 33): IOTLB_MSG is served */
    emu.env.loop = loop;
    emu.priv = (void *)(uintptr_t)dir;
    if (vhost_create(&emu, &spec, &fn) < 0)
        abort();
    vd = VD(fn);
    return 0;
}

/* Sends 'len' bytes with 'nfds' fresh fds of the kind 'memfds' says; closes our copies. */
static void send_record(int sock, const uint8_t *buf, size_t len, unsigned nfds, bool memfds)
{
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int) * 8)];
    } u;
    struct iovec iov = { (void *)(uintptr_t)buf, len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    int fds[8];

    for (unsigned i = 0; i < nfds; i++) {
        fds[i] = memfds ? memfd_create("fuzz-guest", MFD_CLOEXEC) : eventfd(0, EFD_CLOEXEC);
        if (memfds && fds[i] >= 0 && ftruncate(fds[i], 64 * 1024) < 0)
            abort();
    }
    if (nfds)
        vn_msg_put_fds(&mh, u.b, fds, nfds);
    (void)!sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);
}

/* Lets the back-end handle what is there; throws its replies away. */
static void pump(int sock)
{
    char sink[4096];

    for (int i = 0; i < 2; i++) {
        ev_run(loop, EVRUN_NOWAIT);
        while (recv(sock, sink, sizeof(sink), MSG_DONTWAIT) > 0)
            ;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int before = count_fds(), sock;
    size_t off = 0;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", vd->path);
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        abort();
    pump(sock);
    while (off + 13 <= size) {
        uint8_t f = data[off];
        uint32_t hsize;
        size_t len;

        memcpy(&hsize, data + off + 9, sizeof(hsize));
        len = 12 + VN_MIN((size_t)(hsize & 0xfff), size - off - 13);
        send_record(sock, data + off + 1, len, f % 9, f & 0x80);
        off += 1 + len;
        pump(sock);
    }
    close(sock);
    pump(-1);
    /* The hang-up ended the session: every fd it brought is closed again. */
    if (vd->conn_fd >= 0 || count_fds() != before) {
        fprintf(stderr, "fuzz_vhost: session not torn down (conn %d, fds %d -> %d)\n",
                vd->conn_fd, before, count_fds());
        abort();
    }
    return 0;
}
