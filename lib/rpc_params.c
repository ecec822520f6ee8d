/*
 * rpc_params.c - table-driven JSON-RPC params decoding; see rpc_params.h.
 */
#include <config.h>

#include "rpc_params.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static const char *type_name(enum vn_rpc_ptype t)
{
    switch (t) {
    case VN_RPC_T_STRING:
        return "a string";
    case VN_RPC_T_BOOL:
        return "a boolean";
    case VN_RPC_T_U32:
    case VN_RPC_T_I64:
        return "an integer";
    case VN_RPC_T_U64:
        return "an integer or a hex string";
    case VN_RPC_T_JSON:
        return "a JSON value";
    }
    return "?";
}

static int decode_one(const struct vn_rpc_param *p, const cJSON *v, void *out, char *err,
                      size_t errlen)
{
    char *field = (char *)out + p->offset;
    double d;

    switch (p->type) {
    case VN_RPC_T_STRING:
        if (!cJSON_IsString(v))
            goto bad_type;
        *(const char **)(void *)field = v->valuestring;
        return 0;
    case VN_RPC_T_BOOL:
        if (!cJSON_IsBool(v))
            goto bad_type;
        *(bool *)(void *)field = cJSON_IsTrue(v);
        return 0;
    case VN_RPC_T_U32:
        if (vn_json_get_whole(v, &d) < 0)
            goto bad_type;
        if (d < (double)p->min || d > (double)p->max)
            goto bad_range;
        *(uint32_t *)(void *)field = (uint32_t)d;
        return 0;
    case VN_RPC_T_I64:
        if (vn_json_get_whole(v, &d) < 0)
            goto bad_type;
        if (d < (double)(int64_t)p->min || d > (double)(int64_t)p->max)
            goto bad_range;
        *(int64_t *)(void *)field = (int64_t)d;
        return 0;
    case VN_RPC_T_U64: {
        uint64_t u;
        int ret = vn_json_get_u64(v, &u);

        if (ret == -EINVAL)
            goto bad_type;
        if (ret < 0 || u < p->min || u > p->max)
            goto bad_range;
        *(uint64_t *)(void *)field = u;
        return 0;
    }
    case VN_RPC_T_JSON:
        *(const cJSON **)(void *)field = v;
        return 0;
    }
bad_type:
    snprintf(err, errlen, "parameter '%s' must be %s", p->name, type_name(p->type));
    return -EINVAL;
bad_range:
    if (p->type == VN_RPC_T_I64)
        snprintf(err, errlen, "parameter '%s' out of range [%" PRId64 ", %" PRId64 "]", p->name,
                 (int64_t)p->min, (int64_t)p->max);
    else
        snprintf(err, errlen, "parameter '%s' out of range [%" PRIu64 ", %" PRIu64 "]", p->name,
                 p->min, p->max);
    return -EINVAL;
}

int vn_rpc_decode_params(const cJSON *params, const struct vn_rpc_param *table, size_t n,
                         void *out, char *err, size_t errlen)
{
    const cJSON *item;

    if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params)) {
        snprintf(err, errlen, "params must be an object with named members");
        return -EINVAL;
    }
    /* Every member given must be known, and given once. */
    cJSON_ArrayForEach(item, params) {
        size_t i;

        for (i = 0; i < n; i++)
            if (!strcmp(item->string, table[i].name))
                break;
        if (i == n) {
            snprintf(err, errlen, "unknown parameter '%s'", item->string);
            return -EINVAL;
        }
        for (const cJSON *prev = params->child; prev != item; prev = prev->next) {
            if (!strcmp(prev->string, item->string)) {
                snprintf(err, errlen, "parameter '%s' given twice", item->string);
                return -EINVAL;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct vn_rpc_param *p = &table[i];

        item = params ? cJSON_GetObjectItemCaseSensitive(params, p->name) : NULL;
        if (!item) {
            if (p->required) {
                snprintf(err, errlen, "missing required parameter '%s'", p->name);
                return -EINVAL;
            }
            continue;
        }
        if (decode_one(p, item, out, err, errlen) < 0)
            return -EINVAL;
        if (p->has_offset != VN_RPC_NO_HAS)
            *(bool *)(void *)((char *)out + p->has_offset) = true;
    }
    return 0;
}
