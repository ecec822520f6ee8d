/*
 * rpc_methods.h - the controller's JSON-RPC methods: one per `virtnet`
 * sub-command (docs/rpc.md).  Each handler has the shape decode (by its
 * params table, done by the server) -> validate -> act -> reply.
 */
#ifndef VN_RPC_METHODS_H
#define VN_RPC_METHODS_H

#include <stddef.h>

#include "rpc_server.h"

extern const struct vn_rpc_method vn_rpc_methods[];
extern const size_t vn_rpc_n_methods;

#endif /* VN_RPC_METHODS_H */
