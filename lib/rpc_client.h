/*
 * rpc_client.h - a small blocking JSON-RPC 2.0 client over a unix socket,
 * for the `virtnet` CLI and tools.  One call: connect, send one request,
 * read one reply (bounded in size, nesting and time), check that it answers
 * the request.  The server side is controller/rpc_server.c; the framing is
 * lib/jsonrpc.h's.
 */
#ifndef VN_RPC_CLIENT_H
#define VN_RPC_CLIENT_H

#include <cjson/cJSON.h>

/* Limits on a reply: bytes of the JSON value, nesting of {} and []. */
#define VN_RPC_CLIENT_MAX_REPLY (64 * 1024 * 1024)
#define VN_RPC_CLIENT_MAX_DEPTH 128

/* The answer to one call: either 'result' or an error. */
struct vn_rpc_response {
    cJSON *result;        /* owned; NULL when the server answered an error */
    int err_code;         /* JSON-RPC error code when result is NULL */
    char *err_message;    /* owned; NULL when result is set */
    cJSON *err_data;      /* owned; the error's "data", or NULL */
};

/*
 * Calls 'method' with 'params' (an object, consumed in all cases; NULL for
 * none) on the server listening at 'sock_path', waiting at most
 * 'timeout_ms' in all (connect, send and receive).
 *
 * Returns 0 with '*resp' filled (a result, or an error the server
 * answered; release it with vn_rpc_response_fini()), or a negative errno
 * when no answer came, '*resp' then untouched: -ENOENT (no such socket),
 * -ECONNREFUSED (nobody listening), -EACCES, -ENAMETOOLONG (path longer
 * than sun_path), -ETIMEDOUT, -ECONNRESET (closed without an answer),
 * -EPROTO (the answer is not JSON, or not a JSON-RPC 2.0 response to this
 * request), -EMSGSIZE (reply over VN_RPC_CLIENT_MAX_REPLY), -ENOMEM.
 */
int vn_rpc_call(const char *sock_path, const char *method, cJSON *params, int timeout_ms,
                struct vn_rpc_response *resp);

/* Frees what a response owns and zeroes it; accepts NULL or a zeroed response. */
void vn_rpc_response_fini(struct vn_rpc_response *resp);

#endif /* VN_RPC_CLIENT_H */
