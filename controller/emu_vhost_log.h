/*
 * emu_vhost_log.h - live migration support of the vhost-user backend
 * (emu_vhost.c): the dirty-page log's set-up message (SET_LOG_BASE with
 * VHOST_USER_PROTOCOL_F_LOG_SHMFD) and the announcement the front-end asks
 * for on the destination after a migration (SEND_RARP with
 * VHOST_USER_PROTOCOL_F_RARP).
 *
 * These functions see only what they need (the message, the log, the
 * representor's fd), not the backend's device struct.  All run on the main
 * loop's thread; the caller stops the device's rings around a change of log.
 */
#ifndef VN_EMU_VHOST_LOG_H
#define VN_EMU_VHOST_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "dirty_log.h"
#include "vhost_user.h"

/*
 * SET_LOG_BASE: maps the region the message describes (mmap_size bytes at
 * mmap_offset of the fd it carries) as 'log', replacing the old one.  Takes
 * the message's fd: on success it replaces '*log_fd' (the old one is closed;
 * the caller keeps it so that a live update can hand the log to the new
 * process), on failure it is closed, and 'log' and '*log_fd' are unchanged
 * and 'why' ('whylen' bytes) says what the peer did wrong.  Returns 0 or
 * -errno.
 */
int vn_vhost_log_set_base(struct vn_dirty_log *log, int *log_fd, struct vn_vhost_msg *msg,
                          char *why, size_t whylen);

/*
 * Live update, the new process: maps the log the old process handed over
 * ('size' bytes at 'offset' of 'fd', checked as SET_LOG_BASE checks them)
 * as 'log' (its counters stay).  Takes 'fd': on success it becomes
 * '*log_fd' (which must be -1), on failure it is closed and 'log' is
 * unchanged.  Returns 0 or -errno.
 */
int vn_vhost_log_adopt(struct vn_dirty_log *log, int *log_fd, int fd, uint64_t size,
                       uint64_t offset);

/* The MAC address SEND_RARP carries (the first 6 bytes of its u64). */
void vn_vhost_rarp_mac(const struct vn_vhost_msg *msg, uint8_t mac[6]);

/*
 * Sends one RARP request (ethertype 0x8035, "reverse request", sender and
 * target hardware address 'mac', as QEMU's own announcement) out of the
 * representor queue 'tap_fd', preceded by a zero virtio-net header of
 * 'hdr_len' bytes (the representor's vnet header size): switches learn that
 * 'mac' is now behind this representor.  Returns 0 or -errno.
 */
int vn_vhost_rarp_send(int tap_fd, uint32_t hdr_len, const uint8_t mac[6]);

#endif /* VN_EMU_VHOST_LOG_H */
