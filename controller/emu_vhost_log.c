/*
 * emu_vhost_log.c - live migration messages of the vhost-user backend; see
 * emu_vhost_log.h.  The log itself is lib/dirty_log.c; the rings log their
 * own writes (lib/virtq.c) and the provider the buffers it fills.
 */
#include <config.h>

#include "emu_vhost_log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ETH_P_RARP_BE 0x3580 /* 0x8035 in network order, as stored */
#define RARP_FRAME_LEN 60    /* the Ethernet minimum, without the FCS */
#define RARP_OP_REQUEST_REV 3

int vn_vhost_log_set_base(struct vn_dirty_log *log, int *log_fd, struct vn_vhost_msg *msg,
                          char *why, size_t whylen)
{
    const struct vn_vhost_log *l = &msg->payload.log;
    int fd = vn_vhost_msg_take_fd(msg, 0), ret;

    if (fd < 0) {
        snprintf(why, whylen, "SET_LOG_BASE without a shared memory fd");
        return -EINVAL;
    }
    ret = vn_dirty_log_map(log, fd, l->mmap_size, l->mmap_offset);
    if (ret < 0) {
        close(fd);
        snprintf(why, whylen,
                 "SET_LOG_BASE: a log of %" PRIu64 " bytes at offset %" PRIu64 " refused: %s",
                 l->mmap_size, l->mmap_offset,
                 ret == -EINVAL ? "empty, too large or past the end of its file" : strerror(-ret));
        return ret;
    }
    if (*log_fd >= 0)
        close(*log_fd);
    *log_fd = fd;
    return 0;
}

int vn_vhost_log_adopt(struct vn_dirty_log *log, int *log_fd, int fd, uint64_t size,
                       uint64_t offset)
{
    int ret = fd < 0 ? -EBADF : vn_dirty_log_map(log, fd, size, offset);

    if (ret < 0) {
        if (fd >= 0)
            close(fd);
        return ret;
    }
    *log_fd = fd;
    return 0;
}

void vn_vhost_rarp_mac(const struct vn_vhost_msg *msg, uint8_t mac[6])
{
    memcpy(mac, &msg->payload.u64, 6);
}

int vn_vhost_rarp_send(int tap_fd, uint32_t hdr_len, const uint8_t mac[6])
{
    uint8_t buf[16 + RARP_FRAME_LEN] = { 0 };
    uint8_t *f = buf + hdr_len;
    uint16_t v;
    ssize_t n;

    if (hdr_len > 16)
        return -EINVAL;
    memset(f, 0xff, 6);             /* broadcast */
    memcpy(f + 6, mac, 6);          /* from the guest's MAC */
    v = ETH_P_RARP_BE;
    memcpy(f + 12, &v, 2);
    f[14] = 0, f[15] = 1;           /* hardware type: Ethernet */
    f[16] = 0x08, f[17] = 0x00;     /* protocol type: IPv4 */
    f[18] = 6, f[19] = 4;           /* address lengths */
    f[20] = 0, f[21] = RARP_OP_REQUEST_REV;
    memcpy(f + 22, mac, 6);         /* sender hardware address; sender IP 0 */
    memcpy(f + 32, mac, 6);         /* target hardware address; target IP 0 */
    n = write(tap_fd, buf, hdr_len + RARP_FRAME_LEN);
    if (n < 0)
        return -errno;
    return (size_t)n == hdr_len + RARP_FRAME_LEN ? 0 : -EIO;
}
