/*
 * jsonrpc.c - JSON-RPC 2.0 framing and message builders; see jsonrpc.h.
 */
#include <config.h>

#include "jsonrpc.h"

#include <errno.h>
#include <string.h>

#include "json.h"

const char *vn_rpc_error_message(int code)
{
    switch (code) {
#define VN_RPC_ERR_MSG(e, c, m) \
    case c:                     \
        return m;
        VN_RPC_ERRORS(VN_RPC_ERR_MSG)
#undef VN_RPC_ERR_MSG
    default:
        return "Server error";
    }
}

int vn_rpc_error_from_errno(int neg_errno)
{
    switch (-neg_errno) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return VN_RPC_ERR_NOT_FOUND;
    case EBUSY:
    case EAGAIN:
        return VN_RPC_ERR_BUSY;
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case EDQUOT:
        return VN_RPC_ERR_LIMIT;
    case EINVAL:
    case ERANGE:
        return VN_RPC_ERR_INVALID_PARAMS;
    case EPERM:
    case EACCES:
        return VN_RPC_ERR_PERMISSION;
    case EOPNOTSUPP:
        return VN_RPC_ERR_UNSUPPORTED;
    case ENOSYS:
        return VN_RPC_ERR_NOT_IMPLEMENTED;
    case EALREADY:
    case EEXIST:
    case EINPROGRESS:
        return VN_RPC_ERR_INVALID_STATE;
    case EIO:
        return VN_RPC_ERR_IO;
    default:
        return VN_RPC_ERR_INTERNAL;
    }
}

void vn_json_framer_init(struct vn_json_framer *f, size_t max_size, unsigned max_depth)
{
    *f = (struct vn_json_framer){ .max_size = max_size, .max_depth = max_depth };
}

static void framer_reset(struct vn_json_framer *f)
{
    vn_json_framer_init(f, f->max_size, f->max_depth);
}

enum vn_frame_result vn_json_framer_scan(struct vn_json_framer *f, const char *buf, size_t len,
                                         size_t *val_off, size_t *val_len, size_t *consumed)
{
    *consumed = 0;
    for (size_t i = f->pos; i < len; i++) {
        char c = buf[i];

        if (!f->started) {
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                continue;
            if (c != '{' && c != '[')
                return VN_FRAME_BAD;
            f->started = true;
            f->start = i;
            f->depth = 1;
            continue;
        }
        if (i - f->start + 1 > f->max_size)
            return VN_FRAME_TOO_BIG;
        if (f->in_str) {
            if (f->esc)
                f->esc = false;
            else if (c == '\\')
                f->esc = true;
            else if (c == '"')
                f->in_str = false;
            continue;
        }
        switch (c) {
        case '"':
            f->in_str = true;
            break;
        case '{':
        case '[':
            if (++f->depth > f->max_depth)
                return VN_FRAME_TOO_DEEP;
            break;
        case '}':
        case ']':
            if (--f->depth == 0) {
                *val_off = f->start;
                *val_len = i - f->start + 1;
                *consumed = i + 1;
                framer_reset(f);
                return VN_FRAME_OK;
            }
            break;
        default:
            break;
        }
    }
    f->pos = len;
    if (!f->started) {
        /* Only whitespace so far: the caller drops it. */
        *consumed = len;
        f->pos = 0;
    } else if (len - f->start > f->max_size) {
        return VN_FRAME_TOO_BIG;
    }
    return VN_FRAME_NEED_MORE;
}

/* Length of the UTF-8 sequence at 't' (at most 'n' bytes), or 0 when it is not well-formed. */
static size_t utf8_seq_len(const unsigned char *t, size_t n)
{
    unsigned char c = t[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0; /* a continuation byte, an overlong lead (C0, C1) or past U+10FFFF (F5..FF) */
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* past U+10FFFF */
    if (n < len || t[1] < lo || t[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (t[i] < 0x80 || t[i] > 0xbf)
            return 0;
    return len;
}

int vn_json_check_text(const char *text, size_t len, size_t *bad_off, const char **why)
{
    const unsigned char *t = (const unsigned char *)text;
    bool in_str = false;

    for (size_t i = 0; i < len;) {
        size_t n;

        if (t[i] < 0x20) {
            if (in_str || (t[i] != ' ' && t[i] != '\t' && t[i] != '\n' && t[i] != '\r')) {
                *bad_off = i;
                *why = t[i] ? "a control character not escaped" : "a NUL byte";
                return t[i] ? -EILSEQ : -EINVAL;
            }
            i++;
            continue;
        }
        if (in_str && t[i] == '\\') {
            if (i + 1 < len && t[i + 1] == 'u' && i + 5 < len && !memcmp(t + i + 2, "0000", 4)) {
                *bad_off = i;
                *why = "a NUL character (\\u0000) in a string";
                return -EINVAL;
            }
            i += 2; /* the escaped character is ASCII or cJSON refuses it */
            continue;
        }
        if (t[i] == '"')
            in_str = !in_str;
        n = utf8_seq_len(t + i, len - i);
        if (!n) {
            *bad_off = i;
            *why = "invalid UTF-8";
            return -EILSEQ;
        }
        i += n;
    }
    return 0;
}

static cJSON *make_envelope(const cJSON *id)
{
    cJSON *msg = cJSON_CreateObject();

    vn_json_add_str(msg, "jsonrpc", "2.0");
    vn_json_add(msg, "id", id ? cJSON_Duplicate(id, true) : cJSON_CreateNull());
    return msg;
}

cJSON *vn_rpc_make_result(const cJSON *id, cJSON *result)
{
    cJSON *msg = make_envelope(id);

    if (vn_json_add(msg, "result", result ? result : cJSON_CreateObject()) < 0) {
        cJSON_Delete(msg);
        return NULL;
    }
    return msg;
}

cJSON *vn_rpc_make_error(const cJSON *id, int code, const char *message, cJSON *data)
{
    cJSON *msg = make_envelope(id);
    cJSON *err = cJSON_CreateObject();

    vn_json_add_num(err, "code", code);
    vn_json_add_str(err, "message", message ? message : vn_rpc_error_message(code));
    if (data)
        vn_json_add(err, "data", data);
    if (vn_json_add(msg, "error", err) < 0) {
        cJSON_Delete(msg);
        return NULL;
    }
    return msg;
}

cJSON *vn_rpc_make_request(const char *method, cJSON *params, int id)
{
    cJSON *msg = cJSON_CreateObject();

    vn_json_add_str(msg, "jsonrpc", "2.0");
    vn_json_add_str(msg, "method", method);
    if (params)
        vn_json_add(msg, "params", params);
    vn_json_add_num(msg, "id", id);
    return msg;
}
