/*
 * emu_vhost_txrec.h - the transmit record of one vhost-user device: the file
 * (<vhost dir>/<VUID>.txrec, mapped shared) in which the datapath records
 * which transmit chains reached the representor, so that after a kill -9 the
 * rings resume past the frames that went and before the ones that did not
 * (lib/virtq_inflight.h says how).
 *
 * Life: opened when the device is made (an earlier process's file, from a
 * crash or a live update, is kept, its words trusted once per ring),
 * resolved against the representor's count before the first ring of this
 * process runs, removed when the device goes (not when it is handed over).
 *
 * Threading: main loop thread; the datapath only stores into the words.
 */
#ifndef VN_EMU_VHOST_TXREC_H
#define VN_EMU_VHOST_TXREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq_inflight.h"

struct vn_vhost_txrec {
    struct vn_txrec_file *f; /* the mapping; NULL when there is none (the device runs
                                without: a crash may send what was in flight twice) */
    size_t size;
    char *path;
    uint32_t nwords;
    bool *loaded;            /* per ring: its word is an earlier process's, not yet applied */
};

/*
 * Opens (or makes) the record of device 'vuid' with 'nrings' rings in 'dir'.
 * A file that is not a record of this version for as many rings is made
 * anew.  Failure is logged and leaves the device without a record.
 */
void vn_vhost_txrec_open(struct vn_vhost_txrec *t, const char *dir, const char *vuid,
                         uint32_t nrings);

/* Unmaps; 'remove': the device is gone (not handed over), the file too. */
void vn_vhost_txrec_close(struct vn_vhost_txrec *t, bool remove);

/*
 * Before the first ring of this process runs: resolves the words against
 * 'accepted' (the representor's count; 'have' false when it could not be
 * read), logs what an earlier process left in flight, and takes the count as
 * the new base.
 */
void vn_vhost_txrec_resolve(struct vn_vhost_txrec *t, const char *vuid, bool have,
                            uint64_t accepted);

/*
 * Ring 'index' starts: the word its resume may trust (0: none: the ring is
 * not a transmit ring, is packed, or its word is not an earlier process's).
 */
uint64_t vn_vhost_txrec_take(struct vn_vhost_txrec *t, uint32_t index);

/*
 * Ring 'index' starts at avail position 'pos': the word for the datapath
 * (NULL: none), set to that position.
 */
uint64_t *vn_vhost_txrec_word(struct vn_vhost_txrec *t, uint32_t index, uint16_t pos);

#endif /* VN_EMU_VHOST_TXREC_H */
