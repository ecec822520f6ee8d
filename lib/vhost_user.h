/*
 * vhost_user.h - the vhost-user protocol message layer, back-end side.
 *
 * The software DPU serves each emulated virtio-net function as a vhost-user
 * device: the front-end (QEMU, DPDK virtio-user) connects to our unix socket
 * and sends requests, some with file descriptors (SCM_RIGHTS).  This module
 * reads one request, checks everything about its framing against one table
 * (version flags, payload size per request, fd count per request, fields
 * whose range the protocol fixes) and writes replies.  What a request means
 * for a device (features, memory table, rings) is the caller's business; it
 * sees only requests that passed these checks.  Layouts and numbers follow
 * QEMU's docs/interop/vhost-user.rst ("front-end message types").
 *
 * All numbers are in host byte order, as the protocol says.  The front-end is
 * not trusted: any error here means the peer broke the protocol, and the
 * caller closes the connection (a bad peer breaks only its own connection).
 *
 * Thread safety: none needed; functions work on the caller's objects and fd.
 */
#ifndef VN_VHOST_USER_H
#define VN_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- header ------------------------------------------------------------- */

#define VN_VHOST_VERSION         0x1u /* the only protocol version */
#define VN_VHOST_VERSION_MASK    0x3u
#define VN_VHOST_FLAG_REPLY      (1u << 2) /* set on every back-end reply */
#define VN_VHOST_FLAG_NEED_REPLY (1u << 3) /* REPLY_ACK: the front-end wants an ack */

#define VN_VHOST_MAX_FDS             8   /* fds one message may carry */
#define VN_VHOST_MEMORY_MAX_NREGIONS 8   /* regions in SET_MEM_TABLE */
#define VN_VHOST_MAX_CONFIG_SIZE     256 /* bytes of config space in GET/SET_CONFIG */

/* Virtio feature bits of the vhost layer (GET/SET_FEATURES). */
#define VN_VHOST_F_LOG_ALL                26
#define VN_VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VN_VHOST_PROTOCOL_F_MQ                   0
#define VN_VHOST_PROTOCOL_F_LOG_SHMFD            1
#define VN_VHOST_PROTOCOL_F_RARP                 2
#define VN_VHOST_PROTOCOL_F_REPLY_ACK            3
#define VN_VHOST_PROTOCOL_F_NET_MTU              4
#define VN_VHOST_PROTOCOL_F_BACKEND_REQ          5
#define VN_VHOST_PROTOCOL_F_CROSS_ENDIAN         6
#define VN_VHOST_PROTOCOL_F_CRYPTO_SESSION       7
#define VN_VHOST_PROTOCOL_F_PAGEFAULT            8
#define VN_VHOST_PROTOCOL_F_CONFIG               9
#define VN_VHOST_PROTOCOL_F_BACKEND_SEND_FD      10
#define VN_VHOST_PROTOCOL_F_HOST_NOTIFIER        11
#define VN_VHOST_PROTOCOL_F_INFLIGHT_SHMFD       12
#define VN_VHOST_PROTOCOL_F_RESET_DEVICE         13
#define VN_VHOST_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VN_VHOST_PROTOCOL_F_CONFIGURE_MEM_SLOTS  15
#define VN_VHOST_PROTOCOL_F_STATUS               16
#define VN_VHOST_PROTOCOL_F_XEN_MMAP             17
#define VN_VHOST_PROTOCOL_F_SHARED_OBJECT        18
#define VN_VHOST_PROTOCOL_F_DEVICE_STATE         19

struct vn_vhost_hdr {
    uint32_t request; /* enum vn_vhost_request */
    uint32_t flags;   /* version | REPLY | NEED_REPLY */
    uint32_t size;    /* payload bytes that follow */
};

/* ---- payloads ------------------------------------------------------------ */

/* SET_VRING_NUM, SET/GET_VRING_BASE, SET_VRING_ENABLE, SET_VRING_ENDIAN, VRING_KICK. */
struct vn_vhost_vring_state {
    uint32_t index;
    uint32_t num;
};

#define VN_VHOST_VRING_F_LOG 0 /* bit of vn_vhost_vring_addr.flags: log used ring writes */

/* SET_VRING_ADDR: ring addresses in the front-end's address space. */
struct vn_vhost_vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc_user_addr;
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
};

/* The u64 of SET_VRING_KICK / CALL / ERR: a vring index and "no fd, poll". */
#define VN_VHOST_VRING_IDX_MASK 0xffu
#define VN_VHOST_VRING_NOFD     (1u << 8)

struct vn_vhost_mem_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
};

/* SET_MEM_TABLE: 'nregions' regions follow, one fd each, in order. */
struct vn_vhost_memory {
    uint32_t nregions;
    uint32_t padding;
    struct vn_vhost_mem_region regions[VN_VHOST_MEMORY_MAX_NREGIONS];
};

#define VN_VHOST_MEMORY_HDR_SIZE offsetof(struct vn_vhost_memory, regions)

/* ADD_MEM_REG / REM_MEM_REG. */
struct vn_vhost_mem_reg {
    uint64_t padding;
    struct vn_vhost_mem_region region;
};

/* SET_LOG_BASE (LOG_SHMFD). */
struct vn_vhost_log {
    uint64_t mmap_size;
    uint64_t mmap_offset;
};

/*
 * IOTLB_MSG (front-end to back-end: UPDATE, INVALIDATE) and the back-end
 * request BACKEND_IOTLB_MSG (MISS): struct vhost_iotlb_msg.  'perm' is
 * VN_VHOST_ACCESS_*; a MISS carries the IOVA and the access that missed.
 */
#define VN_VHOST_IOTLB_MISS       1
#define VN_VHOST_IOTLB_UPDATE     2
#define VN_VHOST_IOTLB_INVALIDATE 3
#define VN_VHOST_IOTLB_ACCESS_FAIL 4
#define VN_VHOST_ACCESS_RO 0x1
#define VN_VHOST_ACCESS_WO 0x2
#define VN_VHOST_ACCESS_RW 0x3

/* Back-end requests (on the SET_BACKEND_REQ_FD channel, BACKEND_REQ). */
#define VN_VHOST_BACKEND_IOTLB_MSG 1

struct vn_vhost_iotlb {
    uint64_t iova;
    uint64_t size;
    uint64_t uaddr;
    uint8_t perm;
    uint8_t type;
    uint8_t padding[6];
};

/* GET_CONFIG / SET_CONFIG: 'size' bytes of config space at 'offset'. */
struct vn_vhost_config {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t region[VN_VHOST_MAX_CONFIG_SIZE];
};

#define VN_VHOST_CONFIG_HDR_SIZE offsetof(struct vn_vhost_config, region)

/* GET_INFLIGHT_FD / SET_INFLIGHT_FD. */
struct vn_vhost_inflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
    uint8_t padding[4];
};

/* GET_SHARED_OBJECT. */
struct vn_vhost_shared {
    uint8_t uuid[16];
};

/* SET_DEVICE_STATE_FD. */
struct vn_vhost_device_state {
    uint32_t direction;
    uint32_t phase;
};

union vn_vhost_payload {
    uint64_t u64;
    struct vn_vhost_vring_state state;
    struct vn_vhost_vring_addr addr;
    struct vn_vhost_memory memory;
    struct vn_vhost_mem_reg mem_reg;
    struct vn_vhost_log log;
    struct vn_vhost_iotlb iotlb;
    struct vn_vhost_config config;
    struct vn_vhost_inflight inflight;
    struct vn_vhost_shared shared;
    struct vn_vhost_device_state device_state;
};

/* ---- requests -------------------------------------------------------------- */

/* Flags of a request in VN_VHOST_REQUESTS. */
#define VN_VHOST_RQ_REPLY     0x01 /* always answered with a payload (REPLY_ACK adds nothing) */
#define VN_VHOST_RQ_FOREIGN   0x02 /* for other device types: refused with -EOPNOTSUPP */
#define VN_VHOST_RQ_IDX_STATE 0x04 /* carries a vring index in state.index */
#define VN_VHOST_RQ_IDX_ADDR  0x08 /* carries a vring index in addr.index */
#define VN_VHOST_RQ_IDX_FILE  0x10 /* carries a vring index in u64 & VN_VHOST_VRING_IDX_MASK */

#define VN_VHOST_SZ_U64        sizeof(uint64_t)
#define VN_VHOST_SZ_STATE      sizeof(struct vn_vhost_vring_state)
#define VN_VHOST_SZ_MEM_MIN    (VN_VHOST_MEMORY_HDR_SIZE + sizeof(struct vn_vhost_mem_region))
#define VN_VHOST_SZ_CONFIG_MAX (VN_VHOST_CONFIG_HDR_SIZE + VN_VHOST_MAX_CONFIG_SIZE)

/*
 * Front-end requests: X(name, id, min payload, max payload, min fds, max fds, flags).
 * The ranges are what a well-formed request carries; a few requests get more
 * checks of their fields (SET_MEM_TABLE, SET_VRING_KICK/CALL/ERR, ...).
 */
#define VN_VHOST_REQUESTS(X)                                                                       \
    X(GET_FEATURES, 1, 0, 0, 0, 0, VN_VHOST_RQ_REPLY)                                              \
    X(SET_FEATURES, 2, VN_VHOST_SZ_U64, VN_VHOST_SZ_U64, 0, 0, 0)                                  \
    X(SET_OWNER, 3, 0, 0, 0, 0, 0)                                                                 \
    X(RESET_OWNER, 4, 0, 0, 0, 0, 0)                                                               \
    X(SET_MEM_TABLE, 5, VN_VHOST_SZ_MEM_MIN, sizeof(struct vn_vhost_memory), 1,                    \
      VN_VHOST_MEMORY_MAX_NREGIONS, 0)                                                             \
    X(SET_LOG_BASE, 6, sizeof(struct vn_vhost_log), sizeof(struct vn_vhost_log), 1, 1,             \
      VN_VHOST_RQ_REPLY)                                                                           \
    X(SET_LOG_FD, 7, 0, 0, 1, 1, 0)                                                                \
    X(SET_VRING_NUM, 8, VN_VHOST_SZ_STATE, VN_VHOST_SZ_STATE, 0, 0, VN_VHOST_RQ_IDX_STATE)         \
    X(SET_VRING_ADDR, 9, sizeof(struct vn_vhost_vring_addr), sizeof(struct vn_vhost_vring_addr),   \
      0, 0, VN_VHOST_RQ_IDX_ADDR)                                                                  \
    X(SET_VRING_BASE, 10, VN_VHOST_SZ_STATE, VN_VHOST_SZ_STATE, 0, 0, VN_VHOST_RQ_IDX_STATE)       \
    X(GET_VRING_BASE, 11, VN_VHOST_SZ_STATE, VN_VHOST_SZ_STATE, 0, 0,                              \
      VN_VHOST_RQ_IDX_STATE | VN_VHOST_RQ_REPLY)                                                   \
    X(SET_VRING_KICK, 12, VN_VHOST_SZ_U64, VN_VHOST_SZ_U64, 0, 1, VN_VHOST_RQ_IDX_FILE)            \
    X(SET_VRING_CALL, 13, VN_VHOST_SZ_U64, VN_VHOST_SZ_U64, 0, 1, VN_VHOST_RQ_IDX_FILE)            \
    X(SET_VRING_ERR, 14, VN_VHOST_SZ_U64, VN_VHOST_SZ_U64, 0, 1, VN_VHOST_RQ_IDX_FILE)             \
    X(GET_PROTOCOL_FEATURES, 15, 0, 0, 0, 0, VN_VHOST_RQ_REPLY)                                    \
    X(SET_PROTOCOL_FEATURES, 16, VN_VHOST_SZ_U64, VN_VHOST_SZ_U64, 0, 0, 0)                        \
    X(GET_QUEUE_NUM, 17, 0, 0, 0, 0, VN_VHOST_RQ_REPLY)                                            \
    X(SET_VRING_ENABLE, 18, VN_VHOST_SZ_STATE, VN_VHOST_SZ_STATE, 0, 0, VN_VHOST_RQ_IDX_STATE)     \
    X(SEND_RARP, 19, VN_VHOST_SZ_U64, VN_VHOST_SZ_U64, 0, 0, 0)                                    \
    X(NET_SET_MTU, 20, VN_VHOST_SZ_U64, VN_VHOST_SZ_U64, 0, 0, 0)                                  \
    X(SET_BACKEND_REQ_FD, 21, 0, 0, 1, 1, 0)                                                       \
    X(IOTLB_MSG, 22, sizeof(struct vn_vhost_iotlb), sizeof(struct vn_vhost_iotlb), 0, 0,           \
      VN_VHOST_RQ_REPLY)                                                                           \
    X(SET_VRING_ENDIAN, 23, VN_VHOST_SZ_STATE, VN_VHOST_SZ_STATE, 0, 0, VN_VHOST_RQ_IDX_STATE)     \
    X(GET_CONFIG, 24, VN_VHOST_CONFIG_HDR_SIZE, VN_VHOST_SZ_CONFIG_MAX, 0, 0, VN_VHOST_RQ_REPLY)   \
    X(SET_CONFIG, 25, VN_VHOST_CONFIG_HDR_SIZE, VN_VHOST_SZ_CONFIG_MAX, 0, 0, 0)                   \
    X(CREATE_CRYPTO_SESSION, 26, 0, 0, 0, 0, VN_VHOST_RQ_FOREIGN | VN_VHOST_RQ_REPLY)              \
    X(CLOSE_CRYPTO_SESSION, 27, 0, 0, 0, 0, VN_VHOST_RQ_FOREIGN)                                   \
    X(POSTCOPY_ADVISE, 28, 0, 0, 0, 0, VN_VHOST_RQ_REPLY)                                          \
    X(POSTCOPY_LISTEN, 29, 0, 0, 0, 0, 0)                                                          \
    X(POSTCOPY_END, 30, 0, 0, 0, 0, VN_VHOST_RQ_REPLY)                                             \
    X(GET_INFLIGHT_FD, 31, sizeof(struct vn_vhost_inflight), sizeof(struct vn_vhost_inflight), 0,  \
      0, VN_VHOST_RQ_REPLY)                                                                        \
    X(SET_INFLIGHT_FD, 32, sizeof(struct vn_vhost_inflight), sizeof(struct vn_vhost_inflight), 1,  \
      1, 0)                                                                                        \
    X(GPU_SET_SOCKET, 33, 0, 0, 0, 0, VN_VHOST_RQ_FOREIGN)                                         \
    X(RESET_DEVICE, 34, 0, 0, 0, 0, 0)                                                             \
    X(VRING_KICK, 35, VN_VHOST_SZ_STATE, VN_VHOST_SZ_STATE, 0, 0, VN_VHOST_RQ_IDX_STATE)           \
    X(GET_MAX_MEM_SLOTS, 36, 0, 0, 0, 0, VN_VHOST_RQ_REPLY)                                        \
    X(ADD_MEM_REG, 37, sizeof(struct vn_vhost_mem_reg), sizeof(struct vn_vhost_mem_reg), 1, 1, 0)  \
    X(REM_MEM_REG, 38, sizeof(struct vn_vhost_mem_reg), sizeof(struct vn_vhost_mem_reg), 0, 1, 0)  \
    X(SET_STATUS, 39, VN_VHOST_SZ_U64, VN_VHOST_SZ_U64, 0, 0, 0)                                   \
    X(GET_STATUS, 40, 0, 0, 0, 0, VN_VHOST_RQ_REPLY)                                               \
    X(GET_SHARED_OBJECT, 41, sizeof(struct vn_vhost_shared), sizeof(struct vn_vhost_shared), 0, 0, \
      VN_VHOST_RQ_REPLY)                                                                           \
    X(SET_DEVICE_STATE_FD, 42, sizeof(struct vn_vhost_device_state),                               \
      sizeof(struct vn_vhost_device_state), 1, 1, VN_VHOST_RQ_REPLY)                               \
    X(CHECK_DEVICE_STATE, 43, 0, 0, 0, 0, VN_VHOST_RQ_REPLY)

enum vn_vhost_request {
#define VN_VHOST_REQ_ENUM(name, id, ...) VN_VHOST_USER_##name = id,
    VN_VHOST_REQUESTS(VN_VHOST_REQ_ENUM)
#undef VN_VHOST_REQ_ENUM
    VN_VHOST_USER_MAX_REQUEST
};

/* One received request.  The fds belong to whoever holds the message. */
struct vn_vhost_msg {
    struct vn_vhost_hdr hdr;
    union vn_vhost_payload payload; /* hdr.size bytes are valid */
    unsigned int nfds;
    int fds[VN_VHOST_MAX_FDS]; /* [0, nfds) are open, close-on-exec; taken ones are -1 */
};

/* A stalled peer gets this long to finish a message it started (or to take our reply). */
#define VN_VHOST_IO_TIMEOUT_MS 1000

/*
 * Reads one request from the stream socket 'fd' into 'msg' (written only on
 * success; the caller then owns msg->fds).  On every error every fd received
 * with the message is closed.  Returns 0 or:
 *   -EAGAIN       nothing to read yet (non-blocking 'fd'); nothing consumed
 *   -ECONNRESET   the peer closed the connection between messages
 *   -EBADMSG      the peer closed in the middle of a message (truncated)
 *   -ETIMEDOUT    the rest of a started message did not come in time
 *   -EPROTO       flags: version not 1, REPLY set, or an undefined bit
 *   -ENOSYS       unknown request
 *   -EMSGSIZE     payload larger than any request's
 *   -ETOOMANYREFS more fds than VN_VHOST_MAX_FDS (or truncated ancillary data)
 *   -EOPNOTSUPP   a request for another device type (VN_VHOST_RQ_FOREIGN)
 *   -EINVAL       payload size not what the request carries
 *   -EBADF        fd count not what the request carries
 *   -ERANGE       a payload field out of the range the protocol allows
 *   other         the errno of recvmsg()/poll()
 * After any error but -EAGAIN the stream is out of step: close the connection.
 */
int vn_vhost_recv_msg(int fd, struct vn_vhost_msg *msg);

/* Closes every fd still in 'msg'.  May be called again. */
void vn_vhost_msg_close_fds(struct vn_vhost_msg *msg);

/* Takes fd 'i' out of 'msg': the caller owns it afterwards.  -1 when none. */
int vn_vhost_msg_take_fd(struct vn_vhost_msg *msg, unsigned int i);

/*
 * Sends one message: header {request, flags, size} then 'size' bytes of
 * 'payload', with 'nfds' fds (borrowed: the peer gets copies).  Returns 0,
 * -EMSGSIZE / -EINVAL for a too-large payload or fd count, -ETIMEDOUT when
 * the peer does not take it in time, or the errno of sendmsg()/poll().
 */
int vn_vhost_send_msg(int fd, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
                      const int *fds, unsigned int nfds);

/* Replies to 'req' with 'payload' of 'size' bytes (flags: version | REPLY). */
int vn_vhost_send_reply(int fd, const struct vn_vhost_msg *req, const void *payload, uint32_t size);

/* Same, passing 'nfds' fds along (GET_INFLIGHT_FD, ...). */
int vn_vhost_send_reply_fds(int fd, const struct vn_vhost_msg *req, const void *payload,
                            uint32_t size, const int *fds, unsigned int nfds);

/* REPLY_ACK: replies a u64, 0 when 'result' is 0 and 1 otherwise. */
int vn_vhost_send_ack(int fd, const struct vn_vhost_msg *req, int result);

/* True when 'msg' asks for an ack (NEED_REPLY) and has no reply of its own. */
bool vn_vhost_msg_needs_ack(const struct vn_vhost_msg *msg);

/* "VHOST_USER_SET_MEM_TABLE", ..., or "VHOST_USER_UNKNOWN". */
const char *vn_vhost_req_name(uint32_t request);

/* VN_VHOST_RQ_* flags of a request; 0 for an unknown one. */
unsigned int vn_vhost_req_flags(uint32_t request);

/*
 * The vring index 'msg' carries, checked against the device's 'max_queues'
 * vrings.  Returns 0 and writes '*ret_index', -EINVAL when the request
 * carries no vring index, or -ERANGE when it is >= 'max_queues'.
 */
int vn_vhost_msg_vring_index(const struct vn_vhost_msg *msg, uint32_t max_queues,
                             uint32_t *ret_index);

#endif /* VN_VHOST_USER_H */
