/*
 * test_recovery.c - the recovery store: atomic save, remove, scan with bad
 * files skipped, unsafe names refused, save -> load -> save round trip,
 * a failed write leaving the old file and no temporary behind, files
 * handed over in name order.
 */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "json.h"
#include "recovery.h"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/vn-rec-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_raw(const char *name, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int count_files(void)
{
    char cmd[128];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

struct seen {
    int n;
    char names[8][VN_VUID_MAX];
    char *texts[8];
};

static int collect(const char *vuid, const cJSON *obj, void *ctx)
{
    struct seen *s = ctx;

    if (s->n < 8) {
        snprintf(s->names[s->n], VN_VUID_MAX, "%s", vuid);
        s->texts[s->n] = cJSON_PrintUnformatted(obj);
    }
    s->n++;
    return 0;
}

static void free_seen(struct seen *s)
{
    for (int i = 0; i < s->n && i < 8; i++)
        free(s->texts[i]);
}

static void test_save_scan_round_trip(void **state)
{
    cJSON *o = cJSON_Parse("{\"port_ib_dev\":\"mlx5_0\",\"pf_id\":0,\"function_type\":\"pf\","
                           "\"bdf_raw\":57611,\"device_type\":\"hotplug\",\"mac\":\"0c:c4:7a:ff:22:93\","
                           "\"pf_num\":0,\"sf_num\":2000,\"mq\":3}");
    struct seen s = { 0 }, s2 = { 0 };
    cJSON *back;

    assert_int_equal(vn_recovery_save(dir, "SNVNETH0D0F0", o), 0);
    assert_int_equal(vn_recovery_scan(dir, collect, &s), 1);
    assert_string_equal(s.names[0], "SNVNETH0D0F0");
    back = cJSON_Parse(s.texts[0]);
    assert_true(cJSON_Compare(o, back, true));
    /* Save what was loaded: the file is the same. */
    assert_int_equal(vn_recovery_save(dir, "SNVNETH0D0F0", back), 0);
    assert_int_equal(vn_recovery_scan(dir, collect, &s2), 1);
    assert_string_equal(s.texts[0], s2.texts[0]);
    assert_int_equal(count_files(), 1);
    cJSON_Delete(back);
    cJSON_Delete(o);
    free_seen(&s);
    free_seen(&s2);
}

static void test_bad_files_skipped(void **state)
{
    cJSON *o = cJSON_Parse("{\"a\":1}");
    struct seen s = { 0 };

    assert_int_equal(vn_recovery_save(dir, "GOOD1", o), 0);
    write_raw("CORRUPT", "{ not json");
    write_raw("ARRAY", "[1,2]");
    write_raw("bad name with spaces", "{}");
    write_raw("LEFTOVER.tmp", "{}");
    assert_int_equal(vn_recovery_scan(dir, collect, &s), 1);
    assert_string_equal(s.names[0], "GOOD1");
    /* The interrupted write was removed; the bad files stay for the operator. */
    assert_int_equal(count_files(), 4);
    cJSON_Delete(o);
    free_seen(&s);
}

/* Files are handed over in name order, whatever order the directory lists them in. */
static void test_scan_in_name_order(void **state)
{
    static const char *const names[] = { "A1", "B2", "C3", "D4", "E5", "F6", "G7", "H8" };
    cJSON *o = cJSON_Parse("{}");
    struct seen s = { 0 };

    /* Made in reverse: directories often list the newest first, or by hash. */
    for (int i = 7; i >= 0; i--)
        assert_int_equal(vn_recovery_save(dir, names[i], o), 0);
    assert_int_equal(vn_recovery_scan(dir, collect, &s), 8);
    for (int i = 0; i < 8; i++)
        assert_string_equal(s.names[i], names[i]);
    cJSON_Delete(o);
    free_seen(&s);
}

static void test_unsafe_names_refused(void **state)
{
    cJSON *o = cJSON_Parse("{}");

    assert_int_equal(vn_recovery_save(dir, "../escape", o), -EINVAL);
    assert_int_equal(vn_recovery_save(dir, ".hidden", o), -EINVAL);
    assert_int_equal(vn_recovery_save(dir, "", o), -EINVAL);
    assert_int_equal(vn_recovery_save(dir, "a/b", o), -EINVAL);
    assert_int_equal(vn_recovery_save(dir, "X.tmp", o), -EINVAL);
    assert_int_equal(vn_recovery_remove(dir, "../escape"), -EINVAL);
    assert_int_equal(count_files(), 0);
    cJSON_Delete(o);
}

static void test_failed_write_keeps_old(void **state)
{
    cJSON *old = cJSON_Parse("{\"v\":1}"), *new = cJSON_Parse("{\"v\":2}");
    struct seen s = { 0 };

    assert_int_equal(vn_recovery_save(dir, "DEV", old), 0);
    assert_int_equal(vn_fault_arm("recovery_write"), 0);
    assert_int_equal(vn_recovery_save(dir, "DEV", new), -EIO);
    assert_int_equal(count_files(), 1);
    assert_int_equal(vn_recovery_scan(dir, collect, &s), 1);
    assert_string_equal(s.texts[0], "{\"v\":1}");
    cJSON_Delete(old);
    cJSON_Delete(new);
    free_seen(&s);
}

static void test_remove(void **state)
{
    cJSON *o = cJSON_Parse("{}");

    assert_int_equal(vn_recovery_save(dir, "DEV", o), 0);
    assert_int_equal(vn_recovery_remove(dir, "DEV"), 0);
    assert_int_equal(vn_recovery_remove(dir, "DEV"), 0); /* already gone: fine */
    assert_int_equal(count_files(), 0);
    cJSON_Delete(o);
}

static void test_missing_dir(void **state)
{
    struct seen s = { 0 };

    assert_int_equal(vn_recovery_scan("/nonexistent/virtnet/recovery", collect, &s), 0);
    assert_int_equal(s.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_scan_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_in_name_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_names_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test(test_missing_dir),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
