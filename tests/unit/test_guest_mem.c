/*
 * test_guest_mem.c - unit tests of lib/guest_mem.c: region checks, mapping
 * memfd-backed regions, fd ownership on every path, and the edges of
 * translation (first and last byte, one past, zero length, ranges near
 * UINT64_MAX, ranges crossing regions).
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest_mem.h"
#include "util.h"

/* Open fds of this process (the directory stream's own fd included, always). */
static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* A memfd of 'len' bytes where byte i holds (uint8_t)(i * 7 + 1). */
static int make_memfd(size_t len)
{
    int fd = memfd_create("test_guest_mem", MFD_CLOEXEC);
    uint8_t *p;

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)len), 0);
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(p != MAP_FAILED);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 7 + 1);
    munmap(p, len);
    return fd;
}

static uint8_t pattern_at(uint64_t file_off)
{
    return (uint8_t)(file_off * 7 + 1);
}

static struct vn_mem_region_info region(uint64_t gpa, uint64_t size, uint64_t uva,
                                        uint64_t mmap_offset)
{
    struct vn_mem_region_info r = {
        .gpa = gpa, .size = size, .uva = uva, .mmap_offset = mmap_offset
    };

    return r;
}

/* ---- translation edges ----------------------------------------------------- */

static void test_translate_edges(void **state)
{
    static uint8_t buf[0x1000];
    struct vn_guest_mem m;
    struct vn_mem_region_info r = region(0x10000, sizeof(buf), 0x7f0000000000ULL, 0);

    vn_guest_mem_init(&m);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf), 0);

    /* First byte, whole region, last byte. */
    assert_ptr_equal(vn_gpa_to_hva(&m, 0x10000, 1), buf);
    assert_ptr_equal(vn_gpa_to_hva(&m, 0x10000, 0x1000), buf);
    assert_ptr_equal(vn_gpa_to_hva(&m, 0x10fff, 1), buf + 0xfff);
    assert_ptr_equal(vn_gpa_to_hva(&m, 0x10800, 0x800), buf + 0x800);
    /* One past the end, one before the start, one byte too long. */
    assert_null(vn_gpa_to_hva(&m, 0x11000, 1));
    assert_null(vn_gpa_to_hva(&m, 0xffff, 1));
    assert_null(vn_gpa_to_hva(&m, 0xffff, 2));
    assert_null(vn_gpa_to_hva(&m, 0x10000, 0x1001));
    assert_null(vn_gpa_to_hva(&m, 0x10fff, 2));
    assert_null(vn_gpa_to_hva(&m, 0x10800, 0x801));
    /* Zero length translates to nothing, inside or not. */
    assert_null(vn_gpa_to_hva(&m, 0x10000, 0));
    assert_null(vn_gpa_to_hva(&m, 0x10fff, 0));
    assert_null(vn_gpa_to_hva(&m, 0x11000, 0));
    /* Lengths that would wrap around. */
    assert_null(vn_gpa_to_hva(&m, 0x10000, UINT64_MAX));
    assert_null(vn_gpa_to_hva(&m, 0x10fff, UINT64_MAX));
    assert_null(vn_gpa_to_hva(&m, UINT64_MAX, 1));

    /* The same region through its front-end address. */
    assert_ptr_equal(vn_uva_to_hva(&m, 0x7f0000000000ULL, 0x1000), buf);
    assert_ptr_equal(vn_uva_to_hva(&m, 0x7f0000000fffULL, 1), buf + 0xfff);
    assert_null(vn_uva_to_hva(&m, 0x7f0000001000ULL, 1));
    assert_null(vn_uva_to_hva(&m, 0x7f0000000000ULL, 0x1001));
    assert_null(vn_uva_to_hva(&m, 0x7f0000000000ULL, 0));
    /* Guest addresses are not front-end addresses and vice versa. */
    assert_null(vn_uva_to_hva(&m, 0x10000, 1));
    assert_null(vn_gpa_to_hva(&m, 0x7f0000000000ULL, 1));

    vn_guest_mem_clear(&m);
    assert_null(vn_gpa_to_hva(&m, 0x10000, 1));
}

static void test_translate_top_of_address_space(void **state)
{
    static uint8_t buf[0x1000];
    struct vn_guest_mem m;
    struct vn_mem_region_info top = region(UINT64_MAX - 0xfff, 0x1000, UINT64_MAX - 0xfff, 0);
    struct vn_mem_region_info wraps = region(UINT64_MAX - 0xfff, 0x1001, 0x1000, 0);
    struct vn_mem_region_info uva_wraps = region(0x1000, 0x1001, UINT64_MAX - 0xfff, 0);

    vn_guest_mem_init(&m);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &wraps, buf), -EINVAL);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &uva_wraps, buf), -EINVAL);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &top, buf), 0);

    assert_ptr_equal(vn_gpa_to_hva(&m, UINT64_MAX, 1), buf + 0xfff);
    assert_ptr_equal(vn_gpa_to_hva(&m, UINT64_MAX - 0xfff, 0x1000), buf);
    assert_null(vn_gpa_to_hva(&m, UINT64_MAX, 2));
    assert_null(vn_gpa_to_hva(&m, UINT64_MAX - 0xfff, 0x1001));
    assert_null(vn_gpa_to_hva(&m, UINT64_MAX - 0xfff, UINT64_MAX));
    assert_null(vn_gpa_to_hva(&m, UINT64_MAX, UINT64_MAX));
    assert_null(vn_gpa_to_hva(&m, 0, 1));
    assert_ptr_equal(vn_uva_to_hva(&m, UINT64_MAX, 1), buf + 0xfff);
    assert_null(vn_uva_to_hva(&m, UINT64_MAX, 2));
    vn_guest_mem_clear(&m);
}

static void test_translate_prefix_across_regions(void **state)
{
    static uint8_t a[0x1000], b[0x1000];
    struct vn_guest_mem m;
    struct vn_mem_region_info ra = region(0x0, sizeof(a), 0x100000, 0);
    struct vn_mem_region_info rb = region(0x1000, sizeof(b), 0x200000, 0);
    uint64_t n = 12345;

    vn_guest_mem_init(&m);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &ra, a), 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &rb, b), 0);

    /* A range crossing from one region into the next is not one region. */
    assert_null(vn_gpa_to_hva(&m, 0xff0, 0x20));
    /* Its prefix is: 0x10 bytes of 'a', then 0x10 of 'b'. */
    assert_ptr_equal(vn_gpa_to_hva_prefix(&m, 0xff0, 0x20, &n), a + 0xff0);
    assert_int_equal(n, 0x10);
    assert_ptr_equal(vn_gpa_to_hva_prefix(&m, 0x1000, 0x10, &n), b);
    assert_int_equal(n, 0x10);
    /* Fully inside: the whole length. */
    assert_ptr_equal(vn_gpa_to_hva_prefix(&m, 0x10, 0x20, &n), a + 0x10);
    assert_int_equal(n, 0x20);
    /* Outside, or empty: NULL and 'n' untouched. */
    n = 777;
    assert_null(vn_gpa_to_hva_prefix(&m, 0x2000, 1, &n));
    assert_null(vn_gpa_to_hva_prefix(&m, 0x10, 0, &n));
    assert_int_equal(n, 777);
    vn_guest_mem_clear(&m);
}

/* ---- region checks ---------------------------------------------------------- */

static void test_region_checks(void **state)
{
    static uint8_t buf[0x4000];
    struct vn_guest_mem m;
    struct vn_mem_region_info r;

    vn_guest_mem_init(&m);
    r = region(0x1000, 0, 0x1000, 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf), -EINVAL);
    r = region(0x1000, 0x1000, 0x1000, 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, NULL), -EINVAL);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf), 0);

    /* Overlap by guest address (last byte, first byte, containing) or by front-end address. */
    r = region(0x1fff, 0x1000, 0x10000, 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf + 0x1000), -EEXIST);
    r = region(0x0, 0x1001, 0x10000, 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf + 0x1000), -EEXIST);
    r = region(0x0, 0x4000, 0x10000, 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf), -EEXIST);
    r = region(0x10000, 0x1000, 0x1800, 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf + 0x1000), -EEXIST);
    assert_int_equal(m.nregions, 1);

    /* Adjacent on both sides is fine. */
    r = region(0x2000, 0x1000, 0x2000, 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf + 0x1000), 0);
    r = region(0x0, 0x1000, 0x0, 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf + 0x2000), 0);
    assert_int_equal(m.nregions, 3);

    /* Remove needs guest address, size and front-end address to match. */
    r = region(0x2000, 0x1000, 0x3000, 0);
    assert_int_equal(vn_guest_mem_remove(&m, &r), -ENOENT);
    r = region(0x2000, 0x800, 0x2000, 0);
    assert_int_equal(vn_guest_mem_remove(&m, &r), -ENOENT);
    r = region(0x2000, 0x1000, 0x2000, 0x5000); /* mmap offset ignored */
    assert_int_equal(vn_guest_mem_remove(&m, &r), 0);
    assert_int_equal(m.nregions, 2);
    assert_null(vn_gpa_to_hva(&m, 0x2000, 1));
    assert_ptr_equal(vn_gpa_to_hva(&m, 0x0, 1), buf + 0x2000);
    assert_ptr_equal(vn_gpa_to_hva(&m, 0x1000, 1), buf);
    vn_guest_mem_clear(&m);
    assert_int_equal(m.nregions, 0);
    vn_guest_mem_clear(&m); /* again: harmless */
}

static void test_table_full(void **state)
{
    static uint8_t buf[VN_GUEST_MEM_MAX_REGIONS + 1][64];
    struct vn_guest_mem m;
    struct vn_mem_region_info r;

    vn_guest_mem_init(&m);
    for (unsigned int i = 0; i < VN_GUEST_MEM_MAX_REGIONS; i++) {
        r = region(0x1000 * (uint64_t)i, 64, 0x100000 + 0x1000 * (uint64_t)i, 0);
        assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf[i]), 0);
    }
    r = region(0x1000000, 64, 0x2000000, 0);
    assert_int_equal(vn_guest_mem_add_mapped(&m, &r, buf[VN_GUEST_MEM_MAX_REGIONS]), -ENOSPC);
    for (unsigned int i = 0; i < VN_GUEST_MEM_MAX_REGIONS; i++)
        assert_ptr_equal(vn_gpa_to_hva(&m, 0x1000 * (uint64_t)i + 63, 1), buf[i] + 63);
    vn_guest_mem_clear(&m);
}

/* ---- mapped files and fd ownership ----------------------------------------- */

static void test_add_memfd(void **state)
{
    int before = count_open_fds();
    struct vn_guest_mem m;
    struct vn_mem_region_info r;
    int fd = make_memfd(0x10000);
    uint8_t *p;

    vn_guest_mem_init(&m);
    /* An mmap offset that is not page aligned: mapped from the page below. */
    r = region(0x40000000, 0x2000, 0x7f1234000000ULL, 0x1064);
    assert_int_equal(vn_guest_mem_add(&m, &r, fd), 0);
    assert_int_equal(m.regions[0].fd, fd);
    assert_true(fd_is_open(fd));

    p = vn_gpa_to_hva(&m, 0x40000000, 0x2000);
    assert_non_null(p);
    assert_int_equal(p[0], pattern_at(0x1064));
    assert_int_equal(p[0x1fff], pattern_at(0x1064 + 0x1fff));
    p = vn_uva_to_hva(&m, 0x7f1234000010ULL, 1);
    assert_non_null(p);
    assert_int_equal(*p, pattern_at(0x1074));
    /* Writes reach the shared file. */
    *p = 0xab;
    assert_int_equal(pread(fd, &p[1], 1, 0x1074), 1);
    assert_int_equal(p[1], 0xab);
    assert_null(vn_gpa_to_hva(&m, 0x40002000, 1));

    vn_guest_mem_clear(&m);
    assert_false(fd_is_open(fd));
    assert_int_equal(count_open_fds(), before);
}

static void test_add_rejects_bad_files(void **state)
{
    int before = count_open_fds();
    struct vn_guest_mem m;
    struct vn_mem_region_info r;
    int fd, pipefd[2];

    vn_guest_mem_init(&m);

    /* The region must lie inside the file: SIGBUS otherwise. */
    fd = make_memfd(0x4000);
    r = region(0, 0x4001, 0, 0);
    assert_int_equal(vn_guest_mem_add(&m, &r, fd), -EINVAL);
    assert_false(fd_is_open(fd));

    fd = make_memfd(0x4000);
    r = region(0, 0x1000, 0, 0x3001);
    assert_int_equal(vn_guest_mem_add(&m, &r, fd), -EINVAL);
    assert_false(fd_is_open(fd));

    fd = make_memfd(0x4000);
    r = region(0, 0x1000, 0, UINT64_MAX - 0x10);
    assert_int_equal(vn_guest_mem_add(&m, &r, fd), -EINVAL);
    assert_false(fd_is_open(fd));

    /* Exactly the file is fine. */
    fd = make_memfd(0x4000);
    r = region(0, 0x1000, 0, 0x3000);
    assert_int_equal(vn_guest_mem_add(&m, &r, fd), 0);

    /* Not a regular file. */
    assert_int_equal(pipe(pipefd), 0);
    r = region(0x10000, 0x1000, 0x10000, 0);
    assert_int_equal(vn_guest_mem_add(&m, &r, pipefd[0]), -EBADF);
    assert_false(fd_is_open(pipefd[0]));
    close(pipefd[1]);

    /* The same region again (QEMU: one vhost device per queue pair): counted, fd closed. */
    fd = make_memfd(0x4000);
    r = region(0, 0x1000, 0, 0x3000);
    assert_int_equal(vn_guest_mem_add(&m, &r, fd), 0);
    assert_false(fd_is_open(fd));
    assert_int_equal(m.nregions, 1);
    assert_int_equal(vn_guest_mem_remove(&m, &r), 0);
    assert_int_equal(m.nregions, 1);

    /* Overlap and a closed fd: consumed too. */
    fd = make_memfd(0x4000);
    r = region(0x800, 0x1000, 0x10000, 0);
    assert_int_equal(vn_guest_mem_add(&m, &r, fd), -EEXIST);
    assert_false(fd_is_open(fd));

    vn_guest_mem_clear(&m);
    assert_int_equal(count_open_fds(), before);
}

static void test_replace_and_remove(void **state)
{
    int before = count_open_fds();
    struct vn_guest_mem m;
    struct vn_mem_region_info rs[3];
    int fds[3];
    uint8_t *p;

    vn_guest_mem_init(&m);

    /* Two regions of one guest, as SET_MEM_TABLE sends them. */
    fds[0] = make_memfd(0x8000);
    fds[1] = make_memfd(0x8000);
    rs[0] = region(0x0, 0x8000, 0x7f0000000000ULL, 0);
    rs[1] = region(0x100000000ULL, 0x4000, 0x7f0000100000ULL, 0x4000);
    assert_int_equal(vn_guest_mem_replace(&m, rs, fds, 2), 0);
    assert_int_equal(m.nregions, 2);
    p = vn_gpa_to_hva(&m, 0x100000000ULL, 1);
    assert_non_null(p);
    assert_int_equal(*p, pattern_at(0x4000));

    /* A failing replacement leaves the old table as it was and closes every new fd. */
    fds[0] = make_memfd(0x8000);
    fds[1] = make_memfd(0x1000); /* too small for its region */
    fds[2] = make_memfd(0x8000);
    rs[0] = region(0x0, 0x8000, 0x1000000, 0);
    rs[1] = region(0x10000, 0x2000, 0x2000000, 0);
    rs[2] = region(0x20000, 0x2000, 0x3000000, 0);
    {
        int new_fds[3] = { fds[0], fds[1], fds[2] };

        assert_int_equal(vn_guest_mem_replace(&m, rs, new_fds, 3), -EINVAL);
        for (int i = 0; i < 3; i++)
            assert_false(fd_is_open(new_fds[i]));
    }
    assert_int_equal(m.nregions, 2);
    assert_ptr_equal(vn_gpa_to_hva(&m, 0x100000000ULL, 1), p);
    assert_int_equal(*p, pattern_at(0x4000));

    /* Too many regions: every fd closed, table kept. */
    {
        int many[VN_GUEST_MEM_MAX_REGIONS + 1];
        struct vn_mem_region_info mr[VN_GUEST_MEM_MAX_REGIONS + 1];

        for (unsigned int i = 0; i < VN_ARRAY_SIZE(many); i++) {
            many[i] = make_memfd(0x1000);
            mr[i] = region(0x1000 * (uint64_t)i, 0x1000, 0x1000 * (uint64_t)i, 0);
        }
        assert_int_equal(vn_guest_mem_replace(&m, mr, many, VN_ARRAY_SIZE(many)), -EINVAL);
        for (unsigned int i = 0; i < VN_ARRAY_SIZE(many); i++)
            assert_false(fd_is_open(many[i]));
        assert_int_equal(m.nregions, 2);
    }

    /* Remove one region: its mapping and fd go. */
    {
        int fd0 = m.regions[0].fd;
        struct vn_mem_region_info r0 = m.regions[0].info;

        assert_int_equal(vn_guest_mem_remove(&m, &r0), 0);
        assert_false(fd_is_open(fd0));
        assert_int_equal(vn_guest_mem_remove(&m, &r0), -ENOENT);
        assert_null(vn_gpa_to_hva(&m, 0x0, 1));
        assert_non_null(vn_gpa_to_hva(&m, 0x100000000ULL, 0x4000));
    }

    /* An empty replacement empties the table. */
    assert_int_equal(vn_guest_mem_replace(&m, NULL, NULL, 0), 0);
    assert_int_equal(m.nregions, 0);
    assert_int_equal(count_open_fds(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate_edges),
        cmocka_unit_test(test_translate_top_of_address_space),
        cmocka_unit_test(test_translate_prefix_across_regions),
        cmocka_unit_test(test_region_checks),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_add_memfd),
        cmocka_unit_test(test_add_rejects_bad_files),
        cmocka_unit_test(test_replace_and_remove),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
