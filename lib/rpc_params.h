/*
 * rpc_params.h - table-driven decoding of JSON-RPC "params" into a C struct.
 *
 * Each method declares a table of {name, type, offset, required, range} and
 * one call decodes the request's params object into the method's struct:
 * unknown members, wrong types, out-of-range numbers and missing required
 * members are rejected with a message naming the member.  Strings are
 * borrowed from the cJSON tree (valid while the request is).
 */
#ifndef VN_RPC_PARAMS_H
#define VN_RPC_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum vn_rpc_ptype {
    VN_RPC_T_STRING,   /* const char *  */
    VN_RPC_T_BOOL,     /* bool          */
    VN_RPC_T_U32,      /* uint32_t, JSON integer within [min, max] */
    VN_RPC_T_I64,      /* int64_t, JSON integer within [(int64)min, (int64)max] */
    VN_RPC_T_U64,      /* uint64_t from a JSON integer or a "0x.."/decimal string (feature masks) */
    VN_RPC_T_JSON,     /* const cJSON *: any value, borrowed */
};

struct vn_rpc_param {
    const char *name;
    enum vn_rpc_ptype type;
    size_t offset;        /* of the value in the method's struct */
    size_t has_offset;    /* of a bool set when present, or VN_RPC_NO_HAS */
    bool required;
    uint64_t min, max;    /* numeric range (U32, I64 as signed, U64) */
};

#define VN_RPC_NO_HAS ((size_t)-1)

/* Table entries.  S is the params struct type, F the member. */
#define VN_RPC_REQ(S, F, T, MIN, MAX) \
    { #F, T, offsetof(S, F), VN_RPC_NO_HAS, true, (uint64_t)(MIN), (uint64_t)(MAX) }
#define VN_RPC_OPT(S, F, T, MIN, MAX) \
    { #F, T, offsetof(S, F), offsetof(S, has_##F), false, (uint64_t)(MIN), (uint64_t)(MAX) }
#define VN_RPC_REQ_STR(S, F) VN_RPC_REQ(S, F, VN_RPC_T_STRING, 0, 0)
#define VN_RPC_OPT_STR(S, F) VN_RPC_OPT(S, F, VN_RPC_T_STRING, 0, 0)
#define VN_RPC_OPT_BOOL(S, F) VN_RPC_OPT(S, F, VN_RPC_T_BOOL, 0, 1)

/*
 * Decodes 'params' (an object, or NULL/absent meaning {}) into 'out' using
 * 'table' of 'n' entries.  'out' must be zeroed by the caller.  Returns 0, or
 * -EINVAL with a message naming the offending member in 'err'.  Positional
 * (array) params are rejected.
 */
int vn_rpc_decode_params(const cJSON *params, const struct vn_rpc_param *table, size_t n,
                         void *out, char *err, size_t errlen);

#endif /* VN_RPC_PARAMS_H */
