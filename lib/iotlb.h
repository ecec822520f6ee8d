/*
 * iotlb.h - the device IOTLB of one vhost-user device (VIRTIO_F_IOMMU_PLATFORM,
 * a guest with a vIOMMU).
 *
 * With IOMMU_PLATFORM negotiated, every address the driver gives the device
 * (ring addresses in SET_VRING_ADDR, descriptor buffers, indirect tables) is
 * an I/O virtual address (IOVA) of the guest's IOMMU, not a guest physical
 * one.  The front-end translates on demand: it sends VHOST_USER_IOTLB_MSG
 * UPDATE entries (IOVA range -> its own virtual address "uaddr" + access
 * permissions) and INVALIDATE when the guest unmaps; the back-end asks for a
 * missing translation with a MISS on the back-end request channel.  This
 * module is the cache of those entries: the control thread inserts and
 * removes, the datapath threads translate (lib/virtq.c), and a translation
 * that misses is queued for the control thread to ask the front-end about.
 * The uaddr is then turned into a local pointer through the memory table
 * (lib/guest_mem.h, vn_uva_to_hva), which bounds-checks it like any address.
 *
 * Every value comes from a peer we do not trust: an entry with size 0, a
 * range that wraps around the 64-bit space (by IOVA or by uaddr) or a
 * permission outside RO/WO/RW is refused; entries never overlap (an update
 * replaces the entries it overlaps: a cache may forget, the front-end answers
 * the next miss); the table holds at most VN_IOTLB_MAX_ENTRIES (one more
 * evicts another).  Translations are overflow-safe and never cross the end
 * of an entry.
 *
 * Threads: vn_iotlb_translate*(), vn_iotlb_gen() run on datapath threads,
 * several at once; they take the table's lock for reading for one lookup.
 * Everything else runs on the control thread; changes take it for writing,
 * so a lookup sees the table before or after a change, never half of it.  A
 * translation a datapath thread still holds after its lookup (a chain it
 * works on) is the caller's business: the vhost-user back-end stops and
 * restarts the device's rings after an INVALIDATE that removed entries.
 */
#ifndef VN_IOTLB_H
#define VN_IOTLB_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Permissions (struct vhost_iotlb_msg.perm, VHOST_ACCESS_*). */
#define VN_IOTLB_PERM_RO 0x1 /* the device may read */
#define VN_IOTLB_PERM_WO 0x2 /* the device may write */
#define VN_IOTLB_PERM_RW 0x3

#define VN_IOTLB_MAX_ENTRIES 2048 /* cached translations per device */
#define VN_IOTLB_MAX_MISSES 32    /* misses waiting for the control thread */
#define VN_IOTLB_MISS_SHIFT 12    /* misses are asked for once per 4 KiB page */

struct vn_iotlb_entry {
    uint64_t iova;  /* first byte */
    uint64_t size;  /* bytes, > 0; iova + size - 1 does not wrap */
    uint64_t uaddr; /* the front-end's virtual address of 'iova' */
    uint8_t perm;   /* VN_IOTLB_PERM_* */
};

struct vn_iotlb_miss {
    uint64_t iova;
    uint8_t perm; /* the access that missed */
};

/* Counters (written under the table's lock or the miss lock; read relaxed). */
struct vn_iotlb_stats {
    uint64_t updates;       /* entries inserted */
    uint64_t invalidations; /* entries removed by an INVALIDATE */
    uint64_t evictions;     /* entries dropped to make room */
    uint64_t misses;        /* distinct misses queued for the front-end */
    uint64_t miss_overflow; /* misses not queued: the queue was full */
    uint64_t denied;        /* translations refused for their permission */
};

/*
 * Called on a datapath thread when a miss is queued and the queue was empty
 * (an edge: the control thread drains with vn_iotlb_take_misses()).  Must not
 * block (ev_async_send()).
 */
typedef void vn_iotlb_miss_fn(void *ctx);

struct vn_iotlb {
    bool ready;                     /* vn_iotlb_init() succeeded: the locks exist */
    pthread_rwlock_t lock;          /* entries, n, gen: read by lookups, written by changes */
    struct vn_iotlb_entry *entries; /* sorted by iova, non-overlapping; NULL until the first
                                       update (VN_IOTLB_MAX_ENTRIES allocated then) */
    unsigned n;                     /* entries in use */
    unsigned evict_next;            /* round-robin eviction cursor */
    uint64_t gen;                   /* +1 on every update (atomic): a queue waiting for a
                                       translation retries when it moved */
    pthread_mutex_t miss_lock;      /* misses, nmisses, overflow */
    struct vn_iotlb_miss misses[VN_IOTLB_MAX_MISSES];
    unsigned nmisses;
    bool overflow;                  /* a miss was not queued since the last take */
    vn_iotlb_miss_fn *on_miss;      /* may be NULL */
    void *miss_ctx;
    struct vn_iotlb_stats stats;
};

/* Makes 't' an empty table.  Returns 0 or -errno (the locks). */
int vn_iotlb_init(struct vn_iotlb *t, vn_iotlb_miss_fn *on_miss, void *miss_ctx);

/* Frees 't'.  Accepts a table vn_iotlb_init() failed on (zeroed) and may be called again. */
void vn_iotlb_fini(struct vn_iotlb *t);

/* Forgets every entry and every queued miss (a new session).  Counters stay. */
void vn_iotlb_clear(struct vn_iotlb *t);

/*
 * UPDATE: inserts [iova, iova + size) -> uaddr with 'perm', replacing the
 * entries it overlaps.  Returns 0, -EINVAL (size 0, a range that wraps by
 * IOVA or uaddr, perm not RO/WO/RW) or -ENOMEM.
 */
int vn_iotlb_update(struct vn_iotlb *t, uint64_t iova, uint64_t size, uint64_t uaddr,
                    uint8_t perm);

/*
 * INVALIDATE: removes every entry that overlaps [iova, iova + size); size 0
 * or a range past the top of the address space invalidates up to the top
 * (removing more than asked is always safe).  Returns the entries removed.
 */
unsigned vn_iotlb_invalidate(struct vn_iotlb *t, uint64_t iova, uint64_t size);

/* Entries in use (control thread). */
unsigned vn_iotlb_count(struct vn_iotlb *t);

/*
 * Datapath: the front-end address of the longest prefix of [iova, iova + len)
 * that one entry maps, for an access 'perm' (RO: the device reads, WO: it
 * writes).  On success '*ret_uaddr' and '*ret_len' (1..len) are written.
 * Returns 0, -EINVAL (len 0), -ENOENT (no entry holds 'iova': the miss is
 * queued for the control thread) or -EACCES (the entry does not allow 'perm').
 */
int vn_iotlb_translate(struct vn_iotlb *t, uint64_t iova, uint64_t len, uint8_t perm,
                       uint64_t *ret_uaddr, uint64_t *ret_len);

/*
 * Same for the whole range, which must map to one contiguous front-end range
 * (a ring, an indirect table).  Returns 0 and '*ret_uaddr', the errors of
 * vn_iotlb_translate() for the first piece that fails, or -EFAULT when two
 * pieces are not contiguous by uaddr.
 */
int vn_iotlb_translate_range(struct vn_iotlb *t, uint64_t iova, uint64_t len, uint8_t perm,
                             uint64_t *ret_uaddr);

/* The update generation (acquire): read it before a lookup that may miss. */
static inline uint64_t vn_iotlb_gen(const struct vn_iotlb *t)
{
    return __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
}

/*
 * Control thread: moves up to 'max' (pass VN_IOTLB_MAX_MISSES: all) queued misses to 'out' (dropping those an
 * update has answered meanwhile) and returns how many; '*ret_overflow' (may
 * be NULL) says whether some were lost since the last call (the caller then
 * lets every waiting queue retry, which queues them again).
 */
unsigned vn_iotlb_take_misses(struct vn_iotlb *t, struct vn_iotlb_miss *out, unsigned max,
                              bool *ret_overflow);

/* A copy of the counters (any thread). */
void vn_iotlb_get_stats(const struct vn_iotlb *t, struct vn_iotlb_stats *out);

#endif /* VN_IOTLB_H */
