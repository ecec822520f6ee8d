/*
 * vhost_user.c - vhost-user message framing and checks; see vhost_user.h.
 */
#include <config.h>

#include "vhost_user.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

_Static_assert(sizeof(struct vn_vhost_hdr) == 12, "vhost-user header is 12 bytes");
_Static_assert(sizeof(struct vn_vhost_vring_state) == 8, "vring state layout");
_Static_assert(sizeof(struct vn_vhost_vring_addr) == 40, "vring addr layout");
_Static_assert(sizeof(struct vn_vhost_mem_region) == 32, "memory region layout");
_Static_assert(sizeof(struct vn_vhost_memory) == 8 + 8 * 32, "memory table layout");
_Static_assert(sizeof(struct vn_vhost_mem_reg) == 40, "single region layout");
_Static_assert(sizeof(struct vn_vhost_iotlb) == 32, "iotlb layout");
_Static_assert(VN_VHOST_CONFIG_HDR_SIZE == 12, "config layout");
_Static_assert(sizeof(struct vn_vhost_inflight) == 24, "inflight layout");

struct req_info {
    const char *name; /* NULL: no such request */
    uint32_t min_size;
    uint32_t max_size;
    uint8_t min_fds;
    uint8_t max_fds;
    uint8_t flags; /* VN_VHOST_RQ_* */
};

static const struct req_info requests[VN_VHOST_USER_MAX_REQUEST] = {
#define VN_VHOST_REQ_INFO(name_, id, min_sz, max_sz, min_fd, max_fd, flags_)                       \
    [id] = { .name = "VHOST_USER_" #name_, .min_size = (min_sz), .max_size = (max_sz),             \
             .min_fds = (min_fd), .max_fds = (max_fd), .flags = (flags_) },
    VN_VHOST_REQUESTS(VN_VHOST_REQ_INFO)
#undef VN_VHOST_REQ_INFO
};

static const struct req_info *req_lookup(uint32_t request)
{
    if (request >= VN_ARRAY_SIZE(requests) || !requests[request].name)
        return NULL;
    return &requests[request];
}

const char *vn_vhost_req_name(uint32_t request)
{
    const struct req_info *ri = req_lookup(request);

    return ri ? ri->name : "VHOST_USER_UNKNOWN";
}

unsigned int vn_vhost_req_flags(uint32_t request)
{
    const struct req_info *ri = req_lookup(request);

    return ri ? ri->flags : 0;
}

/* ---- fds ------------------------------------------------------------------ */

/* The fds gathered while one message is read. */
struct fd_set_rx {
    unsigned int n;
    int fds[VN_VHOST_MAX_FDS];
    bool overflow; /* more came than fit, or the kernel truncated them */
};

static void fd_set_close(struct fd_set_rx *s)
{
    for (unsigned int i = 0; i < s->n; i++)
        close(s->fds[i]);
    s->n = 0;
}

/* Moves the SCM_RIGHTS fds of 'mh' into 's', closing any beyond its room. */
static void fd_set_collect(struct fd_set_rx *s, struct msghdr *mh)
{
    if (mh->msg_flags & MSG_CTRUNC)
        s->overflow = true;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        const unsigned char *data = CMSG_DATA(c);
        size_t n;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
            continue;
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, data + i * sizeof(int), sizeof(int));
            if (s->n < VN_VHOST_MAX_FDS) {
                s->fds[s->n++] = fd;
            } else {
                close(fd);
                s->overflow = true;
            }
        }
    }
}

void vn_vhost_msg_close_fds(struct vn_vhost_msg *msg)
{
    for (unsigned int i = 0; i < msg->nfds; i++) {
        if (msg->fds[i] >= 0)
            close(msg->fds[i]);
        msg->fds[i] = -1;
    }
    msg->nfds = 0;
}

int vn_vhost_msg_take_fd(struct vn_vhost_msg *msg, unsigned int i)
{
    int fd;

    if (i >= msg->nfds)
        return -1;
    fd = msg->fds[i];
    msg->fds[i] = -1;
    return fd;
}

/* ---- socket I/O ------------------------------------------------------------- */

/* Waits until 'fd' has 'events' or 'deadline_ns' (CLOCK_MONOTONIC) passes. */
static int wait_fd(int fd, short events, uint64_t deadline_ns)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        uint64_t now = vn_now_ns();
        int ms, r;

        if (now >= deadline_ns)
            return -ETIMEDOUT;
        ms = (int)((deadline_ns - now + 999999) / 1000000);
        r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/*
 * After recvmsg()/sendmsg() failed with errno: 0 when the call should be made
 * again (interrupted, or 'fd' is ready for 'events' now), else the error.
 */
static int io_retry(int fd, short events, uint64_t deadline_ns)
{
    if (errno == EINTR)
        return 0;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -errno;
    return wait_fd(fd, events, deadline_ns);
}

/*
 * Reads exactly 'len' bytes into 'buf', gathering fds into 's'.  'at_start':
 * these are the first bytes of a message, so "nothing yet" is -EAGAIN and EOF
 * is -ECONNRESET; later, a stall is waited for until 'deadline_ns' and EOF is
 * -EBADMSG.
 */
static int recv_exact(int fd, void *buf, size_t len, struct fd_set_rx *s, bool at_start,
                      uint64_t deadline_ns)
{
    size_t got = 0;

    while (got < len) {
        union {
            char buf[CMSG_SPACE(sizeof(int) * VN_VHOST_MAX_FDS)];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = { .iov_base = (char *)buf + got, .iov_len = len - got };
        struct msghdr mh = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = ctl.buf,
            .msg_controllen = sizeof(ctl.buf),
        };
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

        if (n < 0) {
            int err;

            if (at_start && got == 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return -EAGAIN;
            err = io_retry(fd, POLLIN, deadline_ns);
            if (err)
                return err;
            continue;
        }
        fd_set_collect(s, &mh);
        if (n == 0)
            return at_start && got == 0 ? -ECONNRESET : -EBADMSG;
        got += (size_t)n;
    }
    return 0;
}

/* ---- receive -------------------------------------------------------------- */

/* Checks of single fields the protocol bounds; 'm' passed the table's checks. */
static int payload_check(struct vn_vhost_msg *m)
{
    const union vn_vhost_payload *p = &m->payload;

    switch (m->hdr.request) {
    case VN_VHOST_USER_SET_MEM_TABLE:
        if (p->memory.nregions < 1 || p->memory.nregions > VN_VHOST_MEMORY_MAX_NREGIONS)
            return -ERANGE;
        if (m->hdr.size !=
            VN_VHOST_MEMORY_HDR_SIZE + p->memory.nregions * sizeof(struct vn_vhost_mem_region))
            return -EINVAL;
        if (m->nfds != p->memory.nregions)
            return -EBADF;
        return 0;
    case VN_VHOST_USER_SET_VRING_KICK:
    case VN_VHOST_USER_SET_VRING_CALL:
    case VN_VHOST_USER_SET_VRING_ERR:
        if (p->u64 & ~(uint64_t)(VN_VHOST_VRING_IDX_MASK | VN_VHOST_VRING_NOFD))
            return -ERANGE;
        if (m->nfds != (p->u64 & VN_VHOST_VRING_NOFD ? 0u : 1u))
            return -EBADF;
        return 0;
    case VN_VHOST_USER_SET_VRING_ADDR:
        return p->addr.flags & ~(1u << VN_VHOST_VRING_F_LOG) ? -ERANGE : 0;
    case VN_VHOST_USER_SET_VRING_ENABLE:
    case VN_VHOST_USER_SET_VRING_ENDIAN:
        return p->state.num > 1 ? -ERANGE : 0;
    case VN_VHOST_USER_VRING_KICK:
        return p->state.num != 0 ? -ERANGE : 0;
    case VN_VHOST_USER_GET_CONFIG:
    case VN_VHOST_USER_SET_CONFIG:
        if (p->config.size > VN_VHOST_MAX_CONFIG_SIZE)
            return -ERANGE;
        return m->hdr.size != VN_VHOST_CONFIG_HDR_SIZE + p->config.size ? -EINVAL : 0;
    case VN_VHOST_USER_REM_MEM_REG:
        /* The spec lets old front-ends send an fd here, to be closed unused. */
        vn_vhost_msg_close_fds(m);
        return 0;
    default:
        return 0;
    }
}

/* Checks a fully read message against the request table. */
static int msg_check(struct vn_vhost_msg *m, const struct req_info *ri, bool fd_overflow)
{
    if (fd_overflow)
        return -ETOOMANYREFS;
    if (ri->flags & VN_VHOST_RQ_FOREIGN)
        return -EOPNOTSUPP;
    if (m->hdr.size < ri->min_size || m->hdr.size > ri->max_size)
        return -EINVAL;
    if (m->nfds < ri->min_fds || m->nfds > ri->max_fds)
        return -EBADF;
    return payload_check(m);
}

int vn_vhost_recv_msg(int fd, struct vn_vhost_msg *msg)
{
    uint64_t deadline = vn_now_ns() + (uint64_t)VN_VHOST_IO_TIMEOUT_MS * 1000000;
    struct fd_set_rx rx = { .n = 0 };
    const struct req_info *ri;
    struct vn_vhost_msg m;
    int err;

    memset(&m, 0, sizeof(m));
    err = recv_exact(fd, &m.hdr, sizeof(m.hdr), &rx, true, deadline);
    if (err)
        goto err_close_fds;
    if ((m.hdr.flags & VN_VHOST_VERSION_MASK) != VN_VHOST_VERSION ||
        (m.hdr.flags & ~(VN_VHOST_VERSION_MASK | VN_VHOST_FLAG_NEED_REPLY))) {
        err = -EPROTO;
        goto err_close_fds;
    }
    ri = req_lookup(m.hdr.request);
    if (!ri) {
        err = -ENOSYS;
        goto err_close_fds;
    }
    if (m.hdr.size > sizeof(m.payload)) {
        err = -EMSGSIZE;
        goto err_close_fds;
    }
    err = recv_exact(fd, &m.payload, m.hdr.size, &rx, false, deadline);
    if (err)
        goto err_close_fds;

    m.nfds = rx.n;
    memcpy(m.fds, rx.fds, sizeof(int) * rx.n);
    for (unsigned int i = rx.n; i < VN_VHOST_MAX_FDS; i++)
        m.fds[i] = -1;
    rx.n = 0; /* now in 'm' */
    err = msg_check(&m, ri, rx.overflow);
    if (err) {
        vn_vhost_msg_close_fds(&m);
        return err;
    }
    *msg = m;
    return 0;

err_close_fds:
    fd_set_close(&rx);
    return err;
}

/* ---- send ------------------------------------------------------------------ */

int vn_vhost_send_msg(int fd, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
                      const int *fds, unsigned int nfds)
{
    uint64_t deadline = vn_now_ns() + (uint64_t)VN_VHOST_IO_TIMEOUT_MS * 1000000;
    struct {
        struct vn_vhost_hdr hdr;
        uint8_t payload[sizeof(union vn_vhost_payload)];
    } __attribute__((packed)) wire;
    union {
        char buf[CMSG_SPACE(sizeof(int) * VN_VHOST_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    size_t len = sizeof(wire.hdr) + size, sent = 0;

    if (size > sizeof(wire.payload))
        return -EMSGSIZE;
    if (nfds > VN_VHOST_MAX_FDS)
        return -EINVAL;
    wire.hdr.request = request;
    wire.hdr.flags = flags;
    wire.hdr.size = size;
    if (size)
        memcpy(wire.payload, payload, size);

    while (sent < len) {
        struct iovec iov = { .iov_base = (uint8_t *)&wire + sent, .iov_len = len - sent };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        /* The fds go with the first byte only. */
        if (sent == 0 && nfds > 0)
            vn_msg_put_fds(&mh, ctl.buf, fds, nfds);
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            int err = io_retry(fd, POLLOUT, deadline);

            if (err)
                return err;
            continue;
        }
        sent += (size_t)n;
    }
    return 0;
}

int vn_vhost_send_reply_fds(int fd, const struct vn_vhost_msg *req, const void *payload,
                            uint32_t size, const int *fds, unsigned int nfds)
{
    return vn_vhost_send_msg(fd, req->hdr.request, VN_VHOST_VERSION | VN_VHOST_FLAG_REPLY, payload,
                             size, fds, nfds);
}

int vn_vhost_send_reply(int fd, const struct vn_vhost_msg *req, const void *payload, uint32_t size)
{
    return vn_vhost_send_reply_fds(fd, req, payload, size, NULL, 0);
}

int vn_vhost_send_ack(int fd, const struct vn_vhost_msg *req, int result)
{
    uint64_t v = result != 0;

    return vn_vhost_send_reply(fd, req, &v, sizeof(v));
}

bool vn_vhost_msg_needs_ack(const struct vn_vhost_msg *msg)
{
    return (msg->hdr.flags & VN_VHOST_FLAG_NEED_REPLY) &&
           !(vn_vhost_req_flags(msg->hdr.request) & VN_VHOST_RQ_REPLY);
}

int vn_vhost_msg_vring_index(const struct vn_vhost_msg *msg, uint32_t max_queues,
                             uint32_t *ret_index)
{
    unsigned int flags = vn_vhost_req_flags(msg->hdr.request);
    uint32_t idx;

    if (flags & VN_VHOST_RQ_IDX_STATE)
        idx = msg->payload.state.index;
    else if (flags & VN_VHOST_RQ_IDX_ADDR)
        idx = msg->payload.addr.index;
    else if (flags & VN_VHOST_RQ_IDX_FILE)
        idx = (uint32_t)(msg->payload.u64 & VN_VHOST_VRING_IDX_MASK);
    else
        return -EINVAL;
    if (idx >= max_queues)
        return -ERANGE;
    *ret_index = idx;
    return 0;
}
