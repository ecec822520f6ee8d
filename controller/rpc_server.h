/*
 * rpc_server.h - the controller's JSON-RPC 2.0 server on a unix socket.
 *
 * Accepts clients on the libev loop, frames and parses their requests within
 * fixed limits, checks the caller's right to call the method (SO_PEERCRED:
 * mutating methods need root, the controller's own user or the configured
 * group), decodes params through the method's table and calls its handler.
 * A handler answers now or later with vn_rpc_reply_result() or
 * vn_rpc_reply_error(); the request stays valid until it is answered, even if
 * its client has gone away (the answer is then dropped).
 *
 * One method is the server's own: "rpc_get_methods" (read-only, no params)
 * lists every method of the registry and itself, with its summary, whether
 * it is mutating and which params make it so, so tools and tests can walk
 * the table instead of copying it.
 *
 * Malformed input gets an error reply; input that breaks framing (too big,
 * too deep, not JSON) gets an error reply and the connection is closed.
 * Nothing a client sends can affect another client: what one may make the
 * controller hold is bounded (struct vn_rpc_limits), idle clients are closed,
 * and a few connection slots are kept for privileged callers.
 *
 * Everything here runs on the thread of the loop given at creation.
 */
#ifndef VN_RPC_SERVER_H
#define VN_RPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "rpc_params.h"

struct vn_rpc_server;
struct vn_rpc_request;

/*
 * A method handler.  'params' is the decoded struct (zeroed, then filled by
 * the table), valid only during the call: copy what an asynchronous handler
 * needs later.  The handler must answer 'req' exactly once, now or later.
 */
typedef void vn_rpc_handler_fn(void *ctx, struct vn_rpc_request *req, void *params);

enum vn_rpc_method_flags {
    VN_RPC_MUTATING = 1 << 0,   /* needs a privileged caller */
};

struct vn_rpc_method {
    const char *name;
    const char *summary;              /* one line, shown by tools */
    unsigned flags;                   /* enum vn_rpc_method_flags */
    const char *const *mutating_params; /* NULL, or NULL-terminated names of params that make
                                           a call of a read-only method change the controller
                                           (`log -l`, `update -s`): when one is present the
                                           server asks for a privileged caller, as for
                                           VN_RPC_MUTATING */
    const struct vn_rpc_param *params;
    size_t n_params;
    size_t params_size;               /* sizeof the handler's params struct */
    vn_rpc_handler_fn *handler;
    /*
     * For a method that addresses one device: the device states it accepts
     * (a mask of bits 1 << state, see vn_rpc_request_accepts()); 0 = any.
     */
    unsigned states;
};

/*
 * What one client, and all of them together, may make the controller hold.
 * "Unsent" bytes are replies queued for a client and not yet written to its
 * socket, plus the replies of its batches not yet complete.  The figures, and
 * what they cost under a flood, are in docs/reliability.md.
 */
struct vn_rpc_limits {
    size_t max_request;        /* bytes in one request (or batch) */
    unsigned max_depth;        /* JSON nesting */
    unsigned max_clients;      /* connected at once */
    unsigned reserved_clients; /* of max_clients, kept for privileged callers */
    unsigned idle_timeout_s;   /* a client with no request running that moves no byte
                                * either way this long is closed; 0: never */
    unsigned max_pending;      /* unanswered requests per client before reading pauses */
    size_t max_unsent;         /* a client's unsent bytes before reading it pauses; the
                                * members of a batch past it are answered -32004, not run */
    size_t max_unsent_hard;    /* a client's unsent bytes before it is dropped; above the
                                * largest single reply (query of every device) */
    size_t max_unsent_total;   /* all clients' unsent bytes: past it the client holding
                                * the most is dropped */
    unsigned max_batch;        /* requests in one batch */
};

#define VN_RPC_LIMITS_DEFAULT                                                  \
    {                                                                          \
        .max_request = 1024 * 1024, .max_depth = 64, .max_clients = 128,       \
        .reserved_clients = 8, .idle_timeout_s = 60,                           \
        .max_pending = 32, .max_unsent = 256 * 1024,                           \
        .max_unsent_hard = 16 * 1024 * 1024,                                   \
        .max_unsent_total = 64 * 1024 * 1024, .max_batch = 64,                 \
    }

struct vn_rpc_stats {
    uint64_t requests;          /* requests dispatched */
    uint64_t errors;            /* error replies sent */
    uint64_t clients_accepted;
    uint64_t clients_rejected;  /* over max_clients (or the unreserved part of it) */
    uint64_t clients_idle;      /* closed after idle_timeout_s */
    uint64_t clients_dropped;   /* closed for holding too many unsent reply bytes */
    unsigned clients;           /* connected now */
};

struct vn_rpc_server_cfg {
    const char *path;                  /* socket path */
    const char *group;                 /* group allowed to mutate, or NULL/"" */
    const struct vn_rpc_method *const *methods; /* the registry (rpc_methods.c) */
    size_t n_methods;
    void *ctx;                         /* passed to handlers */
    struct vn_rpc_limits limits;
    int inherited_fd;                  /* a listening socket to adopt, or -1 */
};

/* Overrides 'limits.idle_timeout_s' when set (seconds, 0 = never): for tests and tuning. */
#define VN_RPC_IDLE_TIMEOUT_ENV "VIRTNET_RPC_IDLE_TIMEOUT"

/*
 * Creates the socket (mode 0660, group 'cfg->group' when set) and starts
 * accepting.  A stale socket file is replaced; one a live server answers on is
 * not (-EADDRINUSE).  Returns 0 and '*out', or a negative errno (logged).
 */
int vn_rpc_server_create(struct ev_loop *loop, const struct vn_rpc_server_cfg *cfg,
                         struct vn_rpc_server **out);

/*
 * Runtime changes (config reload): the idle timeout for clients from now on
 * (seconds, 0 = never; VN_RPC_IDLE_TIMEOUT_ENV still wins), and the group
 * allowed to mutate ("" = none), which also becomes the socket file's group.
 * Each returns 0 or a negative errno with a reason in 'err'; on failure
 * nothing changed.
 */
int vn_rpc_server_set_idle_timeout(struct vn_rpc_server *srv, unsigned seconds);
int vn_rpc_server_set_group(struct vn_rpc_server *srv, const char *group, char *err,
                            size_t errlen);

/* Closes every client and the socket, removes the socket file. Accepts NULL. */
void vn_rpc_server_destroy(struct vn_rpc_server *srv);

/* The listening socket (live update hands it over). */
int vn_rpc_server_fd(const struct vn_rpc_server *srv);

/* Live update committed: stop accepting; destroy will leave the socket file to the new process. */
void vn_rpc_server_release(struct vn_rpc_server *srv);

/* Counters, for `virtnet health`. */
const struct vn_rpc_stats *vn_rpc_server_stats(const struct vn_rpc_server *srv);

/* Reply bytes held for all clients now (see struct vn_rpc_limits). */
size_t vn_rpc_server_unsent(const struct vn_rpc_server *srv);

/* Answers 'req' with 'result' (consumed; NULL means {}).  Frees 'req'. */
void vn_rpc_reply_result(struct vn_rpc_request *req, cJSON *result);

/* Answers 'req' with an error.  Frees 'req'. */
void vn_rpc_reply_error(struct vn_rpc_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers with the RPC error for a negative errno and a message. Frees 'req'. */
void vn_rpc_reply_errno(struct vn_rpc_request *req, int neg_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when the caller may call mutating methods. */
bool vn_rpc_request_privileged(const struct vn_rpc_request *req);

/* The method name of 'req' (for logs). */
const char *vn_rpc_request_method(const struct vn_rpc_request *req);

/* True when the method of 'req' accepts a device in 'state' (its 'states' mask). */
bool vn_rpc_request_accepts(const struct vn_rpc_request *req, unsigned state);

#endif /* VN_RPC_SERVER_H */
