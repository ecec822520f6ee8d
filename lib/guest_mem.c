/*
 * guest_mem.c - the guest memory table of a vhost-user device; see guest_mem.h.
 */
#include <config.h>

#include "guest_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void vn_guest_mem_init(struct vn_guest_mem *m)
{
    memset(m, 0, sizeof(*m));
}

/* Unmaps 'reg' (unless it is a caller's buffer) and closes its fd. */
static void region_release(struct vn_mem_region *reg)
{
    if (reg->map_base)
        munmap(reg->map_base, reg->map_len);
    if (reg->fd >= 0)
        close(reg->fd);
    reg->map_base = NULL;
    reg->hva = NULL;
    reg->fd = -1;
}

void vn_guest_mem_clear(struct vn_guest_mem *m)
{
    for (unsigned int i = 0; i < m->nregions; i++)
        region_release(&m->regions[i]);
    vn_guest_mem_init(m);
}

/* Address of the last byte of [base, base + size); 'size' > 0 and no wrap-around checked before. */
static uint64_t last_byte(uint64_t base, uint64_t size)
{
    return base + (size - 1);
}

static bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
    return a <= last_byte(b, b_size) && b <= last_byte(a, a_size);
}

/* Checks 'r' on its own and against the regions already in 'm'. */
static int region_check(const struct vn_guest_mem *m, const struct vn_mem_region_info *r)
{
    if (r->size == 0 || r->size > SIZE_MAX)
        return -EINVAL;
    if (r->size - 1 > UINT64_MAX - r->gpa || r->size - 1 > UINT64_MAX - r->uva)
        return -EINVAL;
    for (unsigned int i = 0; i < m->nregions; i++) {
        const struct vn_mem_region_info *o = &m->regions[i].info;

        if (ranges_overlap(r->gpa, r->size, o->gpa, o->size) ||
            ranges_overlap(r->uva, r->size, o->uva, o->size))
            return -EEXIST;
    }
    if (m->nregions >= VN_GUEST_MEM_MAX_REGIONS)
        return -ENOSPC;
    return 0;
}

static void region_append(struct vn_guest_mem *m, const struct vn_mem_region_info *r, void *hva,
                          void *map_base, size_t map_len, int fd)
{
    struct vn_mem_region *reg = &m->regions[m->nregions++];

    reg->info = *r;
    reg->hva = hva;
    reg->map_base = map_base;
    reg->map_len = map_len;
    reg->fd = fd;
    reg->refs = 1;
}

/*
 * The region of 'm' identical to 'r' (addresses, size, file offset), or NULL.
 * QEMU adds the same region once per vhost device, and a multi-queue
 * vhost-user netdev has one per queue pair on the same connection.
 */
static struct vn_mem_region *region_same(struct vn_guest_mem *m, const struct vn_mem_region_info *r)
{
    for (unsigned int i = 0; i < m->nregions; i++) {
        struct vn_mem_region *reg = &m->regions[i];

        if (reg->info.gpa == r->gpa && reg->info.size == r->size && reg->info.uva == r->uva &&
            reg->info.mmap_offset == r->mmap_offset)
            return reg;
    }
    return NULL;
}

/*
 * Alignment of mmap() offsets and lengths for the file 'st': the page size,
 * or the file's block size when larger (hugetlbfs reports its huge page size).
 */
static uint64_t map_alignment(const struct stat *st)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t align = page > 0 ? (uint64_t)page : 4096;
    uint64_t blk = st->st_blksize > 0 ? (uint64_t)st->st_blksize : 0;

    if (blk > align && (blk & (blk - 1)) == 0)
        align = blk;
    return align;
}

int vn_guest_mem_add(struct vn_guest_mem *m, const struct vn_mem_region_info *r, int fd)
{
    uint64_t align, map_off, delta, map_len;
    struct vn_mem_region *same = region_same(m, r);
    struct stat st;
    void *base;
    int err;

    if (same && same->fd >= 0) {
        /* The same region again (another vhost device of the front-end): count it. */
        same->refs++;
        close(fd);
        return 0;
    }
    err = region_check(m, r);
    if (err)
        goto err_close_fd;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        goto err_close_fd;
    }
    if (!S_ISREG(st.st_mode)) {
        err = -EBADF;
        goto err_close_fd;
    }
    /* The whole region must be backed by the file, or touching it raises SIGBUS. */
    if (st.st_size < 0 || r->mmap_offset > (uint64_t)st.st_size ||
        r->size > (uint64_t)st.st_size - r->mmap_offset) {
        err = -EINVAL;
        goto err_close_fd;
    }

    /* Map from the aligned offset below mmap_offset, a whole number of pages. */
    align = map_alignment(&st);
    map_off = r->mmap_offset & ~(align - 1);
    delta = r->mmap_offset - map_off;
    if (r->size > SIZE_MAX - delta - (align - 1)) {
        err = -EINVAL;
        goto err_close_fd;
    }
    map_len = (delta + r->size + align - 1) & ~(align - 1);

    base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)map_off);
    if (base == MAP_FAILED) {
        err = -errno;
        goto err_close_fd;
    }
    /* Guest RAM has no place in our core dumps; failing to say so is harmless. */
    (void)madvise(base, map_len, MADV_DONTDUMP);

    region_append(m, r, (uint8_t *)base + delta, base, map_len, fd);
    return 0;

err_close_fd:
    close(fd);
    return err;
}

int vn_guest_mem_add_mapped(struct vn_guest_mem *m, const struct vn_mem_region_info *r, void *hva)
{
    int err = region_check(m, r);

    if (err)
        return err;
    if (!hva || r->size - 1 > UINTPTR_MAX - (uintptr_t)hva)
        return -EINVAL;
    region_append(m, r, hva, NULL, 0, -1);
    return 0;
}

int vn_guest_mem_remove(struct vn_guest_mem *m, const struct vn_mem_region_info *r)
{
    for (unsigned int i = 0; i < m->nregions; i++) {
        struct vn_mem_region *reg = &m->regions[i];

        if (reg->info.gpa != r->gpa || reg->info.size != r->size || reg->info.uva != r->uva)
            continue;
        if (reg->refs > 1) {
            reg->refs--;
            return 0;
        }
        region_release(reg);
        memmove(reg, reg + 1, (m->nregions - i - 1) * sizeof(*reg));
        m->nregions--;
        memset(&m->regions[m->nregions], 0, sizeof(m->regions[0]));
        return 0;
    }
    return -ENOENT;
}

int vn_guest_mem_replace(struct vn_guest_mem *m, const struct vn_mem_region_info *r, const int *fds,
                         unsigned int n)
{
    struct vn_guest_mem next;
    unsigned int i = 0;
    int err = 0;

    vn_guest_mem_init(&next);
    if (n > VN_GUEST_MEM_MAX_REGIONS) {
        err = -EINVAL;
        goto err_close_fds;
    }
    for (; i < n; i++) {
        err = vn_guest_mem_add(&next, &r[i], fds[i]); /* consumes fds[i] */
        if (err) {
            i++;
            goto err_clear_next;
        }
    }
    vn_guest_mem_clear(m);
    *m = next;
    return 0;

err_clear_next:
    vn_guest_mem_clear(&next);
err_close_fds:
    for (; i < n; i++)
        close(fds[i]);
    return err;
}

/*
 * The region holding 'addr' (a guest physical address, or a front-end virtual
 * one when 'by_uva'), with the offset of 'addr' in it; NULL when none does.
 * Regions never overlap, so at most one can.
 */
static const struct vn_mem_region *region_find(const struct vn_guest_mem *m, bool by_uva,
                                               uint64_t addr, uint64_t *ret_off)
{
    for (unsigned int i = 0; i < m->nregions; i++) {
        const struct vn_mem_region *reg = &m->regions[i];
        uint64_t base = by_uva ? reg->info.uva : reg->info.gpa;

        if (addr >= base && addr - base < reg->info.size) {
            *ret_off = addr - base;
            return reg;
        }
    }
    return NULL;
}

static void *translate(const struct vn_guest_mem *m, bool by_uva, uint64_t addr, uint64_t len)
{
    const struct vn_mem_region *reg;
    uint64_t off;

    if (len == 0)
        return NULL;
    reg = region_find(m, by_uva, addr, &off);
    if (!reg || len > reg->info.size - off)
        return NULL;
    return reg->hva + off;
}

void *vn_gpa_to_hva(const struct vn_guest_mem *m, uint64_t gpa, uint64_t len)
{
    return translate(m, false, gpa, len);
}

void *vn_uva_to_hva(const struct vn_guest_mem *m, uint64_t uva, uint64_t len)
{
    return translate(m, true, uva, len);
}

static void *translate_prefix(const struct vn_guest_mem *m, bool by_uva, uint64_t addr,
                              uint64_t len, uint64_t *ret_len)
{
    const struct vn_mem_region *reg;
    uint64_t off;

    if (len == 0)
        return NULL;
    reg = region_find(m, by_uva, addr, &off);
    if (!reg)
        return NULL;
    *ret_len = len < reg->info.size - off ? len : reg->info.size - off;
    return reg->hva + off;
}

void *vn_gpa_to_hva_prefix(const struct vn_guest_mem *m, uint64_t gpa, uint64_t len,
                           uint64_t *ret_len)
{
    return translate_prefix(m, false, gpa, len, ret_len);
}

void *vn_uva_to_hva_prefix(const struct vn_guest_mem *m, uint64_t uva, uint64_t len,
                           uint64_t *ret_len)
{
    return translate_prefix(m, true, uva, len, ret_len);
}

int vn_hva_to_gpa(const struct vn_guest_mem *m, const void *hva, uint64_t *ret_gpa,
                  uint64_t *ret_room)
{
    uintptr_t p = (uintptr_t)hva;

    for (unsigned int i = 0; i < m->nregions; i++) {
        const struct vn_mem_region *reg = &m->regions[i];
        uintptr_t base = (uintptr_t)reg->hva;

        if (p >= base && p - base < reg->info.size) {
            *ret_gpa = reg->info.gpa + (p - base);
            *ret_room = reg->info.size - (p - base);
            return 0;
        }
    }
    return -ENOENT;
}
