/*
 * guest_mem.h - the guest memory table of one vhost-user device.
 *
 * The front-end (QEMU, DPDK virtio-user) shares the guest's RAM as a few
 * regions, each a file descriptor plus three addresses: where the region
 * starts in guest physical memory (what descriptors carry), where it starts in
 * the front-end's own address space (what SET_VRING_ADDR carries) and where it
 * starts in the file.  This module maps those regions into this process
 * (SET_MEM_TABLE replaces them all, ADD_MEM_REG/REM_MEM_REG change one) and
 * translates guest ranges to local pointers, refusing any range that is not
 * entirely inside one region.  lib/virtq.c reads rings and buffers through it;
 * lib/vhost_user.h parses the messages that fill it.
 *
 * Every address and size here comes from a peer we do not trust: regions are
 * checked for overflow, overlap and for lying inside their file (touching a
 * shared mapping past the end of its file raises SIGBUS), and translations use
 * overflow-safe arithmetic.  What is not checked: a front-end that shrinks a
 * file after it was mapped (ftruncate) still makes our next access to the lost
 * pages fault; QEMU's memfd backend seals its files against that (seal=on).
 *
 * Thread safety: none inside.  The table is changed on the control thread
 * only while no datapath thread uses it (vhost-user stops the rings before it
 * changes memory); translation only reads the table and may run on several
 * threads at once.
 */
#ifndef VN_GUEST_MEM_H
#define VN_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Regions one table holds: SET_MEM_TABLE sends at most 8, ADD_MEM_REG may add up to 32. */
#define VN_GUEST_MEM_MAX_REGIONS 32

/* A region as the front-end describes it (the vhost-user wire layout, host order). */
struct vn_mem_region_info {
    uint64_t gpa;         /* guest physical address of the first byte */
    uint64_t size;        /* bytes, > 0 */
    uint64_t uva;         /* front-end virtual address of the first byte */
    uint64_t mmap_offset; /* offset of the first byte in the region's file */
};

/* One mapped region. */
struct vn_mem_region {
    struct vn_mem_region_info info;
    uint8_t *hva;   /* local address of the region's first byte */
    void *map_base; /* what mmap() returned; NULL for a caller's buffer */
    size_t map_len; /* length passed to mmap() */
    int fd;         /* the region's file, owned by the table; -1 when none */
    unsigned refs;  /* times it was added (vn_guest_mem_add); removed at the last remove */
};

struct vn_guest_mem {
    unsigned int nregions;
    struct vn_mem_region regions[VN_GUEST_MEM_MAX_REGIONS]; /* [0, nregions) are in use */
};

/* Makes 'm' an empty table.  Nothing to free until a region is added. */
void vn_guest_mem_init(struct vn_guest_mem *m);

/*
 * Unmaps every region and closes every fd; 'm' is empty afterwards.
 * Accepts an empty table and may be called again.
 */
void vn_guest_mem_clear(struct vn_guest_mem *m);

/*
 * Maps the region 'r' of the file 'fd' (MAP_SHARED, read-write) and adds it.
 * Consumes 'fd' in all cases: the table keeps it on success (it is handed on
 * across a live update) and closes it on failure.
 * Returns 0, -EINVAL (empty region, an address range that wraps around,
 * a range past the end of the file), -EBADF ('fd' is not a regular file),
 * -EEXIST (overlaps a region already in the table, by guest or front-end
 * address), -ENOSPC (table full) or the errno of fstat()/mmap().
 */
int vn_guest_mem_add(struct vn_guest_mem *m, const struct vn_mem_region_info *r, int fd);
/* (A region identical to one in the table is counted instead: the fd is closed, 0 is returned,
   and it takes as many vn_guest_mem_remove() calls to go.) */

/*
 * Adds a region backed by 'hva', memory the caller already has (tests, or a
 * backend that maps guest memory itself).  The caller keeps ownership of the
 * buffer and must keep it mapped while the region is in the table; the table
 * never unmaps it.  Same checks and errors as vn_guest_mem_add() except the
 * file checks.
 */
int vn_guest_mem_add_mapped(struct vn_guest_mem *m, const struct vn_mem_region_info *r, void *hva);

/*
 * Removes the region with the guest address, size and front-end address of
 * 'r' (the mmap offset is ignored, as REM_MEM_REG says), unmapping it and
 * closing its fd.  Returns 0 or -ENOENT.
 */
int vn_guest_mem_remove(struct vn_guest_mem *m, const struct vn_mem_region_info *r);

/*
 * Replaces the whole table with the 'n' regions 'r', region i mapped from
 * 'fds[i]' (SET_MEM_TABLE).  Consumes every fd in all cases.  On failure the
 * old table is left exactly as it was.  Errors as vn_guest_mem_add(), and
 * -EINVAL when 'n' exceeds VN_GUEST_MEM_MAX_REGIONS.
 */
int vn_guest_mem_replace(struct vn_guest_mem *m, const struct vn_mem_region_info *r, const int *fds,
                         unsigned int n);

/*
 * Local address of guest physical range [gpa, gpa + len), or NULL unless the
 * whole range lies inside one region.  A zero-length range translates to NULL.
 */
void *vn_gpa_to_hva(const struct vn_guest_mem *m, uint64_t gpa, uint64_t len);

/* Same for a range of front-end virtual addresses (vring addresses). */
void *vn_uva_to_hva(const struct vn_guest_mem *m, uint64_t uva, uint64_t len);

/*
 * Local address of the longest prefix of [gpa, gpa + len) that lies in one
 * region; '*ret_len' gets the prefix length (1..len).  NULL (and '*ret_len'
 * untouched) when 'gpa' is in no region or 'len' is 0.  Used to split a
 * buffer that crosses from one region into the next, adjacent, one.
 */
void *vn_gpa_to_hva_prefix(const struct vn_guest_mem *m, uint64_t gpa, uint64_t len,
                           uint64_t *ret_len);

/* Same for front-end virtual addresses (buffers translated by the IOTLB, lib/iotlb.h). */
void *vn_uva_to_hva_prefix(const struct vn_guest_mem *m, uint64_t uva, uint64_t len,
                           uint64_t *ret_len);

/*
 * The reverse of vn_gpa_to_hva(): the guest physical address of the local
 * address 'hva' (a pointer vn_gpa_to_hva() or an iovec of lib/virtq.c gave),
 * and in '*ret_room' the bytes from there to the end of its region.  Returns
 * 0, or -ENOENT when 'hva' is in no region (outputs untouched).  For the
 * dirty-page log (lib/dirty_log.h), which wants guest physical pages.
 */
int vn_hva_to_gpa(const struct vn_guest_mem *m, const void *hva, uint64_t *ret_gpa,
                  uint64_t *ret_room);

#endif /* VN_GUEST_MEM_H */
