/*
 * rpc_methods.h - the controller's JSON-RPC methods: one per `virtnet`
 * sub-command (docs/rpc.md).  Each handler has the shape decode (by its
 * params table, done by the server) -> validate -> act -> reply.
 */
#ifndef VN_RPC_METHODS_H
#define VN_RPC_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#include "rpc_server.h"

/* The registry: every method, in the order `virtnet -h` lists them. */
extern const struct vn_rpc_method *const vn_rpc_methods[];
extern const size_t vn_rpc_n_methods;

/* Defines method NAME as vn_rpc_method_NAME with its params struct and table. */
#define VN_RPC_METHOD(NAME, SUMMARY, FLAGS, PTYPE, PTABLE, HANDLER)                          \
    const struct vn_rpc_method vn_rpc_method_##NAME = {                                      \
        .name = #NAME, .summary = SUMMARY, .flags = FLAGS, .params = PTABLE,                 \
        .n_params = VN_ARRAY_SIZE(PTABLE), .params_size = sizeof(PTYPE), .handler = HANDLER, \
    }
/* A method that addresses one device, in the device states STATES (a VN_DEV_S_MASK). */
#define VN_RPC_DEVICE_METHOD(NAME, SUMMARY, FLAGS, STATES, PTYPE, PTABLE, HANDLER)           \
    const struct vn_rpc_method vn_rpc_method_##NAME = {                                      \
        .name = #NAME, .summary = SUMMARY, .flags = FLAGS, .params = PTABLE,                 \
        .n_params = VN_ARRAY_SIZE(PTABLE), .params_size = sizeof(PTYPE), .handler = HANDLER, \
        .states = STATES,                                                                    \
    }
/* As VN_RPC_METHOD, for a read-only method that some params make mutating
   (NULL-terminated list MPARAMS, vn_rpc_method.mutating_params). */
#define VN_RPC_METHOD_MUTATING_WITH(NAME, SUMMARY, MPARAMS, PTYPE, PTABLE, HANDLER)          \
    const struct vn_rpc_method vn_rpc_method_##NAME = {                                      \
        .name = #NAME, .summary = SUMMARY, .flags = 0, .mutating_params = MPARAMS,           \
        .params = PTABLE, .n_params = VN_ARRAY_SIZE(PTABLE), .params_size = sizeof(PTYPE),   \
        .handler = HANDLER,                                                                  \
    }
#define VN_RPC_METHOD_NOPARAMS(NAME, SUMMARY, FLAGS, HANDLER)                                \
    const struct vn_rpc_method vn_rpc_method_##NAME = {                                      \
        .name = #NAME, .summary = SUMMARY, .flags = FLAGS, .params = NULL, .n_params = 0,    \
        .params_size = 1, .handler = HANDLER,                                                \
    }

/* Common device selector: -p PF [-v VF] | -u VUID. */
#define VN_SELECTOR_FIELDS \
    uint32_t pf;           \
    bool has_pf;           \
    uint32_t vf;           \
    bool has_vf;           \
    const char *vuid;      \
    bool has_vuid
#define VN_SELECTOR_PARAMS(S)                       \
    VN_RPC_OPT(S, pf, VN_RPC_T_U32, 0, UINT32_MAX), \
    VN_RPC_OPT(S, vf, VN_RPC_T_U32, 0, UINT32_MAX), VN_RPC_OPT_STR(S, vuid)

/* rpc_methods.c: controller-wide methods. */
extern const struct vn_rpc_method vn_rpc_method_log, vn_rpc_method_version,
    vn_rpc_method_restart, vn_rpc_method_validate, vn_rpc_method_update, vn_rpc_method_health,
    vn_rpc_method_stats;
/* metrics.c: the Prometheus text exposition. */
extern const struct vn_rpc_method vn_rpc_method_metrics;
/* rpc_device.c: devices. */
extern const struct vn_rpc_method vn_rpc_method_hotplug, vn_rpc_method_unplug,
    vn_rpc_method_list, vn_rpc_method_query, vn_rpc_method_modify, vn_rpc_method_debug;

/*
 * The results of `health`, `list` and `stats`, for the methods and for
 * whoever shows the same data another way (metrics.c).  Main loop only; the
 * caller owns the object returned.  'queue' < 0: every queue.
 */
struct vn_ctl;
struct vn_device;
struct cJSON;
struct cJSON *vn_rpc_health_json(struct vn_ctl *ctl);
struct cJSON *vn_rpc_list_json(struct vn_ctl *ctl);
struct cJSON *vn_rpc_stats_json(struct vn_device *dev, int64_t queue);

#endif /* VN_RPC_METHODS_H */
