/*
 * rpc_client.h - a small blocking JSON-RPC 2.0 client over a unix socket,
 * for the `virtnet` CLI and tools.  One call: connect, send one request,
 * read one reply (bounded in size and time), check its id.
 */
#ifndef VN_RPC_CLIENT_H
#define VN_RPC_CLIENT_H

#include <cjson/cJSON.h>

#define VN_RPC_CLIENT_MAX_REPLY (64 * 1024 * 1024)
#define VN_RPC_CLIENT_MAX_DEPTH 128

/* The answer to one call: either 'result' or an error. */
struct vn_rpc_response {
    cJSON *result;        /* owned; NULL when the server answered an error */
    int err_code;         /* JSON-RPC error code when result is NULL */
    char *err_message;    /* owned; NULL when result is set */
    cJSON *err_data;      /* owned; may be NULL */
};

/*
 * Calls 'method' with 'params' (consumed in all cases; NULL for none) on the
 * server at 'sock_path', waiting at most 'timeout_ms' in all.  Returns 0 with
 * '*resp' filled (a result or a server-side error), or a negative errno when
 * no answer came: -ENOENT (no socket), -ECONNREFUSED (nobody listening),
 * -EACCES, -ENAMETOOLONG (path), -ETIMEDOUT, -ECONNRESET (closed without an
 * answer), -EPROTO (an answer that is not a JSON-RPC response to this call),
 * -EMSGSIZE (answer too big), -ENOMEM.
 */
int vn_rpc_call(const char *sock_path, const char *method, cJSON *params, int timeout_ms,
                struct vn_rpc_response *resp);

/* Frees what a response owns; accepts a zeroed or already-freed one. */
void vn_rpc_response_fini(struct vn_rpc_response *resp);

#endif /* VN_RPC_CLIENT_H */
