/*
 * dirty_log.h - the dirty-page log of a vhost-user device during a live
 * migration (VHOST_F_LOG_ALL, VHOST_USER_PROTOCOL_F_LOG_SHMFD).
 *
 * The front-end (QEMU) shares a bitmap with one bit per 4 KiB page of guest
 * *physical* memory (bit n % 8 of byte n / 8 stands for the page at
 * n * 4096) and reads it while it copies the guest's RAM to the destination:
 * every page the back-end writes while logging is on must have its bit set,
 * or the destination gets a stale copy of it.  The back-end's writes are the
 * used rings (lib/virtq.c logs them itself) and the buffers a datapath fills
 * (received frames: the provider calls vn_virtq_log_write(), lib/virtq.h).
 *
 * Bits are set with an atomic OR, after the data they stand for is written
 * (release), as the front-end clears them with atomic exchanges while the
 * datapath runs.  A page beyond the end of the bitmap is not logged and is
 * counted (the front-end sized the log for the guest's memory; a write
 * outside it is a front-end bug we must not turn into a write outside the
 * mapping).
 *
 * The log is mapped and unmapped on the control thread while no datapath
 * thread uses it (the vhost-user back-end stops its rings around
 * SET_LOG_BASE); marking only reads the mapping's address and may run on
 * several threads at once.
 */
#ifndef VN_DIRTY_LOG_H
#define VN_DIRTY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct vn_guest_mem;

#define VN_DIRTY_LOG_PAGE_SHIFT 12 /* the vhost log's page size, 4 KiB, whatever the host's */
/* The largest log accepted: 1 GiB of bitmap covers 32 TiB of guest memory. */
#define VN_DIRTY_LOG_MAX_SIZE (UINT64_C(1) << 30)

struct vn_dirty_log {
    uint8_t *bitmap;   /* NULL while no log is mapped */
    uint64_t size;     /* bytes of bitmap */
    void *map_base;    /* what mmap() returned */
    size_t map_len;
    uint64_t pages;    /* page bits set (atomic, relaxed): the same page counts each time */
    uint64_t missed;   /* pages outside the bitmap, not logged (atomic, relaxed) */
};

/* Makes 'l' an empty log (no mapping, zero counters). */
void vn_dirty_log_init(struct vn_dirty_log *l);

/*
 * Maps 'size' bytes at 'offset' of the file 'fd' as the log, replacing the
 * one 'l' had (counters stay).  Borrows 'fd' (the caller closes it; the
 * mapping stays valid).  Checked like a memory region: size in
 * [1, VN_DIRTY_LOG_MAX_SIZE], offset + size without overflow and inside the
 * file (touching a shared mapping past the end of its file raises SIGBUS).
 * Returns 0, -EINVAL (bad size or offset), -EBADF (not a regular file) or
 * the errno of fstat()/mmap(); on failure 'l' is unchanged.
 */
int vn_dirty_log_map(struct vn_dirty_log *l, int fd, uint64_t size, uint64_t offset);

/* Unmaps the log; 'l' is empty afterwards (counters stay).  Idempotent. */
void vn_dirty_log_unmap(struct vn_dirty_log *l);

/* Where the bitmap starts in its file (the offset it was mapped with); 0 without a log. */
static inline uint64_t vn_dirty_log_offset(const struct vn_dirty_log *l)
{
    return l->bitmap ? l->map_len - l->size : 0;
}

/* True while a log is mapped. */
static inline bool vn_dirty_log_is_mapped(const struct vn_dirty_log *l)
{
    return l->bitmap != NULL;
}

/* Marks the pages of guest physical range [gpa, gpa + len) dirty.  No-op for len 0. */
void vn_dirty_log_gpa(struct vn_dirty_log *l, uint64_t gpa, uint64_t len);

/*
 * Marks the pages of the local range [hva, hva + len), which must lie in the
 * guest memory 'm' (the iovecs lib/virtq.c made).  A part that lies in no
 * region is skipped and counted in 'missed'.
 */
void vn_dirty_log_hva(struct vn_dirty_log *l, const struct vn_guest_mem *m, const void *hva,
                      uint64_t len);

/* Marks the first 'len' bytes of the 'n' iovecs 'iov' (local addresses in 'm'). */
void vn_dirty_log_iov(struct vn_dirty_log *l, const struct vn_guest_mem *m,
                      const struct iovec *iov, unsigned int n, uint64_t len);

#endif /* VN_DIRTY_LOG_H */
