/*
 * emu_vhost_iommu.h - VIRTIO_F_IOMMU_PLATFORM for the vhost-user backend
 * (emu_vhost.c): a guest behind a vIOMMU, whose driver hands the device I/O
 * virtual addresses.
 *
 * The device IOTLB (lib/iotlb.h) is filled by the front-end's
 * VHOST_USER_IOTLB_MSG (UPDATE, INVALIDATE); the datapath translates through
 * it (lib/virtq.h, vn_virtq_set_addrs_iotlb()) and queues what it misses; a
 * miss is asked for here with VHOST_USER_BACKEND_IOTLB_MSG type MISS on the
 * back-end request channel the front-end gave (SET_BACKEND_REQ_FD;
 * VHOST_USER_PROTOCOL_F_BACKEND_REQ).  QEMU answers a MISS with an UPDATE
 * on the main channel.  There is no protocol feature bit of its own: QEMU
 * requires BACKEND_REQ and REPLY_ACK with IOMMU_PLATFORM.
 *
 * This module sees the IOTLB, the channel and the memory table, not the
 * backend's device struct; what happens to the rings (retry after an update,
 * restart after an invalidation) is the caller's, through 'retry' and the
 * return values.  Everything runs on the main loop's thread but the miss
 * notification, which a datapath thread sends (ev_async).
 */
#ifndef VN_EMU_VHOST_IOMMU_H
#define VN_EMU_VHOST_IOMMU_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "iotlb.h"
#include "vhost_user.h"

/*
 * Main thread: queues that wait for a translation should look again (an
 * update came, or misses were lost and must be queued again).
 */
typedef void vn_vhost_iommu_retry_fn(void *ctx);

/* Misses waiting for room on the channel, and pages asked for and not answered yet. */
#define VN_VHOST_IOMMU_PENDING 256
#define VN_VHOST_IOMMU_ASKED 256
#define VN_VHOST_IOMMU_ASK_AGAIN_NS 1000000000ull /* an unanswered page is asked again after 1 s */

struct vn_vhost_iommu_asked {
    uint64_t page;    /* IOVA >> VN_IOTLB_MISS_SHIFT */
    uint64_t when_ns; /* when the MISS went */
};

struct vn_vhost_iommu {
    struct vn_iotlb tlb;          /* the entries; rings borrow it while they run */
    int backend_fd;               /* SET_BACKEND_REQ_FD, owned, non-blocking; -1 when none */
    struct ev_loop *loop;
    ev_async miss_w;              /* a datapath thread queued a miss */
    ev_io backend_w;              /* the channel is writable again (while misses wait for it) */
    /*
     * The main loop never waits for the front-end: QEMU answers a MISS with an
     * UPDATE on the main channel and waits for our reply meanwhile, so a send
     * that blocked could deadlock with it.  A MISS that does not fit waits here.
     */
    struct vn_iotlb_miss pending[VN_VHOST_IOMMU_PENDING];
    unsigned npending;
    uint8_t out[12 + 32];         /* the MISS being written: header + struct vhost_iotlb_msg */
    size_t out_len, out_off;      /* bytes in 'out', bytes of it written */
    struct vn_vhost_iommu_asked asked[VN_VHOST_IOMMU_ASKED]; /* a page is asked for once */
    unsigned nasked;
    const char *name;             /* the device's VUID, for logs (borrowed) */
    vn_vhost_iommu_retry_fn *retry;
    void *retry_ctx;
    uint64_t misses_sent;         /* MISS messages sent, over the function's life */
    uint64_t misses_unsent;       /* misses that could not be sent (no channel, error) */
    bool initialized;             /* vn_vhost_iommu_init() succeeded */
};

/*
 * Sets up 'x' for the device 'name' (borrowed, must outlive 'x'); the miss
 * watcher runs on 'loop'.  Returns 0 or -errno (nothing to undo then).
 */
int vn_vhost_iommu_init(struct vn_vhost_iommu *x, struct ev_loop *loop, const char *name,
                        vn_vhost_iommu_retry_fn *retry, void *retry_ctx);

/* Undoes init; accepts a zeroed or finished 'x'.  No ring may use the table any more. */
void vn_vhost_iommu_fini(struct vn_vhost_iommu *x);

/* A session ends: forgets the entries and queued misses, closes the back-end channel. */
void vn_vhost_iommu_reset(struct vn_vhost_iommu *x);

/*
 * SET_BACKEND_REQ_FD: keeps 'fd' (consumed in all cases) as the back-end
 * request channel, replacing an earlier one.  Returns 0 or -errno.
 */
int vn_vhost_iommu_set_backend_fd(struct vn_vhost_iommu *x, int fd);

/*
 * IOTLB_MSG: applies the UPDATE or INVALIDATE 'm'.  An update's front-end
 * range must lie in one region of 'mem' (the guest's memory as the front-end
 * shared it).  On success '*ret_removed' gets the entries an invalidation
 * removed (0 for an update).  On failure 'why' ('whylen' bytes) says what the
 * peer did wrong.  Returns 0, -EINVAL (a type the front-end does not send,
 * size 0, wrap-around, a bad permission, a range outside guest memory) or
 * -ENOMEM.
 */
int vn_vhost_iommu_msg(struct vn_vhost_iommu *x, const struct vn_guest_mem *mem,
                       const struct vn_vhost_iotlb *m, unsigned *ret_removed, char *why,
                       size_t whylen);

/* Entries in the table now. */
unsigned vn_vhost_iommu_entries(struct vn_vhost_iommu *x);

#endif /* VN_EMU_VHOST_IOMMU_H */
