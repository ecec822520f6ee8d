/*
 * fuzz_rpc.c - libFuzzer target: JSON-RPC request handling up to the handler:
 * the stream framer (split at every point the input says), cJSON, and the
 * table-driven params decoder with a table shaped like hotplug's.
 */
#include <config.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonrpc.h"
#include "rpc_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct p {
    const char *ib_device;
    const char *mac;
    uint32_t mtu;
    uint64_t features;
    bool has_features;
    bool legacy;
    bool has_legacy;
    int64_t i;
    bool has_i;
    const cJSON *args;
    bool has_args;
};

static const struct vn_rpc_param table[] = {
    VN_RPC_REQ_STR(struct p, ib_device),
    VN_RPC_REQ_STR(struct p, mac),
    VN_RPC_REQ(struct p, mtu, VN_RPC_T_U32, 68, 9216),
    VN_RPC_OPT(struct p, features, VN_RPC_T_U64, 0, UINT64_MAX),
    VN_RPC_OPT_BOOL(struct p, legacy),
    VN_RPC_OPT(struct p, i, VN_RPC_T_I64, -5, 5),
    VN_RPC_OPT(struct p, args, VN_RPC_T_JSON, 0, 0),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vn_json_framer f;
    const char *buf = (const char *)data;
    size_t len = 0, off, vlen, consumed, base = 0;

    vn_json_framer_init(&f, 4096, 16);
    /* Feed the stream one byte more at a time, as reads might deliver it. */
    while (base + len < size) {
        enum vn_frame_result r;

        len++;
        r = vn_json_framer_scan(&f, buf + base, len, &off, &vlen, &consumed);
        if (r < 0)
            break;
        if (r == VN_FRAME_OK) {
            cJSON *msg = cJSON_ParseWithLength(buf + base + off, vlen);
            const cJSON *params = msg ? cJSON_GetObjectItemCaseSensitive(msg, "params") : NULL;
            struct p out;
            char err[256];

            memset(&out, 0, sizeof(out));
            vn_rpc_decode_params(params, table, sizeof(table) / sizeof(table[0]), &out, err,
                                 sizeof(err));
            cJSON_Delete(msg);
        }
        base += consumed;
        len -= consumed;
    }
    return 0;
}
