/*
 * virtq_inflight.h - where a virtqueue resumes after its back-end restarted
 * (a crash, a kill -9, a live update that failed half-way), so that no chain
 * is lost or returned twice, and no transmitted frame reaches the
 * representor twice.
 *
 * The driver's used index is the floor: every chain from used->idx on is
 * still in the avail ring, in order (DPDK virtio-user sends base 0 on every
 * reconnect; QEMU restores last_avail_idx = used index).  Taking them all
 * again is right for receive chains (a frame read from the tap but not yet
 * returned is lost with the old process either way) but wrong for transmit
 * chains whose frames the old process had already written to the
 * representor: taken again, they are sent twice.
 *
 * The transmit record closes that gap.  It lives in a file per device (under
 * the state directory, mapped shared, so a kill -9 loses no store made into
 * it) with one 64-bit word per virtqueue, stored whole:
 *     pos      the avail position (free-running) up to which every chain was
 *              handled (written to the representor or dropped);
 *     n        chains from pos on being written now (0: none);
 *     written  frames the representor accepted, counted (mod 2^32).
 * The datapath stores {pos, n} before it writes a flush of n frames in order
 * and {pos + n, 0, written + accepted} after.  The representor counts the
 * frames it accepted itself (the tap's rx_packets); the file keeps 'base',
 * that count when every 'written' was 0.  After a crash, the count now, less
 * base, less the sum of 'written', is the number of frames written that no
 * word accounts for: they belong to the flushes in flight, and since a flush
 * writes in order, they are its first ones.  One queue in flight (the usual
 * case: a crash lands in one flush) is resolved exactly; several are resolved
 * exactly when none or all of their frames went; otherwise every frame in
 * flight is taken as sent (a frame may be lost, none is sent twice) and the
 * outcome says so.  At the ring's start the chains below pos are returned
 * used and the ring resumes at pos.
 *
 * The vhost-user in-flight region (INFLIGHT_SHMFD, GET/SET_INFLIGHT_FD) is
 * negotiated and kept for a front-end that supplies one; it is not used to
 * resume: it says which chains were taken, not whether their frames went
 * out, and neither QEMU's virtio-net nor DPDK virtio-user supplies one.
 *
 * Threading: the words are written by the queue's datapath thread while it
 * runs, everything else by the main loop thread while the queue is stopped.
 */
#ifndef VN_VIRTQ_INFLIGHT_H
#define VN_VIRTQ_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq.h"

/* What vn_virtq_resume() found. */
struct vn_virtq_resume_info {
    uint16_t from;        /* last_avail_idx the queue had (SET_VRING_BASE / hand-over) */
    uint16_t to;          /* last_avail_idx it resumes at */
    uint32_t handled;     /* chains the transmit record returned used (their frames went) */
    bool from_record;     /* the transmit record decided */
};

/*
 * Called when a ready queue (vn_virtq_set_addrs() done) is about to start
 * after a restart: sets last_avail_idx (and used_idx) to the driver's used
 * index, so the chains the driver has not seen used are taken again, in
 * order; then, given the transmit record's word 'rec' (0 when there is none
 * to trust), returns the chains below its pos used and resumes there.  The
 * record is trusted only when pos lies between the driver's used and avail
 * indices (a front-end that restarted meanwhile has other rings) and every
 * head it names is in range.  Split rings only (a packed queue resumes at its
 * used index).  Returns true when the index changed ('*info' says how).
 */
bool vn_virtq_resume(struct vn_virtq *q, uint64_t rec, struct vn_virtq_resume_info *info);

/* ---- the transmit record ---------------------------------------------------------------- */

#define VN_TXREC_MAGIC 0x7672786eu /* "nxrv" */
#define VN_TXREC_VERSION 1
#define VN_TXREC_F_BASED 1u        /* 'base' was taken */

struct vn_txrec_file {
    uint32_t magic;
    uint16_t version;
    uint16_t nwords;   /* words that follow, one per virtqueue index */
    uint32_t flags;    /* VN_TXREC_F_* */
    uint32_t reserved;
    uint64_t base;     /* the representor's accepted count when every 'written' was 0 */
    uint64_t word[];
};

/* Bytes of a record file for 'nwords' virtqueues. */
size_t vn_txrec_file_bytes(uint32_t nwords);

/*
 * True when the 'size' bytes at 'f' are a record of this version for at
 * least 'nwords' virtqueues.
 */
bool vn_txrec_file_valid(const struct vn_txrec_file *f, size_t size, uint32_t nwords);

/* Makes the 'size' bytes at 'f' an empty record for 'nwords' virtqueues (no base yet). */
void vn_txrec_file_init(struct vn_txrec_file *f, uint32_t nwords);

static inline uint64_t vn_txrec_pack(uint16_t pos, uint16_t n, uint32_t written)
{
    return (uint64_t)pos | (uint64_t)n << 16 | (uint64_t)written << 32;
}
static inline uint16_t vn_txrec_pos(uint64_t w) { return (uint16_t)w; }
static inline uint16_t vn_txrec_n(uint64_t w) { return (uint16_t)(w >> 16); }
static inline uint32_t vn_txrec_written(uint64_t w) { return (uint32_t)(w >> 32); }

static inline uint64_t vn_txrec_load(const uint64_t *rec)
{
    return __atomic_load_n(rec, __ATOMIC_ACQUIRE);
}

/* Datapath: the 'n' chains from avail position 'pos' on are about to be written, in order. */
static inline void vn_txrec_begin(uint64_t *rec, uint16_t pos, uint16_t n)
{
    __atomic_store_n(rec, vn_txrec_pack(pos, n, vn_txrec_written(*rec)), __ATOMIC_RELEASE);
}

/*
 * Datapath: every chain before avail position 'pos' is handled; 'accepted'
 * frames more were taken by the representor since the last store.
 */
static inline void vn_txrec_end(uint64_t *rec, uint16_t pos, uint32_t accepted)
{
    __atomic_store_n(rec, vn_txrec_pack(pos, 0, vn_txrec_written(*rec) + accepted),
                     __ATOMIC_RELEASE);
}

/* What vn_txrec_resolve() decided. */
struct vn_txrec_outcome {
    uint32_t queues_in_flight; /* words with a flush in flight */
    uint32_t in_flight;        /* frames in those flushes */
    uint32_t unaccounted;      /* frames the representor took that no word counts */
    uint32_t sent;             /* of the frames in flight, taken as sent */
    bool exact;                /* the counts decided; false: frames in flight were taken as
                                  sent without proof (some may be lost, none is sent twice) */
    bool based;                /* the record had a base to compare with */
};

/*
 * After a restart, before any queue of the device runs: 'accepted_now' is the
 * representor's accepted count now ('have_count' false when it could not be
 * read).  Moves every word to {pos past the frames that went, n 0, written
 * 0} and the base to 'accepted_now' (or forgets it).
 */
void vn_txrec_resolve(struct vn_txrec_file *f, bool have_count, uint64_t accepted_now,
                      struct vn_txrec_outcome *o);

#endif /* VN_VIRTQ_INFLIGHT_H */
