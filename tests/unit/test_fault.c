/*
 * test_fault.c - named fault points: a one-shot point fails its next pass
 * only, NAME@N fails the N-th pass only, arming replaces what was armed, bad
 * names and counts are refused, and points named in VIRTNET_FAULT fail every
 * pass.
 */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fault.h"
#include "log.h"

static void test_one_shot(void **state)
{
    assert_false(vn_fault("a"));
    assert_int_equal(vn_fault_arm("a"), 0);
    assert_false(vn_fault("b"));
    assert_true(vn_fault("a"));
    assert_false(vn_fault("a"));
}

static void test_nth_pass(void **state)
{
    assert_int_equal(vn_fault_arm("dev@3"), 0);
    assert_false(vn_fault("other"));
    assert_false(vn_fault("dev"));
    assert_false(vn_fault("dev"));
    assert_true(vn_fault("dev"));
    assert_false(vn_fault("dev"));
    assert_int_equal(vn_fault_arm("dev@1"), 0);
    assert_true(vn_fault("dev"));
    assert_false(vn_fault("dev"));
}

static void test_rearm_replaces(void **state)
{
    assert_int_equal(vn_fault_arm("x@2"), 0);
    assert_int_equal(vn_fault_arm("y"), 0);
    assert_false(vn_fault("x"));
    assert_false(vn_fault("x"));
    assert_true(vn_fault("y"));
    /* "none" is never passed: arming it disarms. */
    assert_int_equal(vn_fault_arm("z@2"), 0);
    assert_int_equal(vn_fault_arm("none"), 0);
    assert_false(vn_fault("z"));
    assert_false(vn_fault("z"));
}

static void test_bad_names(void **state)
{
    static const char *const bad[] = {
        "",    "x@",     "x@0",   "x@-1",     "x@abc", "x@2x", "x@1000001",
        "@3",  "a/b",    "a b@2", ".hidden",  "x@@2",  "x@ 2",
        "a_name_that_is_far_too_long_for_it@2",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("%s\n", bad[i]);
        assert_int_equal(vn_fault_arm(bad[i]), -EINVAL);
    }
    assert_int_equal(vn_fault_arm("x@1000000"), 0);
    assert_int_equal(vn_fault_arm("none"), 0);
}

static void test_env_every_pass(void **state)
{
    /* VIRTNET_FAULT was set before the first check (main). */
    assert_true(vn_fault("env_a"));
    assert_true(vn_fault("env_a"));
    assert_true(vn_fault("env_b"));
    assert_false(vn_fault("env"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_shot),
        cmocka_unit_test(test_nth_pass),
        cmocka_unit_test(test_rearm_replaces),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_env_every_pass),
    };

    setenv("VIRTNET_FAULT", "env_a,env_b", 1);
    vn_log_set_all_levels(VN_LL_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
