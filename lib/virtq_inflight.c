/*
 * virtq_inflight.c - where a split virtqueue resumes after a back-end
 * restart, and the transmit record; see virtq_inflight.h.
 */
#include <config.h>

#include "virtq_inflight.h"

#include <string.h>

#include "util.h"

static uint16_t load16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/*
 * Returns the chains at avail positions [used index, 'pos') used (length 0:
 * transmit chains), when 'pos' lies between the driver's used and avail
 * indices and every head there is in range.  Returns how many, or 0.
 */
static uint16_t record_apply(struct vn_virtq *q, uint16_t pos)
{
    struct vring_used_elem elems[64];
    uint16_t used = load16(&q->used->idx);
    uint16_t ahead = (uint16_t)(pos - used);
    uint16_t avail = (uint16_t)(load16(&q->avail->idx) - used);
    uint16_t done = 0;

    if (ahead == 0 || ahead > avail || avail > q->size)
        return 0;
    for (uint16_t i = 0; i < ahead; i++)
        if (load16(&q->avail->ring[(uint16_t)(used + i) & (q->size - 1)]) >= q->size)
            return 0;
    vn_virtq_set_last_avail_idx(q, used);
    while (done < ahead) {
        unsigned n = VN_MIN((unsigned)(ahead - done), sizeof(elems) / sizeof(elems[0]));

        for (unsigned i = 0; i < n; i++) {
            elems[i].id = load16(&q->avail->ring[(uint16_t)(used + done + i) & (q->size - 1)]);
            elems[i].len = 0;
        }
        vn_virtq_push_batch(q, elems, n);
        done = (uint16_t)(done + n);
    }
    vn_virtq_set_last_avail_idx(q, pos);
    return ahead;
}

bool vn_virtq_resume(struct vn_virtq *q, uint64_t rec, struct vn_virtq_resume_info *info)
{
    uint16_t used;

    memset(info, 0, sizeof(*info));
    info->from = q->last_avail_idx;
    info->to = q->last_avail_idx;
    if (!q->used || q->packed)
        return false;
    used = load16(&q->used->idx);
    if (q->last_avail_idx != used || q->used_idx != used)
        vn_virtq_set_last_avail_idx(q, used);
    if (rec && vn_txrec_n(rec) == 0) {
        info->handled = record_apply(q, vn_txrec_pos(rec));
        info->from_record = info->handled > 0;
    }
    info->to = q->last_avail_idx;
    return info->to != info->from;
}

/* ---- the transmit record ---------------------------------------------------------------- */

size_t vn_txrec_file_bytes(uint32_t nwords)
{
    return sizeof(struct vn_txrec_file) + sizeof(uint64_t) * (size_t)nwords;
}

bool vn_txrec_file_valid(const struct vn_txrec_file *f, size_t size, uint32_t nwords)
{
    return size >= sizeof(*f) && f->magic == VN_TXREC_MAGIC && f->version == VN_TXREC_VERSION &&
           f->nwords >= nwords && size >= vn_txrec_file_bytes(f->nwords);
}

void vn_txrec_file_init(struct vn_txrec_file *f, uint32_t nwords)
{
    memset(f, 0, vn_txrec_file_bytes(nwords));
    f->nwords = (uint16_t)nwords;
    f->version = VN_TXREC_VERSION;
    __atomic_store_n(&f->magic, VN_TXREC_MAGIC, __ATOMIC_RELEASE);
}

void vn_txrec_resolve(struct vn_txrec_file *f, bool have_count, uint64_t accepted_now,
                      struct vn_txrec_outcome *o)
{
    uint32_t counted = 0, left;
    bool based = have_count && (f->flags & VN_TXREC_F_BASED);

    memset(o, 0, sizeof(*o));
    o->based = based;
    for (uint32_t i = 0; i < f->nwords; i++) {
        uint64_t w = vn_txrec_load(&f->word[i]);

        counted += vn_txrec_written(w);
        if (vn_txrec_n(w)) {
            o->queues_in_flight++;
            o->in_flight += vn_txrec_n(w);
        }
    }
    if (based)
        o->unaccounted = (uint32_t)(accepted_now - f->base) - counted;
    /* Exact: one flush in flight, or none or all of several flushes' frames went. */
    o->exact = based && (o->queues_in_flight <= 1 || o->unaccounted == 0 ||
                         o->unaccounted == o->in_flight);
    for (uint32_t i = 0; i < f->nwords; i++) {
        uint64_t w = vn_txrec_load(&f->word[i]);
        uint16_t n = vn_txrec_n(w), sent = n;

        if (n && o->exact) {
            left = o->unaccounted - o->sent;
            sent = (uint16_t)(o->queues_in_flight == 1 ? VN_MIN(left, (uint32_t)n)
                                                       : (o->unaccounted ? n : 0));
        }
        o->sent += sent;
        __atomic_store_n(&f->word[i], vn_txrec_pack((uint16_t)(vn_txrec_pos(w) + sent), 0, 0),
                         __ATOMIC_RELEASE);
    }
    f->base = accepted_now;
    f->flags = have_count ? f->flags | VN_TXREC_F_BASED : f->flags & ~VN_TXREC_F_BASED;
}
