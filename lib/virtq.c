/*
 * virtq.c - device-side split virtqueue access; see virtq.h.
 */
#include <config.h>

#include "virtq.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>

#include "dirty_log.h"
#include "guest_mem.h"
#include "iotlb.h"
#include "util.h"

/*
 * Guest errors of vn_virtq_pop(): X(negative errno, counter, reason).
 * One place ties each error to its counter and to its log text.
 */
#define VQ_ERRORS(X)                                                                               \
    X(-EPROTO, avail_idx_errors, "avail index moved more than the queue size ahead")               \
    X(-ERANGE, bad_desc_errors, "descriptor index outside its table")                              \
    X(-EILSEQ, bad_desc_errors, "readable descriptor after a writable one")                        \
    X(-EPERM, bad_desc_errors, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC")          \
    X(-EINVAL, bad_desc_errors, "indirect descriptor with VRING_DESC_F_NEXT")                      \
    X(-EMLINK, bad_desc_errors, "indirect descriptor inside an indirect table")                    \
    X(-EMSGSIZE, bad_desc_errors, "indirect table length is 0 or not a multiple of 16")            \
    X(-ELOOP, exceed_max_chain, "descriptor chain longer than the queue (loop)")                   \
    X(-ENOBUFS, exceed_max_chain, "descriptor chain needs too many buffers")                       \
    X(-EFAULT, invalid_buffer, "buffer outside guest memory")                                      \
    X(-EACCES, invalid_buffer, "buffer the vIOMMU does not let the device read or write")

/*
 * The queue's thread is the only writer of its counters: a relaxed load and
 * store (no locked read-modify-write) keeps readers on other threads exact.
 */
#define VQ_STAT_ADD(q, field, v)                                                                   \
    __atomic_store_n(&(q)->stats.field,                                                            \
                     __atomic_load_n(&(q)->stats.field, __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)

/* Loads and stores of ring fields the driver reads or writes concurrently. */
static uint16_t ring_load16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void ring_store16(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* The used_event field, after the avail ring's entries (EVENT_IDX only). */
static uint16_t *used_event_ptr(const struct vn_virtq *q)
{
    return &q->avail->ring[q->size];
}

/* The avail_event field, after the used ring's entries (EVENT_IDX only). */
static uint16_t *avail_event_ptr(const struct vn_virtq *q)
{
    return (uint16_t *)(void *)&q->used->ring[q->size];
}

static int packed_set_addrs(struct vn_virtq *q, const struct vn_guest_mem *mem,
                            struct vn_iotlb *iotlb, const struct vn_virtq_layout *l);
static int packed_avail_count(struct vn_virtq *q);
static int packed_pop(struct vn_virtq *q, struct vn_vq_chain *c);
static void packed_unpop(struct vn_virtq *q, unsigned int n);
static void packed_push(struct vn_virtq *q, uint16_t id, uint32_t len);
static bool packed_should_notify(struct vn_virtq *q, uint16_t old_used_idx);
static void packed_set_event(struct vn_virtq *q, uint16_t flags);

void vn_virtq_init(struct vn_virtq *q)
{
    memset(q, 0, sizeof(*q));
}

static bool is_aligned(const void *p, uintptr_t align)
{
    return ((uintptr_t)p & (align - 1)) == 0;
}

/*
 * Local address of the ring area [addr, addr + len): a front-end address, or
 * with 'iotlb' an IOVA translated through it for an access 'perm'.  NULL when
 * it cannot be had, with '*err' set unless a worse error is there already
 * (-ENOENT, a translation asked for, is the mildest: the ring may start later).
 */
static void *ring_area(const struct vn_guest_mem *mem, struct vn_iotlb *iotlb, uint64_t addr,
                       uint64_t len, uint8_t perm, int *err)
{
    uint64_t uaddr = addr;
    void *p = NULL;
    int e = 0;

    if (iotlb)
        e = vn_iotlb_translate_range(iotlb, addr, len, perm, &uaddr);
    if (e == 0) {
        p = vn_uva_to_hva(mem, uaddr, len);
        if (!p)
            e = -EFAULT;
    }
    if (e && (*err == 0 || *err == -ENOENT))
        *err = e;
    return p;
}

int vn_virtq_set_addrs(struct vn_virtq *q, const struct vn_guest_mem *mem,
                       const struct vn_virtq_layout *l)
{
    return vn_virtq_set_addrs_iotlb(q, mem, NULL, l);
}

int vn_virtq_set_addrs_iotlb(struct vn_virtq *q, const struct vn_guest_mem *mem,
                             struct vn_iotlb *iotlb, const struct vn_virtq_layout *l)
{
    bool event_idx = l->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
    uint64_t size = l->size, event_len = event_idx ? sizeof(uint16_t) : 0;
    void *desc, *avail, *used;
    int err = 0;

    if (size == 0 || size > VN_VQ_MAX_SIZE || (size & (size - 1)))
        return -EINVAL;
    if (l->features & (1ULL << VIRTIO_F_RING_PACKED))
        return packed_set_addrs(q, mem, iotlb, l);
    if (l->desc_addr % VRING_DESC_ALIGN_SIZE || l->avail_addr % VRING_AVAIL_ALIGN_SIZE ||
        l->used_addr % VRING_USED_ALIGN_SIZE)
        return -EINVAL;

    /* All three looked up before failing: their misses are asked for at once. */
    desc = ring_area(mem, iotlb, l->desc_addr, size * sizeof(struct vring_desc),
                     VN_IOTLB_PERM_RO, &err);
    avail = ring_area(mem, iotlb, l->avail_addr,
                      sizeof(struct vring_avail) + size * sizeof(uint16_t) + event_len,
                      VN_IOTLB_PERM_RO, &err);
    used = ring_area(mem, iotlb, l->used_addr,
                     sizeof(struct vring_used) + size * sizeof(struct vring_used_elem) + event_len,
                     VN_IOTLB_PERM_WO, &err);
    if (err)
        return err;
    /* A region's local and front-end addresses need not share alignment. */
    if (!is_aligned(desc, VRING_DESC_ALIGN_SIZE) || !is_aligned(avail, VRING_AVAIL_ALIGN_SIZE) ||
        !is_aligned(used, VRING_USED_ALIGN_SIZE))
        return -EINVAL;

    q->mem = mem;
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    q->size = (uint32_t)size;
    q->event_idx = event_idx;
    q->indirect = l->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    q->shadow_avail_idx = q->last_avail_idx;
    q->error = 0;
    q->log = NULL; /* the used ring moved: vn_virtq_set_log() again */
    q->used_gpa = 0;
    q->packed = false;
    q->iotlb = iotlb;
    q->iotlb_wait = false;
    free(q->pk_inflight);
    q->pk_inflight = NULL;
    return 0;
}

void vn_virtq_stop(struct vn_virtq *q)
{
    free(q->pk_inflight);
    q->pk_inflight = NULL;
    q->pk_first = q->pk_n = 0;
    q->pdesc = NULL;
    q->driver_event = q->device_event = NULL;
    q->mem = NULL;
    q->desc = NULL;
    q->avail = NULL;
    q->used = NULL;
    q->iotlb = NULL;
    q->iotlb_wait = false;
}

bool vn_virtq_is_ready(const struct vn_virtq *q)
{
    return q->desc != NULL;
}

uint16_t vn_virtq_get_last_avail_idx(const struct vn_virtq *q)
{
    return q->last_avail_idx;
}

void vn_virtq_set_last_avail_idx(struct vn_virtq *q, uint16_t idx)
{
    q->last_avail_idx = idx;
    q->shadow_avail_idx = idx;
    q->used_idx = idx;
}

uint16_t vn_virtq_used_idx(const struct vn_virtq *q)
{
    return q->used_idx;
}

/* Records the guest error 'err' (from VQ_ERRORS): counts it and breaks the queue. */
static int vq_fail(struct vn_virtq *q, int err)
{
    switch (err) {
#define VQ_ERROR_COUNT(e, counter, reason)                                                         \
    case e:                                                                                        \
        VQ_STAT_ADD(q, counter, 1);                                                                \
        break;
        VQ_ERRORS(VQ_ERROR_COUNT)
#undef VQ_ERROR_COUNT
    default:
        assert(!"vq_fail: not a guest error");
        break;
    }
    q->error = err;
    return err;
}

const char *vn_virtq_strerror(int err)
{
    switch (err) {
#define VQ_ERROR_TEXT(e, counter, reason)                                                          \
    case e:                                                                                        \
        return reason;
        VQ_ERRORS(VQ_ERROR_TEXT)
#undef VQ_ERROR_TEXT
    case -EAGAIN:
        return "no available buffer";
    case -ENXIO:
        return "queue not ready";
    default:
        return "unknown error";
    }
}

int vn_virtq_avail_count(struct vn_virtq *q)
{
    uint16_t idx, n;

    if (!q->avail)
        return -ENXIO;
    if (q->error)
        return q->error;
    /* IOMMU_PLATFORM: a chain waits for a translation; nothing new until the IOTLB changes. */
    if (__builtin_expect(q->iotlb_wait, 0)) {
        if (vn_iotlb_gen(q->iotlb) == q->iotlb_wait_gen)
            return 0;
        __atomic_store_n(&q->iotlb_wait, false, __ATOMIC_RELAXED);
    }
    if (q->packed)
        return packed_avail_count(q);
    /* Pairs with the driver's write barrier before it publishes avail->idx. */
    idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
    n = (uint16_t)(idx - q->last_avail_idx);
    if (n > q->size) {
        q->bad_avail_idx = idx;
        return vq_fail(q, -EPROTO);
    }
    q->shadow_avail_idx = idx;
    return n;
}

/*
 * Copies a descriptor out of guest memory.  The compiler barrier makes the
 * copy the only read: the guest may rewrite 'src' while we validate 'dst'.
 */
static void desc_read_once(struct vring_desc *dst, const void *src)
{
    memcpy(dst, src, sizeof(*dst));
    __asm__ __volatile__("" ::: "memory");
}

/*
 * A chain needs a translation the IOTLB does not have (the lookup queued the
 * miss for the control thread): the chain stays available, and the queue
 * reports nothing available until the IOTLB's generation moves past 'gen'
 * (read before that lookup, so an update that raced with it is not missed).
 * Returns -ENOENT, which vn_virtq_pop() turns into -EAGAIN.
 */
static int iotlb_wait(struct vn_virtq *q, uint64_t gen)
{
    q->iotlb_wait_gen = gen;
    __atomic_store_n(&q->iotlb_wait, true, __ATOMIC_RELAXED);
    __atomic_store_n(&q->iotlb_waits, q->iotlb_waits + 1, __ATOMIC_RELAXED);
    return -ENOENT;
}

/*
 * IOMMU_PLATFORM: the local address of the longest prefix of [iova, iova +
 * len) that one IOTLB entry and one memory region hold, for a read or (when
 * 'write') a write by the device.  Returns 0, -ENOENT (a miss, asked for),
 * -EACCES or -EFAULT (the entry's front-end address is in no region).
 */
static int iova_to_hva_prefix(struct vn_virtq *q, uint64_t iova, uint64_t len, bool write,
                              void **ret_p, uint64_t *ret_len)
{
    uint64_t uaddr, n, m, gen = vn_iotlb_gen(q->iotlb);
    void *p;
    int err = vn_iotlb_translate(q->iotlb, iova, len, write ? VN_IOTLB_PERM_WO : VN_IOTLB_PERM_RO,
                                 &uaddr, &n);

    if (err)
        return err == -ENOENT ? iotlb_wait(q, gen) : err;
    /* Translations come again: the queue no longer waits (a later miss says so anew). */
    if (q->iotlb_wait)
        __atomic_store_n(&q->iotlb_wait, false, __ATOMIC_RELAXED);
    p = vn_uva_to_hva_prefix(q->mem, uaddr, n, &m);
    if (!p)
        return -EFAULT;
    *ret_p = p;
    *ret_len = m;
    return 0;
}

/*
 * Local address of the indirect table [addr, addr + len) (an IOVA with
 * IOMMU_PLATFORM), or NULL with '*err' set.
 */
static const uint8_t *indirect_table(struct vn_virtq *q, uint64_t addr, uint32_t len,
                                     int *err)
{
    const uint8_t *t;
    uint64_t uaddr, gen;

    if (__builtin_expect(q->iotlb == NULL, 1)) {
        t = vn_gpa_to_hva(q->mem, addr, len);
        *err = -EFAULT;
        return t;
    }
    gen = vn_iotlb_gen(q->iotlb);
    *err = vn_iotlb_translate_range(q->iotlb, addr, len, VN_IOTLB_PERM_RO, &uaddr);
    if (*err == -ENOENT)
        *err = iotlb_wait(q, gen);
    if (*err)
        return NULL;
    t = vn_uva_to_hva(q->mem, uaddr, len);
    *err = -EFAULT;
    return t;
}

/* Appends [p, p + n) to 'c' as its next readable or writable iovec. */
static inline int chain_append(struct vn_vq_chain *c, void *p, uint64_t n, bool writable)
{
    uint32_t i = c->out_num + c->in_num;

    if (i >= VN_VQ_MAX_IOV)
        return -ENOBUFS;
    c->iov[i].iov_base = p;
    c->iov[i].iov_len = n;
    if (writable) {
        c->in_num++;
        c->in_len += n;
    } else {
        c->out_num++;
        c->out_len += n;
    }
    return 0;
}

/*
 * Appends [addr, addr + len), a guest physical range (or with 'iova' an I/O
 * virtual one, IOMMU_PLATFORM), as one iovec per memory region (and IOTLB
 * entry) it touches.  Inlined twice, 'iova' a constant in each.
 */
static inline __attribute__((always_inline)) int chain_add_range(struct vn_virtq *q,
                                                                 struct vn_vq_chain *c,
                                                                 uint64_t addr, uint64_t len,
                                                                 bool writable, bool iova)
{
    while (len > 0) {
        uint64_t n;
        void *p;
        int err;

        if (iova) {
            err = iova_to_hva_prefix(q, addr, len, writable, &p, &n);
            if (err)
                return err;
        } else {
            p = vn_gpa_to_hva_prefix(q->mem, addr, len, &n);
            if (!p)
                return -EFAULT;
        }
        /* The rest would start past the top of the address space. */
        if (n < len && n > UINT64_MAX - addr)
            return -EFAULT;
        err = chain_append(c, p, n, writable);
        if (err)
            return err;
        addr += n;
        len -= n;
    }
    return 0;
}

/* The IOMMU_PLATFORM case out of line: the path without an IOTLB pays only the test. */
static int __attribute__((noinline)) chain_add_iova_range(struct vn_virtq *q,
                                                          struct vn_vq_chain *c, uint64_t iova,
                                                          uint64_t len, bool writable)
{
    return chain_add_range(q, c, iova, len, writable, true);
}

/*
 * Appends the buffer of descriptor 'd' to 'c' as one iovec per memory region
 * it touches.  'seen_write' tracks whether a writable descriptor came before.
 */
static int chain_add_buffer(struct vn_virtq *q, struct vn_vq_chain *c,
                            const struct vring_desc *d, bool *seen_write)
{
    bool writable = d->flags & VRING_DESC_F_WRITE;

    if (writable)
        *seen_write = true;
    else if (*seen_write)
        return -EILSEQ;
    if (__builtin_expect(q->iotlb != NULL, 0))
        return chain_add_iova_range(q, c, d->addr, d->len, writable);
    return chain_add_range(q, c, d->addr, d->len, writable, false);
}

/*
 * Walks the chain starting at 'head' into 'c'.  Returns 0 or a guest error
 * from VQ_ERRORS.  The chain may jump once into an indirect table; 'table'
 * and 'table_size' always name the table 'idx' points into.  An indirect
 * table need not be aligned, so it is addressed in bytes.
 */
static int chain_walk(struct vn_virtq *q, uint16_t head, struct vn_vq_chain *c)
{
    const uint8_t *table = (const uint8_t *)q->desc;
    uint32_t table_size = q->size, idx = head;
    bool in_indirect = false, seen_write = false;
    struct vring_desc d;
    int err;

    c->head = head;
    c->ndesc = 0;
    c->out_num = c->in_num = 0;
    c->out_len = c->in_len = 0;

    if (idx >= table_size)
        return -ERANGE;
    for (;;) {
        desc_read_once(&d, table + (size_t)idx * sizeof(struct vring_desc));

        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (!q->indirect)
                return -EPERM;
            if (in_indirect)
                return -EMLINK;
            if (d.flags & VRING_DESC_F_NEXT)
                return -EINVAL;
            if (d.len == 0 || d.len % sizeof(struct vring_desc))
                return -EMSGSIZE;
            if (d.len / sizeof(struct vring_desc) > q->size)
                return -ELOOP;
            table = indirect_table(q, d.addr, d.len, &err);
            if (!table)
                return err;
            table_size = d.len / sizeof(struct vring_desc);
            in_indirect = true;
            idx = 0;
            continue;
        }

        /* Only 'size' distinct descriptors exist: one more means a loop. */
        if (++c->ndesc > q->size)
            return -ELOOP;
        err = chain_add_buffer(q, c, &d, &seen_write);
        if (err)
            return err;
        if (!(d.flags & VRING_DESC_F_NEXT))
            return 0;
        idx = d.next;
        if (idx >= table_size)
            return -ERANGE;
    }
}

int vn_virtq_pop(struct vn_virtq *q, struct vn_vq_chain *chain)
{
    uint16_t head;
    int err;

    if (!q->desc)
        return -ENXIO;
    if (q->error)
        return q->error;
    if (q->packed)
        return packed_pop(q, chain);
    if (q->last_avail_idx == q->shadow_avail_idx) {
        int n = vn_virtq_avail_count(q);

        if (n < 0)
            return n;
        if (n == 0)
            return -EAGAIN;
    }
    /* Ordered after the acquire load of avail->idx that published it. */
    head = ring_load16(&q->avail->ring[q->last_avail_idx & (q->size - 1)]);
    err = chain_walk(q, head, chain);
    if (__builtin_expect(err != 0, 0))
        return err == -ENOENT ? -EAGAIN : vq_fail(q, err); /* -ENOENT: iotlb_wait() */

    q->last_avail_idx++;
    VQ_STAT_ADD(q, received_desc, 1);
    VQ_STAT_ADD(q, total_bytes, chain->out_len);
    return 0;
}

void vn_virtq_unpop(struct vn_virtq *q, unsigned int n)
{
    if (q->packed) {
        packed_unpop(q, n);
        return;
    }
    assert(n <= (uint16_t)(q->last_avail_idx - q->used_idx));
    q->last_avail_idx = (uint16_t)(q->last_avail_idx - n);
    VQ_STAT_ADD(q, received_desc, -(uint64_t)n);
}

/* Stores one used element in the slot of free-running index 'idx'. */
static void used_elem_store(struct vn_virtq *q, uint16_t idx, uint32_t id, uint32_t len)
{
    struct vring_used_elem *e = &q->used->ring[idx & (q->size - 1)];

    __atomic_store_n(&e->id, id, __ATOMIC_RELAXED);
    __atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
}

/* Publishes every element stored so far; pairs with the driver's read barrier. */
static void used_idx_publish(struct vn_virtq *q)
{
    __atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
}

/* ---- dirty-page logging (live migration) ------------------------------------------- */

int vn_virtq_set_log(struct vn_virtq *q, struct vn_dirty_log *log)
{
    uint64_t gpa, room;

    uint64_t event_gpa = 0;

    if (log && q->packed &&
        (!q->pdesc || vn_hva_to_gpa(q->mem, q->pdesc, &gpa, &room) < 0 ||
         vn_hva_to_gpa(q->mem, q->device_event, &event_gpa, &room) < 0))
        return -EFAULT;
    if (log && !q->packed && (!q->used || vn_hva_to_gpa(q->mem, q->used, &gpa, &room) < 0))
        return -EFAULT;
    q->log = log;
    q->used_gpa = log ? gpa : 0;
    q->device_event_gpa = log ? event_gpa : 0;
    return 0;
}

void vn_virtq_log_iov(struct vn_virtq *q, const struct iovec *iov, unsigned int n, uint64_t len)
{
    vn_dirty_log_iov(q->log, q->mem, iov, n, len);
}

/* Logs bytes [off, off + len) of the used ring. */
static void log_used(struct vn_virtq *q, uint64_t off, uint64_t len)
{
    vn_dirty_log_gpa(q->log, q->used_gpa + off, len);
}

/* Logs 'n' used elements from free-running index 'idx', then used->idx. */
static void log_used_elems(struct vn_virtq *q, uint16_t idx, unsigned int n)
{
    uint32_t slot = idx & (q->size - 1), first = VN_MIN(n, q->size - slot);

    log_used(q, offsetof(struct vring_used, ring) + slot * sizeof(struct vring_used_elem),
             first * sizeof(struct vring_used_elem));
    if (n > first)
        log_used(q, offsetof(struct vring_used, ring), (n - first) * sizeof(struct vring_used_elem));
    log_used(q, offsetof(struct vring_used, idx), sizeof(uint16_t));
}

void vn_virtq_push(struct vn_virtq *q, uint16_t head, uint32_t len)
{
    assert(q->used);
    if (q->packed) {
        packed_push(q, head, len);
        VQ_STAT_ADD(q, completed_desc, 1);
        VQ_STAT_ADD(q, total_bytes, len);
        return;
    }
    used_elem_store(q, q->used_idx, head, len);
    q->used_idx++;
    used_idx_publish(q);
    if (__builtin_expect(q->log != NULL, 0))
        log_used_elems(q, (uint16_t)(q->used_idx - 1), 1);
    VQ_STAT_ADD(q, completed_desc, 1);
    VQ_STAT_ADD(q, total_bytes, len);
}

void vn_virtq_push_batch(struct vn_virtq *q, const struct vring_used_elem *elems, unsigned int n)
{
    uint64_t bytes = 0;

    assert(q->used && n <= q->size);
    if (n == 0)
        return;
    if (q->packed) {
        for (unsigned int i = 0; i < n; i++) {
            packed_push(q, (uint16_t)elems[i].id, elems[i].len);
            bytes += elems[i].len;
        }
        VQ_STAT_ADD(q, completed_desc, n);
        VQ_STAT_ADD(q, total_bytes, bytes);
        return;
    }
    for (unsigned int i = 0; i < n; i++) {
        used_elem_store(q, (uint16_t)(q->used_idx + i), elems[i].id, elems[i].len);
        bytes += elems[i].len;
    }
    q->used_idx = (uint16_t)(q->used_idx + n);
    used_idx_publish(q);
    if (__builtin_expect(q->log != NULL, 0))
        log_used_elems(q, (uint16_t)(q->used_idx - n), n);
    VQ_STAT_ADD(q, completed_desc, n);
    VQ_STAT_ADD(q, total_bytes, bytes);
}

bool vn_virtq_should_notify(struct vn_virtq *q, uint16_t old_used_idx)
{
    if (!q->avail || q->used_idx == old_used_idx)
        return false;
    if (q->packed)
        return packed_should_notify(q, old_used_idx);
    /* Our used->idx store before the driver's used_event / flags load. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (q->event_idx)
        return vring_need_event(ring_load16(used_event_ptr(q)), q->used_idx, old_used_idx);
    return !(ring_load16(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

void vn_virtq_set_avail_event(struct vn_virtq *q)
{
    if (q->used && q->event_idx && q->packed) {
        packed_set_event(q, VRING_PACKED_EVENT_FLAG_DESC);
    } else if (q->used && q->event_idx) {
        ring_store16(avail_event_ptr(q), q->last_avail_idx);
        if (__builtin_expect(q->log != NULL, 0))
            log_used(q, (uint64_t)((uint8_t *)avail_event_ptr(q) - (uint8_t *)q->used),
                     sizeof(uint16_t));
    }
}

static void used_flags_store(struct vn_virtq *q, uint16_t flags)
{
    ring_store16(&q->used->flags, flags);
    if (__builtin_expect(q->log != NULL, 0))
        log_used(q, offsetof(struct vring_used, flags), sizeof(uint16_t));
}

int vn_virtq_enable_notify(struct vn_virtq *q)
{
    if (!q->used)
        return -ENXIO;
    if (q->event_idx)
        vn_virtq_set_avail_event(q);
    else if (q->packed)
        packed_set_event(q, VRING_PACKED_EVENT_FLAG_ENABLE);
    else
        used_flags_store(q, 0);
    /* Our store before the avail->idx load: a kick-less chain is seen now. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return vn_virtq_avail_count(q);
}

void vn_virtq_disable_notify(struct vn_virtq *q)
{
    if (q->used && !q->event_idx && q->packed)
        packed_set_event(q, VRING_PACKED_EVENT_FLAG_DISABLE);
    else if (q->used && !q->event_idx)
        used_flags_store(q, VRING_USED_F_NO_NOTIFY);
}

int vn_virtq_error(const struct vn_virtq *q)
{
    return q->error;
}

void vn_virtq_get_stats(const struct vn_virtq *q, struct vn_virtq_stats *out)
{
    out->received_desc = __atomic_load_n(&q->stats.received_desc, __ATOMIC_RELAXED);
    out->completed_desc = __atomic_load_n(&q->stats.completed_desc, __ATOMIC_RELAXED);
    out->total_bytes = __atomic_load_n(&q->stats.total_bytes, __ATOMIC_RELAXED);
    out->bad_desc_errors = __atomic_load_n(&q->stats.bad_desc_errors, __ATOMIC_RELAXED);
    out->exceed_max_chain = __atomic_load_n(&q->stats.exceed_max_chain, __ATOMIC_RELAXED);
    out->invalid_buffer = __atomic_load_n(&q->stats.invalid_buffer, __ATOMIC_RELAXED);
    out->avail_idx_errors = __atomic_load_n(&q->stats.avail_idx_errors, __ATOMIC_RELAXED);
}

/* ---- packed ring (virtio 1.1 2.8) ------------------------------------------------------ */

#define PK_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PK_USED (1u << VRING_PACKED_DESC_F_USED)

/* The wrap counter of free-running slot index 'idx' (the size is a power of two <= 2^15). */
static bool pk_wrap(const struct vn_virtq *q, uint16_t idx)
{
    return !(idx & q->size);
}

uint32_t vn_virtq_packed_base(uint16_t idx, uint32_t size)
{
    return (idx & (size - 1)) | (uint32_t)!(idx & size) << VRING_PACKED_EVENT_F_WRAP_CTR;
}

int vn_virtq_packed_idx(uint32_t base, uint32_t size, uint16_t *ret_idx)
{
    uint32_t slot = base & ~(1u << VRING_PACKED_EVENT_F_WRAP_CTR);

    if (slot >= size || base >> (VRING_PACKED_EVENT_F_WRAP_CTR + 1))
        return -EINVAL;
    *ret_idx = (uint16_t)(slot | (base >> VRING_PACKED_EVENT_F_WRAP_CTR ? 0 : size));
    return 0;
}

static int packed_set_addrs(struct vn_virtq *q, const struct vn_guest_mem *mem,
                            struct vn_iotlb *iotlb, const struct vn_virtq_layout *l)
{
    uint64_t size = l->size;
    void *desc, *drv, *dev;
    uint32_t *inflight;
    int err = 0;

    if (l->desc_addr % 16 || l->avail_addr % 4 || l->used_addr % 4)
        return -EINVAL;
    desc = ring_area(mem, iotlb, l->desc_addr, size * sizeof(struct vring_packed_desc),
                     VN_IOTLB_PERM_RW, &err);
    drv = ring_area(mem, iotlb, l->avail_addr, sizeof(struct vring_packed_desc_event),
                    VN_IOTLB_PERM_RO, &err);
    dev = ring_area(mem, iotlb, l->used_addr, sizeof(struct vring_packed_desc_event),
                    VN_IOTLB_PERM_WO, &err);
    if (err)
        return err;
    if (!is_aligned(desc, 16) || !is_aligned(drv, 4) || !is_aligned(dev, 4))
        return -EINVAL;
    inflight = calloc(size, sizeof(*inflight));
    if (!inflight)
        return -ENOMEM;
    free(q->pk_inflight);
    q->pk_inflight = inflight;
    q->pk_first = q->pk_n = 0;
    q->mem = mem;
    q->packed = true;
    q->pdesc = desc;
    q->driver_event = drv;
    q->device_event = dev;
    /* The split pointers stay non-NULL for the "ready" checks; never dereferenced as such. */
    q->desc = desc;
    q->avail = drv;
    q->used = dev;
    q->size = (uint32_t)size;
    q->event_idx = l->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
    q->indirect = l->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    q->shadow_avail_idx = q->last_avail_idx;
    q->error = 0;
    q->log = NULL;
    q->used_gpa = 0;
    q->iotlb = iotlb;
    q->iotlb_wait = false;
    return 0;
}

/* True when the descriptor at slot index 'idx' is available (acquire: its contents after). */
static bool packed_desc_avail(const struct vn_virtq *q, uint16_t idx)
{
    uint16_t f = __atomic_load_n(&q->pdesc[idx & (q->size - 1)].flags, __ATOMIC_ACQUIRE);
    bool w = pk_wrap(q, idx);

    return !!(f & PK_AVAIL) == w && !!(f & PK_USED) != w;
}

static int packed_avail_count(struct vn_virtq *q)
{
    return packed_desc_avail(q, q->last_avail_idx) ? 1 : 0;
}

static void packed_desc_read_once(struct vring_packed_desc *dst, const void *src)
{
    memcpy(dst, src, sizeof(*dst));
    __asm__ __volatile__("" ::: "memory");
}

/* A packed descriptor's buffer as a split one (the WRITE flag has the same bit). */
static int packed_add_buffer(struct vn_virtq *q, struct vn_vq_chain *c,
                             const struct vring_packed_desc *pd, bool *seen_write)
{
    struct vring_desc d = { .addr = pd->addr, .len = pd->len, .flags = pd->flags };

    return chain_add_buffer(q, c, &d, seen_write);
}

/* The indirect table of 'pd' into 'c': all its entries, in order. */
static int packed_walk_indirect(struct vn_virtq *q, struct vn_vq_chain *c,
                                const struct vring_packed_desc *pd, bool *seen_write)
{
    const uint8_t *table;
    uint32_t n;
    int err;

    if (!q->indirect)
        return -EPERM;
    if (pd->flags & VRING_DESC_F_NEXT)
        return -EINVAL;
    if (pd->len == 0 || pd->len % sizeof(struct vring_packed_desc))
        return -EMSGSIZE;
    n = pd->len / sizeof(struct vring_packed_desc);
    if (n > q->size)
        return -ELOOP;
    table = indirect_table(q, pd->addr, pd->len, &err);
    if (!table)
        return err;
    for (uint32_t i = 0; i < n; i++) {
        struct vring_packed_desc d;

        packed_desc_read_once(&d, table + (size_t)i * sizeof(d));
        if (d.flags & VRING_DESC_F_INDIRECT)
            return -EMLINK;
        if (++c->ndesc > q->size)
            return -ELOOP;
        err = packed_add_buffer(q, c, &d, seen_write);
        if (err)
            return err;
    }
    return 0;
}

/*
 * Walks the chain at last_avail_idx: consecutive ring slots while NEXT is
 * set (at most the ring's size), or one slot pointing to an indirect table.
 * The buffer id is the last descriptor's.  '*slots' gets the ring slots used.
 */
static int packed_walk(struct vn_virtq *q, struct vn_vq_chain *c, uint16_t *slots)
{
    uint16_t idx = q->last_avail_idx;
    bool seen_write = false;
    uint32_t n = 0;

    c->ndesc = 0;
    c->out_num = c->in_num = 0;
    c->out_len = c->in_len = 0;
    for (;;) {
        struct vring_packed_desc d;
        int err;

        /* A chain cannot hold more descriptors than the ring: NEXT on all of them is a loop. */
        if (n == q->size)
            return -ELOOP;
        packed_desc_read_once(&d, &q->pdesc[idx & (q->size - 1)]);
        n++;
        if (d.flags & VRING_DESC_F_INDIRECT) {
            err = packed_walk_indirect(q, c, &d, &seen_write);
        } else {
            if (++c->ndesc > q->size)
                return -ELOOP;
            err = packed_add_buffer(q, c, &d, &seen_write);
        }
        if (err)
            return err;
        c->head = d.id;
        if (!(d.flags & VRING_DESC_F_NEXT) || (d.flags & VRING_DESC_F_INDIRECT))
            break;
        idx++;
    }
    *slots = (uint16_t)n;
    return 0;
}

static int packed_pop(struct vn_virtq *q, struct vn_vq_chain *c)
{
    uint16_t slots;
    int err;

    if (!packed_desc_avail(q, q->last_avail_idx))
        return -EAGAIN;
    /* Every slot is in flight already: the driver made used slots available again. */
    if (q->pk_n >= q->size) {
        q->bad_avail_idx = q->last_avail_idx;
        return vq_fail(q, -EPROTO);
    }
    err = packed_walk(q, c, &slots);
    if (__builtin_expect(err != 0, 0))
        return err == -ENOENT ? -EAGAIN : vq_fail(q, err); /* -ENOENT: iotlb_wait() */
    q->pk_inflight[(q->pk_first + q->pk_n) & (q->size - 1)] = (uint32_t)c->head << 16 | slots;
    q->pk_n++;
    q->last_avail_idx = (uint16_t)(q->last_avail_idx + slots);
    q->shadow_avail_idx = q->last_avail_idx;
    VQ_STAT_ADD(q, received_desc, 1);
    VQ_STAT_ADD(q, total_bytes, c->out_len);
    return 0;
}

static void packed_unpop(struct vn_virtq *q, unsigned int n)
{
    assert(n <= q->pk_n);
    for (unsigned int i = 0; i < n; i++) {
        uint32_t e = q->pk_inflight[(q->pk_first + q->pk_n - 1) & (q->size - 1)];

        q->last_avail_idx = (uint16_t)(q->last_avail_idx - (e & 0xffff));
        q->pk_n--;
    }
    q->shadow_avail_idx = q->last_avail_idx;
    VQ_STAT_ADD(q, received_desc, -(uint64_t)n);
}

/*
 * Takes chain 'id' out of the in-flight list and returns its slot count: the
 * oldest one when it matches (a device that completes in order), else the
 * first with that id.  0 for an id not in flight (a caller bug: nothing is
 * written).
 */
static uint16_t packed_inflight_take(struct vn_virtq *q, uint16_t id)
{
    uint32_t mask = q->size - 1;

    for (uint32_t i = 0; i < q->pk_n; i++) {
        uint32_t e = q->pk_inflight[(q->pk_first + i) & mask];

        if (e >> 16 != id)
            continue;
        /* Close the gap: the older entries move up by one. */
        for (uint32_t k = i; k > 0; k--)
            q->pk_inflight[(q->pk_first + k) & mask] = q->pk_inflight[(q->pk_first + k - 1) & mask];
        q->pk_first = (q->pk_first + 1) & mask;
        q->pk_n--;
        return (uint16_t)(e & 0xffff);
    }
    return 0;
}

/* Writes the used descriptor for chain 'id' at used_idx (flags last, release). */
static void packed_push(struct vn_virtq *q, uint16_t id, uint32_t len)
{
    uint16_t slots = packed_inflight_take(q, id);
    uint32_t slot = q->used_idx & (q->size - 1);
    struct vring_packed_desc *d = &q->pdesc[slot];
    uint16_t flags = pk_wrap(q, q->used_idx) ? (uint16_t)(PK_AVAIL | PK_USED) : 0;

    assert(slots);
    if (!slots)
        return;
    __atomic_store_n(&d->id, id, __ATOMIC_RELAXED);
    __atomic_store_n(&d->len, len, __ATOMIC_RELAXED);
    __atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
    q->used_idx = (uint16_t)(q->used_idx + slots);
    if (__builtin_expect(q->log != NULL, 0))
        log_used(q, (uint64_t)slot * sizeof(*d), sizeof(*d));
}

/* The driver's event suppression, after our used descriptor stores (full fence). */
static bool packed_should_notify(struct vn_virtq *q, uint16_t old_used_idx)
{
    uint16_t flags, off_wrap, m = (uint16_t)(2 * q->size - 1), ev, nw, od;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    flags = __atomic_load_n(&q->driver_event->flags, __ATOMIC_RELAXED);
    if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
        return false;
    if (flags != VRING_PACKED_EVENT_FLAG_DESC || !q->event_idx)
        return true;
    off_wrap = __atomic_load_n(&q->driver_event->off_wrap, __ATOMIC_RELAXED);
    /* The event slot, old and new as positions modulo two laps of the ring. */
    ev = (uint16_t)(((off_wrap & 0x7fff) | (off_wrap >> 15 ? 0 : q->size)) & m);
    nw = q->used_idx & m;
    od = old_used_idx & m;
    return (uint16_t)((nw - ev - 1) & m) < (uint16_t)((nw - od) & m);
}

/* Our event suppression: ENABLE, DISABLE, or DESC at last_avail_idx (EVENT_IDX). */
static void packed_set_event(struct vn_virtq *q, uint16_t flags)
{
    if (flags == VRING_PACKED_EVENT_FLAG_DESC)
        __atomic_store_n(&q->device_event->off_wrap,
                         (uint16_t)vn_virtq_packed_base(q->last_avail_idx, q->size),
                         __ATOMIC_RELAXED);
    __atomic_store_n(&q->device_event->flags, flags, __ATOMIC_RELEASE);
    if (__builtin_expect(q->log != NULL, 0))
        vn_dirty_log_gpa(q->log, q->device_event_gpa, sizeof(*q->device_event));
}
