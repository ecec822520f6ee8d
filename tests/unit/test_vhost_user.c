/*
 * test_vhost_user.c - unit tests of lib/vhost_user.c over a socketpair: the
 * test plays the front-end, sending well-formed requests of every type and
 * malformed ones (wrong sizes, wrong fd counts, too many fds, truncated
 * messages, EOF, bad version flags, unknown requests), and checks the
 * verdict of vn_vhost_recv_msg() and that no received fd leaks on any path.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"
#include "vhost_user.h"

#define V VN_VHOST_VERSION

/* Open fds of this process. */
static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void make_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void close_pair(int sv[2])
{
    close(sv[0]);
    close(sv[1]);
}

static int new_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);

    assert_true(fd >= 0);
    return fd;
}

static void new_eventfds(int *fds, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++)
        fds[i] = new_eventfd();
}

static void close_fds(const int *fds, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++)
        close(fds[i]);
}

/* One sendmsg() of 'len' bytes of 'buf' carrying 'nfds' (<= 16) fds. */
static void send_with_fds(int sock, const void *buf, size_t len, const int *fds,
                          unsigned int nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 16)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    assert_true(nfds <= 16);
    if (nfds) {
        struct cmsghdr *c;

        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * Sends a header claiming 'size' payload bytes followed by 'len' bytes of
 * 'payload' (len may differ from size), with 'nfds' fds, in one sendmsg().
 */
static void send_raw(int fd, uint32_t request, uint32_t flags, uint32_t size,
                     const void *payload, size_t len, const int *fds, unsigned int nfds)
{
    uint8_t buf[sizeof(struct vn_vhost_hdr) + 4096];
    struct vn_vhost_hdr hdr = { .request = request, .flags = flags, .size = size };

    assert_true(len <= 4096);
    memcpy(buf, &hdr, sizeof(hdr));
    if (len)
        memcpy(buf + sizeof(hdr), payload, len);
    send_with_fds(fd, buf, sizeof(hdr) + len, fds, nfds);
}

/*
 * Sends one request carrying 'nfds' fresh eventfds (closed here once sent),
 * reads it back and returns the verdict.  On success '*out' holds the message.
 */
static int roundtrip(uint32_t request, uint32_t flags, const void *payload, uint32_t size,
                     unsigned int nfds, struct vn_vhost_msg *out)
{
    int sv[2], fds[16], r;
    struct vn_vhost_msg m;

    make_pair(sv);
    new_eventfds(fds, nfds);
    send_raw(sv[1], request, flags, size, payload, size, fds, nfds);
    close_fds(fds, nfds);
    r = vn_vhost_recv_msg(sv[0], &m);
    close_pair(sv);
    if (r == 0) {
        if (out)
            *out = m;
        else
            vn_vhost_msg_close_fds(&m);
    }
    return r;
}

/* ---- well-formed requests --------------------------------------------------- */

/* A well-formed payload and fd count for 'request'. */
static void well_formed(uint32_t request, union vn_vhost_payload *p, uint32_t *size,
                        unsigned int *nfds)
{
    memset(p, 0, sizeof(*p));
    *size = 0;
    *nfds = 0;
    switch (request) {
    case VN_VHOST_USER_SET_FEATURES:
    case VN_VHOST_USER_SET_PROTOCOL_FEATURES:
    case VN_VHOST_USER_SEND_RARP:
    case VN_VHOST_USER_NET_SET_MTU:
    case VN_VHOST_USER_SET_STATUS:
        p->u64 = 0x1500;
        *size = 8;
        break;
    case VN_VHOST_USER_SET_VRING_NUM:
    case VN_VHOST_USER_SET_VRING_BASE:
    case VN_VHOST_USER_GET_VRING_BASE:
    case VN_VHOST_USER_SET_VRING_ENABLE:
        p->state.index = 1;
        p->state.num = request == VN_VHOST_USER_SET_VRING_ENABLE ? 1 : 256;
        *size = 8;
        break;
    case VN_VHOST_USER_SET_VRING_ENDIAN:
    case VN_VHOST_USER_VRING_KICK:
        p->state.index = 1;
        *size = 8;
        break;
    case VN_VHOST_USER_SET_MEM_TABLE:
        p->memory.nregions = 2;
        p->memory.regions[0].memory_size = 0x1000;
        p->memory.regions[1].guest_phys_addr = 0x100000000ULL;
        p->memory.regions[1].memory_size = 0x1000;
        *size = 8 + 2 * 32;
        *nfds = 2;
        break;
    case VN_VHOST_USER_SET_LOG_BASE:
        p->log.mmap_size = 0x1000;
        *size = 16;
        *nfds = 1;
        break;
    case VN_VHOST_USER_SET_LOG_FD:
    case VN_VHOST_USER_SET_BACKEND_REQ_FD:
        *nfds = 1;
        break;
    case VN_VHOST_USER_SET_VRING_ADDR:
        p->addr.index = 1;
        p->addr.flags = 1u << VN_VHOST_VRING_F_LOG;
        p->addr.desc_user_addr = 0x7f0000000000ULL;
        *size = 40;
        break;
    case VN_VHOST_USER_SET_VRING_KICK:
    case VN_VHOST_USER_SET_VRING_CALL:
    case VN_VHOST_USER_SET_VRING_ERR:
        p->u64 = 3;
        *size = 8;
        *nfds = 1;
        break;
    case VN_VHOST_USER_IOTLB_MSG:
        p->iotlb.type = 2;
        *size = 32;
        break;
    case VN_VHOST_USER_GET_CONFIG:
    case VN_VHOST_USER_SET_CONFIG:
        p->config.size = 6;
        *size = 12 + 6;
        break;
    case VN_VHOST_USER_GET_INFLIGHT_FD:
        p->inflight.num_queues = 2;
        p->inflight.queue_size = 256;
        *size = 24;
        break;
    case VN_VHOST_USER_SET_INFLIGHT_FD:
        p->inflight.mmap_size = 0x1000;
        *size = 24;
        *nfds = 1;
        break;
    case VN_VHOST_USER_ADD_MEM_REG:
        p->mem_reg.region.memory_size = 0x1000;
        *size = 40;
        *nfds = 1;
        break;
    case VN_VHOST_USER_REM_MEM_REG:
        p->mem_reg.region.memory_size = 0x1000;
        *size = 40;
        break;
    case VN_VHOST_USER_GET_SHARED_OBJECT:
        *size = 16;
        break;
    case VN_VHOST_USER_SET_DEVICE_STATE_FD:
        *size = 8;
        *nfds = 1;
        break;
    default: /* no payload */
        break;
    }
}

static void test_each_request_parses(void **state)
{
    int before = count_open_fds();
    int sv[2];
    unsigned int sent = 0;

    /* Every request back to back on one stream, then read in order. */
    make_pair(sv);
    for (uint32_t rq = 1; rq < VN_VHOST_USER_MAX_REQUEST; rq++) {
        union vn_vhost_payload p;
        uint32_t size;
        unsigned int nfds;
        int fds[VN_VHOST_MAX_FDS];

        if (vn_vhost_req_flags(rq) & VN_VHOST_RQ_FOREIGN)
            continue;
        well_formed(rq, &p, &size, &nfds);
        new_eventfds(fds, nfds);
        assert_int_equal(vn_vhost_send_msg(sv[1], rq, V | VN_VHOST_FLAG_NEED_REPLY, &p, size,
                                           fds, nfds),
                         0);
        close_fds(fds, nfds);
        sent++;
    }
    for (uint32_t rq = 1; rq < VN_VHOST_USER_MAX_REQUEST; rq++) {
        union vn_vhost_payload p;
        struct vn_vhost_msg m;
        uint32_t size;
        unsigned int nfds;

        if (vn_vhost_req_flags(rq) & VN_VHOST_RQ_FOREIGN)
            continue;
        well_formed(rq, &p, &size, &nfds);
        assert_int_equal(vn_vhost_recv_msg(sv[0], &m), 0);
        assert_int_equal(m.hdr.request, rq);
        assert_int_equal(m.hdr.flags, V | VN_VHOST_FLAG_NEED_REPLY);
        assert_int_equal(m.hdr.size, size);
        assert_memory_equal(&m.payload, &p, size);
        assert_int_equal(m.nfds, nfds);
        for (unsigned int i = 0; i < m.nfds; i++) {
            int fl = fcntl(m.fds[i], F_GETFD);

            assert_true(fl >= 0);
            assert_true(fl & FD_CLOEXEC);
        }
        for (unsigned int i = m.nfds; i < VN_VHOST_MAX_FDS; i++)
            assert_int_equal(m.fds[i], -1);
        vn_vhost_msg_close_fds(&m);
        sent--;
    }
    assert_int_equal(sent, 0);
    close_pair(sv);
    assert_int_equal(count_open_fds(), before);
}

static void test_optional_fds(void **state)
{
    int before = count_open_fds();
    struct vn_vhost_msg m;
    struct vn_vhost_mem_reg reg = { .region = { .memory_size = 0x1000 } };
    uint64_t u;

    /* KICK / CALL / ERR without an fd: "poll", said by the NOFD bit. */
    u = 2 | VN_VHOST_VRING_NOFD;
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_CALL, V, &u, 8, 0, &m), 0);
    assert_int_equal(m.nfds, 0);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_KICK, V, &u, 8, 0, NULL), 0);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_ERR, V, &u, 8, 0, NULL), 0);

    /* REM_MEM_REG from an old front-end with an fd: accepted, the fd closed unused. */
    assert_int_equal(roundtrip(VN_VHOST_USER_REM_MEM_REG, V, &reg, sizeof(reg), 1, &m), 0);
    assert_int_equal(m.nfds, 0);
    assert_int_equal(count_open_fds(), before);
}

static void test_split_message(void **state)
{
    int before = count_open_fds();
    struct vn_vhost_hdr hdr = { .request = VN_VHOST_USER_SET_VRING_CALL, .flags = V, .size = 8 };
    uint64_t u = 5;
    struct vn_vhost_msg m;
    int sv[2], efd = new_eventfd();

    /* Header in two pieces, the fd riding on the payload. */
    make_pair(sv);
    assert_int_equal(write(sv[1], &hdr, 5), 5);
    assert_int_equal(write(sv[1], (uint8_t *)&hdr + 5, sizeof(hdr) - 5),
                     (ssize_t)(sizeof(hdr) - 5));
    send_with_fds(sv[1], &u, sizeof(u), &efd, 1);
    close(efd);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), 0);
    assert_int_equal(m.payload.u64, 5);
    assert_int_equal(m.nfds, 1);
    efd = vn_vhost_msg_take_fd(&m, 0);
    assert_true(efd >= 0);
    assert_int_equal(m.fds[0], -1);
    assert_int_equal(vn_vhost_msg_take_fd(&m, 0), -1);
    assert_int_equal(vn_vhost_msg_take_fd(&m, 1), -1);
    vn_vhost_msg_close_fds(&m); /* skips the taken fd */
    assert_true(fcntl(efd, F_GETFD) >= 0);
    close(efd);
    close_pair(sv);
    assert_int_equal(count_open_fds(), before);
}

/* ---- malformed requests ----------------------------------------------------- */

static void test_wrong_size(void **state)
{
    int before = count_open_fds();
    uint8_t zero[sizeof(union vn_vhost_payload)] = { 0 };

    for (uint32_t rq = 1; rq < VN_VHOST_USER_MAX_REQUEST; rq++) {
        union vn_vhost_payload p;
        uint32_t size;
        unsigned int nfds;

        if (vn_vhost_req_flags(rq) & VN_VHOST_RQ_FOREIGN)
            continue;
        well_formed(rq, &p, &size, &nfds);
        /* Eight bytes more than the request carries... */
        if (rq != VN_VHOST_USER_SET_MEM_TABLE && rq != VN_VHOST_USER_GET_CONFIG &&
            rq != VN_VHOST_USER_SET_CONFIG) {
            assert_int_equal(roundtrip(rq, V, zero, size + 8, nfds, NULL), -EINVAL);
        }
        /* ...and four fewer. */
        if (size >= 4)
            assert_int_equal(roundtrip(rq, V, &p, size - 4, nfds, NULL), -EINVAL);
    }
    assert_int_equal(count_open_fds(), before);
}

static void test_mem_table_checks(void **state)
{
    int before = count_open_fds();
    struct vn_vhost_memory mem = { .nregions = 2 };

    /* Size must match nregions exactly. */
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, 8 + 3 * 32, 2, NULL),
                     -EINVAL);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, 8 + 1 * 32, 2, NULL),
                     -EINVAL);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, sizeof(mem), 2, NULL),
                     -EINVAL);
    /* One fd per region. */
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, 8 + 2 * 32, 1, NULL),
                     -EBADF);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, 8 + 2 * 32, 3, NULL),
                     -EBADF);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, 8 + 2 * 32, 0, NULL),
                     -EBADF);
    /* 1..8 regions. */
    mem.nregions = 0;
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, 8 + 32, 1, NULL), -ERANGE);
    mem.nregions = 9;
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, sizeof(mem), 8, NULL),
                     -ERANGE);
    mem.nregions = 8;
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, sizeof(mem), 8, NULL), 0);
    assert_int_equal(count_open_fds(), before);
}

static void test_fd_count(void **state)
{
    int before = count_open_fds();
    uint64_t u;

    /* A request that takes no fd, given one or eight. */
    u = 1;
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_FEATURES, V, &u, 8, 1, NULL), -EBADF);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_FEATURES, V, &u, 8, 8, NULL), -EBADF);
    assert_int_equal(roundtrip(VN_VHOST_USER_GET_FEATURES, V, NULL, 0, 2, NULL), -EBADF);
    /* A request that needs one, without. */
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_LOG_FD, V, NULL, 0, 0, NULL), -EBADF);
    assert_int_equal(roundtrip(VN_VHOST_USER_ADD_MEM_REG, V, &(struct vn_vhost_mem_reg){ 0 },
                               40, 0, NULL),
                     -EBADF);
    /* KICK: an fd must come exactly when NOFD is clear. */
    u = 0;
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_KICK, V, &u, 8, 0, NULL), -EBADF);
    u = VN_VHOST_VRING_NOFD;
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_KICK, V, &u, 8, 1, NULL), -EBADF);
    assert_int_equal(count_open_fds(), before);
}

static void test_too_many_fds(void **state)
{
    int before = count_open_fds();
    struct vn_vhost_memory mem = { .nregions = 8 };
    uint64_t u = 1;

    /* Nine fds: the kernel hands over eight and says MSG_CTRUNC; all of them are closed. */
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_MEM_TABLE, V, &mem, sizeof(mem), 9, NULL),
                     -ETOOMANYREFS);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_FEATURES, V, &u, 8, 16, NULL), -ETOOMANYREFS);

    /* Five with the header and five with the payload: ten in one message. */
    {
        struct vn_vhost_hdr hdr = { .request = VN_VHOST_USER_SET_FEATURES, .flags = V,
                                    .size = 8 };
        struct vn_vhost_msg m;
        int sv[2], fds[5];

        make_pair(sv);
        new_eventfds(fds, 5);
        send_with_fds(sv[1], &hdr, sizeof(hdr), fds, 5);
        close_fds(fds, 5);
        new_eventfds(fds, 5);
        send_with_fds(sv[1], &u, sizeof(u), fds, 5);
        close_fds(fds, 5);
        assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -ETOOMANYREFS);
        close_pair(sv);
    }
    assert_int_equal(count_open_fds(), before);
}

static void test_field_ranges(void **state)
{
    int before = count_open_fds();
    struct vn_vhost_vring_addr addr = { .index = 0, .flags = 2 };
    struct vn_vhost_vring_state st = { .index = 0, .num = 2 };
    struct vn_vhost_config cfg = { .size = VN_VHOST_MAX_CONFIG_SIZE + 1 };
    uint64_t u;

    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_ADDR, V, &addr, sizeof(addr), 0, NULL),
                     -ERANGE);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_ENABLE, V, &st, 8, 0, NULL), -ERANGE);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_ENDIAN, V, &st, 8, 0, NULL), -ERANGE);
    st.num = 1;
    assert_int_equal(roundtrip(VN_VHOST_USER_VRING_KICK, V, &st, 8, 0, NULL), -ERANGE);
    u = 1u << 9; /* reserved bit */
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_CALL, V, &u, 8, 1, NULL), -ERANGE);
    u = 1ULL << 40;
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_ERR, V, &u, 8, 1, NULL), -ERANGE);
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_CONFIG, V, &cfg, VN_VHOST_SZ_CONFIG_MAX, 0,
                               NULL),
                     -ERANGE);
    cfg.size = 6;
    assert_int_equal(roundtrip(VN_VHOST_USER_SET_CONFIG, V, &cfg, 12 + 7, 0, NULL), -EINVAL);
    assert_int_equal(roundtrip(VN_VHOST_USER_GET_CONFIG, V, &cfg, 12 + 5, 0, NULL), -EINVAL);
    assert_int_equal(count_open_fds(), before);
}

static void test_bad_flags(void **state)
{
    int before = count_open_fds();
    static const uint32_t bad[] = {
        0, 2, 3, V | VN_VHOST_FLAG_REPLY, V | 0x10, V | 0x80000000u, 0xffffffffu,
    };
    uint64_t u = 1;

    for (size_t i = 0; i < VN_ARRAY_SIZE(bad); i++) {
        assert_int_equal(roundtrip(VN_VHOST_USER_SET_FEATURES, bad[i], &u, 8, 0, NULL), -EPROTO);
        /* With fds attached: closed all the same. */
        assert_int_equal(roundtrip(VN_VHOST_USER_SET_VRING_CALL, bad[i], &u, 8, 1, NULL),
                         -EPROTO);
    }
    assert_int_equal(count_open_fds(), before);
}

static void test_unknown_and_foreign(void **state)
{
    int before = count_open_fds();
    static const uint32_t unknown[] = { 0, VN_VHOST_USER_MAX_REQUEST, 100, 0xffffffffu };
    uint64_t u = 0;

    for (size_t i = 0; i < VN_ARRAY_SIZE(unknown); i++) {
        assert_int_equal(roundtrip(unknown[i], V, &u, 8, 0, NULL), -ENOSYS);
        assert_int_equal(roundtrip(unknown[i], V, NULL, 0, 2, NULL), -ENOSYS);
    }
    /* Requests of crypto and GPU devices. */
    assert_int_equal(roundtrip(VN_VHOST_USER_CREATE_CRYPTO_SESSION, V, &u, 8, 0, NULL),
                     -EOPNOTSUPP);
    assert_int_equal(roundtrip(VN_VHOST_USER_CLOSE_CRYPTO_SESSION, V, &u, 8, 0, NULL),
                     -EOPNOTSUPP);
    assert_int_equal(roundtrip(VN_VHOST_USER_GPU_SET_SOCKET, V, NULL, 0, 1, NULL), -EOPNOTSUPP);
    assert_int_equal(count_open_fds(), before);
}

static void test_oversized(void **state)
{
    int before = count_open_fds();
    int sv[2], fds[2];
    struct vn_vhost_msg m;
    uint8_t big[sizeof(union vn_vhost_payload) + 8] = { 0 };

    make_pair(sv);
    new_eventfds(fds, 2);
    send_raw(sv[1], VN_VHOST_USER_SET_MEM_TABLE, V, sizeof(union vn_vhost_payload) + 1, big,
             sizeof(big), fds, 2);
    close_fds(fds, 2);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -EMSGSIZE);
    close_pair(sv);

    make_pair(sv);
    send_raw(sv[1], VN_VHOST_USER_SET_FEATURES, V, 0xffffffffu, big, 8, NULL, 0);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -EMSGSIZE);
    close_pair(sv);
    assert_int_equal(count_open_fds(), before);
}

/* ---- truncation, EOF, stalls ---------------------------------------------- */

static void test_eof(void **state)
{
    int sv[2];
    struct vn_vhost_msg m;

    make_pair(sv);
    close(sv[1]);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -ECONNRESET);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -ECONNRESET);
    close(sv[0]);

    /* A whole message, then EOF. */
    make_pair(sv);
    assert_int_equal(vn_vhost_send_msg(sv[1], VN_VHOST_USER_SET_OWNER, V, NULL, 0, NULL, 0), 0);
    close(sv[1]);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), 0);
    assert_int_equal(m.hdr.request, VN_VHOST_USER_SET_OWNER);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -ECONNRESET);
    close(sv[0]);
}

static void test_truncated(void **state)
{
    int before = count_open_fds();
    struct vn_vhost_hdr hdr = { .request = VN_VHOST_USER_SET_FEATURES, .flags = V, .size = 8 };
    struct vn_vhost_msg m;
    int sv[2], efd;
    uint64_t u = 7;

    /* Half a header, then EOF. */
    make_pair(sv);
    assert_int_equal(write(sv[1], &hdr, 6), 6);
    close(sv[1]);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -EBADMSG);
    close(sv[0]);

    /* Half a header carrying an fd, then EOF: the fd is closed. */
    make_pair(sv);
    efd = new_eventfd();
    send_with_fds(sv[1], &hdr, 6, &efd, 1);
    close(efd);
    close(sv[1]);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -EBADMSG);
    close(sv[0]);

    /* A whole header, half its payload, then EOF. */
    make_pair(sv);
    send_raw(sv[1], VN_VHOST_USER_SET_FEATURES, V, 8, &u, 4, NULL, 0);
    close(sv[1]);
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -EBADMSG);
    close(sv[0]);
    assert_int_equal(count_open_fds(), before);
}

static void test_nonblocking(void **state)
{
    struct vn_vhost_hdr hdr = { .request = VN_VHOST_USER_SET_FEATURES, .flags = V, .size = 8 };
    struct vn_vhost_msg m;
    uint64_t t0;
    int sv[2];

    make_pair(sv);
    assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    /* Nothing yet: not an error, nothing consumed. */
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -EAGAIN);
    /* Half a header and then silence: given up after the timeout. */
    assert_int_equal(write(sv[1], &hdr, 6), 6);
    t0 = vn_now_ns();
    assert_int_equal(vn_vhost_recv_msg(sv[0], &m), -ETIMEDOUT);
    assert_true(vn_now_ns() - t0 >= (uint64_t)VN_VHOST_IO_TIMEOUT_MS * 1000000 / 2);
    close_pair(sv);
}

/* ---- replies ---------------------------------------------------------------- */

/* Reads one reply as the front-end would: header, payload, fds. */
static void recv_reply(int fd, struct vn_vhost_hdr *hdr, void *payload, size_t len,
                       unsigned int *nfds, int *fds)
{
    uint8_t buf[sizeof(*hdr) + sizeof(union vn_vhost_payload)];
    union {
        char buf[CMSG_SPACE(sizeof(int) * VN_VHOST_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(*hdr) + len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf) };
    struct cmsghdr *c;

    assert_int_equal(recvmsg(fd, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC),
                     (ssize_t)iov.iov_len);
    memcpy(hdr, buf, sizeof(*hdr));
    memcpy(payload, buf + sizeof(*hdr), len);
    *nfds = 0;
    c = CMSG_FIRSTHDR(&mh);
    if (c && c->cmsg_type == SCM_RIGHTS) {
        *nfds = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(fds, CMSG_DATA(c), *nfds * sizeof(int));
    }
}

static void test_replies(void **state)
{
    int before = count_open_fds();
    struct vn_vhost_msg req;
    struct vn_vhost_hdr hdr;
    struct vn_vhost_inflight inf = { .mmap_size = 4096 };
    uint64_t u = 0x1234, got;
    int sv[2], fds[VN_VHOST_MAX_FDS + 1], rfds[VN_VHOST_MAX_FDS];
    unsigned int n;

    make_pair(sv);
    memset(&req, 0, sizeof(req));
    req.hdr.request = VN_VHOST_USER_GET_FEATURES;
    req.hdr.flags = V | VN_VHOST_FLAG_NEED_REPLY;

    assert_int_equal(vn_vhost_send_reply(sv[0], &req, &u, sizeof(u)), 0);
    recv_reply(sv[1], &hdr, &got, sizeof(got), &n, rfds);
    assert_int_equal(hdr.request, VN_VHOST_USER_GET_FEATURES);
    assert_int_equal(hdr.flags, V | VN_VHOST_FLAG_REPLY);
    assert_int_equal(hdr.size, 8);
    assert_int_equal(got, 0x1234);
    assert_int_equal(n, 0);

    /* REPLY_ACK: 0 for success, non-zero for failure. */
    req.hdr.request = VN_VHOST_USER_SET_VRING_ENABLE;
    assert_int_equal(vn_vhost_send_ack(sv[0], &req, 0), 0);
    recv_reply(sv[1], &hdr, &got, sizeof(got), &n, rfds);
    assert_int_equal(hdr.request, VN_VHOST_USER_SET_VRING_ENABLE);
    assert_int_equal(got, 0);
    assert_int_equal(vn_vhost_send_ack(sv[0], &req, -EINVAL), 0);
    recv_reply(sv[1], &hdr, &got, sizeof(got), &n, rfds);
    assert_int_equal(got, 1);

    /* A reply with an fd (GET_INFLIGHT_FD). */
    req.hdr.request = VN_VHOST_USER_GET_INFLIGHT_FD;
    new_eventfds(fds, 1);
    assert_int_equal(vn_vhost_send_reply_fds(sv[0], &req, &inf, sizeof(inf), fds, 1), 0);
    close(fds[0]);
    {
        struct vn_vhost_inflight back;

        recv_reply(sv[1], &hdr, &back, sizeof(back), &n, rfds);
        assert_int_equal(hdr.size, sizeof(inf));
        assert_int_equal(back.mmap_size, 4096);
        assert_int_equal(n, 1);
        close(rfds[0]);
    }

    /* What cannot be sent. */
    assert_int_equal(vn_vhost_send_reply(sv[0], &req, &u, sizeof(union vn_vhost_payload) + 1),
                     -EMSGSIZE);
    new_eventfds(fds, VN_VHOST_MAX_FDS + 1);
    assert_int_equal(vn_vhost_send_reply_fds(sv[0], &req, NULL, 0, fds, VN_VHOST_MAX_FDS + 1),
                     -EINVAL);
    close_fds(fds, VN_VHOST_MAX_FDS + 1);

    /* A peer that went away. */
    close(sv[1]);
    assert_int_equal(vn_vhost_send_reply(sv[0], &req, &u, sizeof(u)), -EPIPE);
    close(sv[0]);
    assert_int_equal(count_open_fds(), before);
}

static void test_needs_ack(void **state)
{
    struct vn_vhost_msg m;

    memset(&m, 0, sizeof(m));
    m.hdr.request = VN_VHOST_USER_SET_FEATURES;
    m.hdr.flags = V;
    assert_false(vn_vhost_msg_needs_ack(&m));
    m.hdr.flags = V | VN_VHOST_FLAG_NEED_REPLY;
    assert_true(vn_vhost_msg_needs_ack(&m));
    /* Requests with a reply of their own need no extra ack. */
    m.hdr.request = VN_VHOST_USER_GET_VRING_BASE;
    assert_false(vn_vhost_msg_needs_ack(&m));
    m.hdr.request = VN_VHOST_USER_GET_FEATURES;
    assert_false(vn_vhost_msg_needs_ack(&m));
}

/* ---- names, numbers, indices ---------------------------------------------- */

static void test_request_numbers(void **state)
{
    /* Numbers from QEMU docs/interop/vhost-user.rst, "Front-end message types". */
    static const struct {
        uint32_t id;
        const char *name;
    } spec[] = {
        { 1, "VHOST_USER_GET_FEATURES" },
        { 2, "VHOST_USER_SET_FEATURES" },
        { 3, "VHOST_USER_SET_OWNER" },
        { 4, "VHOST_USER_RESET_OWNER" },
        { 5, "VHOST_USER_SET_MEM_TABLE" },
        { 6, "VHOST_USER_SET_LOG_BASE" },
        { 7, "VHOST_USER_SET_LOG_FD" },
        { 8, "VHOST_USER_SET_VRING_NUM" },
        { 9, "VHOST_USER_SET_VRING_ADDR" },
        { 10, "VHOST_USER_SET_VRING_BASE" },
        { 11, "VHOST_USER_GET_VRING_BASE" },
        { 12, "VHOST_USER_SET_VRING_KICK" },
        { 13, "VHOST_USER_SET_VRING_CALL" },
        { 14, "VHOST_USER_SET_VRING_ERR" },
        { 15, "VHOST_USER_GET_PROTOCOL_FEATURES" },
        { 16, "VHOST_USER_SET_PROTOCOL_FEATURES" },
        { 17, "VHOST_USER_GET_QUEUE_NUM" },
        { 18, "VHOST_USER_SET_VRING_ENABLE" },
        { 19, "VHOST_USER_SEND_RARP" },
        { 20, "VHOST_USER_NET_SET_MTU" },
        { 21, "VHOST_USER_SET_BACKEND_REQ_FD" },
        { 22, "VHOST_USER_IOTLB_MSG" },
        { 23, "VHOST_USER_SET_VRING_ENDIAN" },
        { 24, "VHOST_USER_GET_CONFIG" },
        { 25, "VHOST_USER_SET_CONFIG" },
        { 26, "VHOST_USER_CREATE_CRYPTO_SESSION" },
        { 27, "VHOST_USER_CLOSE_CRYPTO_SESSION" },
        { 28, "VHOST_USER_POSTCOPY_ADVISE" },
        { 29, "VHOST_USER_POSTCOPY_LISTEN" },
        { 30, "VHOST_USER_POSTCOPY_END" },
        { 31, "VHOST_USER_GET_INFLIGHT_FD" },
        { 32, "VHOST_USER_SET_INFLIGHT_FD" },
        { 33, "VHOST_USER_GPU_SET_SOCKET" },
        { 34, "VHOST_USER_RESET_DEVICE" },
        { 35, "VHOST_USER_VRING_KICK" },
        { 36, "VHOST_USER_GET_MAX_MEM_SLOTS" },
        { 37, "VHOST_USER_ADD_MEM_REG" },
        { 38, "VHOST_USER_REM_MEM_REG" },
        { 39, "VHOST_USER_SET_STATUS" },
        { 40, "VHOST_USER_GET_STATUS" },
        { 41, "VHOST_USER_GET_SHARED_OBJECT" },
        { 42, "VHOST_USER_SET_DEVICE_STATE_FD" },
        { 43, "VHOST_USER_CHECK_DEVICE_STATE" },
    };

    assert_int_equal(VN_VHOST_USER_MAX_REQUEST, 44);
    for (size_t i = 0; i < VN_ARRAY_SIZE(spec); i++)
        assert_string_equal(vn_vhost_req_name(spec[i].id), spec[i].name);
    assert_int_equal(VN_VHOST_USER_SET_STATUS, 39);
    assert_int_equal(VN_VHOST_USER_GET_STATUS, 40);
    assert_int_equal(VN_VHOST_USER_GET_INFLIGHT_FD, 31);
    assert_string_equal(vn_vhost_req_name(0), "VHOST_USER_UNKNOWN");
    assert_string_equal(vn_vhost_req_name(44), "VHOST_USER_UNKNOWN");
    assert_string_equal(vn_vhost_req_name(0xffffffffu), "VHOST_USER_UNKNOWN");
    assert_int_equal(vn_vhost_req_flags(12345), 0);
}

static void test_vring_index(void **state)
{
    struct vn_vhost_msg m;
    uint32_t idx = 99;

    memset(&m, 0, sizeof(m));
    m.hdr.request = VN_VHOST_USER_SET_VRING_NUM;
    m.payload.state.index = 3;
    assert_int_equal(vn_vhost_msg_vring_index(&m, 4, &idx), 0);
    assert_int_equal(idx, 3);
    idx = 99;
    assert_int_equal(vn_vhost_msg_vring_index(&m, 3, &idx), -ERANGE);
    assert_int_equal(idx, 99);
    assert_int_equal(vn_vhost_msg_vring_index(&m, 0, &idx), -ERANGE);

    m.hdr.request = VN_VHOST_USER_SET_VRING_ADDR;
    m.payload.addr.index = 7;
    assert_int_equal(vn_vhost_msg_vring_index(&m, 8, &idx), 0);
    assert_int_equal(idx, 7);
    m.payload.addr.index = 0xffffffffu;
    assert_int_equal(vn_vhost_msg_vring_index(&m, 8, &idx), -ERANGE);

    m.hdr.request = VN_VHOST_USER_SET_VRING_CALL;
    m.payload.u64 = 5 | VN_VHOST_VRING_NOFD;
    assert_int_equal(vn_vhost_msg_vring_index(&m, 6, &idx), 0);
    assert_int_equal(idx, 5);
    assert_int_equal(vn_vhost_msg_vring_index(&m, 5, &idx), -ERANGE);

    m.hdr.request = VN_VHOST_USER_GET_VRING_BASE;
    m.payload.state.index = 1;
    assert_int_equal(vn_vhost_msg_vring_index(&m, 2, &idx), 0);

    m.hdr.request = VN_VHOST_USER_SET_FEATURES;
    assert_int_equal(vn_vhost_msg_vring_index(&m, 2, &idx), -EINVAL);
    m.hdr.request = 1000;
    assert_int_equal(vn_vhost_msg_vring_index(&m, 2, &idx), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_request_parses),
        cmocka_unit_test(test_optional_fds),
        cmocka_unit_test(test_split_message),
        cmocka_unit_test(test_wrong_size),
        cmocka_unit_test(test_mem_table_checks),
        cmocka_unit_test(test_fd_count),
        cmocka_unit_test(test_too_many_fds),
        cmocka_unit_test(test_field_ranges),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_unknown_and_foreign),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_nonblocking),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_needs_ack),
        cmocka_unit_test(test_request_numbers),
        cmocka_unit_test(test_vring_index),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
