/*
 * iotlb.c - the device IOTLB of a vhost-user device; see iotlb.h.
 */
#include <config.h>

#include "iotlb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vn_iotlb_init(struct vn_iotlb *t, vn_iotlb_miss_fn *on_miss, void *miss_ctx)
{
    int err;

    memset(t, 0, sizeof(*t));
    err = pthread_rwlock_init(&t->lock, NULL);
    if (err)
        goto err_zero;
    err = pthread_mutex_init(&t->miss_lock, NULL);
    if (err)
        goto err_destroy_lock;
    t->on_miss = on_miss;
    t->miss_ctx = miss_ctx;
    t->ready = true;
    return 0;

err_destroy_lock:
    pthread_rwlock_destroy(&t->lock);
err_zero:
    memset(t, 0, sizeof(*t));
    return -err;
}

void vn_iotlb_fini(struct vn_iotlb *t)
{
    /* A zeroed table (init failed, or fini ran) has no locks to destroy. */
    if (!t->ready)
        return;
    free(t->entries);
    pthread_mutex_destroy(&t->miss_lock);
    pthread_rwlock_destroy(&t->lock);
    memset(t, 0, sizeof(*t));
}

void vn_iotlb_clear(struct vn_iotlb *t)
{
    pthread_rwlock_wrlock(&t->lock);
    t->n = 0;
    t->evict_next = 0;
    __atomic_add_fetch(&t->gen, 1, __ATOMIC_RELEASE);
    pthread_rwlock_unlock(&t->lock);
    pthread_mutex_lock(&t->miss_lock);
    t->nmisses = 0;
    t->overflow = false;
    pthread_mutex_unlock(&t->miss_lock);
}

static uint64_t entry_last(const struct vn_iotlb_entry *e)
{
    return e->iova + (e->size - 1);
}

/* Index of the first entry whose last byte is at or above 'addr' (n when none); lock held. */
static unsigned lower_bound(const struct vn_iotlb *t, uint64_t addr)
{
    unsigned lo = 0, hi = t->n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (entry_last(&t->entries[mid]) < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The entry holding 'addr', or NULL; lock held. */
static const struct vn_iotlb_entry *lookup(const struct vn_iotlb *t, uint64_t addr)
{
    unsigned i = lower_bound(t, addr);

    if (i < t->n && t->entries[i].iova <= addr)
        return &t->entries[i];
    return NULL;
}

/* Removes entries [i, j); lock held for writing. */
static void remove_entries(struct vn_iotlb *t, unsigned i, unsigned j)
{
    memmove(&t->entries[i], &t->entries[j], (t->n - j) * sizeof(t->entries[0]));
    t->n -= j - i;
}

/* Removes the entries overlapping [first, last] and returns where that range would go. */
static unsigned remove_overlapping(struct vn_iotlb *t, uint64_t first, uint64_t last,
                                   unsigned *ret_removed)
{
    unsigned i = lower_bound(t, first), j = i;

    while (j < t->n && t->entries[j].iova <= last)
        j++;
    remove_entries(t, i, j);
    *ret_removed = j - i;
    return i;
}

int vn_iotlb_update(struct vn_iotlb *t, uint64_t iova, uint64_t size, uint64_t uaddr,
                    uint8_t perm)
{
    unsigned i, removed;

    if (size == 0 || size - 1 > UINT64_MAX - iova || size - 1 > UINT64_MAX - uaddr)
        return -EINVAL;
    if (perm != VN_IOTLB_PERM_RO && perm != VN_IOTLB_PERM_WO && perm != VN_IOTLB_PERM_RW)
        return -EINVAL;
    pthread_rwlock_wrlock(&t->lock);
    if (!t->entries) {
        t->entries = calloc(VN_IOTLB_MAX_ENTRIES, sizeof(t->entries[0]));
        if (!t->entries) {
            pthread_rwlock_unlock(&t->lock);
            return -ENOMEM;
        }
    }
    i = remove_overlapping(t, iova, iova + (size - 1), &removed);
    if (t->n == VN_IOTLB_MAX_ENTRIES) {
        unsigned v = t->evict_next++ % t->n;

        remove_entries(t, v, v + 1);
        if (v < i)
            i--;
        t->stats.evictions++;
    }
    memmove(&t->entries[i + 1], &t->entries[i], (t->n - i) * sizeof(t->entries[0]));
    t->entries[i] = (struct vn_iotlb_entry){ .iova = iova, .size = size, .uaddr = uaddr,
                                              .perm = perm };
    t->n++;
    t->stats.updates++;
    __atomic_add_fetch(&t->gen, 1, __ATOMIC_RELEASE);
    pthread_rwlock_unlock(&t->lock);
    return 0;
}

unsigned vn_iotlb_invalidate(struct vn_iotlb *t, uint64_t iova, uint64_t size)
{
    uint64_t last = size == 0 || size - 1 > UINT64_MAX - iova ? UINT64_MAX : iova + (size - 1);
    unsigned removed = 0;

    pthread_rwlock_wrlock(&t->lock);
    if (t->n)
        (void)remove_overlapping(t, iova, last, &removed);
    t->stats.invalidations += removed;
    pthread_rwlock_unlock(&t->lock);
    return removed;
}

unsigned vn_iotlb_count(struct vn_iotlb *t)
{
    unsigned n;

    pthread_rwlock_rdlock(&t->lock);
    n = t->n;
    pthread_rwlock_unlock(&t->lock);
    return n;
}

/* Queues a miss of 'iova' for 'perm' (datapath thread); once per page while queued. */
static void miss_record(struct vn_iotlb *t, uint64_t iova, uint8_t perm)
{
    uint64_t page = iova >> VN_IOTLB_MISS_SHIFT;
    bool notify = false;

    pthread_mutex_lock(&t->miss_lock);
    for (unsigned i = 0; i < t->nmisses; i++) {
        if (t->misses[i].iova >> VN_IOTLB_MISS_SHIFT == page) {
            t->misses[i].perm |= perm;
            goto out;
        }
    }
    if (t->nmisses == VN_IOTLB_MAX_MISSES) {
        t->overflow = true;
        t->stats.miss_overflow++;
        goto out;
    }
    notify = t->nmisses == 0;
    t->misses[t->nmisses++] = (struct vn_iotlb_miss){ .iova = iova, .perm = perm };
    t->stats.misses++;
out:
    pthread_mutex_unlock(&t->miss_lock);
    if (notify && t->on_miss)
        t->on_miss(t->miss_ctx);
}

int vn_iotlb_translate(struct vn_iotlb *t, uint64_t iova, uint64_t len, uint8_t perm,
                       uint64_t *ret_uaddr, uint64_t *ret_len)
{
    const struct vn_iotlb_entry *e;
    uint64_t off, room;
    int ret = 0;

    if (len == 0)
        return -EINVAL;
    pthread_rwlock_rdlock(&t->lock);
    e = t->n ? lookup(t, iova) : NULL;
    if (!e) {
        ret = -ENOENT;
    } else if ((e->perm & perm) != perm) {
        ret = -EACCES;
    } else {
        off = iova - e->iova;
        room = e->size - off;
        *ret_uaddr = e->uaddr + off;
        *ret_len = len < room ? len : room;
    }
    pthread_rwlock_unlock(&t->lock);
    if (ret == -ENOENT)
        miss_record(t, iova, perm);
    else if (ret == -EACCES)
        __atomic_add_fetch(&t->stats.denied, 1, __ATOMIC_RELAXED);
    return ret;
}

int vn_iotlb_translate_range(struct vn_iotlb *t, uint64_t iova, uint64_t len, uint8_t perm,
                             uint64_t *ret_uaddr)
{
    uint64_t first = 0, next = 0;
    bool have_first = false;

    if (len == 0)
        return -EINVAL;
    if (len - 1 > UINT64_MAX - iova)
        return -EFAULT;
    while (len > 0) {
        uint64_t uaddr, n;
        int ret = vn_iotlb_translate(t, iova, len, perm, &uaddr, &n);

        if (ret)
            return ret;
        if (!have_first) {
            first = uaddr;
            have_first = true;
        } else if (uaddr != next) {
            return -EFAULT;
        }
        /* n <= len, and [iova, iova + len) does not wrap: neither does this. */
        if (n < len && n > UINT64_MAX - uaddr)
            return -EFAULT;
        next = uaddr + n;
        iova += n;
        len -= n;
    }
    *ret_uaddr = first;
    return 0;
}

unsigned vn_iotlb_take_misses(struct vn_iotlb *t, struct vn_iotlb_miss *out, unsigned max,
                              bool *ret_overflow)
{
    struct vn_iotlb_miss all[VN_IOTLB_MAX_MISSES];
    unsigned n, kept = 0;
    bool overflow;

    pthread_mutex_lock(&t->miss_lock);
    n = t->nmisses < max ? t->nmisses : max;
    memcpy(all, t->misses, n * sizeof(all[0]));
    memmove(t->misses, t->misses + n, (t->nmisses - n) * sizeof(all[0]));
    t->nmisses -= n;
    overflow = t->overflow;
    t->overflow = false;
    pthread_mutex_unlock(&t->miss_lock);

    /* An update may have answered some of them meanwhile. */
    pthread_rwlock_rdlock(&t->lock);
    for (unsigned i = 0; i < n; i++)
        if (!t->n || !lookup(t, all[i].iova))
            out[kept++] = all[i];
    pthread_rwlock_unlock(&t->lock);
    if (ret_overflow)
        *ret_overflow = overflow;
    return kept;
}

void vn_iotlb_get_stats(const struct vn_iotlb *t, struct vn_iotlb_stats *out)
{
    out->updates = __atomic_load_n(&t->stats.updates, __ATOMIC_RELAXED);
    out->invalidations = __atomic_load_n(&t->stats.invalidations, __ATOMIC_RELAXED);
    out->evictions = __atomic_load_n(&t->stats.evictions, __ATOMIC_RELAXED);
    out->misses = __atomic_load_n(&t->stats.misses, __ATOMIC_RELAXED);
    out->miss_overflow = __atomic_load_n(&t->stats.miss_overflow, __ATOMIC_RELAXED);
    out->denied = __atomic_load_n(&t->stats.denied, __ATOMIC_RELAXED);
}
