/*
 * jsonrpc.h - JSON-RPC 2.0 framing and messages over a byte stream.
 *
 * Messages on the controller's unix socket are JSON values sent back to back
 * (a newline between them is allowed, not required), so `socat` or any
 * JSON-RPC client can talk to it.  vn_json_framer finds where one value ends
 * without parsing it, enforcing the size and nesting limits before cJSON ever
 * sees the bytes.
 *
 * Error codes: the standard JSON-RPC ones plus ours in -32000..-32099.
 */
#ifndef VN_JSONRPC_H
#define VN_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* X(enum suffix, code, default message) */
#define VN_RPC_ERRORS(X)                                            \
    X(PARSE, -32700, "Parse error")                                 \
    X(INVALID_REQUEST, -32600, "Invalid Request")                   \
    X(METHOD_NOT_FOUND, -32601, "Method not found")                 \
    X(INVALID_PARAMS, -32602, "Invalid params")                     \
    X(INTERNAL, -32603, "Internal error")                           \
    X(NOT_FOUND, -32001, "Not found")                               \
    X(INVALID_STATE, -32002, "Invalid state")                       \
    X(BUSY, -32003, "Busy")                                         \
    X(LIMIT, -32004, "Limit reached")                               \
    X(NOT_IMPLEMENTED, -32005, "Not implemented yet")               \
    X(PERMISSION, -32006, "Permission denied")                      \
    X(IO, -32007, "I/O error")                                      \
    X(UNSUPPORTED, -32008, "Not supported")

enum vn_rpc_error {
#define VN_RPC_ERR_ENUM(e, c, m) VN_RPC_ERR_##e = c,
    VN_RPC_ERRORS(VN_RPC_ERR_ENUM)
#undef VN_RPC_ERR_ENUM
};

/* The standard message of a code, "Server error" for one we do not know. */
const char *vn_rpc_error_message(int code);

/*
 * Maps a negative errno from the core to an RPC error code (ENOENT/ENODEV ->
 * NOT_FOUND, EBUSY -> BUSY, ENOSPC -> LIMIT, EINVAL/ERANGE -> INVALID_PARAMS,
 * EPERM/EACCES -> PERMISSION, EOPNOTSUPP -> UNSUPPORTED, ENOSYS ->
 * NOT_IMPLEMENTED, EALREADY/EEXIST -> INVALID_STATE, else INTERNAL).
 */
int vn_rpc_error_from_errno(int neg_errno);

/* Incremental scanner for the end of one JSON value in a stream. */
struct vn_json_framer {
    size_t max_size;     /* a value longer than this is an error */
    unsigned max_depth;  /* deeper nesting of {} / [] is an error */
    /* Scan state, private. */
    size_t pos;          /* bytes of the buffer already scanned */
    size_t start;        /* offset of the value's first byte, valid when 'started' */
    unsigned depth;
    bool started, in_str, esc;
};

enum vn_frame_result {
    VN_FRAME_NEED_MORE = 0,   /* no complete value yet */
    VN_FRAME_OK = 1,          /* one value found */
    VN_FRAME_TOO_BIG = -1,    /* value exceeds max_size */
    VN_FRAME_TOO_DEEP = -2,   /* nesting exceeds max_depth */
    VN_FRAME_BAD = -3,        /* not an object or array at the top level */
};

void vn_json_framer_init(struct vn_json_framer *f, size_t max_size, unsigned max_depth);

/*
 * Scans 'buf' (all 'len' bytes received so far, starting at the same offset
 * as in earlier calls).  On VN_FRAME_OK, '*val_off'/'*val_len' give the value
 * and the framer is reset for the next value.  On every result '*consumed'
 * says how many leading bytes of 'buf' the caller must drop (the value and
 * whitespace before it; whitespace alone is consumed too).
 */
enum vn_frame_result vn_json_framer_scan(struct vn_json_framer *f, const char *buf, size_t len,
                                         size_t *val_off, size_t *val_len, size_t *consumed);

/*
 * Checks the bytes of one framed JSON value before it is parsed: well-formed
 * UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF),
 * no unescaped control character in a string, and no NUL in a string, raw or
 * escaped as \u0000 (a C string would end there).  Returns 0, or -EILSEQ
 * (not valid JSON text) or -EINVAL (a NUL) with '*bad_off' the offset of the
 * offending byte and '*why' a static description that quotes no input.
 */
int vn_json_check_text(const char *text, size_t len, size_t *bad_off, const char **why);

/* Builds {"jsonrpc":"2.0","id":<copy of id or null>,"result":<result>}; consumes 'result'. */
cJSON *vn_rpc_make_result(const cJSON *id, cJSON *result);

/* Builds an error response; 'data' (may be NULL) is consumed. */
cJSON *vn_rpc_make_error(const cJSON *id, int code, const char *message, cJSON *data);

/* Builds a request; 'params' (may be NULL) is consumed. */
cJSON *vn_rpc_make_request(const char *method, cJSON *params, int id);

#endif /* VN_JSONRPC_H */
