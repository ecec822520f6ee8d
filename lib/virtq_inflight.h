/*
 * virtq_inflight.h - where a split virtqueue resumes after its back-end
 * restarted (a crash, a kill -9, a live update that failed half-way), and the
 * vhost-user in-flight region (INFLIGHT_SHMFD, split-ring layout) that says
 * which descriptors were taken and not yet returned.
 *
 * Two sources, best first:
 *   1. the in-flight region, when the front-end supplied one (GET/SET_INFLIGHT_FD):
 *      lib/virtq.c marks each chain head there when it is taken and clears it
 *      when it is used, so after a restart the chains in flight are known;
 *   2. the driver's used index: a front-end that reconnects without one (DPDK
 *      virtio-user sends base 0 on every reconnect; QEMU restores its own
 *      last_avail_idx = used index) still has every chain not used in its avail
 *      ring from used->idx on, in order.
 * Either way the queue takes again, in the order they were made available,
 * exactly the chains the driver has not seen used: none is lost, none is
 * returned twice.
 *
 * Threading: the queue's set-up, while it is stopped (main loop thread).
 */
#ifndef VN_VIRTQ_INFLIGHT_H
#define VN_VIRTQ_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq.h"

/* The vhost-user spec's split-ring in-flight region of one queue (shared memory). */
struct vn_inflight_desc {
    uint8_t inflight;    /* 1: the chain with this head was taken and is not used yet */
    uint8_t padding[5];
    uint16_t next;       /* unused by split rings kept in order */
    uint64_t counter;    /* order in which heads were taken (1, 2, ...) */
};

struct vn_inflight_split {
    uint64_t features;
    uint16_t version;
    uint16_t desc_num;        /* descriptors of the queue */
    uint16_t last_batch_head; /* head of the last chain pushed */
    uint16_t used_idx;        /* used->idx as the back-end last stored it */
    struct vn_inflight_desc desc[];
};

#define VN_INFLIGHT_ALIGN 64

/* Bytes of one queue's region for a queue of 'queue_size' descriptors. */
size_t vn_inflight_queue_bytes(uint32_t queue_size);

/*
 * Queue 'index''s part of a region of 'size' bytes at 'base' for queues of
 * 'queue_size' descriptors, or NULL when the region is absent, too small or
 * its header disagrees ('queue_size' != desc_num).
 */
struct vn_inflight_split *vn_inflight_queue(void *base, size_t size, uint32_t index,
                                            uint32_t queue_size);

/* What vn_virtq_resume() found. */
struct vn_virtq_resume_info {
    uint16_t from;        /* last_avail_idx the queue had (SET_VRING_BASE / hand-over) */
    uint16_t to;          /* last_avail_idx it resumes at */
    uint32_t inflight;    /* chains the region had in flight (taken again) */
    uint32_t used_late;   /* region entries the used ring had already returned */
    bool from_region;     /* the region decided */
};

/*
 * Called when a ready queue (vn_virtq_set_addrs() done) is about to start:
 * sets last_avail_idx (and used_idx) so that the chains the driver has not
 * seen used are taken again, in order, and attaches 'region' (or NULL) to
 * the queue so its chains are marked from now on.  'force_used': resume at
 * the driver's used index even when it agrees with nothing else (a hand-over
 * that failed after the other side moved frames).  Returns true when the
 * index changed ('*info' says from where to where).
 */
bool vn_virtq_resume(struct vn_virtq *q, struct vn_inflight_split *region, bool force_used,
                     struct vn_virtq_resume_info *info);

#endif /* VN_VIRTQ_INFLIGHT_H */
