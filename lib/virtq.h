/*
 * virtq.h - device-side access to a virtqueue living in guest memory: a
 * split ring (virtio 1.x 2.7; a legacy queue has the same ring format) or a
 * packed ring (virtio 1.1 2.8, VIRTIO_F_RING_PACKED).
 *
 * The same functions serve both layouts; what differs for a packed ring:
 *   - SET_VRING_ADDR's three addresses are the descriptor ring, the driver's
 *     event suppression area and the device's (4 bytes each);
 *   - indices (last_avail_idx, used_idx) count descriptor slots, free-running
 *     modulo 2^16; with a power-of-two size the slot is idx % size and the
 *     wrap counter is !(idx & size).  vn_virtq_packed_base() and
 *     vn_virtq_packed_idx() convert to and from the vhost-user form
 *     (slot | wrap << 15);
 *   - a chain is pushed back with the buffer id its last descriptor carried
 *     (chain->head) and takes as many used slots as it had descriptors;
 *   - vn_virtq_avail_count() says 1 when a chain is available, not how many.
 *
 * The three ring areas are translated once through the device's guest memory
 * table (lib/guest_mem.h) when the queue starts; vn_virtq_pop() then takes
 * the next available chain and turns it into iovecs over guest memory,
 * readable ("out", driver to device) first and writable ("in") after, and
 * vn_virtq_push() returns it through the used ring.  Notification helpers
 * implement VIRTIO_RING_F_EVENT_IDX and the NO_INTERRUPT / NO_NOTIFY flags.
 *
 * The guest owns the rings and may change them at any time: every index and
 * address read from guest memory is validated before use, each descriptor is
 * read once into a local copy, and a guest that breaks the rules gets a
 * distinct error, a counter in the queue's stats and a queue that stays
 * stopped (vn_virtq_error()) until it is set up again.  The device then marks
 * itself NEEDS_RESET; nothing a guest does can crash the process.
 *
 * Threading: a queue belongs to one datapath thread, which alone calls the
 * functions below, except vn_virtq_get_stats() that any thread may call.
 * Set-up functions run while the queue is stopped.  The queue keeps pointers
 * into the memory table: after the table changes (SET_MEM_TABLE, ADD_MEM_REG,
 * REM_MEM_REG) the queue must be stopped and vn_virtq_set_addrs() called again.
 *
 * Memory ordering against the driver (which runs on another CPU):
 *   - avail->idx is read with acquire before the ring entries it publishes;
 *   - used elements are stored before used->idx, which is stored with release;
 *   - the notification decisions put a full fence between our store (used->idx
 *     or avail_event / flags) and our load of the driver's field (used_event /
 *     flags, or avail->idx), as the spec's "memory barrier" requires.
 */
#ifndef VN_VIRTQ_H
#define VN_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h>

struct vn_guest_mem;
struct vn_dirty_log;
struct vn_iotlb;

#define VN_VQ_MAX_SIZE 32768 /* largest split queue (a power of two) */
#define VN_VQ_MAX_IOV  1024  /* iovecs one chain may produce */

/*
 * Counters of one queue, named as `virtnet stats` prints them.  Written by
 * the queue's thread only; read with vn_virtq_get_stats().
 */
struct vn_virtq_stats {
    uint64_t received_desc;    /* chains taken from the avail ring */
    uint64_t completed_desc;   /* chains returned through the used ring */
    uint64_t total_bytes;      /* readable bytes of chains taken + bytes reported written */
    uint64_t bad_desc_errors;  /* malformed descriptor: index out of range, readable after
                                  writable, misused INDIRECT flag, bad indirect table size */
    uint64_t exceed_max_chain; /* chain longer than the queue (or a loop), too many iovecs */
    uint64_t invalid_buffer;   /* buffer or indirect table outside guest memory */
    uint64_t avail_idx_errors; /* avail->idx moved more than the queue size ahead */
};

/* Where the rings are and how they are used (SET_VRING_NUM, SET_VRING_ADDR, SET_FEATURES). */
struct vn_virtq_layout {
    uint32_t size;       /* entries: a power of two, 1..VN_VQ_MAX_SIZE */
    uint64_t features;   /* negotiated virtio features; RING_F_EVENT_IDX,
                            RING_F_INDIRECT_DESC and F_RING_PACKED matter here */
    uint64_t desc_addr;  /* descriptor table, front-end virtual address, 16-byte aligned */
    uint64_t avail_addr; /* available ring, front-end virtual address, 2-byte aligned */
    uint64_t used_addr;  /* used ring, front-end virtual address, 4-byte aligned */
};

struct vn_virtq {
    const struct vn_guest_mem *mem; /* borrowed: buffers are translated through it */
    struct vring_desc *desc;        /* NULL until vn_virtq_set_addrs() succeeds */
    struct vring_avail *avail;
    struct vring_used *used;
    uint32_t size;
    bool event_idx;            /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;             /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    uint16_t last_avail_idx;   /* next avail entry to take (free-running) */
    uint16_t shadow_avail_idx; /* last validated avail->idx */
    uint16_t used_idx;         /* next used entry to fill (free-running) */
    uint16_t bad_avail_idx;    /* the avail->idx that made error -EPROTO */
    int error;                 /* first guest error (negative errno), 0 while healthy */
    struct vn_virtq_stats stats;
    /* Live migration (vn_virtq_set_log()); appended: a provider built before ignores them. */
    struct vn_dirty_log *log;  /* borrowed; NULL unless the front-end logs dirty pages */
    uint64_t used_gpa;         /* guest physical address of the used ring (packed: of the
                                  descriptor ring), for the log */
    /* Packed ring (VIRTIO_F_RING_PACKED); appended. */
    bool packed;
    struct vring_packed_desc *pdesc;              /* descriptor ring, when packed */
    struct vring_packed_desc_event *driver_event; /* the driver's event suppression (read) */
    struct vring_packed_desc_event *device_event; /* ours (written) */
    uint64_t device_event_gpa; /* for the log */
    uint32_t *pk_inflight;     /* chains popped and not pushed, in pop order: buffer id << 16 |
                                  descriptor slots; 'size' entries, allocated while ready */
    uint32_t pk_first;         /* oldest entry of pk_inflight */
    uint32_t pk_n;             /* entries in pk_inflight */
    /* Transmit record (lib/virtq_inflight.h); appended.  Split transmit queues: where the
       datapath records which chains reached the representor, in a file that outlives a
       crash; NULL when none (a provider that does not record leaves it alone). */
    uint64_t *tx_rec;
    /* VIRTIO_F_IOMMU_PLATFORM (vn_virtq_set_addrs_iotlb()); appended. */
    struct vn_iotlb *iotlb;    /* borrowed; NULL unless addresses are IOVAs */
    bool iotlb_wait;           /* a chain waits for a translation the front-end was asked for
                                  (atomic: the control thread reads it for `query`) */
    uint64_t iotlb_wait_gen;   /* the IOTLB's generation before the lookup that missed */
    uint64_t iotlb_waits;      /* times a chain had to wait for a translation */
};

/*
 * One available chain: iov[0, out_num) are readable, iov[out_num, out_num +
 * in_num) writable.  Zero-length descriptors produce no iovec; a descriptor
 * crossing from one memory region into the next produces one per region.
 * The iovecs point into guest memory, valid until the memory table changes.
 */
struct vn_vq_chain {
    uint16_t head;  /* give this back to vn_virtq_push() */
    uint32_t ndesc; /* buffer descriptors walked (indirect pointers excluded) */
    uint32_t out_num;
    uint32_t in_num;
    uint64_t out_len; /* bytes in the readable iovecs */
    uint64_t in_len;  /* bytes in the writable iovecs */
    struct iovec iov[VN_VQ_MAX_IOV];
};

/* Makes 'q' a stopped queue with no rings and zero counters. */
void vn_virtq_init(struct vn_virtq *q);

/*
 * Validates 'l' and translates the three ring areas through 'mem' (borrowed;
 * it must outlive the queue's use of it).  The descriptor table is 16 * size
 * bytes, the avail ring 4 + 2 * size (+ 2 with EVENT_IDX), the used ring
 * 4 + 8 * size (+ 2 with EVENT_IDX), each inside one region.  On success the
 * queue is ready, its error is cleared and its indices are left as they were
 * (see vn_virtq_set_last_avail_idx()); the dirty-page log is unset
 * (vn_virtq_set_log()).  Returns 0, -EINVAL (size not a power
 * of two in range, misaligned address) or -EFAULT (an area outside guest
 * memory); on failure 'q' is unchanged.
 */
int vn_virtq_set_addrs(struct vn_virtq *q, const struct vn_guest_mem *mem,
                       const struct vn_virtq_layout *l);

/*
 * VIRTIO_F_IOMMU_PLATFORM: the same, the three ring addresses and every
 * buffer and indirect table address being I/O virtual addresses translated
 * through 'iotlb' (borrowed, lib/iotlb.h; NULL: as vn_virtq_set_addrs()),
 * then through 'mem' as front-end addresses.  Each area must map to one
 * contiguous front-end range with the permission its use needs (the device
 * reads the descriptor table and the avail ring, writes the used ring; a
 * packed descriptor ring both).  Errors as vn_virtq_set_addrs(), and
 * -ENOENT when a translation is missing (asked for: retry after the
 * front-end's update), -EACCES for a missing permission.
 *
 * While the queue runs, a buffer whose translation is missing makes
 * vn_virtq_pop() return -EAGAIN without taking the chain, and the queue
 * reports nothing available (vn_virtq_avail_count() 0) until the IOTLB has
 * been updated: the datapath sleeps, and the control thread wakes it (a
 * kick) after the update.  A buffer the IOTLB maps without the permission
 * the access needs is a guest error (-EACCES, invalid_buffer).
 */
int vn_virtq_set_addrs_iotlb(struct vn_virtq *q, const struct vn_guest_mem *mem,
                             struct vn_iotlb *iotlb, const struct vn_virtq_layout *l);

/*
 * Forgets the rings: the queue is stopped.  Indices and counters stay.  Also
 * frees what vn_virtq_set_addrs() allocated for a packed ring: call it before
 * vn_virtq_init() on a queue that was ready.
 */
void vn_virtq_stop(struct vn_virtq *q);

/* True once vn_virtq_set_addrs() succeeded and until vn_virtq_stop(). */
bool vn_virtq_is_ready(const struct vn_virtq *q);

/*
 * GET_VRING_BASE / SET_VRING_BASE: the next avail entry the device will take.
 * Answer GET only once every chain taken has been pushed back.  SET also
 * moves the used index to the same value (nothing is in flight on a resume).
 */
uint16_t vn_virtq_get_last_avail_idx(const struct vn_virtq *q);
void vn_virtq_set_last_avail_idx(struct vn_virtq *q, uint16_t idx);

/*
 * Packed rings: the vhost-user ring base (slot | wrap counter << 15) of the
 * free-running index 'idx' of a ring of 'size' (a power of two) slots, and
 * back.  vn_virtq_packed_idx() returns -EINVAL for a slot >= size.
 */
uint32_t vn_virtq_packed_base(uint16_t idx, uint32_t size);
int vn_virtq_packed_idx(uint32_t base, uint32_t size, uint16_t *ret_idx);

/* The next used index the device will write; pass it to vn_virtq_should_notify(). */
uint16_t vn_virtq_used_idx(const struct vn_virtq *q);

/*
 * Number of chains the driver has made available and the device has not yet
 * taken, read now (acquire).  Returns it (0..size), -ENXIO when the queue is
 * not ready, or -EPROTO when avail->idx is more than 'size' ahead ("avail
 * index jump": counted in avail_idx_errors, the queue is then broken).
 */
int vn_virtq_avail_count(struct vn_virtq *q);

/*
 * Takes the next available chain into 'chain' (its contents are unspecified
 * after a failure).
 * Returns 0, -EAGAIN when none is available, -ENXIO when the queue is not
 * ready, the queue's error when it is broken, or the guest error found now,
 * after which the queue is broken (its error stays until vn_virtq_set_addrs()):
 *   -EPROTO   avail index jump                          (avail_idx_errors)
 *   -ERANGE   head or next index outside its table      (bad_desc_errors)
 *   -EILSEQ   readable descriptor after a writable one  (bad_desc_errors)
 *   -EPERM    INDIRECT without RING_F_INDIRECT_DESC     (bad_desc_errors)
 *   -EINVAL   INDIRECT together with NEXT               (bad_desc_errors)
 *   -EMLINK   INDIRECT inside an indirect table         (bad_desc_errors)
 *   -EMSGSIZE indirect table length 0 or not a multiple of 16 (bad_desc_errors)
 *   -ELOOP    chain longer than the queue size: a loop  (exceed_max_chain)
 *   -ENOBUFS  chain needs more than VN_VQ_MAX_IOV iovecs (exceed_max_chain)
 *   -EFAULT   buffer or indirect table outside guest memory (invalid_buffer)
 *   -EACCES   IOMMU_PLATFORM: buffer or table the IOTLB maps without the
 *             permission its direction needs              (invalid_buffer)
 * A failed chain is not consumed: last_avail_idx stays on it.
 */
int vn_virtq_pop(struct vn_virtq *q, struct vn_vq_chain *chain);

/*
 * Gives back the 'n' chains taken last and not pushed: the next pops take
 * them again (MRG_RXBUF: a device gathers buffers for a frame of unknown size
 * and returns the ones the frame did not need; a stopping queue returns the
 * ones it held).  'n' must not exceed the chains taken since the last push of
 * the ones before them, i.e. (last_avail_idx - used_idx) for a device that
 * pushes in order.  received_desc goes down by 'n'; total_bytes keeps the
 * readable bytes of those chains (receive chains have none).
 */
void vn_virtq_unpop(struct vn_virtq *q, unsigned int n);

/*
 * Dirty-page logging during a live migration (lib/dirty_log.h).  With a log
 * set, every write the queue makes into guest memory (used elements,
 * used->idx, used->flags, avail_event) marks its page, and
 * vn_virtq_log_write() marks the buffers a datapath filled.  Without one
 * (NULL, the default) nothing changes but a predictable branch.  Set while
 * the queue is stopped, after vn_virtq_set_addrs() (the used ring's guest
 * physical address is found through the memory table then); returns 0, or
 * -EFAULT when the used ring lies in no region (the log is not set).
 * 'log' is borrowed and must stay mapped until the queue stops.
 */
int vn_virtq_set_log(struct vn_virtq *q, struct vn_dirty_log *log);

/* The out-of-line part of vn_virtq_log_write(). */
void vn_virtq_log_iov(struct vn_virtq *q, const struct iovec *iov, unsigned int n, uint64_t len);

/*
 * Marks the first 'len' bytes of the writable iovecs 'iov' (from a chain of
 * this queue) as written, when the queue logs.  Call it after writing the
 * bytes and before pushing the chain.  A datapath that declares
 * VN_PROVIDER_F_LOG_ALL (virtnet/provider.h) calls it for every guest buffer
 * it writes.
 */
static inline void vn_virtq_log_write(struct vn_virtq *q, const struct iovec *iov, unsigned int n,
                                      uint64_t len)
{
    if (__builtin_expect(q->log != NULL, 0))
        vn_virtq_log_iov(q, iov, n, len);
}

/* A short English reason for an error of vn_virtq_pop(), for log lines. */
const char *vn_virtq_strerror(int err);

/*
 * Returns chain 'head' to the driver with 'len' bytes written into its
 * writable part: stores the used element, then used->idx with release.
 * The queue must be ready.
 */
void vn_virtq_push(struct vn_virtq *q, uint16_t head, uint32_t len);

/* Returns 'n' (<= size) chains at once with a single store of used->idx. */
void vn_virtq_push_batch(struct vn_virtq *q, const struct vring_used_elem *elems, unsigned int n);

/*
 * After pushing (the used index was 'old_used_idx' before), true when the
 * driver wants an interrupt: with EVENT_IDX when the pushes crossed the
 * driver's used_event, otherwise unless it set VRING_AVAIL_F_NO_INTERRUPT.
 * False when nothing was pushed.  Issues a full fence first.
 */
bool vn_virtq_should_notify(struct vn_virtq *q, uint16_t old_used_idx);

/*
 * EVENT_IDX, device side: asks the driver to kick when it makes the entry
 * after last_avail_idx available (writes avail_event).  No-op without
 * EVENT_IDX.
 */
void vn_virtq_set_avail_event(struct vn_virtq *q);

/*
 * Asks the driver for kicks again (avail_event with EVENT_IDX, clearing
 * VRING_USED_F_NO_NOTIFY otherwise), then issues a full fence and re-reads
 * the avail index, so a chain made available meanwhile is not missed.
 * Returns vn_virtq_avail_count(): when > 0 the caller should keep polling.
 */
int vn_virtq_enable_notify(struct vn_virtq *q);

/*
 * Tells the driver kicks are not needed while the device polls
 * (VRING_USED_F_NO_NOTIFY).  With EVENT_IDX this is implicit: the driver
 * kicks only when it passes avail_event, which the device does not move.
 */
void vn_virtq_disable_notify(struct vn_virtq *q);

/* The first guest error of the queue (a vn_virtq_pop() error), 0 while healthy. */
int vn_virtq_error(const struct vn_virtq *q);

/* Copies the counters; callable from any thread. */
void vn_virtq_get_stats(const struct vn_virtq *q, struct vn_virtq_stats *out);

#endif /* VN_VIRTQ_H */
