/*
 * test_iotlb.c - unit tests of lib/iotlb.c, the device IOTLB: insertion,
 * overlapping updates, invalidation (partial, whole space, size 0), lookups
 * at and across entry boundaries, permissions, malicious sizes and ranges
 * that wrap around the 64-bit space, eviction when full, and the miss queue
 * (dedup per page, overflow, misses answered before they are taken).
 */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iotlb.h"

static unsigned miss_calls;

static void on_miss(void *ctx)
{
    assert_ptr_equal(ctx, &miss_calls);
    miss_calls++;
}

static int setup(void **state)
{
    struct vn_iotlb *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    assert_int_equal(vn_iotlb_init(t, on_miss, &miss_calls), 0);
    miss_calls = 0;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct vn_iotlb *t = *state;

    vn_iotlb_fini(t);
    vn_iotlb_fini(t); /* idempotent */
    free(t);
    return 0;
}

/* Translates [iova, iova + len) for 'perm'; returns the error, fills uaddr/len on success. */
static int tr(struct vn_iotlb *t, uint64_t iova, uint64_t len, uint8_t perm, uint64_t *uaddr,
              uint64_t *n)
{
    return vn_iotlb_translate(t, iova, len, perm, uaddr, n);
}

static void test_insert_lookup_edges(void **state)
{
    struct vn_iotlb *t = *state;
    uint64_t u = 0, n = 0;

    assert_int_equal(vn_iotlb_update(t, 0x10000, 0x1000, 0x7f0000001000, VN_IOTLB_PERM_RW), 0);
    assert_int_equal(vn_iotlb_count(t), 1);
    /* First and last byte. */
    assert_int_equal(tr(t, 0x10000, 1, VN_IOTLB_PERM_RO, &u, &n), 0);
    assert_int_equal(u, 0x7f0000001000);
    assert_int_equal(n, 1);
    assert_int_equal(tr(t, 0x10fff, 1, VN_IOTLB_PERM_WO, &u, &n), 0);
    assert_int_equal(u, 0x7f0000001fff);
    /* One before, one past. */
    assert_int_equal(tr(t, 0xffff, 1, VN_IOTLB_PERM_RO, &u, &n), -ENOENT);
    assert_int_equal(tr(t, 0x11000, 1, VN_IOTLB_PERM_RO, &u, &n), -ENOENT);
    /* A range longer than the entry gets the prefix the entry holds. */
    assert_int_equal(tr(t, 0x10800, 0x2000, VN_IOTLB_PERM_RO, &u, &n), 0);
    assert_int_equal(u, 0x7f0000001800);
    assert_int_equal(n, 0x800);
    /* Zero length is not a translation. */
    assert_int_equal(tr(t, 0x10000, 0, VN_IOTLB_PERM_RO, &u, &n), -EINVAL);
}

static void test_range_across_entries(void **state)
{
    struct vn_iotlb *t = *state;
    uint64_t u = 0;

    /* Three pages, the first two contiguous by uaddr, the third elsewhere. */
    assert_int_equal(vn_iotlb_update(t, 0x2000, 0x1000, 0x500000, VN_IOTLB_PERM_RW), 0);
    assert_int_equal(vn_iotlb_update(t, 0x1000, 0x1000, 0x4ff000, VN_IOTLB_PERM_RW), 0);
    assert_int_equal(vn_iotlb_update(t, 0x3000, 0x1000, 0x900000, VN_IOTLB_PERM_RW), 0);
    assert_int_equal(vn_iotlb_translate_range(t, 0x1800, 0x1000, VN_IOTLB_PERM_RO, &u), 0);
    assert_int_equal(u, 0x4ff800);
    /* Crossing into the third: not contiguous. */
    assert_int_equal(vn_iotlb_translate_range(t, 0x2800, 0x1000, VN_IOTLB_PERM_RO, &u), -EFAULT);
    /* Crossing past the last: a miss at the first unmapped byte. */
    miss_calls = 0;
    assert_int_equal(vn_iotlb_translate_range(t, 0x3800, 0x1000, VN_IOTLB_PERM_RO, &u), -ENOENT);
    assert_int_equal(miss_calls, 1);
    /* A range that wraps around is refused before any lookup. */
    assert_int_equal(vn_iotlb_translate_range(t, UINT64_MAX, 2, VN_IOTLB_PERM_RO, &u), -EFAULT);
    assert_int_equal(vn_iotlb_translate_range(t, 0x1000, 0, VN_IOTLB_PERM_RO, &u), -EINVAL);
}

static void test_permissions(void **state)
{
    struct vn_iotlb *t = *state;
    struct vn_iotlb_stats st;
    uint64_t u, n;

    assert_int_equal(vn_iotlb_update(t, 0x1000, 0x1000, 0x10000, VN_IOTLB_PERM_RO), 0);
    assert_int_equal(vn_iotlb_update(t, 0x2000, 0x1000, 0x20000, VN_IOTLB_PERM_WO), 0);
    assert_int_equal(tr(t, 0x1000, 8, VN_IOTLB_PERM_RO, &u, &n), 0);
    assert_int_equal(tr(t, 0x1000, 8, VN_IOTLB_PERM_WO, &u, &n), -EACCES);
    assert_int_equal(tr(t, 0x1000, 8, VN_IOTLB_PERM_RW, &u, &n), -EACCES);
    assert_int_equal(tr(t, 0x2000, 8, VN_IOTLB_PERM_WO, &u, &n), 0);
    assert_int_equal(tr(t, 0x2000, 8, VN_IOTLB_PERM_RO, &u, &n), -EACCES);
    vn_iotlb_get_stats(t, &st);
    assert_int_equal(st.denied, 3);
    /* A permission refused is not a miss: nothing is asked of the front-end. */
    assert_int_equal(miss_calls, 0);
    /* Permissions outside RO/WO/RW are refused. */
    assert_int_equal(vn_iotlb_update(t, 0x3000, 0x1000, 0x30000, 0), -EINVAL);
    assert_int_equal(vn_iotlb_update(t, 0x3000, 0x1000, 0x30000, 4), -EINVAL);
    assert_int_equal(vn_iotlb_update(t, 0x3000, 0x1000, 0x30000, 0xff), -EINVAL);
}

static void test_malicious_sizes(void **state)
{
    struct vn_iotlb *t = *state;
    uint64_t u, n;

    assert_int_equal(vn_iotlb_update(t, 0x1000, 0, 0x10000, VN_IOTLB_PERM_RW), -EINVAL);
    /* Wraps by IOVA. */
    assert_int_equal(vn_iotlb_update(t, UINT64_MAX - 0xfff, 0x2000, 0x10000, VN_IOTLB_PERM_RW),
                     -EINVAL);
    assert_int_equal(vn_iotlb_update(t, 2, UINT64_MAX, 0, VN_IOTLB_PERM_RW), -EINVAL);
    /* Wraps by uaddr. */
    assert_int_equal(vn_iotlb_update(t, 0x1000, 0x2000, UINT64_MAX - 0xfff, VN_IOTLB_PERM_RW),
                     -EINVAL);
    assert_int_equal(vn_iotlb_count(t), 0);
    /* The whole space is one legal entry (size 2^64 - 1 from 0 ends at the top). */
    assert_int_equal(vn_iotlb_update(t, 0, UINT64_MAX, 0, VN_IOTLB_PERM_RO), 0);
    assert_int_equal(tr(t, UINT64_MAX - 1, UINT64_MAX, VN_IOTLB_PERM_RO, &u, &n), 0);
    assert_int_equal(u, UINT64_MAX - 1);
    assert_int_equal(n, 1);
    /* An entry ending exactly at the top. */
    assert_int_equal(vn_iotlb_update(t, UINT64_MAX - 0xfff, 0x1000, 0x5000, VN_IOTLB_PERM_RW), 0);
    assert_int_equal(tr(t, UINT64_MAX, 1, VN_IOTLB_PERM_WO, &u, &n), 0);
    assert_int_equal(u, 0x5fff);
    assert_int_equal(n, 1);
}

static void test_overlapping_update_replaces(void **state)
{
    struct vn_iotlb *t = *state;
    uint64_t u, n;

    assert_int_equal(vn_iotlb_update(t, 0x1000, 0x1000, 0x10000, VN_IOTLB_PERM_RW), 0);
    assert_int_equal(vn_iotlb_update(t, 0x2000, 0x1000, 0x20000, VN_IOTLB_PERM_RW), 0);
    assert_int_equal(vn_iotlb_update(t, 0x3000, 0x1000, 0x30000, VN_IOTLB_PERM_RW), 0);
    /* A 2-page entry over the end of the first and the start of the second. */
    assert_int_equal(vn_iotlb_update(t, 0x1800, 0x1000, 0x90000, VN_IOTLB_PERM_RO), 0);
    assert_int_equal(vn_iotlb_count(t), 2);
    assert_int_equal(tr(t, 0x1000, 1, VN_IOTLB_PERM_RO, &u, &n), -ENOENT);
    assert_int_equal(tr(t, 0x1800, 1, VN_IOTLB_PERM_RO, &u, &n), 0);
    assert_int_equal(u, 0x90000);
    assert_int_equal(tr(t, 0x2800, 1, VN_IOTLB_PERM_RO, &u, &n), -ENOENT);
    assert_int_equal(tr(t, 0x3000, 1, VN_IOTLB_PERM_RO, &u, &n), 0);
    assert_int_equal(u, 0x30000);
    /* The same range again: replaced, not duplicated. */
    assert_int_equal(vn_iotlb_update(t, 0x3000, 0x1000, 0x40000, VN_IOTLB_PERM_RW), 0);
    assert_int_equal(vn_iotlb_count(t), 2);
    assert_int_equal(tr(t, 0x3000, 1, VN_IOTLB_PERM_RO, &u, &n), 0);
    assert_int_equal(u, 0x40000);
}

static void test_invalidate(void **state)
{
    struct vn_iotlb *t = *state;
    struct vn_iotlb_stats st;
    uint64_t u, n;

    for (uint64_t i = 0; i < 8; i++)
        assert_int_equal(vn_iotlb_update(t, 0x1000 * (i + 1), 0x1000, 0x100000 + 0x1000 * i,
                                         VN_IOTLB_PERM_RW),
                         0);
    /* Nothing there: nothing removed. */
    assert_int_equal(vn_iotlb_invalidate(t, 0x100000, 0x1000), 0);
    assert_int_equal(vn_iotlb_invalidate(t, 0, 0x1000), 0);
    /* One byte of an entry removes all of it. */
    assert_int_equal(vn_iotlb_invalidate(t, 0x1fff, 1), 1);
    assert_int_equal(tr(t, 0x1000, 1, VN_IOTLB_PERM_RO, &u, &n), -ENOENT);
    /* A range across two entries' boundary removes both. */
    assert_int_equal(vn_iotlb_invalidate(t, 0x2fff, 2), 2);
    assert_int_equal(tr(t, 0x4000, 1, VN_IOTLB_PERM_RO, &u, &n), 0);
    assert_int_equal(vn_iotlb_count(t), 5);
    /* A range that wraps, and size 0: up to the top. */
    assert_int_equal(vn_iotlb_invalidate(t, 0x8000, UINT64_MAX), 1);
    assert_int_equal(vn_iotlb_invalidate(t, 0x6000, 0), 2);
    assert_int_equal(vn_iotlb_count(t), 2);
    assert_int_equal(vn_iotlb_invalidate(t, 0, UINT64_MAX), 2);
    assert_int_equal(vn_iotlb_count(t), 0);
    vn_iotlb_get_stats(t, &st);
    assert_int_equal(st.invalidations, 8);
    /* Invalidating an empty table. */
    assert_int_equal(vn_iotlb_invalidate(t, 0, 0), 0);
}

static void test_full_table_evicts(void **state)
{
    struct vn_iotlb *t = *state;
    struct vn_iotlb_stats st;
    uint64_t u, n;

    for (uint64_t i = 0; i < VN_IOTLB_MAX_ENTRIES; i++)
        assert_int_equal(vn_iotlb_update(t, i << 12, 0x1000, 0x1000000 + (i << 12), VN_IOTLB_PERM_RW),
                         0);
    assert_int_equal(vn_iotlb_count(t), VN_IOTLB_MAX_ENTRIES);
    /* One more: one goes, the new one is there, the order holds. */
    assert_int_equal(vn_iotlb_update(t, 0x10000000, 0x1000, 0x5000, VN_IOTLB_PERM_RO), 0);
    assert_int_equal(vn_iotlb_count(t), VN_IOTLB_MAX_ENTRIES);
    assert_int_equal(tr(t, 0x10000000, 1, VN_IOTLB_PERM_RO, &u, &n), 0);
    assert_int_equal(u, 0x5000);
    vn_iotlb_get_stats(t, &st);
    assert_int_equal(st.evictions, 1);
    /* Every entry still translates to its own uaddr (the array stayed sorted). */
    for (uint64_t i = 1; i < VN_IOTLB_MAX_ENTRIES; i++) {
        int r = tr(t, (i << 12) + 5, 1, VN_IOTLB_PERM_RO, &u, &n);

        if (r == 0)
            assert_int_equal(u, 0x1000000 + (i << 12) + 5);
        else
            assert_int_equal(r, -ENOENT);
    }
    /* Clear empties it and forgets queued misses. */
    vn_iotlb_clear(t);
    assert_int_equal(vn_iotlb_count(t), 0);
    {
        struct vn_iotlb_miss m[VN_IOTLB_MAX_MISSES];

        assert_int_equal(vn_iotlb_take_misses(t, m, VN_IOTLB_MAX_MISSES, NULL), 0);
    }
}

static void test_misses(void **state)
{
    struct vn_iotlb *t = *state;
    struct vn_iotlb_miss m[VN_IOTLB_MAX_MISSES];
    uint64_t u, n, gen;
    bool overflow = true;

    /* Two misses in one page: one queued, one notification, the permissions merged. */
    assert_int_equal(tr(t, 0x5010, 4, VN_IOTLB_PERM_RO, &u, &n), -ENOENT);
    assert_int_equal(tr(t, 0x5ff0, 4, VN_IOTLB_PERM_WO, &u, &n), -ENOENT);
    assert_int_equal(miss_calls, 1);
    assert_int_equal(vn_iotlb_take_misses(t, m, VN_IOTLB_MAX_MISSES, &overflow), 1);
    assert_false(overflow);
    assert_int_equal(m[0].iova, 0x5010);
    assert_int_equal(m[0].perm, VN_IOTLB_PERM_RW);

    /* A miss the front-end answered before it was taken is dropped. */
    assert_int_equal(tr(t, 0x6000, 4, VN_IOTLB_PERM_RO, &u, &n), -ENOENT);
    assert_int_equal(tr(t, 0x7000, 4, VN_IOTLB_PERM_RO, &u, &n), -ENOENT);
    assert_int_equal(miss_calls, 2);
    gen = vn_iotlb_gen(t);
    assert_int_equal(vn_iotlb_update(t, 0x6000, 0x1000, 0x60000, VN_IOTLB_PERM_RW), 0);
    assert_true(vn_iotlb_gen(t) != gen);
    assert_int_equal(vn_iotlb_take_misses(t, m, VN_IOTLB_MAX_MISSES, &overflow), 1);
    assert_int_equal(m[0].iova, 0x7000);

    /* More distinct pages than the queue holds: overflow is reported once. */
    for (uint64_t i = 0; i < VN_IOTLB_MAX_MISSES + 5; i++)
        assert_int_equal(tr(t, 0x100000 + (i << 12), 1, VN_IOTLB_PERM_RO, &u, &n), -ENOENT);
    assert_int_equal(vn_iotlb_take_misses(t, m, VN_IOTLB_MAX_MISSES, &overflow),
                     VN_IOTLB_MAX_MISSES);
    assert_true(overflow);
    assert_int_equal(vn_iotlb_take_misses(t, m, VN_IOTLB_MAX_MISSES, &overflow), 0);
    assert_false(overflow);
}

static void test_init_fini_zeroed(void **state)
{
    struct vn_iotlb z;

    (void)state;
    memset(&z, 0, sizeof(z));
    vn_iotlb_fini(&z); /* a table init never ran on */
    assert_int_equal(vn_iotlb_init(&z, NULL, NULL), 0);
    assert_int_equal(vn_iotlb_update(&z, 0, 0x1000, 0, VN_IOTLB_PERM_RW), 0);
    vn_iotlb_fini(&z);
    vn_iotlb_fini(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_lookup_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_across_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malicious_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlapping_update_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table_evicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misses, setup, teardown),
        cmocka_unit_test(test_init_fini_zeroed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
