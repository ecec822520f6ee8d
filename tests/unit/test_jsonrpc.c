/*
 * test_jsonrpc.c - unit tests of the JSON-RPC edge of lib/: the stream
 * framer (lib/jsonrpc.c), table-driven params decoding (lib/rpc_params.c),
 * the message builders and error codes, and the strict parsers of
 * lib/util.c they rely on (numbers, MACs, names).
 */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "jsonrpc.h"
#include "rpc_params.h"
#include "util.h"

/* ---- framer ----------------------------------------------------------- */

struct frame {
    enum vn_frame_result res;
    size_t off, len, consumed;
};

static struct frame scan(struct vn_json_framer *f, const char *buf, size_t len)
{
    struct frame r = { .off = SIZE_MAX, .len = SIZE_MAX };

    r.res = vn_json_framer_scan(f, buf, len, &r.off, &r.len, &r.consumed);
    return r;
}

/* Asserts that 'text' in one read is one value, 'value', and nothing else. */
static void assert_one_value(const char *text, const char *value)
{
    struct vn_json_framer f;
    struct frame r;

    vn_json_framer_init(&f, 4096, 8);
    r = scan(&f, text, strlen(text));
    assert_int_equal(r.res, VN_FRAME_OK);
    assert_int_equal(r.len, strlen(value));
    assert_memory_equal(text + r.off, value, r.len);
    assert_int_equal(r.consumed, r.off + r.len);
}

static void test_framer_one_value(void **state)
{
    assert_one_value("{}", "{}");
    assert_one_value("[]", "[]");
    assert_one_value("{\"a\":1}", "{\"a\":1}");
    assert_one_value("[1,[2,{\"x\":[3]}]]", "[1,[2,{\"x\":[3]}]]");
    /* Leading whitespace is consumed with the value; what follows is not. */
    assert_one_value(" \t\r\n{\"a\":1}\n", "{\"a\":1}");
}

static void test_framer_strings(void **state)
{
    /* Braces and brackets inside strings do not count. */
    assert_one_value("{\"a\":\"}}]]{{\"}", "{\"a\":\"}}]]{{\"}");
    /* An escaped quote does not end a string. */
    assert_one_value("{\"a\":\"x\\\"}\"}", "{\"a\":\"x\\\"}\"}");
    /* An escaped backslash does not escape the closing quote. */
    assert_one_value("{\"a\":\"x\\\\\"}", "{\"a\":\"x\\\\\"}");
    assert_one_value("{\"a\\\"}\":\"\\\\\\\"{\"}", "{\"a\\\"}\":\"\\\\\\\"{\"}");
}

/*
 * Feeds 'stream' to a framer 'chunk' bytes at a time as a reader does (append,
 * scan until no value is left, drop what was consumed) and collects the values.
 */
static size_t feed(const char *stream, size_t chunk, char values[][96], size_t max_values)
{
    size_t total = strlen(stream), len = 0, n = 0;
    struct vn_json_framer f;
    char buf[256];

    vn_json_framer_init(&f, 4096, 8);
    for (size_t pos = 0; pos < total;) {
        size_t k = VN_MIN(chunk, total - pos);
        struct frame r;

        assert_true(len + k <= sizeof(buf));
        memcpy(buf + len, stream + pos, k);
        len += k;
        pos += k;
        do {
            r = scan(&f, buf, len);
            assert_true(r.res == VN_FRAME_OK || r.res == VN_FRAME_NEED_MORE);
            if (r.res == VN_FRAME_OK) {
                assert_true(n < max_values && r.len < 96);
                memcpy(values[n], buf + r.off, r.len);
                values[n++][r.len] = '\0';
            }
            assert_true(r.consumed <= len);
            memmove(buf, buf + r.consumed, len - r.consumed);
            len -= r.consumed;
        } while (r.res == VN_FRAME_OK);
    }
    /* Trailing whitespace was dropped too. */
    assert_int_equal(len, 0);
    return n;
}

/* Every way of splitting a stream into reads finds the same values. */
static void test_framer_split_reads(void **state)
{
    static const char stream[] = "  {\"method\":\"x\",\"params\":{\"s\":\"}\\\"{\"}}\n"
                                 "[1,\"]\\\\\"]\r\n {\"id\":2}{}  ";
    static const char *const expect[] = { "{\"method\":\"x\",\"params\":{\"s\":\"}\\\"{\"}}",
                                         "[1,\"]\\\\\"]", "{\"id\":2}", "{}" };
    char values[8][96];

    for (size_t chunk = 1; chunk <= sizeof(stream); chunk++) {
        size_t n = feed(stream, chunk, values, VN_ARRAY_SIZE(values));

        assert_int_equal(n, VN_ARRAY_SIZE(expect));
        for (size_t i = 0; i < n; i++)
            assert_string_equal(values[i], expect[i]);
    }
}

/* Two values back to back, in one read and split in the middle of the second. */
static void test_framer_back_to_back(void **state)
{
    char buf[64];
    size_t len;
    struct vn_json_framer f;
    struct frame r;

    strcpy(buf, "{\"id\":1}\n[2]{\"id\":3");
    len = strlen(buf);
    vn_json_framer_init(&f, 4096, 8);

    r = scan(&f, buf, len);
    assert_int_equal(r.res, VN_FRAME_OK);
    assert_int_equal(r.off, 0);
    assert_int_equal(r.len, 8);
    assert_int_equal(r.consumed, 8);
    memmove(buf, buf + r.consumed, len - r.consumed + 1);
    len -= r.consumed;

    r = scan(&f, buf, len);
    assert_int_equal(r.res, VN_FRAME_OK);
    assert_int_equal(r.off, 1);
    assert_int_equal(r.len, 3);
    assert_int_equal(r.consumed, 4);
    memmove(buf, buf + r.consumed, len - r.consumed + 1);
    len -= r.consumed;

    r = scan(&f, buf, len);
    assert_int_equal(r.res, VN_FRAME_NEED_MORE);
    assert_int_equal(r.consumed, 0);
    strcat(buf, "}");
    len++;
    r = scan(&f, buf, len);
    assert_int_equal(r.res, VN_FRAME_OK);
    assert_int_equal(r.len, 8);
    assert_memory_equal(buf, "{\"id\":3}", 8);
}

static void test_framer_whitespace_only(void **state)
{
    struct vn_json_framer f;
    struct frame r;

    vn_json_framer_init(&f, 16, 4);
    r = scan(&f, " \n\r\t ", 5);
    assert_int_equal(r.res, VN_FRAME_NEED_MORE);
    assert_int_equal(r.consumed, 5);
    r = scan(&f, "", 0);
    assert_int_equal(r.res, VN_FRAME_NEED_MORE);
    assert_int_equal(r.consumed, 0);
    /* Whitespace does not count towards the size limit. */
    vn_json_framer_init(&f, 4, 4);
    r = scan(&f, "          {}", 12);
    assert_int_equal(r.res, VN_FRAME_OK);
    assert_int_equal(r.off, 10);
}

static void test_framer_too_big(void **state)
{
    struct vn_json_framer f;
    struct frame r;

    /* Exactly max_size bytes is fine. */
    vn_json_framer_init(&f, 8, 4);
    r = scan(&f, "{\"a\":12}", 8);
    assert_int_equal(r.res, VN_FRAME_OK);
    /* One more is not, whether complete... */
    vn_json_framer_init(&f, 8, 4);
    assert_int_equal(scan(&f, "{\"a\":123}", 9).res, VN_FRAME_TOO_BIG);
    /* ...or not yet complete, in one read or across reads. */
    vn_json_framer_init(&f, 8, 4);
    assert_int_equal(scan(&f, "{\"a\":\"1234", 10).res, VN_FRAME_TOO_BIG);
    vn_json_framer_init(&f, 8, 4);
    assert_int_equal(scan(&f, "{\"a\":", 5).res, VN_FRAME_NEED_MORE);
    assert_int_equal(scan(&f, "{\"a\":\"12", 8).res, VN_FRAME_NEED_MORE);
    assert_int_equal(scan(&f, "{\"a\":\"123", 9).res, VN_FRAME_TOO_BIG);
}

static void test_framer_too_deep(void **state)
{
    struct vn_json_framer f;

    vn_json_framer_init(&f, 4096, 3);
    assert_int_equal(scan(&f, "[[[]]]", 6).res, VN_FRAME_OK);
    vn_json_framer_init(&f, 4096, 3);
    assert_int_equal(scan(&f, "[{\"a\":[{}]}]", 12).res, VN_FRAME_TOO_DEEP);
    /* Detected before the value is complete. */
    vn_json_framer_init(&f, 4096, 3);
    assert_int_equal(scan(&f, "[[[[", 4).res, VN_FRAME_TOO_DEEP);
    /* Brackets in strings are not nesting. */
    vn_json_framer_init(&f, 4096, 1);
    assert_int_equal(scan(&f, "{\"a\":\"[[[[{{{{\"}", 16).res, VN_FRAME_OK);
}

static void test_framer_bad_top_level(void **state)
{
    static const char *const bad[] = { "\"str\"", "123", "true", "null", "x", "}", "]", ",{}" };
    struct vn_json_framer f;

    for (size_t i = 0; i < VN_ARRAY_SIZE(bad); i++) {
        vn_json_framer_init(&f, 4096, 8);
        assert_int_equal(scan(&f, bad[i], strlen(bad[i])).res, VN_FRAME_BAD);
    }
    vn_json_framer_init(&f, 4096, 8);
    assert_int_equal(scan(&f, "  \n 42", 6).res, VN_FRAME_BAD);
    /* After one good value, garbage is caught on the next scan. */
    vn_json_framer_init(&f, 4096, 8);
    assert_int_equal(scan(&f, "{}", 2).res, VN_FRAME_OK);
    assert_int_equal(scan(&f, "x", 1).res, VN_FRAME_BAD);
}

/* ---- messages and error codes ----------------------------------------- */

static void test_error_codes(void **state)
{
    assert_string_equal(vn_rpc_error_message(VN_RPC_ERR_PARSE), "Parse error");
    assert_string_equal(vn_rpc_error_message(VN_RPC_ERR_METHOD_NOT_FOUND), "Method not found");
    assert_string_equal(vn_rpc_error_message(VN_RPC_ERR_NOT_IMPLEMENTED), "Not implemented yet");
    assert_string_equal(vn_rpc_error_message(-32099), "Server error");
    assert_int_equal(vn_rpc_error_from_errno(-ENOENT), VN_RPC_ERR_NOT_FOUND);
    assert_int_equal(vn_rpc_error_from_errno(-EBUSY), VN_RPC_ERR_BUSY);
    assert_int_equal(vn_rpc_error_from_errno(-ENOSPC), VN_RPC_ERR_LIMIT);
    assert_int_equal(vn_rpc_error_from_errno(-EINVAL), VN_RPC_ERR_INVALID_PARAMS);
    assert_int_equal(vn_rpc_error_from_errno(-ERANGE), VN_RPC_ERR_INVALID_PARAMS);
    assert_int_equal(vn_rpc_error_from_errno(-EACCES), VN_RPC_ERR_PERMISSION);
    assert_int_equal(vn_rpc_error_from_errno(-EOPNOTSUPP), VN_RPC_ERR_UNSUPPORTED);
    assert_int_equal(vn_rpc_error_from_errno(-ENOSYS), VN_RPC_ERR_NOT_IMPLEMENTED);
    assert_int_equal(vn_rpc_error_from_errno(-EEXIST), VN_RPC_ERR_INVALID_STATE);
    assert_int_equal(vn_rpc_error_from_errno(-EIO), VN_RPC_ERR_IO);
    assert_int_equal(vn_rpc_error_from_errno(-ENOMEM), VN_RPC_ERR_INTERNAL);
}

static char *print(cJSON *j)
{
    char *s;

    assert_non_null(j);
    s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(s);
    return s;
}

static void test_messages(void **state)
{
    cJSON *id = cJSON_CreateString("abc");
    char *s;

    s = print(vn_rpc_make_result(id, cJSON_CreateTrue()));
    assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"result\":true}");
    free(s);
    s = print(vn_rpc_make_result(NULL, NULL));
    assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}");
    free(s);
    s = print(vn_rpc_make_error(id, VN_RPC_ERR_INVALID_PARAMS, NULL, NULL));
    assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"error\":{\"code\":-32602,"
                           "\"message\":\"Invalid params\"}}");
    free(s);
    s = print(vn_rpc_make_error(NULL, VN_RPC_ERR_NOT_FOUND, "no device", cJSON_CreateNumber(3)));
    assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,"
                           "\"message\":\"no device\",\"data\":3}}");
    free(s);
    s = print(vn_rpc_make_request("list", NULL, 7));
    assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"method\":\"list\",\"id\":7}");
    free(s);
    s = print(vn_rpc_make_request("query", cJSON_CreateObject(), 8));
    assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"method\":\"query\",\"params\":{},\"id\":8}");
    free(s);
    cJSON_Delete(id);
}

/* ---- params decoding --------------------------------------------------- */

struct hotplug_params {
    const char *name;
    const char *mac;
    bool has_mac;
    uint32_t num_queues;
    bool has_num_queues;
    int64_t delta;
    bool has_delta;
    uint64_t features;
    bool has_features;
    bool legacy;
    bool has_legacy;
    const cJSON *extra;
    bool has_extra;
};

#define HP struct hotplug_params
static const struct vn_rpc_param hp_table[] = {
    VN_RPC_REQ_STR(HP, name),
    VN_RPC_OPT_STR(HP, mac),
    VN_RPC_OPT(HP, num_queues, VN_RPC_T_U32, 1, 64),
    VN_RPC_OPT(HP, delta, VN_RPC_T_I64, -10, 10),
    VN_RPC_OPT(HP, features, VN_RPC_T_U64, 0, UINT64_MAX),
    VN_RPC_OPT_BOOL(HP, legacy),
    VN_RPC_OPT(HP, extra, VN_RPC_T_JSON, 0, 0),
};
#undef HP

static char perr[256];

/* Decodes 'json' with hp_table; returns the result, 'out' zeroed first. */
static int decode(const char *json, struct hotplug_params *out, cJSON **tree)
{
    cJSON *params = json ? cJSON_Parse(json) : NULL;

    if (json)
        assert_non_null(params);
    memset(out, 0, sizeof(*out));
    perr[0] = '\0';
    *tree = params;
    return vn_rpc_decode_params(params, hp_table, VN_ARRAY_SIZE(hp_table), out, perr, sizeof(perr));
}

static void decode_fails(const char *json, const char *msg)
{
    struct hotplug_params p;
    cJSON *tree;

    assert_int_equal(decode(json, &p, &tree), -EINVAL);
    assert_string_equal(perr, msg);
    cJSON_Delete(tree);
}

static void test_params_ok_and_has_flags(void **state)
{
    struct hotplug_params p;
    cJSON *tree;

    assert_int_equal(decode("{\"name\":\"d0\"}", &p, &tree), 0);
    assert_string_equal(p.name, "d0");
    assert_false(p.has_mac || p.has_num_queues || p.has_delta || p.has_features || p.has_legacy ||
                 p.has_extra);
    cJSON_Delete(tree);

    assert_int_equal(decode("{\"legacy\":false,\"name\":\"d1\",\"mac\":\"0c:c4:7a:ff:22:93\","
                            "\"num_queues\":64,\"delta\":-10,\"features\":\"0x230047082b\","
                            "\"extra\":[1,2]}",
                            &p, &tree),
                     0);
    assert_string_equal(p.name, "d1");
    assert_true(p.has_mac);
    assert_string_equal(p.mac, "0c:c4:7a:ff:22:93");
    assert_true(p.has_num_queues);
    assert_int_equal(p.num_queues, 64);
    assert_true(p.has_delta);
    assert_true(p.delta == -10);
    assert_true(p.has_features);
    assert_int_equal(p.features, UINT64_C(0x230047082b));
    assert_true(p.has_legacy);
    assert_false(p.legacy);
    assert_true(p.has_extra);
    assert_true(cJSON_IsArray(p.extra));
    /* Strings and JSON values are borrowed from the tree. */
    assert_ptr_equal(p.extra, cJSON_GetObjectItemCaseSensitive(tree, "extra"));
    cJSON_Delete(tree);

    assert_int_equal(decode("{\"name\":\"d2\",\"features\":1234}", &p, &tree), 0);
    assert_int_equal(p.features, 1234);
    cJSON_Delete(tree);
}

static void test_params_unknown_member(void **state)
{
    decode_fails("{\"name\":\"d\",\"nmae\":\"d\"}", "unknown parameter 'nmae'");
    /* Lookups are case-sensitive. */
    decode_fails("{\"Name\":\"d\"}", "unknown parameter 'Name'");
}

static void test_params_duplicate_member(void **state)
{
    decode_fails("{\"name\":\"a\",\"mac\":\"x\",\"name\":\"b\"}", "parameter 'name' given twice");
}

static void test_params_wrong_type(void **state)
{
    decode_fails("{\"name\":1}", "parameter 'name' must be a string");
    decode_fails("{\"name\":\"d\",\"legacy\":1}", "parameter 'legacy' must be a boolean");
    decode_fails("{\"name\":\"d\",\"num_queues\":\"4\"}",
                 "parameter 'num_queues' must be an integer");
    decode_fails("{\"name\":\"d\",\"num_queues\":1.5}",
                 "parameter 'num_queues' must be an integer");
    decode_fails("{\"name\":\"d\",\"delta\":null}", "parameter 'delta' must be an integer");
    decode_fails("{\"name\":\"d\",\"features\":\"0xZZ\"}",
                 "parameter 'features' must be an integer or a hex string");
    decode_fails("{\"name\":\"d\",\"features\":true}",
                 "parameter 'features' must be an integer or a hex string");
}

static void test_params_range(void **state)
{
    decode_fails("{\"name\":\"d\",\"num_queues\":0}",
                 "parameter 'num_queues' out of range [1, 64]");
    decode_fails("{\"name\":\"d\",\"num_queues\":65}",
                 "parameter 'num_queues' out of range [1, 64]");
    decode_fails("{\"name\":\"d\",\"num_queues\":-1}",
                 "parameter 'num_queues' out of range [1, 64]");
    decode_fails("{\"name\":\"d\",\"delta\":-11}", "parameter 'delta' out of range [-10, 10]");
    decode_fails("{\"name\":\"d\",\"delta\":11}", "parameter 'delta' out of range [-10, 10]");
    decode_fails("{\"name\":\"d\",\"features\":-1}",
                 "parameter 'features' out of range [0, 18446744073709551615]");
    decode_fails("{\"name\":\"d\",\"features\":\"0x10000000000000000\"}",
                 "parameter 'features' out of range [0, 18446744073709551615]");
}

static void test_params_missing_required(void **state)
{
    decode_fails("{}", "missing required parameter 'name'");
    decode_fails("{\"mac\":\"x\"}", "missing required parameter 'name'");
    /* No params at all, or null, is {}. */
    decode_fails(NULL, "missing required parameter 'name'");
    decode_fails("null", "missing required parameter 'name'");
}

static void test_params_not_object(void **state)
{
    decode_fails("[\"d\"]", "params must be an object with named members");
    decode_fails("\"d\"", "params must be an object with named members");
}

static void test_params_empty_table(void **state)
{
    cJSON *params = cJSON_Parse("{}");
    int dummy = 0;

    assert_int_equal(vn_rpc_decode_params(NULL, NULL, 0, &dummy, perr, sizeof(perr)), 0);
    assert_int_equal(vn_rpc_decode_params(params, NULL, 0, &dummy, perr, sizeof(perr)), 0);
    cJSON_Delete(params);
    params = cJSON_Parse("{\"x\":1}");
    assert_int_equal(vn_rpc_decode_params(params, NULL, 0, &dummy, perr, sizeof(perr)), -EINVAL);
    assert_string_equal(perr, "unknown parameter 'x'");
    cJSON_Delete(params);
}

/* ---- util.c parsers ---------------------------------------------------- */

static int u64(const char *s, int base, uint64_t min, uint64_t max, uint64_t *out)
{
    *out = 0xdead;
    return vn_parse_u64(s, base, min, max, out);
}

static void test_parse_u64(void **state)
{
    static const char *const garbage[] = { "",    "abc", "12a", "1.5", "0x",
                                           "0x10", "1e3", "0b1", "1,2", "\n1" };
    uint64_t v;

    assert_int_equal(u64("0", 10, 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(u64("18446744073709551615", 10, 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(u64("ff", 16, 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 255);
    assert_int_equal(u64("0xFF", 16, 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 255);
    assert_int_equal(u64("0x10", 0, 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 16);
    assert_int_equal(u64("010", 0, 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 8);

    /* Garbage: nothing written. */
    for (size_t i = 0; i < VN_ARRAY_SIZE(garbage); i++) {
        assert_int_equal(u64(garbage[i], 10, 0, UINT64_MAX, &v), -EINVAL);
        assert_int_equal(v, 0xdead);
    }
    assert_int_equal(u64(NULL, 10, 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(u64("0xg", 16, 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(u64("0x", 16, 0, UINT64_MAX, &v), -EINVAL);
    /* strtoull would take a second "0x" after the one vn_parse_u64 skips. */
    assert_int_equal(u64("0x0x1", 16, 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(u64("08", 0, 0, UINT64_MAX, &v), -EINVAL);
    /* Signs. */
    assert_int_equal(u64("-1", 10, 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(u64("+1", 10, 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(u64("0x-1", 16, 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(u64("0x+1", 16, 0, UINT64_MAX, &v), -EINVAL);
    /* Spaces. */
    assert_int_equal(u64(" 1", 10, 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(u64("1 ", 10, 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(u64("0x 1", 16, 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(v, 0xdead);
    /* Overflow and range. */
    assert_int_equal(u64("18446744073709551616", 10, 0, UINT64_MAX, &v), -ERANGE);
    assert_int_equal(u64("99999999999999999999999", 10, 0, UINT64_MAX, &v), -ERANGE);
    assert_int_equal(u64("0x10000000000000000", 16, 0, UINT64_MAX, &v), -ERANGE);
    assert_int_equal(u64("11", 10, 0, 10, &v), -ERANGE);
    assert_int_equal(u64("4", 10, 5, 10, &v), -ERANGE);
    assert_int_equal(v, 0xdead);
    assert_int_equal(u64("10", 10, 5, 10, &v), 0);
    assert_int_equal(v, 10);
}

static void test_parse_i64(void **state)
{
    int64_t v = 0;

    assert_int_equal(vn_parse_i64("-5", -10, 10, &v), 0);
    assert_true(v == -5);
    assert_int_equal(vn_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(vn_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
    assert_int_equal(vn_parse_i64("-11", -10, 10, &v), -ERANGE);
    assert_int_equal(vn_parse_i64("+1", -10, 10, &v), -EINVAL);
    assert_int_equal(vn_parse_i64(" 1", -10, 10, &v), -EINVAL);
    assert_int_equal(vn_parse_i64("1 ", -10, 10, &v), -EINVAL);
    assert_int_equal(vn_parse_i64("-", -10, 10, &v), -EINVAL);
    assert_int_equal(vn_parse_i64("", -10, 10, &v), -EINVAL);
    assert_int_equal(vn_parse_i64("0x1", -10, 10, &v), -EINVAL);
    assert_true(v == INT64_MIN);
}

static void test_parse_mac(void **state)
{
    static const char *const bad[] = {
        "",
        "0c:c4:7a:ff:22",
        "0c:c4:7a:ff:22:93:",
        "0c:c4:7a:ff:22:9",
        "0c-c4:7a-ff-22-93",
        "0c:c4:7a:ff:22-93",
        "0cc4.7aff.2293.",
        "0cc47aff229",
        "0cc47aff22933",
        "0cc47aff229g",
        "0c.c4.7a.ff.22.93",
        "0c:c4:7a:ff:22:9g",
        " 0c:c4:7a:ff:22:9",
        "0c:c4:7a:ff:22:93 ",
        "0c:c4:7a:ff::22:9",
        "0x:c4:7a:ff:22:93",
    };
    uint8_t mac[VN_MAC_LEN], keep[VN_MAC_LEN] = { 1, 2, 3, 4, 5, 6 };
    char buf[VN_MAC_STR_LEN];

    assert_int_equal(vn_parse_mac("0C:c4:7A:ff:22:93", mac), 0);
    vn_format_mac(mac, buf);
    assert_string_equal(buf, "0c:c4:7a:ff:22:93");
    assert_int_equal(vn_parse_mac("ff:ff:ff:ff:ff:ff", mac), 0);
    assert_true(vn_mac_to_u64(mac) == UINT64_C(0xffffffffffff));
    /* The vendor checks only the length: dashes and bare hex too. */
    assert_int_equal(vn_parse_mac("0C-c4-7A-ff-22-93", mac), 0);
    assert_true(vn_mac_to_u64(mac) == UINT64_C(0x0cc47aff2293));
    assert_int_equal(vn_parse_mac("0Cc47Aff2293", mac), 0);
    assert_true(vn_mac_to_u64(mac) == UINT64_C(0x0cc47aff2293));
    /* Echoed in the colon form, each digit in its case. */
    assert_int_equal(vn_mac_text("0C-c4-7A-ff-22-93", buf), 0);
    assert_string_equal(buf, "0C:c4:7A:ff:22:93");
    assert_int_equal(vn_mac_text("0CC47AFF2293", buf), 0);
    assert_string_equal(buf, "0C:C4:7A:FF:22:93");
    assert_int_equal(vn_mac_text("0c:c4:7a:ff:22:9", buf), -EINVAL);

    /* Nothing written on error. */
    for (size_t i = 0; i < VN_ARRAY_SIZE(bad); i++) {
        memcpy(mac, keep, sizeof(mac));
        assert_int_equal(vn_parse_mac(bad[i], mac), -EINVAL);
        assert_memory_equal(mac, keep, sizeof(mac));
    }
    assert_int_equal(vn_parse_mac(NULL, mac), -EINVAL);
}

static void test_mac_arithmetic(void **state)
{
    uint8_t mac[VN_MAC_LEN];
    char buf[VN_MAC_STR_LEN];

    assert_int_equal(vn_parse_mac("cc:48:15:ff:00:ff", mac), 0);
    vn_mac_from_u64(vn_mac_to_u64(mac) + 1, mac);
    vn_format_mac(mac, buf);
    assert_string_equal(buf, "cc:48:15:ff:01:00");
}

static void test_strings(void **state)
{
    char buf[4];

    assert_int_equal(vn_strlcpy(buf, "abc", sizeof(buf)), 0);
    assert_string_equal(buf, "abc");
    assert_int_equal(vn_strlcpy(buf, "abcd", sizeof(buf)), -ENAMETOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(vn_snprintf(buf, sizeof(buf), "%d", 123), 0);
    assert_string_equal(buf, "123");
    assert_int_equal(vn_snprintf(buf, sizeof(buf), "%d", 1234), -ENAMETOOLONG);
    assert_string_equal(buf, "");
    assert_true(vn_streq_nocase("Provider", "pROVIDER"));
    assert_false(vn_streq_nocase("provider", "providers"));

    assert_true(vn_is_safe_filename("mlx5_bond_0", 63));
    assert_true(vn_is_safe_filename("a.b-c", 5));
    assert_false(vn_is_safe_filename("a.b-cd", 5));
    assert_false(vn_is_safe_filename("", 63));
    assert_false(vn_is_safe_filename(NULL, 63));
    assert_false(vn_is_safe_filename(".hidden", 63));
    assert_false(vn_is_safe_filename("..", 63));
    assert_false(vn_is_safe_filename("a/b", 63));
    assert_false(vn_is_safe_filename("a b", 63));
}

/* vn_json_check_text(): 0, or the error and the offset of the first bad byte. */
static int check_text(const char *t, size_t *off)
{
    const char *why = NULL;
    int ret = vn_json_check_text(t, strlen(t), off, &why);

    if (ret)
        assert_non_null(why);
    return ret;
}

static void test_check_text(void **state)
{
    size_t off = 99;

    assert_int_equal(check_text("{\"a\":\"plain\"}", &off), 0);
    assert_int_equal(check_text("{\"a\":\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"}", &off), 0);
    assert_int_equal(check_text("{\"a\":\"\\\\u0000\"}", &off), 0);      /* "\\u0000": text */
    assert_int_equal(check_text("{\"a\":\"\\u0001\\\"\"}", &off), 0);     /* other escapes */
    assert_int_equal(check_text("{\n\t\"a\" : 1\r\n}", &off), 0);

    assert_int_equal(check_text("{\"a\":\"x\xffy\"}", &off), -EILSEQ);
    assert_int_equal(off, 7);
    assert_int_equal(check_text("{\"a\":\"\xc0\xaf\"}", &off), -EILSEQ);    /* overlong '/' */
    assert_int_equal(check_text("{\"a\":\"\xe0\x80\xaf\"}", &off), -EILSEQ);
    assert_int_equal(check_text("{\"a\":\"\xf0\x80\x80\xaf\"}", &off), -EILSEQ);
    assert_int_equal(check_text("{\"a\":\"\xed\xa0\x80\"}", &off), -EILSEQ); /* surrogate */
    assert_int_equal(check_text("{\"a\":\"\xf4\x90\x80\x80\"}", &off), -EILSEQ); /* > U+10FFFF */
    assert_int_equal(check_text("{\"a\":\"\xe2\x82\"}", &off), -EILSEQ);   /* truncated */
    assert_int_equal(check_text("{\"a\":\"\x80\"}", &off), -EILSEQ);        /* lone continuation */
    assert_int_equal(check_text("{\"a\":\"x\x01\"}", &off), -EILSEQ);       /* control char */
    assert_int_equal(off, 7);
    assert_int_equal(check_text("{\"a\":\"X\\u0000junk\"}", &off), -EINVAL);
    assert_int_equal(off, 7);
    assert_int_equal(vn_json_check_text("{\"a\":\"X\0\"}", 9, &off, &(const char *){ NULL }),
                     -EINVAL);
}

static void test_duplicate_keys(void **state)
{
    const char *name = NULL;
    char big[8192];
    size_t o = 0;
    cJSON *j;

    j = cJSON_Parse("{\"a\":1,\"b\":{\"c\":[{\"d\":1,\"e\":2}]}}");
    assert_int_equal(vn_json_find_duplicate_key(j, &name), 0);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"method\":\"a\",\"id\":1,\"method\":\"b\"}");
    assert_int_equal(vn_json_find_duplicate_key(j, &name), 1);
    assert_string_equal(name, "method");
    cJSON_Delete(j);
    j = cJSON_Parse("{\"p\":[1,{\"x\":1,\"x\":2}]}");
    assert_int_equal(vn_json_find_duplicate_key(j, &name), 1);
    assert_string_equal(name, "x");
    cJSON_Delete(j);
    /* Many members: the sorted path. */
    o += (size_t)snprintf(big + o, sizeof(big) - o, "{");
    for (int i = 0; i < 500; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "\"k%d\":1,", i);
    snprintf(big + o, sizeof(big) - o, "\"k499x\":1}");
    j = cJSON_Parse(big);
    assert_non_null(j);
    assert_int_equal(vn_json_find_duplicate_key(j, &name), 0);
    cJSON_Delete(j);
    big[o] = '\0';
    snprintf(big + o, sizeof(big) - o, "\"k250\":2}");
    j = cJSON_Parse(big);
    assert_int_equal(vn_json_find_duplicate_key(j, &name), 1);
    assert_string_equal(name, "k250");
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framer_one_value),
        cmocka_unit_test(test_framer_strings),
        cmocka_unit_test(test_framer_split_reads),
        cmocka_unit_test(test_framer_back_to_back),
        cmocka_unit_test(test_framer_whitespace_only),
        cmocka_unit_test(test_framer_too_big),
        cmocka_unit_test(test_framer_too_deep),
        cmocka_unit_test(test_framer_bad_top_level),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_check_text),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_params_ok_and_has_flags),
        cmocka_unit_test(test_params_unknown_member),
        cmocka_unit_test(test_params_duplicate_member),
        cmocka_unit_test(test_params_wrong_type),
        cmocka_unit_test(test_params_range),
        cmocka_unit_test(test_params_missing_required),
        cmocka_unit_test(test_params_not_object),
        cmocka_unit_test(test_params_empty_table),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_parse_i64),
        cmocka_unit_test(test_parse_mac),
        cmocka_unit_test(test_mac_arithmetic),
        cmocka_unit_test(test_strings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
