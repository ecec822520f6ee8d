/*
 * test_provider_conf.c - unit tests of lib/provider_conf.c: the vendor's
 * provider files (tests/unit/data/vendor-*.provider), comments, case,
 * whitespace, last-wins, and every error naming its line.
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
#include <unistd.h>

#include <cmocka.h>

#include "provider_conf.h"
#include "util.h"

#ifndef VN_TEST_SRCDIR
#define VN_TEST_SRCDIR "."
#endif

static char err[256];

static void srcdir_path(char *buf, size_t size, const char *rel)
{
    const char *top = getenv("top_srcdir");

    assert_int_equal(vn_snprintf(buf, size, "%s/%s", top && *top ? top : VN_TEST_SRCDIR, rel), 0);
}

/* Parses 'text' and asserts it is accepted. */
static void parse_ok(const char *text, struct vn_provider_conf *out)
{
    int ret;

    err[0] = '\0';
    ret = vn_provider_conf_parse(text, strlen(text), out, err, sizeof(err));
    if (ret)
        print_message("  error: %s\n", err);
    assert_int_equal(ret, 0);
}

/* Parses 'text' and asserts it is rejected with 'msg'. */
static void parse_fails(const char *text, const char *msg)
{
    struct vn_provider_conf out = { .name = "untouched", .score = 42 };

    assert_int_equal(vn_provider_conf_parse(text, strlen(text), &out, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, msg);
    /* The output is written only on success. */
    assert_string_equal(out.name, "untouched");
    assert_int_equal(out.score, 42);
}

static void test_vendor_files(void **state)
{
    struct vn_provider_conf p;
    char path[512];

    srcdir_path(path, sizeof(path), "tests/unit/data/vendor-ace.provider");
    assert_int_equal(vn_provider_conf_load(path, &p, err, sizeof(err)), 0);
    assert_string_equal(p.name, "ace");
    assert_int_equal(p.score, 100);
    srcdir_path(path, sizeof(path), "tests/unit/data/vendor-dpa.provider");
    assert_int_equal(vn_provider_conf_load(path, &p, err, sizeof(err)), 0);
    assert_string_equal(p.name, "dpa");
    assert_int_equal(p.score, 200);
}

static void test_keys_case_insensitive(void **state)
{
    struct vn_provider_conf p;

    parse_ok("provider=sw\nscore=1\n", &p);
    assert_string_equal(p.name, "sw");
    assert_int_equal(p.score, 1);
    parse_ok("PROVIDER=sw\nSCORE=2\n", &p);
    assert_int_equal(p.score, 2);
    parse_ok("pRoViDeR=sw\nsCoRe=3", &p);
    assert_int_equal(p.score, 3);
    /* Values keep their case. */
    parse_ok("Provider=MyProv\n", &p);
    assert_string_equal(p.name, "MyProv");
}

static void test_comments_and_blank_lines(void **state)
{
    struct vn_provider_conf p;

    parse_ok("# a comment\n\n   \n\t# indented comment\nprovider=sw # trailing comment\n"
             "score=5#no space\n# provider=other\n\n",
             &p);
    assert_string_equal(p.name, "sw");
    assert_int_equal(p.score, 5);
    /* A '#' right after '=' leaves the value empty. */
    parse_fails("provider=#sw\n", "line 1: empty value for 'provider'");
}

static void test_whitespace(void **state)
{
    struct vn_provider_conf p;

    parse_ok("  provider \t=\t sw  \r\n\tscore =  -7 \r\n", &p);
    assert_string_equal(p.name, "sw");
    assert_int_equal(p.score, -7);
    /* No final newline. */
    parse_ok("provider=sw", &p);
    assert_string_equal(p.name, "sw");
}

static void test_last_definition_wins(void **state)
{
    struct vn_provider_conf p;

    parse_ok("provider=ace\nscore=100\nprovider=dpa\nscore=200\nScore=150\n", &p);
    assert_string_equal(p.name, "dpa");
    assert_int_equal(p.score, 150);
}

static void test_score(void **state)
{
    struct vn_provider_conf p;

    /* Optional, 0 by default. */
    parse_ok("provider=sw\n", &p);
    assert_int_equal(p.score, 0);
    parse_ok("provider=sw\nscore=0\n", &p);
    assert_int_equal(p.score, 0);
    parse_ok("provider=sw\nscore=-100\n", &p);
    assert_int_equal(p.score, -100);
    parse_ok("provider=sw\nscore=9223372036854775807\n", &p);
    assert_true(p.score == INT64_MAX);
    parse_ok("provider=sw\nscore=-9223372036854775808\n", &p);
    assert_true(p.score == INT64_MIN);

    parse_fails("provider=sw\nscore=1.5\n", "line 2: score must be a whole number, got '1.5'");
    parse_fails("provider=sw\nscore=abc\n", "line 2: score must be a whole number, got 'abc'");
    parse_fails("provider=sw\nscore=+5\n", "line 2: score must be a whole number, got '+5'");
    parse_fails("provider=sw\nscore=0x10\n", "line 2: score must be a whole number, got '0x10'");
    parse_fails("provider=sw\nscore=1 0\n", "line 2: score must be a whole number, got '1 0'");
    parse_fails("provider=sw\nscore=9223372036854775808\n",
                "line 2: score must be a whole number, got '9223372036854775808'");
    parse_fails("provider=sw\nscore=\n", "line 2: empty value for 'score'");
    parse_fails("provider=sw\nSCORE = \n", "line 2: empty value for 'SCORE'");
}

static void test_provider_names(void **state)
{
    struct vn_provider_conf p;
    char text[128], name[40];

    /* Not restricted to ace/dpa: the controller decides which it knows. */
    parse_ok("provider=my-prov_2\n", &p);
    assert_string_equal(p.name, "my-prov_2");
    memset(name, 'n', 31);
    name[31] = '\0';
    snprintf(text, sizeof(text), "provider=%s\n", name);
    parse_ok(text, &p);
    assert_string_equal(p.name, name);

    snprintf(text, sizeof(text), "provider=%sn\n", name);
    parse_fails(text, "line 1: provider name must be 1 to 31 characters of [A-Za-z0-9_-], "
                      "got 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn'");
    parse_fails("provider=a b\n",
                "line 1: provider name must be 1 to 31 characters of [A-Za-z0-9_-], got 'a b'");
    parse_fails("provider=ace.so\n",
                "line 1: provider name must be 1 to 31 characters of [A-Za-z0-9_-], got 'ace.so'");
    parse_fails("provider=../x\n",
                "line 1: provider name must be 1 to 31 characters of [A-Za-z0-9_-], got '../x'");
    parse_fails("provider=\n", "line 1: empty value for 'provider'");
    parse_fails("provider=a=b\n",
                "line 1: provider name must be 1 to 31 characters of [A-Za-z0-9_-], got 'a=b'");
}

static void test_errors_name_the_line(void **state)
{
    parse_fails("provider=sw\n  just some text\n",
                "line 2: expected key=value, got 'just some text'");
    parse_fails("provider=sw\r\nscore\r\n", "line 2: expected key=value, got 'score'");
    parse_fails("=sw\n", "line 1: missing key before '='");
    parse_fails("provider sw\n", "line 1: expected key=value, got 'provider sw'");
}

/* The vendor documents two keys; any other is ignored, and named in the warning. */
static void test_unknown_keys_warn(void **state)
{
    struct vn_provider_conf p;

    parse_ok("# ok\nprovider=sw\n\nweight=3\nscore=7\n", &p);
    assert_string_equal(p.name, "sw");
    assert_int_equal(p.score, 7);
    assert_int_equal(p.n_unknown, 1);
    assert_string_equal(p.warning,
                        "line 4: unknown key 'weight' ignored (expected 'provider' or 'score')");

    parse_ok("provider\t=sw\nprovider name=dpa\n\x01\x02=1\n", &p);
    assert_string_equal(p.name, "sw");
    assert_int_equal(p.n_unknown, 2);
    assert_string_equal(p.warning,
                        "line 2: unknown key 'provider name' ignored (expected 'provider' or "
                        "'score'); line 3: unknown key '?"
                        "?' ignored (expected 'provider' or "
                        "'score')");

    /* Known keys only: no warning. */
    parse_ok("Provider=ace\nScore=100\n", &p);
    assert_int_equal(p.n_unknown, 0);
    assert_string_equal(p.warning, "");
}

static void test_missing_provider(void **state)
{
    parse_fails("", "no 'provider=' line");
    parse_fails("# only a comment\n\n", "no 'provider=' line");
    parse_fails("score=100\n", "no 'provider=' line");
}

static void test_nul_byte(void **state)
{
    static const char text[] = "provider=sw\0\nscore=1\n";
    struct vn_provider_conf p;

    assert_int_equal(vn_provider_conf_parse(text, sizeof(text) - 1, &p, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "NUL byte in provider file");
}

static void test_error_buffer(void **state)
{
    struct vn_provider_conf p;
    char small[8];

    /* No room for a message, or a small one: the result is the same. */
    assert_int_equal(vn_provider_conf_parse("x\n", 2, &p, NULL, 0), -EINVAL);
    assert_int_equal(vn_provider_conf_parse("x\n", 2, &p, small, sizeof(small)), -EINVAL);
    assert_string_equal(small, "line 1:");
    /* Only 'len' bytes are read. */
    assert_int_equal(vn_provider_conf_parse("provider=sw\ngarbage", 12, &p, err, sizeof(err)), 0);
    assert_string_equal(p.name, "sw");
}

static void test_load_errors(void **state)
{
    char dir[] = "/tmp/test_provider_conf.XXXXXX", path[256];
    struct vn_provider_conf p;
    char *big;
    int fd;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sw.provider", dir);
    assert_int_equal(vn_provider_conf_load(path, &p, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "cannot read the file: No such file or directory");
    assert_int_equal(vn_provider_conf_load(dir, &p, err, sizeof(err)), -EISDIR);

    big = malloc(VN_PROVIDER_FILE_MAX + 1);
    assert_non_null(big);
    memset(big, '\n', VN_PROVIDER_FILE_MAX + 1);
    memcpy(big, "provider=sw", 11);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, big, VN_PROVIDER_FILE_MAX), VN_PROVIDER_FILE_MAX);
    close(fd);
    /* Exactly the limit loads... */
    assert_int_equal(vn_provider_conf_load(path, &p, err, sizeof(err)), 0);
    assert_string_equal(p.name, "sw");
    /* ...one byte more does not. */
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
    assert_int_equal(vn_provider_conf_load(path, &p, err, sizeof(err)), -EFBIG);
    assert_string_equal(err, "cannot read the file: larger than 65536 bytes");
    free(big);

    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vendor_files),
        cmocka_unit_test(test_keys_case_insensitive),
        cmocka_unit_test(test_comments_and_blank_lines),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_last_definition_wins),
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_provider_names),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_unknown_keys_warn),
        cmocka_unit_test(test_missing_provider),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_load_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
