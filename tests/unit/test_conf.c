/*
 * test_conf.c - unit tests of lib/conf.c: virtnet.conf defaults, the vendor's
 * example files, every key's type and range, the rules between keys, error
 * collection, printing (round trips, allocation failures) and loading.
 *
 * Test data (tests/unit/data/vendor-*.conf, conf/virtnet.conf) is found
 * through $top_srcdir, set by `make check`, or the source directory compiled
 * in as VN_TEST_SRCDIR.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "json.h"
#include "util.h"

#ifndef VN_TEST_SRCDIR
#define VN_TEST_SRCDIR "."
#endif

/* The default emulation feature mask, spelled out as documented in conf.c. */
#define DEFAULT_EMU_FEATURES UINT64_C(0x8b00037730efffaf)
#define VENDOR_FEATURES      UINT64_C(0x230047082b)

static struct vn_conf_errors errs;

static void srcdir_path(char *buf, size_t size, const char *rel)
{
    const char *top = getenv("top_srcdir");

    assert_int_equal(vn_snprintf(buf, size, "%s/%s", top && *top ? top : VN_TEST_SRCDIR, rel), 0);
}

static void print_errors(void)
{
    for (unsigned i = 0; i < errs.n; i++)
        print_message("  error: %s\n", errs.msg[i]);
}

/* Parses 'text' and asserts it is accepted. */
static void parse_ok(const char *text, struct vn_conf *c)
{
    int ret = vn_conf_parse(text, strlen(text), c, &errs);

    if (ret)
        print_errors();
    assert_int_equal(ret, 0);
    assert_int_equal(errs.n, 0);
}

/* Parses 'text' and asserts it is rejected with exactly one error, 'msg'. */
static void parse_fails(const char *text, const char *msg)
{
    struct vn_conf c;
    int ret = vn_conf_parse(text, strlen(text), &c, &errs);

    if (errs.n != 1)
        print_errors();
    assert_int_equal(ret, -EINVAL);
    assert_int_equal(errs.n, 1);
    assert_int_equal(errs.dropped, 0);
    assert_string_equal(errs.msg[0], msg);
}

/* Parses 'text' and asserts it is rejected with one error that starts with 'prefix'. */
static void parse_fails_prefix(const char *text, const char *prefix)
{
    struct vn_conf c;
    int ret = vn_conf_parse(text, strlen(text), &c, &errs);

    if (errs.n != 1)
        print_errors();
    assert_int_equal(ret, -EINVAL);
    assert_int_equal(errs.n, 1);
    if (strncmp(errs.msg[0], prefix, strlen(prefix)))
        fail_msg("'%s' does not start with '%s'", errs.msg[0], prefix);
}

/* The configuration printed as compact JSON; caller frees. */
static char *conf_print(const struct vn_conf *c)
{
    cJSON *j = vn_conf_to_json(c);
    char *s;

    assert_non_null(j);
    s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(s);
    return s;
}

static void assert_same_conf(const struct vn_conf *a, const struct vn_conf *b)
{
    char *sa = conf_print(a), *sb = conf_print(b);

    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
}

static void assert_mac(const uint8_t mac[VN_MAC_LEN], const char *expect)
{
    char buf[VN_MAC_STR_LEN];

    vn_format_mac(mac, buf);
    assert_string_equal(buf, expect);
}

/* ---- defaults and the vendor's files ----------------------------------- */

static void test_defaults(void **state)
{
    struct vn_conf c;

    memset(&c, 0x5a, sizeof(c));
    vn_conf_init_defaults(&c);
    assert_string_equal(c.ib_dev_p0, "mlx5_0");
    assert_string_equal(c.ib_dev_p1, "mlx5_1");
    assert_string_equal(c.ib_dev_lag, "mlx5_bond_0");
    assert_string_equal(c.ib_dev_for_static_pf, "mlx5_0");
    assert_false(c.has_ib_dev_p0 || c.has_ib_dev_p1 || c.has_ib_dev_lag ||
                 c.has_ib_dev_for_static_pf);
    assert_false(c.is_lag);
    assert_false(c.single_port);
    assert_true(c.recovery);
    assert_int_equal(c.sf_pool_percent, 0);
    assert_false(c.sf_pool_force_destroy);
    assert_false(c.static_pf.has_mac_base);
    assert_true(c.static_pf.features.is_auto);
    assert_false(c.vf.has_mac_base);
    assert_true(c.vf.features.is_auto);
    assert_false(c.vf.has_vfs_per_pf);
    assert_string_equal(c.lm_prov, "");
    assert_false(c.has_dpa_cores);
    assert_int_equal(c.eth_vq_workers, 0);
    assert_int_equal(c.admin_cmd_workers, 0);
    assert_int_equal(c.mrg_rxbuf, -1);
    assert_int_equal(c.packed_vq, -1);
    assert_string_equal(c.state_dir, "");
    assert_string_equal(c.recovery_dir, "");
    assert_string_equal(c.providers_dir, "");
    assert_string_equal(c.rpc_socket, "");
    assert_string_equal(c.rpc_group, "");
    assert_int_equal(c.emu.hotplug_ports, 16);
    assert_int_equal(c.emu.num_pf, 0);
    assert_int_equal(c.emu.num_vf, 0);
    assert_int_equal(c.emu.num_msix, 16);
    assert_int_equal(c.emu.pf_total_sf, 512);
    assert_int_equal(c.emu.max_virtq, 64);
    assert_int_equal(c.emu.max_queue_size, 4096);
    assert_int_equal(c.emu.features, DEFAULT_EMU_FEATURES);
    assert_true(c.emu.features & (UINT64_C(1) << 32));
    assert_string_equal(c.emu.serial, "VNETSW000001");
}

static void test_empty_object_is_defaults(void **state)
{
    struct vn_conf c, def;

    vn_conf_init_defaults(&def);
    parse_ok("{}", &c);
    assert_same_conf(&c, &def);
    parse_ok(" \n\t{ }\n", &c);
    assert_same_conf(&c, &def);
    /* Parsing starts from the defaults whatever 'conf' held. */
    memset(&c, 0x5a, sizeof(c));
    parse_ok("{}", &c);
    assert_true(c.recovery);
    assert_int_equal(c.mrg_rxbuf, -1);
    assert_same_conf(&c, &def);
}

static void test_vendor_nonlag(void **state)
{
    char path[512];
    struct vn_conf c;

    srcdir_path(path, sizeof(path), "tests/unit/data/vendor-nonlag.conf");
    assert_int_equal(vn_conf_load(path, &c, &errs), 0);
    assert_true(c.has_ib_dev_p0 && c.has_ib_dev_p1 && c.has_ib_dev_for_static_pf);
    assert_false(c.has_ib_dev_lag);
    assert_string_equal(c.ib_dev_p0, "mlx5_0");
    assert_string_equal(c.ib_dev_p1, "mlx5_1");
    assert_false(c.is_lag);
    assert_true(c.recovery);
    assert_true(c.static_pf.has_mac_base);
    assert_mac(c.static_pf.mac_base, "11:22:33:44:55:66");
    assert_false(c.static_pf.features.is_auto);
    assert_int_equal(c.static_pf.features.mask, VENDOR_FEATURES);
    assert_true(c.vf.has_mac_base);
    assert_mac(c.vf.mac_base, "cc:48:15:ff:00:00");
    assert_false(c.vf.features.is_auto);
    assert_int_equal(c.vf.features.mask, VENDOR_FEATURES);
    assert_true(c.vf.has_vfs_per_pf);
    assert_int_equal(c.vf.vfs_per_pf, 100);
}

static void test_vendor_lag(void **state)
{
    char path[512];
    struct vn_conf c;

    srcdir_path(path, sizeof(path), "tests/unit/data/vendor-lag.conf");
    assert_int_equal(vn_conf_load(path, &c, &errs), 0);
    assert_true(c.is_lag);
    assert_true(c.has_ib_dev_lag);
    assert_string_equal(c.ib_dev_lag, "mlx5_bond_0");
    assert_string_equal(c.ib_dev_for_static_pf, "mlx5_bond_0");
    assert_false(c.has_ib_dev_p0 || c.has_ib_dev_p1);
}

static void test_vendor_single_port(void **state)
{
    char path[512];
    struct vn_conf c;

    srcdir_path(path, sizeof(path), "tests/unit/data/vendor-single-port.conf");
    assert_int_equal(vn_conf_load(path, &c, &errs), 0);
    assert_true(c.single_port);
    assert_false(c.is_lag);
    assert_string_equal(c.ib_dev_p0, "mlx5_2");
    assert_string_equal(c.ib_dev_p1, "mlx5_1");
    assert_string_equal(c.ib_dev_for_static_pf, "mlx5_2");
}

/* The vendor's non-LAG file with an emulation section appended before its last '}'. */
static char *nonlag_with(const char *emulation)
{
    char path[512], *text, *out, *last;
    size_t len;

    srcdir_path(path, sizeof(path), "tests/unit/data/vendor-nonlag.conf");
    assert_int_equal(vn_read_file(path, 65536, &text, &len), 0);
    last = strrchr(text, '}');
    assert_non_null(last);
    *last = '\0';
    out = malloc(len + strlen(emulation) + 32);
    assert_non_null(out);
    sprintf(out, "%s, \"emulation\": %s}", text, emulation);
    free(text);
    return out;
}

/* With static PFs, vfs_per_pf is bounded by the VFs reserved per PF. */
static void test_vendor_nonlag_with_static_pfs(void **state)
{
    struct vn_conf c;
    char *text;

    text = nonlag_with("{ \"hotplug_ports\": 0, \"num_pf\": 4, \"num_vf\": 126, "
                       "\"num_msix\": 4, \"pf_total_sf\": 508 }");
    parse_ok(text, &c);
    assert_int_equal(c.emu.num_pf, 4);
    assert_int_equal(c.emu.num_vf, 126);
    assert_int_equal(c.vf.vfs_per_pf, 100);
    free(text);

    text = nonlag_with("{ \"num_pf\": 4, \"num_vf\": 99 }");
    parse_fails(text, "vf.vfs_per_pf: must not be more than emulation.num_vf, the VFs reserved "
                      "per PF (100 > 99)");
    free(text);
}

static void test_sample_config(void **state)
{
    char path[512];
    struct vn_conf c, def;

    srcdir_path(path, sizeof(path), "conf/virtnet.conf");
    assert_int_equal(vn_conf_load(path, &c, &errs), 0);
    /* The sample shows the built-in defaults. */
    vn_conf_init_defaults(&def);
    assert_same_conf(&c, &def);
}

/* ---- syntax and structure -------------------------------------------- */

static void test_trailing_commas(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"vf\": { \"vfs_per_pf\": 1, }, \"recovery\": 0, }", &c);
    assert_int_equal(c.vf.vfs_per_pf, 1);
    assert_false(c.recovery);
    /* A comma inside a string is data. */
    parse_ok("{ \"state_dir\": \"/a,}\" }", &c);
    assert_string_equal(c.state_dir, "/a,}");
}

static void test_syntax_errors(void **state)
{
    static const char nul[] = "{ \"recovery\": 0 \0 }";
    struct vn_conf c;

    parse_fails_prefix("{ \"recovery\": \"yes\" ", "line 1, column ");
    parse_fails_prefix("{\n  \"recovery\" 0\n}", "line 2, column ");
    parse_fails_prefix("", "line 1, column 1");
    parse_fails_prefix("{} {}", "line 1, column ");
    assert_int_equal(vn_conf_parse(nul, sizeof(nul) - 1, &c, &errs), -EINVAL);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msg[0], "NUL byte in JSON text");
}

static void test_top_level_not_object(void **state)
{
    parse_fails("[]", "top level: must be a JSON object, got an array");
    parse_fails("42", "top level: must be a JSON object, got 42");
    parse_fails("\"x\"", "top level: must be a JSON object, got \"x\"");
    parse_fails("null", "top level: must be a JSON object, got null");
}

static void test_unknown_keys(void **state)
{
    static const char text[] = "{ \"no_such_key\": 1, \"vf\": { \"mac_bse\": \"x\" },"
                               " \"static_pf\": { \"vfs_per_pf\": 1 },"
                               " \"emulation\": { \"numpf\": 1 } }";
    struct vn_conf c;

    assert_int_equal(vn_conf_parse(text, strlen(text), &c, &errs), -EINVAL);
    assert_int_equal(errs.n, 4);
    assert_string_equal(errs.msg[0], "no_such_key: unknown key");
    assert_string_equal(errs.msg[1], "vf.mac_bse: unknown key");
    assert_string_equal(errs.msg[2], "static_pf.vfs_per_pf: unknown key");
    assert_string_equal(errs.msg[3], "emulation.numpf: unknown key");
}

static void test_keys_are_case_sensitive(void **state)
{
    static const char text[] = "{ \"IS_LAG\": 1, \"Recovery\": 0, \"VF\": {} }";
    struct vn_conf c;

    assert_int_equal(vn_conf_parse(text, strlen(text), &c, &errs), -EINVAL);
    assert_int_equal(errs.n, 3);
    assert_string_equal(errs.msg[0], "IS_LAG: unknown key");
    assert_string_equal(errs.msg[1], "Recovery: unknown key");
    assert_string_equal(errs.msg[2], "VF: unknown key");
}

static void test_unknown_key_is_sanitized(void **state)
{
    char text[256], expect[128];

    /* Control characters are not echoed; long names are cut. */
    parse_fails("{ \"a\\nb\": 1 }", "a?b: unknown key");
    snprintf(text, sizeof(text), "{ \"%0100d\": 1 }", 0);
    snprintf(expect, sizeof(expect), "%064d...: unknown key", 0);
    parse_fails(text, expect);
}

static void test_duplicate_keys(void **state)
{
    parse_fails("{ \"recovery\": 0, \"recovery\": 1 }", "recovery: given more than once");
    parse_fails("{ \"vf\": { \"vfs_per_pf\": 1, \"vfs_per_pf\": 2 } }",
                "vf.vfs_per_pf: given more than once");
}

static void test_section_not_object(void **state)
{
    parse_fails("{ \"vf\": 1 }", "vf: must be an object, got 1");
    parse_fails("{ \"static_pf\": [] }", "static_pf: must be an object, got an array");
    parse_fails("{ \"emulation\": \"none\" }", "emulation: must be an object, got \"none\"");
}

/* ---- error collection ------------------------------------------------ */

static void test_all_errors_collected(void **state)
{
    static const char text[] = "{\n"
                               "  \"is_lag\": 1,\n"
                               "  \"single_port\": 1,\n"
                               "  \"sf_pool_percent\": 150,\n"
                               "  \"vf\": { \"mac_base\": \"CC:48:15:FF:00:00\" },\n"
                               "  \"typo_key\": 0,\n"
                               "  \"recovery\": \"yes\",\n"
                               "}\n";
    struct vn_conf c;

    assert_int_equal(vn_conf_parse(text, strlen(text), &c, &errs), -EINVAL);
    assert_int_equal(errs.n, 5);
    assert_int_equal(errs.dropped, 0);
    assert_string_equal(errs.msg[0], "sf_pool_percent: must be an integer in [0, 100], got 150");
    assert_string_equal(errs.msg[1], "typo_key: unknown key");
    assert_string_equal(errs.msg[2], "recovery: must be 0, 1, true or false, got \"yes\"");
    assert_string_equal(errs.msg[3],
                        "single_port: cannot be 1 together with is_lag (mutually exclusive)");
    assert_string_equal(errs.msg[4], "vf.vfs_per_pf: mandatory when vf.mac_base is set");
}

static void test_error_limit(void **state)
{
    char text[2048];
    size_t o = 0;
    struct vn_conf c;

    o += (size_t)snprintf(text + o, sizeof(text) - o, "{");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"bad%d\": 1", i ? ", " : "", i);
    snprintf(text + o, sizeof(text) - o, "}");

    assert_int_equal(vn_conf_parse(text, strlen(text), &c, &errs), -EINVAL);
    assert_int_equal(errs.n, VN_CONF_MAX_ERRORS);
    assert_int_equal(errs.dropped, 40 - VN_CONF_MAX_ERRORS);
    assert_string_equal(errs.msg[0], "bad0: unknown key");
    assert_string_equal(errs.msg[VN_CONF_MAX_ERRORS - 1], "bad31: unknown key");
    /* Without an error list the result is the same. */
    assert_int_equal(vn_conf_parse(text, strlen(text), &c, NULL), -EINVAL);
}

static void test_errors_reset_and_conf_untouched(void **state)
{
    static const char bad[] = "{ \"ib_dev_p0\": \"mlx5_9\", \"bad\": 1 }";
    struct vn_conf c, before;

    /* A caller's stale error list is cleared. */
    errs.n = 7;
    errs.dropped = 3;
    parse_ok("{ \"recovery\": 0 }", &c);
    assert_int_equal(errs.dropped, 0);
    assert_int_equal(vn_conf_parse("{}", 2, &c, NULL), 0);

    /* On failure the output is not written, not even the valid keys. */
    vn_conf_init_defaults(&c);
    strcpy(c.ib_dev_p0, "keep");
    before = c;
    assert_int_equal(vn_conf_parse(bad, strlen(bad), &c, &errs), -EINVAL);
    assert_memory_equal(&c, &before, sizeof(c));
}

/* ---- value types ------------------------------------------------------ */

static void test_ib_dev_strings(void **state)
{
    char text[256], name[80];
    struct vn_conf c;

    parse_fails("{ \"ib_dev_p0\": 5 }", "ib_dev_p0: must be a string, got 5");
    parse_fails("{ \"ib_dev_lag\": null }", "ib_dev_lag: must be a string, got null");
    parse_fails("{ \"ib_dev_p1\": \"\" }",
                "ib_dev_p1: must be an RDMA device name (1 to 63 characters of [A-Za-z0-9._-]), "
                "got \"\"");
    parse_fails_prefix("{ \"ib_dev_for_static_pf\": \"../mlx5_0\" }",
                       "ib_dev_for_static_pf: must be an RDMA device name");
    parse_fails_prefix("{ \"ib_dev_p0\": \"mlx5 0\" }", "ib_dev_p0: must be an RDMA device name");

    memset(name, 'm', 63);
    name[63] = '\0';
    snprintf(text, sizeof(text), "{ \"ib_dev_p0\": \"%s\" }", name);
    parse_ok(text, &c);
    assert_string_equal(c.ib_dev_p0, name);
    snprintf(text, sizeof(text), "{ \"ib_dev_p0\": \"%sm\" }", name);
    parse_fails_prefix(text, "ib_dev_p0: must be at most 63 characters, got \"mmmm");

    parse_ok("{ \"ib_dev_p0\": \"mlx5_3\", \"ib_dev_for_static_pf\": \"mlx5_3\" }", &c);
    assert_true(c.has_ib_dev_p0 && c.has_ib_dev_for_static_pf);
    assert_false(c.has_ib_dev_p1);
    assert_string_equal(c.ib_dev_for_static_pf, "mlx5_3");
}

static void test_flags(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"is_lag\": true, \"recovery\": false, \"sf_pool_force_destroy\": 1,"
             " \"mrg_rxbuf\": 1, \"packed_vq\": false }",
             &c);
    assert_true(c.is_lag);
    assert_false(c.recovery);
    assert_true(c.sf_pool_force_destroy);
    assert_int_equal(c.mrg_rxbuf, 1);
    assert_int_equal(c.packed_vq, 0);
    parse_ok("{ \"single_port\": 1.0, \"mrg_rxbuf\": 0 }", &c);
    assert_true(c.single_port);
    assert_int_equal(c.mrg_rxbuf, 0);
    assert_int_equal(c.packed_vq, -1);

    parse_fails("{ \"is_lag\": 2 }", "is_lag: must be 0, 1, true or false, got 2");
    parse_fails("{ \"single_port\": -1 }", "single_port: must be 0, 1, true or false, got -1");
    parse_fails("{ \"recovery\": 0.5 }", "recovery: must be 0, 1, true or false, got 0.5");
    parse_fails("{ \"recovery\": \"1\" }", "recovery: must be 0, 1, true or false, got \"1\"");
    parse_fails("{ \"packed_vq\": null }", "packed_vq: must be 0, 1, true or false, got null");
    parse_fails("{ \"mrg_rxbuf\": {} }", "mrg_rxbuf: must be 0, 1, true or false, got an object");
}

static void test_integers(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"sf_pool_percent\": 100 }", &c);
    assert_int_equal(c.sf_pool_percent, 100);
    parse_ok("{ \"sf_pool_percent\": 5.0 }", &c);
    assert_int_equal(c.sf_pool_percent, 5);
    parse_fails("{ \"sf_pool_percent\": 150 }",
                "sf_pool_percent: must be an integer in [0, 100], got 150");
    parse_fails("{ \"sf_pool_percent\": -1 }",
                "sf_pool_percent: must be an integer in [0, 100], got -1");
    parse_fails("{ \"sf_pool_percent\": 50.5 }",
                "sf_pool_percent: must be an integer in [0, 100], got 50.5");
    parse_fails("{ \"sf_pool_percent\": \"50\" }",
                "sf_pool_percent: must be an integer in [0, 100], got \"50\"");
    parse_fails("{ \"sf_pool_percent\": 1e300 }",
                "sf_pool_percent: must be an integer in [0, 100], got 1e+300");
    parse_fails("{ \"sf_pool_percent\": true }",
                "sf_pool_percent: must be an integer in [0, 100], got true");
}

static void test_workers(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"eth_vq_workers\": 1, \"admin_cmd_workers\": 16 }", &c);
    assert_int_equal(c.eth_vq_workers, 1);
    assert_int_equal(c.admin_cmd_workers, 16);
    parse_ok("{ \"eth_vq_workers\": 24, \"admin_cmd_workers\": 1 }", &c);
    assert_int_equal(c.eth_vq_workers, 24);
    parse_fails("{ \"eth_vq_workers\": 0 }",
                "eth_vq_workers: must be an integer in [1, 24], got 0");
    parse_fails("{ \"eth_vq_workers\": 25 }",
                "eth_vq_workers: must be an integer in [1, 24], got 25");
    parse_fails("{ \"admin_cmd_workers\": 17 }",
                "admin_cmd_workers: must be an integer in [1, 16], got 17");
    parse_fails("{ \"admin_cmd_workers\": 0 }",
                "admin_cmd_workers: must be an integer in [1, 16], got 0");
}

static void test_features(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"static_pf\": { \"features\": \"0x230047082b\" },"
             " \"vf\": { \"features\": \"0X10\" } }",
             &c);
    assert_false(c.static_pf.features.is_auto);
    assert_int_equal(c.static_pf.features.mask, VENDOR_FEATURES);
    assert_int_equal(c.vf.features.mask, 0x10);
    parse_ok("{ \"static_pf\": { \"features\": 4294967296 }, \"vf\": { \"features\": \"96\" } }",
             &c);
    assert_int_equal(c.static_pf.features.mask, UINT64_C(1) << 32);
    assert_int_equal(c.vf.features.mask, 96);
    parse_ok("{ \"static_pf\": { \"features\": \"Auto\" }, \"vf\": { \"features\": \"auto\" } }",
             &c);
    assert_true(c.static_pf.features.is_auto);
    assert_true(c.vf.features.is_auto);
    /* 0 is the v1.9 "chosen by the controller". */
    parse_ok("{ \"static_pf\": { \"features\": 0 }, \"vf\": { \"features\": \"0x0\" } }", &c);
    assert_true(c.static_pf.features.is_auto);
    assert_true(c.vf.features.is_auto);
    parse_ok("{ \"static_pf\": { \"features\": \"0xffffffffffffffff\" } }", &c);
    assert_int_equal(c.static_pf.features.mask, UINT64_MAX);

    parse_fails("{ \"static_pf\": { \"features\": \"AUTO\" } }",
                "static_pf.features: must be \"Auto\", a hex string like \"0x230047082b\" or a "
                "whole number, got \"AUTO\"");
    parse_fails_prefix("{ \"vf\": { \"features\": \"0x\" } }", "vf.features: must be \"Auto\"");
    parse_fails_prefix("{ \"vf\": { \"features\": \"0xZZ\" } }", "vf.features: must be \"Auto\"");
    parse_fails_prefix("{ \"vf\": { \"features\": \"0x10000000000000000\" } }",
                       "vf.features: must be \"Auto\"");
    parse_fails_prefix("{ \"vf\": { \"features\": -1 } }", "vf.features: must be \"Auto\"");
    parse_fails_prefix("{ \"vf\": { \"features\": 1.5 } }", "vf.features: must be \"Auto\"");
    parse_fails_prefix("{ \"vf\": { \"features\": \" 1\" } }", "vf.features: must be \"Auto\"");
    parse_fails_prefix("{ \"vf\": { \"features\": true } }", "vf.features: must be \"Auto\"");
}

static void test_mac(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"static_pf\": { \"mac_base\": \"0c:C4:7a:FF:22:93\" } }", &c);
    assert_true(c.static_pf.has_mac_base);
    assert_mac(c.static_pf.mac_base, "0c:c4:7a:ff:22:93");
    assert_false(c.vf.has_mac_base);

    parse_fails("{ \"static_pf\": { \"mac_base\": \"11:22:33:44:55\" } }",
                "static_pf.mac_base: must be a MAC address like \"aa:bb:cc:dd:ee:ff\", "
                "got \"11:22:33:44:55\"");
    /* The vendor's other forms: dashes, bare hex. */
    parse_ok("{ \"static_pf\": { \"mac_base\": \"11-22-33-44-55-66\" } }", &c);
    assert_mac(c.static_pf.mac_base, "11:22:33:44:55:66");
    parse_ok("{ \"static_pf\": { \"mac_base\": \"0C0C7AFF2293\" } }", &c);
    assert_mac(c.static_pf.mac_base, "0c:0c:7a:ff:22:93");
    parse_fails_prefix("{ \"static_pf\": { \"mac_base\": \"gg:22:33:44:55:66\" } }",
                       "static_pf.mac_base: must be a MAC address");
    parse_fails_prefix("{ \"static_pf\": { \"mac_base\": \"11:22:33:44:55:66:\" } }",
                       "static_pf.mac_base: must be a MAC address");
    parse_fails("{ \"vf\": { \"mac_base\": 5, \"vfs_per_pf\": 1 } }",
                "vf.mac_base: must be a MAC address like \"aa:bb:cc:dd:ee:ff\", got 5");
}

/* v1.9 wrote static_pf.mac_base and static_pf.features at the top level. */
static void test_v19_aliases(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"mac_base\": \"00:11:22:33:44:55\", \"features\": \"0x100000001\" }", &c);
    assert_true(c.static_pf.has_mac_base);
    assert_mac(c.static_pf.mac_base, "00:11:22:33:44:55");
    assert_false(c.static_pf.features.is_auto);
    assert_int_equal(c.static_pf.features.mask, UINT64_C(0x100000001));
    parse_ok("{ \"features\": 0 }", &c);
    assert_true(c.static_pf.features.is_auto);

    parse_fails("{ \"mac_base\": \"00:11:22:33:44:55\","
                " \"static_pf\": { \"mac_base\": \"00:11:22:33:44:55\" } }",
                "mac_base: cannot be set together with static_pf.mac_base (same setting)");
    parse_fails("{ \"static_pf\": { \"features\": 1 }, \"features\": 1 }",
                "features: cannot be set together with static_pf.features (same setting)");
}

/* ---- rules between keys ---------------------------------------------- */

static void test_lag_rules(void **state)
{
    struct vn_conf c;

    parse_fails("{ \"ib_dev_lag\": \"mlx5_bond_0\", \"ib_dev_p0\": \"mlx5_0\", \"is_lag\": 1 }",
                "ib_dev_lag: cannot be set together with ib_dev_p0");
    parse_fails("{ \"ib_dev_p1\": \"mlx5_1\", \"ib_dev_lag\": \"mlx5_bond_0\" }",
                "ib_dev_lag: cannot be set together with ib_dev_p1");
    parse_fails("{ \"is_lag\": 1, \"single_port\": true }",
                "single_port: cannot be 1 together with is_lag (mutually exclusive)");
    parse_ok("{ \"is_lag\": 0, \"single_port\": 1 }", &c);

    /* LAG without ib_dev_lag uses the default LAG device. */
    parse_ok("{ \"is_lag\": 1 }", &c);
    assert_true(c.is_lag);
    assert_false(c.has_ib_dev_lag);
    assert_string_equal(c.ib_dev_lag, "mlx5_bond_0");
}

static void test_vf_rules(void **state)
{
    struct vn_conf c;

    parse_fails("{ \"vf\": { \"mac_base\": \"CC:48:15:FF:00:00\" } }",
                "vf.vfs_per_pf: mandatory when vf.mac_base is set");
    parse_ok("{ \"vf\": { \"vfs_per_pf\": 8 }, \"emulation\": { \"num_pf\": 1, \"num_vf\": 8 } }",
             &c);
    assert_true(c.vf.has_vfs_per_pf);
    assert_false(c.vf.has_mac_base);
    parse_fails(
        "{ \"vf\": { \"vfs_per_pf\": 9 }, \"emulation\": { \"num_pf\": 1, \"num_vf\": 8 } }",
        "vf.vfs_per_pf: must not be more than emulation.num_vf, the VFs reserved per PF "
        "(9 > 8)");
    parse_fails("{ \"vf\": { \"vfs_per_pf\": 505 } }",
                "vf.vfs_per_pf: must be an integer in [0, 504], got 505");
    /* Without static PFs the vf section applies to nothing. */
    parse_ok("{ \"vf\": { \"vfs_per_pf\": 9 } }", &c);
}

/* A rejected value does not cause a second, derived error. */
static void test_no_derived_errors(void **state)
{
    parse_fails("{ \"vf\": { \"vfs_per_pf\": 100 }, \"emulation\": { \"num_pf\": 1, "
                "\"num_vf\": \"many\" } }",
                "emulation.num_vf: must be an integer in [0, 504], got \"many\"");
    parse_fails("{ \"dpa_core_start\": 300, \"dpa_core_end\": 10 }",
                "dpa_core_start: must be an integer in [0, 255], got 300");
    parse_fails("{ \"vf\": { \"mac_base\": \"CC:48:15:FF:00:00\", \"vfs_per_pf\": -1 } }",
                "vf.vfs_per_pf: must be an integer in [0, 504], got -1");
}

static void test_dpa_cores(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"dpa_core_start\": 3, \"dpa_core_end\": 10 }", &c);
    assert_true(c.has_dpa_cores);
    assert_int_equal(c.dpa_core_start, 3);
    assert_int_equal(c.dpa_core_end, 10);
    parse_ok("{ \"dpa_core_start\": 4, \"dpa_core_end\": 4 }", &c);
    assert_true(c.has_dpa_cores);
    parse_ok("{}", &c);
    assert_false(c.has_dpa_cores);

    parse_fails("{ \"dpa_core_start\": 3 }", "dpa_core_end: mandatory when dpa_core_start is set");
    parse_fails("{ \"dpa_core_end\": 3 }", "dpa_core_start: mandatory when dpa_core_end is set");
    parse_fails("{ \"dpa_core_start\": 10, \"dpa_core_end\": 3 }",
                "dpa_core_start: must not be greater than dpa_core_end (10 > 3)");
}

static void test_lm_prov(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"lm_prov\": \"kernel\" }", &c);
    assert_string_equal(c.lm_prov, "kernel");
    parse_ok("{ \"lm_prov\": \"\" }", &c);
    assert_string_equal(c.lm_prov, "");
    parse_fails("{ \"lm_prov\": \"qemu\" }",
                "lm_prov: must be \"kernel\" (or \"\" for none), got \"qemu\"");
    parse_fails("{ \"lm_prov\": \"Kernel\" }",
                "lm_prov: must be \"kernel\" (or \"\" for none), got \"Kernel\"");
    parse_fails("{ \"lm_prov\": 1 }", "lm_prov: must be a string, got 1");
}

static void test_paths(void **state)
{
    static const char *const keys[] = { "state_dir", "recovery_dir", "providers_dir",
                                        "rpc_socket" };
    char text[600], path[300], expect[128];
    struct vn_conf c;

    for (size_t i = 0; i < VN_ARRAY_SIZE(keys); i++) {
        snprintf(text, sizeof(text), "{ \"%s\": \"/tmp/x\" }", keys[i]);
        parse_ok(text, &c);
        snprintf(text, sizeof(text), "{ \"%s\": \"\" }", keys[i]);
        parse_ok(text, &c);
        snprintf(text, sizeof(text), "{ \"%s\": \"run/x\" }", keys[i]);
        snprintf(expect, sizeof(expect),
                 "%s: must be an absolute path (or \"\" for the default), got \"run/x\"", keys[i]);
        parse_fails(text, expect);
    }
    parse_ok("{ \"state_dir\": \"/a\", \"recovery_dir\": \"/b\", \"providers_dir\": \"/c\","
             " \"rpc_socket\": \"/d.sock\" }",
             &c);
    assert_string_equal(c.state_dir, "/a");
    assert_string_equal(c.recovery_dir, "/b");
    assert_string_equal(c.providers_dir, "/c");
    assert_string_equal(c.rpc_socket, "/d.sock");

    /* VN_CONF_PATH_MAX counts the NUL. */
    path[0] = '/';
    memset(path + 1, 'p', VN_CONF_PATH_MAX - 2);
    path[VN_CONF_PATH_MAX - 1] = '\0';
    snprintf(text, sizeof(text), "{ \"rpc_socket\": \"%s\" }", path);
    parse_ok(text, &c);
    assert_string_equal(c.rpc_socket, path);
    snprintf(text, sizeof(text), "{ \"rpc_socket\": \"%sp\" }", path);
    parse_fails_prefix(text, "rpc_socket: must be at most 255 characters, got \"/ppp");
}

static void test_rpc_group(void **state)
{
    char text[200], name[80];
    struct vn_conf c;

    parse_ok("{ \"rpc_group\": \"virtnet\" }", &c);
    assert_string_equal(c.rpc_group, "virtnet");
    parse_ok("{ \"rpc_group\": \"\" }", &c);
    parse_fails("{ \"rpc_group\": \"a/b\" }",
                "rpc_group: must be a group name (or \"\" for none), got \"a/b\"");
    parse_fails_prefix("{ \"rpc_group\": \"-x\" }", "rpc_group: must be a group name");
    parse_fails_prefix("{ \"rpc_group\": \"a b\" }", "rpc_group: must be a group name");
    parse_fails_prefix("{ \"rpc_group\": \"a:b\" }", "rpc_group: must be a group name");
    parse_fails_prefix("{ \"rpc_group\": 0 }", "rpc_group: must be a string");
    memset(name, 'g', 63);
    name[63] = '\0';
    snprintf(text, sizeof(text), "{ \"rpc_group\": \"%s\" }", name);
    parse_ok(text, &c);
    snprintf(text, sizeof(text), "{ \"rpc_group\": \"%sg\" }", name);
    parse_fails_prefix(text, "rpc_group: must be at most 63 characters");
}

/* ---- metrics and vhost_socket ----------------------------------------- */

static void test_metrics(void **state)
{
    struct vn_conf c;

    parse_ok("{}", &c);
    assert_string_equal(c.metrics.listen, "");
    assert_int_equal(c.metrics.connection_limit, 16);
    assert_int_equal(c.metrics.per_ip_limit, 4);
    assert_int_equal(c.metrics.timeout_s, 10);
    parse_ok("{ \"metrics\": { \"listen\": \"127.0.0.1:9465\", \"connection_limit\": 2, "
             "\"per_ip_limit\": 1, \"timeout_s\": 3 } }", &c);
    assert_string_equal(c.metrics.listen, "127.0.0.1:9465");
    assert_int_equal(c.metrics.connection_limit, 2);
    assert_int_equal(c.metrics.per_ip_limit, 1);
    assert_int_equal(c.metrics.timeout_s, 3);
    parse_ok("{ \"metrics\": { \"listen\": \"9465\" } }", &c);
    parse_ok("{ \"metrics\": { \"listen\": \"[::1]:9465\" } }", &c);
    parse_ok("{ \"metrics\": { \"listen\": \"0.0.0.0:1\" } }", &c);
    parse_fails_prefix("{ \"metrics\": { \"listen\": \"localhost:9465\" } }",
                       "metrics.listen: must be \"PORT\"");
    parse_ok("{ \"metrics\": { \"listen\": \"127.0.0.1:0\" } }", &c);
    parse_fails_prefix("{ \"metrics\": { \"listen\": \"127.0.0.1:65536\" } }", "metrics.listen:");
    parse_fails_prefix("{ \"metrics\": { \"listen\": \"::1:9465\" } }", "metrics.listen:");
    parse_fails_prefix("{ \"metrics\": { \"listen\": \"[::1]9465\" } }", "metrics.listen:");
    parse_fails_prefix("{ \"metrics\": { \"listen\": \"127.0.0.1:\" } }", "metrics.listen:");
    parse_fails_prefix("{ \"metrics\": { \"connection_limit\": 0 } }",
                       "metrics.connection_limit: must be an integer in [1, 1024]");
    parse_fails_prefix("{ \"metrics\": { \"port\": 1 } }", "metrics.port: unknown key");
}

static void test_host_libvirt(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"host\": { \"type\": \"libvirt\", \"domain\": \"vm0\" } }", &c);
    assert_string_equal(c.host.type, "libvirt");
    assert_string_equal(c.host.domain, "vm0");
    assert_false(c.host.persistent);
    parse_ok("{ \"host\": { \"type\": \"libvirt\", \"uri\": \"qemu+ssh://h/system\", "
             "\"domain\": \"4b7336c8-a13d-4aa2-8bc8-d5331c2622af\", \"persistent\": 1 } }", &c);
    assert_true(c.host.persistent);
    parse_ok("{ \"host\": { \"type\": \"qmp\", \"qmp_socket\": \"/run/q.sock\" } }", &c);
    parse_fails("{ \"host\": { \"type\": \"libvirt\" } }",
                "host.domain: mandatory when host.type is \"libvirt\"");
    parse_fails_prefix("{ \"host\": { \"type\": \"libvirt\", \"domain\": \"v\", "
                       "\"qmp_socket\": \"/q\" } }", "host.qmp_socket: cannot be set together");
    parse_fails_prefix("{ \"host\": { \"type\": \"xen\" } }", "host.type: must be");
    parse_fails_prefix("{ \"host\": { \"type\": \"qmp\" } }", "host.qmp_socket: mandatory");
    parse_fails_prefix("{ \"host\": { \"domain\": \"vm0\" } }",
                       "host.domain: only with host.type \"libvirt\"");
    parse_fails_prefix("{ \"host\": { \"type\": \"libvirt\", \"domain\": \"a'b\" } }",
                       "host.domain: printable characters only");
}

static void test_vhost_socket(void **state)
{
    struct vn_conf c;
    uint32_t m;

    parse_ok("{ \"vhost_socket\": { \"group\": \"libvirt-qemu\", \"mode\": \"0660\" } }", &c);
    assert_string_equal(c.vhost_socket.group, "libvirt-qemu");
    assert_string_equal(c.vhost_socket.mode, "0660");
    assert_int_equal(vn_conf_parse_sock_mode("0660", &m), 0);
    assert_int_equal(m, 0660);
    assert_int_equal(vn_conf_parse_sock_mode("0700", &m), 0);
    assert_int_equal(m, 0700);
    assert_int_equal(vn_conf_parse_sock_mode("0666", &m), -EINVAL);
    assert_int_equal(vn_conf_parse_sock_mode("660", &m), -EINVAL);
    assert_int_equal(vn_conf_parse_sock_mode("01777", &m), -EINVAL);
    assert_int_equal(vn_conf_parse_sock_mode("0x1b0", &m), -EINVAL);
    parse_fails_prefix("{ \"vhost_socket\": { \"mode\": \"0662\" } }",
                       "vhost_socket.mode: must be an octal mode like \"0660\"");
    parse_fails_prefix("{ \"vhost_socket\": { \"mode\": \"rw\" } }", "vhost_socket.mode:");
    parse_fails_prefix("{ \"vhost_socket\": { \"group\": \"a:b\" } }",
                       "vhost_socket.group: must be a group name");
}

/* ---- the emulation profile ------------------------------------------- */

struct emu_case {
    const char *body;  /* members of the "emulation" object */
    const char *error; /* NULL: accepted */
};

static void test_emulation_ranges(void **state)
{
    static const struct emu_case cases[] = {
        { "\"hotplug_ports\": 0", NULL },
        { "\"hotplug_ports\": 31", NULL },
        { "\"hotplug_ports\": 32",
          "emulation.hotplug_ports: must be an integer in [0, 31], got 32" },
        { "\"num_pf\": 4", NULL },
        { "\"num_pf\": 5", "emulation.num_pf: must be an integer in [0, 4], got 5" },
        { "\"num_pf\": 1, \"num_vf\": 504", NULL },
        { "\"num_vf\": 505", "emulation.num_vf: must be an integer in [0, 504], got 505" },
        { "\"num_pf\": 4, \"num_vf\": 126", NULL },
        { "\"num_pf\": 4, \"num_vf\": 127",
         "emulation.num_vf: num_pf x num_vf must not be more than 504 (4 x 127 = 508)" },
        { "\"num_msix\": 2", NULL },
        { "\"num_msix\": 2048", NULL },
        { "\"num_msix\": 1", "emulation.num_msix: must be an integer in [2, 2048], got 1" },
        { "\"num_msix\": 2049", "emulation.num_msix: must be an integer in [2, 2048], got 2049" },
        { "\"pf_total_sf\": 0", NULL },
        { "\"pf_total_sf\": 4096", NULL },
        { "\"pf_total_sf\": 4097",
         "emulation.pf_total_sf: must be an integer in [0, 4096], got 4097" },
        { "\"max_virtq\": 2", NULL },
        { "\"max_virtq\": 3", NULL },
        { "\"max_virtq\": 256", NULL },
        { "\"max_virtq\": 1", "emulation.max_virtq: must be an integer in [2, 256], got 1" },
        { "\"max_virtq\": 257", "emulation.max_virtq: must be an integer in [2, 256], got 257" },
        { "\"max_queue_size\": 2", NULL },
        { "\"max_queue_size\": 256", NULL },
        { "\"max_queue_size\": 32768", NULL },
        { "\"max_queue_size\": 1000",
         "emulation.max_queue_size: must be a power of two in [2, 32768], got 1000" },
        { "\"max_queue_size\": 1",
         "emulation.max_queue_size: must be an integer in [2, 32768], got 1" },
        { "\"max_queue_size\": 65536",
         "emulation.max_queue_size: must be an integer in [2, 32768], got 65536" },
        { "\"serial\": \"ABCDEFGHIJKLMNOPQRSTUVWX\"", NULL },
        { "\"serial\": \"s1\"", NULL },
        { "\"serial\": \"ABCDEFGHIJKLMNOPQRSTUVWXY\"",
         "emulation.serial: must be at most 24 characters, got \"ABCDEFGHIJKLMNOPQRSTUVWXY\"" },
        { "\"serial\": \"\"",
         "emulation.serial: must be 1 to 24 characters of [A-Za-z0-9], got \"\"" },
        { "\"serial\": \"VNET-1\"",
         "emulation.serial: must be 1 to 24 characters of [A-Za-z0-9], got \"VNET-1\"" },
        { "\"serial\": 1", "emulation.serial: must be a string, got 1" },
        { "\"features\": \"0x100000000\"", NULL },
        { "\"features\": \"0x1\"",
         "emulation.features: must include VIRTIO_F_VERSION_1 (bit 32), got \"0x1\"" },
        { "\"features\": 0",
          "emulation.features: must include VIRTIO_F_VERSION_1 (bit 32), got 0" },
        { "\"features\": [1]",
         "emulation.features: must be \"Auto\", a hex string like \"0x230047082b\" or a whole "
         "number, got an array" },
    };
    char text[512];
    struct vn_conf c;

    for (size_t i = 0; i < VN_ARRAY_SIZE(cases); i++) {
        snprintf(text, sizeof(text), "{ \"emulation\": { %s } }", cases[i].body);
        if (cases[i].error)
            parse_fails(text, cases[i].error);
        else
            parse_ok(text, &c);
    }
}

static void test_emulation_values(void **state)
{
    struct vn_conf c;

    parse_ok("{ \"emulation\": { \"hotplug_ports\": 0, \"num_pf\": 2, \"num_vf\": 8,"
             " \"num_msix\": 32, \"pf_total_sf\": 64, \"max_virtq\": 16,"
             " \"max_queue_size\": 1024, \"features\": \"0x100000021\", \"serial\": \"Lab42\" } }",
             &c);
    assert_int_equal(c.emu.hotplug_ports, 0);
    assert_int_equal(c.emu.num_pf, 2);
    assert_int_equal(c.emu.num_vf, 8);
    assert_int_equal(c.emu.num_msix, 32);
    assert_int_equal(c.emu.pf_total_sf, 64);
    assert_int_equal(c.emu.max_virtq, 16);
    assert_int_equal(c.emu.max_queue_size, 1024);
    assert_int_equal(c.emu.features, UINT64_C(0x100000021));
    assert_string_equal(c.emu.serial, "Lab42");
    parse_ok("{ \"emulation\": { \"features\": \"Auto\" } }", &c);
    assert_int_equal(c.emu.features, DEFAULT_EMU_FEATURES);
}

/* ---- printing --------------------------------------------------------- */

static const char *str_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double num_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_to_json_defaults(void **state)
{
    struct vn_conf c;
    const cJSON *emu, *spf;
    cJSON *j;

    vn_conf_init_defaults(&c);
    j = vn_conf_to_json(&c);
    assert_non_null(j);
    assert_string_equal(str_member(j, "ib_dev_p0"), "mlx5_0");
    assert_string_equal(str_member(j, "ib_dev_p1"), "mlx5_1");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "ib_dev_lag"));
    assert_string_equal(str_member(j, "ib_dev_for_static_pf"), "mlx5_0");
    assert_true(num_member(j, "is_lag") == 0);
    assert_true(num_member(j, "recovery") == 1);
    assert_true(num_member(j, "sf_pool_percent") == 0);
    spf = cJSON_GetObjectItemCaseSensitive(j, "static_pf");
    assert_string_equal(str_member(spf, "features"), "Auto");
    assert_null(cJSON_GetObjectItemCaseSensitive(spf, "mac_base"));
    assert_string_equal(str_member(j, "lm_prov"), "");
    assert_string_equal(str_member(j, "state_dir"), "");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "eth_vq_workers"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "mrg_rxbuf"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "dpa_core_start"));
    emu = cJSON_GetObjectItemCaseSensitive(j, "emulation");
    assert_true(cJSON_IsObject(emu));
    assert_true(num_member(emu, "hotplug_ports") == 16);
    assert_true(num_member(emu, "max_queue_size") == 4096);
    assert_string_equal(str_member(emu, "features"), "0x8b00037730efffaf");
    assert_string_equal(str_member(emu, "serial"), "VNETSW000001");
    cJSON_Delete(j);
}

static const char full_conf[] =
    "{ \"ib_dev_p0\": \"mlx5_0\", \"ib_dev_p1\": \"mlx5_1\", \"ib_dev_for_static_pf\": \"mlx5_0\","
    "  \"recovery\": 0, \"sf_pool_percent\": 5, \"sf_pool_force_destroy\": 1,"
    "  \"static_pf\": { \"mac_base\": \"11:22:33:44:55:66\", \"features\": \"0x230047082b\" },"
    "  \"vf\": { \"mac_base\": \"CC:48:15:FF:00:00\", \"features\": 4294967297,"
    "           \"vfs_per_pf\": 100 },"
    "  \"lm_prov\": \"kernel\", \"dpa_core_start\": 3, \"dpa_core_end\": 10,"
    "  \"eth_vq_workers\": 8, \"admin_cmd_workers\": 2, \"mrg_rxbuf\": 0, \"packed_vq\": true,"
    "  \"state_dir\": \"/var/lib/virtnet\", \"recovery_dir\": \"/var/lib/virtnet/rec\","
    "  \"providers_dir\": \"/etc/virtnet/providers\", \"rpc_socket\": \"/run/v.sock\","
    "  \"rpc_group\": \"virtnet\","
    "  \"emulation\": { \"hotplug_ports\": 0, \"num_pf\": 4, \"num_vf\": 126, \"num_msix\": 4,"
    "                 \"pf_total_sf\": 508, \"max_virtq\": 4, \"max_queue_size\": 256,"
    "                 \"features\": \"0x100000000\", \"serial\": \"BF2X\" } }";

static void test_to_json_full(void **state)
{
    const cJSON *spf, *vf, *emu;
    struct vn_conf c;
    cJSON *j;

    parse_ok(full_conf, &c);
    j = vn_conf_to_json(&c);
    assert_non_null(j);
    spf = cJSON_GetObjectItemCaseSensitive(j, "static_pf");
    vf = cJSON_GetObjectItemCaseSensitive(j, "vf");
    emu = cJSON_GetObjectItemCaseSensitive(j, "emulation");
    assert_string_equal(str_member(spf, "mac_base"), "11:22:33:44:55:66");
    assert_string_equal(str_member(spf, "features"), "0x230047082b");
    assert_string_equal(str_member(vf, "mac_base"), "cc:48:15:ff:00:00");
    assert_string_equal(str_member(vf, "features"), "0x100000001");
    assert_true(num_member(vf, "vfs_per_pf") == 100);
    assert_true(num_member(j, "recovery") == 0);
    assert_true(num_member(j, "sf_pool_force_destroy") == 1);
    assert_true(num_member(j, "dpa_core_start") == 3);
    assert_true(num_member(j, "dpa_core_end") == 10);
    assert_true(num_member(j, "eth_vq_workers") == 8);
    assert_true(num_member(j, "admin_cmd_workers") == 2);
    assert_true(num_member(j, "mrg_rxbuf") == 0);
    assert_true(num_member(j, "packed_vq") == 1);
    assert_string_equal(str_member(j, "lm_prov"), "kernel");
    assert_string_equal(str_member(j, "rpc_socket"), "/run/v.sock");
    assert_string_equal(str_member(j, "rpc_group"), "virtnet");
    assert_string_equal(str_member(emu, "features"), "0x100000000");
    assert_string_equal(str_member(emu, "serial"), "BF2X");
    assert_true(num_member(emu, "num_vf") == 126);
    cJSON_Delete(j);

    /* With LAG the LAG device is shown, not the port devices. */
    parse_ok("{ \"is_lag\": 1 }", &c);
    j = vn_conf_to_json(&c);
    assert_non_null(j);
    assert_string_equal(str_member(j, "ib_dev_lag"), "mlx5_bond_0");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "ib_dev_p0"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "ib_dev_p1"));
    cJSON_Delete(j);
}

/* save -> load -> save gives the same text. */
static void round_trip(const char *text)
{
    struct vn_conf a, b;
    char *first, *second;

    parse_ok(text, &a);
    first = conf_print(&a);
    parse_ok(first, &b);
    second = conf_print(&b);
    assert_string_equal(first, second);
    free(first);
    free(second);
}

static void test_round_trip(void **state)
{
    static const char *const files[] = {
        "tests/unit/data/vendor-nonlag.conf", "tests/unit/data/vendor-lag.conf",
        "tests/unit/data/vendor-single-port.conf", "conf/virtnet.conf" };
    char path[512], *text;
    size_t len;

    round_trip("{}");
    round_trip(full_conf);
    round_trip("{ \"is_lag\": 1, \"ib_dev_for_static_pf\": \"mlx5_bond_0\" }");
    round_trip("{ \"ib_dev_lag\": \"bond7\" }");
    round_trip("{ \"host\": { \"type\": \"libvirt\", \"domain\": \"vm0\", \"persistent\": 1 } }");
    round_trip("{ \"metrics\": { \"listen\": \"[::1]:9100\", \"timeout_s\": 5 }, "
               "\"vhost_socket\": { \"group\": \"kvm\", \"mode\": \"0770\" } }");
    for (size_t i = 0; i < VN_ARRAY_SIZE(files); i++) {
        srcdir_path(path, sizeof(path), files[i]);
        assert_int_equal(vn_read_file(path, VN_CONF_MAX_FILE_SIZE, &text, &len), 0);
        round_trip(text);
        free(text);
    }
}

/* cJSON allocations fail after 'alloc_budget' more (never when negative). */
static int alloc_budget = -1;

static void *failing_malloc(size_t size)
{
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(size);
}

static void test_to_json_enomem(void **state)
{
    cJSON_Hooks hooks = { .malloc_fn = failing_malloc, .free_fn = free };
    struct vn_conf c;
    cJSON *j = NULL;
    int budget;

    parse_ok(full_conf, &c);
    cJSON_InitHooks(&hooks);
    for (budget = 0; budget < 10000 && !j; budget++) {
        alloc_budget = budget;
        j = vn_conf_to_json(&c);
    }
    alloc_budget = -1;
    cJSON_InitHooks(NULL);
    /* Every earlier budget failed cleanly (leaks show under valgrind/ASan). */
    assert_non_null(j);
    assert_true(budget > 50);
    cJSON_Delete(j);
}

/* ---- loading ---------------------------------------------------------- */

static void write_file(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    while (len) {
        ssize_t n = write(fd, text, len);

        assert_true(n > 0);
        text += n;
        len -= (size_t)n;
    }
    close(fd);
}

static void test_load(void **state)
{
    char dir[] = "/tmp/test_conf.XXXXXX", path[256];
    struct vn_conf c;
    char *big;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/virtnet.conf", dir);

    assert_int_equal(vn_conf_load(path, &c, &errs), -ENOENT);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msg[0], "cannot read the file: No such file or directory");
    assert_int_equal(vn_conf_load(path, &c, NULL), -ENOENT);
    assert_int_equal(vn_conf_load(dir, &c, &errs), -EISDIR);
    assert_int_equal(errs.n, 1);

    write_file(path, "{ \"recovery\": 0, }\n", 19);
    assert_int_equal(vn_conf_load(path, &c, &errs), 0);
    assert_int_equal(errs.n, 0);
    assert_false(c.recovery);

    write_file(path, "{ \"recovery\": 3 }", 17);
    assert_int_equal(vn_conf_load(path, &c, &errs), -EINVAL);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msg[0], "recovery: must be 0, 1, true or false, got 3");

    /* Larger than VN_CONF_MAX_FILE_SIZE, even if the JSON were valid. */
    big = malloc(VN_CONF_MAX_FILE_SIZE + 2);
    assert_non_null(big);
    memset(big, ' ', VN_CONF_MAX_FILE_SIZE + 2);
    big[0] = '{';
    big[VN_CONF_MAX_FILE_SIZE + 1] = '}';
    write_file(path, big, VN_CONF_MAX_FILE_SIZE + 2);
    free(big);
    assert_int_equal(vn_conf_load(path, &c, &errs), -EFBIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msg[0], "cannot read the file: larger than 1048576 bytes");

    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_vhost_socket),
        cmocka_unit_test(test_host_libvirt),
        cmocka_unit_test(test_empty_object_is_defaults),
        cmocka_unit_test(test_vendor_nonlag),
        cmocka_unit_test(test_vendor_lag),
        cmocka_unit_test(test_vendor_single_port),
        cmocka_unit_test(test_vendor_nonlag_with_static_pfs),
        cmocka_unit_test(test_sample_config),
        cmocka_unit_test(test_trailing_commas),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_top_level_not_object),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_keys_are_case_sensitive),
        cmocka_unit_test(test_unknown_key_is_sanitized),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_section_not_object),
        cmocka_unit_test(test_all_errors_collected),
        cmocka_unit_test(test_error_limit),
        cmocka_unit_test(test_errors_reset_and_conf_untouched),
        cmocka_unit_test(test_ib_dev_strings),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_workers),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_v19_aliases),
        cmocka_unit_test(test_lag_rules),
        cmocka_unit_test(test_vf_rules),
        cmocka_unit_test(test_no_derived_errors),
        cmocka_unit_test(test_dpa_cores),
        cmocka_unit_test(test_lm_prov),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_rpc_group),
        cmocka_unit_test(test_emulation_ranges),
        cmocka_unit_test(test_emulation_values),
        cmocka_unit_test(test_to_json_defaults),
        cmocka_unit_test(test_to_json_full),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_to_json_enomem),
        cmocka_unit_test(test_load),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
