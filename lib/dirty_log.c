/*
 * dirty_log.c - the dirty-page log of a vhost-user device (dirty_log.h).
 */
#include <config.h>

#include "dirty_log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "guest_mem.h"

void vn_dirty_log_init(struct vn_dirty_log *l)
{
    memset(l, 0, sizeof(*l));
}

int vn_dirty_log_map(struct vn_dirty_log *l, int fd, uint64_t size, uint64_t offset)
{
    struct stat st;
    void *p;

    if (size == 0 || size > VN_DIRTY_LOG_MAX_SIZE || offset > UINT64_MAX - size ||
        offset + size > SIZE_MAX / 2)
        return -EINVAL;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EBADF;
    if (st.st_size < 0 || (uint64_t)st.st_size < offset + size)
        return -EINVAL;
    /* From the file's start: the offset need not be page-aligned. */
    p = mmap(NULL, (size_t)(offset + size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    vn_dirty_log_unmap(l);
    l->map_base = p;
    l->map_len = (size_t)(offset + size);
    l->bitmap = (uint8_t *)p + offset;
    l->size = size;
    return 0;
}

void vn_dirty_log_unmap(struct vn_dirty_log *l)
{
    if (l->map_base)
        munmap(l->map_base, l->map_len);
    l->map_base = NULL;
    l->map_len = 0;
    l->bitmap = NULL;
    l->size = 0;
}

void vn_dirty_log_gpa(struct vn_dirty_log *l, uint64_t gpa, uint64_t len)
{
    uint64_t first, last, n = 0, missed = 0;

    if (!l->bitmap || len == 0)
        return;
    first = gpa >> VN_DIRTY_LOG_PAGE_SHIFT;
    /* A range that wraps around ends at the top of the address space. */
    last = (len - 1 > UINT64_MAX - gpa ? UINT64_MAX : gpa + len - 1) >> VN_DIRTY_LOG_PAGE_SHIFT;
    for (uint64_t page = first; page <= last; page++) {
        if (page / 8 >= l->size) {
            missed += last - page + 1;
            break;
        }
        /* After the data it stands for: the front-end may clear it and copy the page now. */
        __atomic_fetch_or(&l->bitmap[page / 8], (uint8_t)(1u << (page % 8)), __ATOMIC_RELEASE);
        n++;
    }
    __atomic_fetch_add(&l->pages, n, __ATOMIC_RELAXED);
    if (missed)
        __atomic_fetch_add(&l->missed, missed, __ATOMIC_RELAXED);
}

void vn_dirty_log_hva(struct vn_dirty_log *l, const struct vn_guest_mem *m, const void *hva,
                      uint64_t len)
{
    const uint8_t *p = hva;

    while (len > 0) {
        uint64_t gpa, room;

        if (vn_hva_to_gpa(m, p, &gpa, &room) < 0) {
            __atomic_fetch_add(&l->missed, 1, __ATOMIC_RELAXED);
            return;
        }
        room = room < len ? room : len;
        vn_dirty_log_gpa(l, gpa, room);
        p += room;
        len -= room;
    }
}

void vn_dirty_log_iov(struct vn_dirty_log *l, const struct vn_guest_mem *m,
                      const struct iovec *iov, unsigned int n, uint64_t len)
{
    for (unsigned int i = 0; i < n && len > 0; i++) {
        uint64_t k = iov[i].iov_len < len ? iov[i].iov_len : len;

        vn_dirty_log_hva(l, m, iov[i].iov_base, k);
        len -= k;
    }
}
