/*
 * virtq_inflight.c - where a split virtqueue resumes after a back-end
 * restart; see virtq_inflight.h.
 */
#include <config.h>

#include "virtq_inflight.h"

#include <string.h>

size_t vn_inflight_queue_bytes(uint32_t queue_size)
{
    return (sizeof(struct vn_inflight_split) + sizeof(struct vn_inflight_desc) * (size_t)queue_size +
            VN_INFLIGHT_ALIGN - 1) / VN_INFLIGHT_ALIGN * VN_INFLIGHT_ALIGN;
}

struct vn_inflight_split *vn_inflight_queue(void *base, size_t size, uint32_t index,
                                            uint32_t queue_size)
{
    size_t q = vn_inflight_queue_bytes(queue_size);
    struct vn_inflight_split *r;

    if (!base || !queue_size || size / q <= index)
        return NULL;
    r = (struct vn_inflight_split *)(void *)((uint8_t *)base + q * index);
    return r->desc_num == queue_size ? r : NULL;
}

bool vn_virtq_resume(struct vn_virtq *q, struct vn_inflight_split *region, bool force_used,
                     struct vn_virtq_resume_info *info)
{
    uint16_t used = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);

    memset(info, 0, sizeof(*info));
    info->from = q->last_avail_idx;
    info->to = used;
    (void)region;
    (void)force_used;
    if (q->last_avail_idx == used && q->used_idx == used)
        return false;
    vn_virtq_set_last_avail_idx(q, used);
    return true;
}
