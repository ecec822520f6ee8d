/*
 * rpc_server.c - JSON-RPC 2.0 over a unix socket; see rpc_server.h.
 *
 * One vn_rpc_client per connection owns its fd, its input buffer and framer,
 * and its queue of unsent output.  Requests are answered through
 * vn_rpc_request objects that may outlive the connection: a client that
 * disconnects with requests in flight is only marked gone and freed when
 * the last of them is answered.
 *
 * Over 800 lines on purpose: the resource limits (unsent bytes per client
 * and in total, pending requests, reserved slots, idle timer) are one
 * accounting that input, output, dispatch and batches all update; kept in
 * one file, the invariants are checked in one place.
 */
#include <config.h>

#include "rpc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "jsonrpc.h"
#include "log.h"
#include "util.h"

#define READ_CHUNK (64 * 1024)
#define OUT_KEEP (64 * 1024)   /* output buffer kept allocated once drained */

struct vn_rpc_client {
    struct vn_rpc_server *srv;
    struct vn_rpc_client *prev, *next;   /* in srv->clients while connected */
    int fd;                              /* -1 once closed */
    ev_io rd, wr;
    ev_timer idle;                       /* restarted by every byte moved */
    uint64_t serial;                     /* for logs */
    pid_t pid;
    uid_t uid;
    bool privileged;
    bool eof;                            /* no more input: peer closed its side, or framing broke */
    bool dead;                           /* no more output possible: write error, reply overflow */
    bool in_dispatch;                    /* client_process_input() is on the stack */
    unsigned pending;                    /* unanswered requests (incl. batch members) */
    size_t batch_bytes;                  /* reply text of this client's open batches */

    char *in;                            /* received, not yet framed */
    size_t in_len, in_cap;
    struct vn_json_framer framer;

    char *out;                           /* replies not yet written */
    size_t out_len, out_off, out_cap;
};

/*
 * A batch collects the answers of its members, as text, and is sent as one
 * array when the last one is in.  Its text counts towards the client's unsent
 * bytes (client_held()).
 */
struct vn_rpc_batch {
    char *text;                          /* "[resp,resp,..." */
    size_t len, cap;
    unsigned outstanding;
};

struct vn_rpc_request {
    struct vn_rpc_client *client;
    struct vn_rpc_batch *batch;          /* NULL for a single request */
    cJSON *id;                           /* copy; NULL for a notification */
    char method[64];
    const struct vn_rpc_method *def;     /* the method called, once found */
};

struct vn_rpc_server {
    struct ev_loop *loop;
    int fd;
    ev_io accept_io;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    bool has_group;
    gid_t group;
    const struct vn_rpc_method *const *methods;
    size_t n_methods;
    void *ctx;
    struct vn_rpc_limits limits;
    struct vn_rpc_client *clients;
    uint64_t next_serial;
    struct vn_rpc_stats stats;
    bool released;             /* live update: the socket is the new controller's */
};

static void client_update_watchers(struct vn_rpc_client *c);
static void client_maybe_free(struct vn_rpc_client *c);

/*
 * Reply bytes the controller holds for 'c': queued and not yet written, plus
 * the text of its batches not yet complete.  0 once it is dropped.
 */
static size_t client_held(const struct vn_rpc_client *c)
{
    if (c->fd < 0 || c->dead)
        return 0;
    return c->out_len - c->out_off + c->batch_bytes;
}

/* The sum of client_held() over every connected client. */
static size_t server_held(const struct vn_rpc_server *srv)
{
    size_t total = 0;

    for (const struct vn_rpc_client *c = srv->clients; c; c = c->next)
        total += client_held(c);
    return total;
}

/*
 * Drops 'c': it gets no more output; the caller, which has 'c' on its stack,
 * closes it with client_maybe_free() as it returns.  'why' is logged
 * (rate-limited).
 */
static void client_drop(struct vn_rpc_client *c, const char *why)
{
    if (c->fd < 0 || c->dead)
        return;
    VN_WARN_RL(RPC, "client %llu (pid %d uid %u): %s; closing it", (unsigned long long)c->serial,
               (int)c->pid, (unsigned)c->uid, why);
    c->srv->stats.clients_dropped++;
    c->dead = true;
    c->out_off = c->out_len; /* nothing more will be written */
}

/*
 * Checks that 'c' may hold 'more' reply bytes: false (and 'c' dropped) when
 * that would pass the per-client hard limit.  When it would pass the total
 * for all clients, the clients holding the most are dropped until it fits
 * ('c' among them if it holds the most).
 */
static bool client_may_hold(struct vn_rpc_client *c, size_t more)
{
    struct vn_rpc_server *srv = c->srv;
    const struct vn_rpc_limits *lim = &srv->limits;
    char why[128];

    if (client_held(c) + more > lim->max_unsent_hard) {
        snprintf(why, sizeof(why), "more than %zu reply bytes unread", lim->max_unsent_hard);
        client_drop(c, why);
        return false;
    }
    while (!c->dead && server_held(srv) + more > lim->max_unsent_total) {
        struct vn_rpc_client *big = c;

        for (struct vn_rpc_client *o = srv->clients; o; o = o->next)
            if (client_held(o) > client_held(big))
                big = o;
        snprintf(why, sizeof(why),
                 "holds the most (%zu) of the %zu reply bytes unread by all clients (limit %zu)",
                 client_held(big), server_held(srv) + more, lim->max_unsent_total);
        client_drop(big, why);
        if (big != c)
            client_maybe_free(big); /* not on the stack: close it now */
    }
    return !c->dead;
}

/* ---- output ---------------------------------------------------------- */

static void client_close_fd(struct vn_rpc_client *c)
{
    struct vn_rpc_server *srv = c->srv;

    if (c->fd < 0)
        return;
    ev_io_stop(srv->loop, &c->rd);
    ev_io_stop(srv->loop, &c->wr);
    ev_timer_stop(srv->loop, &c->idle);
    close(c->fd);
    c->fd = -1;
    /* Unlink from the connected list; the object may live on for pending requests. */
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->stats.clients--;
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_cap = 0;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = c->out_cap = 0;
    VN_DBG(RPC, "client %llu: closed", (unsigned long long)c->serial);
}

static void client_maybe_free(struct vn_rpc_client *c)
{
    if (c->in_dispatch)
        return; /* client_process_input() is using it; its caller will come back here */
    /*
     * Close when nothing can be written any more, or when the peer has sent
     * all it will and every answer it is owed has been written: a client
     * that half-closes after its request still gets a late (async) reply.
     */
    if (c->fd >= 0 && !c->dead && !(c->eof && c->pending == 0 && c->out_len == c->out_off))
        return;
    client_close_fd(c);
    if (c->pending == 0)
        free(c);
}

/* Queues 'len' bytes of 'text' and a newline as one line of output. */
static void client_queue_text(struct vn_rpc_client *c, const char *text, size_t len)
{
    if (c->fd < 0 || c->dead || !client_may_hold(c, len + 1))
        return;
    if (c->out_off && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + len + 1 > c->out_cap) {
        size_t cap = VN_MAX(c->out_cap * 2, c->out_len + len + 1);
        char *n;

        /* Compact before growing. */
        if (c->out_off) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        n = c->out_len + len + 1 > c->out_cap ? realloc(c->out, cap) : c->out;
        if (!n) {
            client_drop(c, "out of memory queueing a reply");
            return;
        }
        if (n != c->out)
            c->out_cap = cap;
        c->out = n;
    }
    memcpy(c->out + c->out_len, text, len);
    c->out[c->out_len + len] = '\n';
    c->out_len += len + 1;
}

/* Queues 'msg' (not consumed) as one line of output. */
static void client_send(struct vn_rpc_client *c, const cJSON *msg)
{
    char *text;

    if (c->fd < 0 || c->dead || !msg)
        return;
    text = cJSON_PrintUnformatted(msg);
    if (!text) {
        client_drop(c, "out of memory printing a reply");
        return;
    }
    client_queue_text(c, text, strlen(text));
    free(text);
}

/* Adds 'msg' (not consumed) to the reply of batch 'b' of client 'c'. */
static void batch_add(struct vn_rpc_client *c, struct vn_rpc_batch *b, const cJSON *msg)
{
    char *text;
    size_t len;

    if (c->fd < 0 || c->dead || !msg)
        return;
    text = cJSON_PrintUnformatted(msg);
    if (!text) {
        client_drop(c, "out of memory printing a reply");
        return;
    }
    len = strlen(text);
    if (!client_may_hold(c, len + 1)) {
        free(text);
        return;
    }
    if (b->len + len + 2 > b->cap) { /* + the closing ']' */
        size_t cap = VN_MAX(b->cap * 2, b->len + len + 2);
        char *n = realloc(b->text, cap);

        if (!n) {
            free(text);
            client_drop(c, "out of memory queueing a reply");
            return;
        }
        b->text = n;
        b->cap = cap;
    }
    b->text[b->len] = b->len ? ',' : '[';
    memcpy(b->text + b->len + 1, text, len);
    b->len += len + 1;
    c->batch_bytes += len + 1;
    free(text);
}

/* Bytes moved: the idle timeout starts again. */
static void client_touch(struct vn_rpc_client *c)
{
    if (c->srv->limits.idle_timeout_s)
        ev_timer_again(c->srv->loop, &c->idle);
}

static void client_flush(struct vn_rpc_client *c)
{
    while (c->fd >= 0 && !c->dead && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            VN_DBG(RPC, "client %llu: send: %s", (unsigned long long)c->serial, strerror(errno));
            c->dead = true;
            c->out_off = c->out_len;
            break;
        }
        c->out_off += (size_t)n;
        client_touch(c);
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        /* Give back what a big reply made us allocate. */
        if (c->out_cap > OUT_KEEP) {
            free(c->out);
            c->out = NULL;
            c->out_cap = 0;
        }
    }
}

/* ---- requests -------------------------------------------------------- */

static void request_deliver(struct vn_rpc_request *req, cJSON *msg)
{
    struct vn_rpc_client *c = req->client;
    struct vn_rpc_batch *b = req->batch;

    if (msg && ((cJSON *)cJSON_GetObjectItemCaseSensitive(msg, "error")))
        c->srv->stats.errors++;
    if (b) {
        if (req->id)
            batch_add(c, b, msg);
        cJSON_Delete(msg);
        if (--b->outstanding == 0) {
            c->batch_bytes -= b->len;
            if (b->len) {
                b->text[b->len] = ']'; /* batch_add() left room for it */
                client_queue_text(c, b->text, b->len + 1);
            }
            free(b->text);
            free(b);
        }
    } else {
        if (req->id)
            client_send(c, msg);
        cJSON_Delete(msg);
    }
    cJSON_Delete(req->id);
    free(req);
    c->pending--;
    if (c->fd >= 0) {
        client_flush(c);
        client_update_watchers(c);
    }
    client_maybe_free(c);
}

void vn_rpc_reply_result(struct vn_rpc_request *req, cJSON *result)
{
    cJSON *msg = vn_rpc_make_result(req->id, result);

    request_deliver(req, msg);
}

static void reply_verror(struct vn_rpc_request *req, int code, const char *fmt, va_list ap)
{
    char text[512];

    vsnprintf(text, sizeof(text), fmt, ap);
    VN_DBG(RPC, "client %llu: %s: error %d: %s", (unsigned long long)req->client->serial,
           req->method[0] ? req->method : "?", code, text);
    request_deliver(req, vn_rpc_make_error(req->id, code, text, NULL));
}

void vn_rpc_reply_error(struct vn_rpc_request *req, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    reply_verror(req, code, fmt, ap);
    va_end(ap);
}

void vn_rpc_reply_errno(struct vn_rpc_request *req, int neg_errno, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    reply_verror(req, vn_rpc_error_from_errno(neg_errno), fmt, ap);
    va_end(ap);
}

bool vn_rpc_request_privileged(const struct vn_rpc_request *req)
{
    return req->client->privileged;
}

const char *vn_rpc_request_method(const struct vn_rpc_request *req)
{
    return req->method;
}

bool vn_rpc_request_accepts(const struct vn_rpc_request *req, unsigned state)
{
    return !req->def || !req->def->states || (state < 32 && (req->def->states & (1u << state)));
}

static cJSON *method_json(const struct vn_rpc_method *m)
{
    cJSON *o = cJSON_CreateObject(), *mp = cJSON_CreateArray();

    vn_json_add_str(o, "name", m->name);
    vn_json_add_str(o, "summary", m->summary);
    vn_json_add(o, "mutating", cJSON_CreateBool(m->flags & VN_RPC_MUTATING));
    for (const char *const *n = m->mutating_params; n && *n; n++)
        vn_json_add_str(mp, NULL, *n);
    vn_json_add(o, "mutating_params", mp);
    return o;
}

static const struct vn_rpc_method rpc_get_methods_method;

/* rpc_get_methods: the registry as the server dispatches it. */
static void method_rpc_get_methods(void *ctx, struct vn_rpc_request *req, void *params)
{
    const struct vn_rpc_server *srv = req->client->srv;
    cJSON *res = cJSON_CreateObject(), *list = cJSON_CreateArray();

    (void)ctx, (void)params;
    for (size_t i = 0; i < srv->n_methods; i++)
        vn_json_add(list, NULL, method_json(srv->methods[i]));
    vn_json_add(list, NULL, method_json(&rpc_get_methods_method));
    vn_json_add(res, "methods", list);
    vn_rpc_reply_result(req, res);
}

static const struct vn_rpc_method rpc_get_methods_method = {
    .name = "rpc_get_methods",
    .summary = "list the JSON-RPC methods and which of them change the controller",
    .flags = 0,
    .params = NULL,
    .n_params = 0,
    .params_size = 1,
    .handler = method_rpc_get_methods,
};

static const struct vn_rpc_method *find_method(const struct vn_rpc_server *srv, const char *name)
{
    for (size_t i = 0; i < srv->n_methods; i++)
        if (!strcmp(srv->methods[i]->name, name))
            return srv->methods[i];
    if (!strcmp(name, rpc_get_methods_method.name))
        return &rpc_get_methods_method;
    return NULL;
}

/* The first of m->mutating_params present in 'params', or NULL. */
static const char *mutating_param_given(const struct vn_rpc_method *m, const cJSON *params)
{
    for (const char *const *n = m->mutating_params; n && *n; n++)
        if (cJSON_IsObject(params) && cJSON_GetObjectItemCaseSensitive(params, *n))
            return *n;
    return NULL;
}

/*
 * A string, null, or an integer of at most 15 digits: one that the reply
 * gives back exactly (cJSON prints numbers with 15 significant digits).
 */
static bool valid_id(const cJSON *id)
{
    double d;

    if (cJSON_IsNumber(id))
        return vn_json_get_whole(id, &d) == 0 && fabs(d) <= 999999999999999.0;
    return cJSON_IsString(id) || cJSON_IsNull(id);
}

/*
 * Validates the envelope of one request object and calls its method; when
 * 'refuse', answers it with -32004 instead (a batch member over the limits).
 */
static void dispatch_one(struct vn_rpc_client *c, struct vn_rpc_batch *batch, const cJSON *msg,
                         bool refuse)
{
    struct vn_rpc_server *srv = c->srv;
    struct vn_rpc_request *req;
    const struct vn_rpc_method *m;
    const cJSON *ver, *method, *id, *params;
    const char *mparam;
    const char *dup = NULL;
    bool envelope_dup = false;
    char err[256];
    void *p;
    int ret;

    req = calloc(1, sizeof(*req));
    if (!req) {
        VN_ERR(RPC, "client %llu: out of memory for a request", (unsigned long long)c->serial);
        return;
    }
    req->client = c;
    req->batch = batch;
    c->pending++;
    if (batch)
        batch->outstanding++;

    /*
     * A member name given twice anywhere: cJSON keeps both and lookups see
     * the first, so what the client meant is unknown.  In the envelope even
     * the id is in doubt: answered with id null.
     */
    ret = cJSON_IsObject(msg) ? vn_json_find_duplicate_key(msg, &dup) : 0;
    if (ret == 1)
        for (const cJSON *it = msg->child; it; it = it->next)
            envelope_dup = envelope_dup || it->string == dup;
    id = cJSON_IsObject(msg) ? cJSON_GetObjectItemCaseSensitive(msg, "id") : NULL;
    /* A request without "id" is a notification: run it, answer nothing. */
    if (id && valid_id(id) && !envelope_dup)
        req->id = cJSON_Duplicate(id, false);
    else if (!cJSON_IsObject(msg) || id || envelope_dup)
        req->id = cJSON_CreateNull(); /* answer invalid requests with id null */
    if (!cJSON_IsObject(msg)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_REQUEST, "request must be a JSON object");
        return;
    }
    if (ret < 0) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INTERNAL, "out of memory");
        return;
    }
    if (envelope_dup) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_REQUEST, "member '%.64s' given twice in request",
                           dup);
        return;
    }
    if (id && !valid_id(id)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_REQUEST,
                           "'id' must be a string, null or an integer of at most 15 digits");
        return;
    }
    ver = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
    if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0")) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_REQUEST, "'jsonrpc' must be \"2.0\"");
        return;
    }
    method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    if (!cJSON_IsString(method)) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_REQUEST, "'method' must be a string");
        return;
    }
    for (const cJSON *it = msg->child; it; it = it->next) {
        if (strcmp(it->string, "jsonrpc") && strcmp(it->string, "method") &&
            strcmp(it->string, "params") && strcmp(it->string, "id")) {
            vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_REQUEST, "unknown member '%s' in request",
                               it->string);
            return;
        }
    }
    vn_strlcpy(req->method, method->valuestring, sizeof(req->method));
    if (refuse) {
        vn_rpc_reply_error(req, VN_RPC_ERR_LIMIT,
                           "not run: the replies to this batch passed %zu unsent bytes; "
                           "read them, or send fewer requests per batch",
                           srv->limits.max_unsent);
        return;
    }
    srv->stats.requests++;
    m = find_method(srv, method->valuestring);
    if (!m) {
        vn_rpc_reply_error(req, VN_RPC_ERR_METHOD_NOT_FOUND, "method '%.64s' not found",
                           method->valuestring);
        return;
    }
    if ((m->flags & VN_RPC_MUTATING) && !c->privileged) {
        VN_WARN_RL(RPC, "client %llu (pid %d uid %u): '%s' denied: not privileged",
                   (unsigned long long)c->serial, (int)c->pid, (unsigned)c->uid, m->name);
        vn_rpc_reply_error(req, VN_RPC_ERR_PERMISSION,
                           "'%s' changes the controller: it needs root or the controller's group",
                           m->name);
        return;
    }
    if (ret == 1) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS, "member '%.64s' given twice in params",
                           dup);
        return;
    }
    params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    if ((mparam = mutating_param_given(m, params)) && !c->privileged) {
        VN_WARN_RL(RPC, "client %llu (pid %d uid %u): '%s' with '%s' denied: not privileged",
                   (unsigned long long)c->serial, (int)c->pid, (unsigned)c->uid, m->name, mparam);
        vn_rpc_reply_error(req, VN_RPC_ERR_PERMISSION,
                           "'%s' with '%s' changes the controller: it needs root or the "
                           "controller's group",
                           m->name, mparam);
        return;
    }
    p = calloc(1, m->params_size ? m->params_size : 1);
    if (!p) {
        vn_rpc_reply_error(req, VN_RPC_ERR_INTERNAL, "out of memory");
        return;
    }
    if (vn_rpc_decode_params(params, m->params, m->n_params, p, err, sizeof(err)) < 0) {
        free(p);
        vn_rpc_reply_error(req, VN_RPC_ERR_INVALID_PARAMS, "%s", err);
        return;
    }
    VN_DBG(RPC, "client %llu: %s", (unsigned long long)c->serial, m->name);
    req->def = m;
    m->handler(srv->ctx, req, p);
    free(p);
}

/* Handles one framed value: a request or a batch of them. */
static void dispatch_value(struct vn_rpc_client *c, const char *text, size_t len)
{
    const char *why;
    size_t bad;
    cJSON *root;
    cJSON *msg;
    int ret;

    /* Bytes cJSON would take but we must not: the reply quotes none of them. */
    ret = vn_json_check_text(text, len, &bad, &why);
    if (ret < 0) {
        char what[128];
        cJSON *err;

        snprintf(what, sizeof(what), "%s: %s at byte %zu",
                 ret == -EILSEQ ? "request is not valid JSON" : "request refused", why, bad);
        err = vn_rpc_make_error(NULL, ret == -EILSEQ ? VN_RPC_ERR_PARSE : VN_RPC_ERR_INVALID_REQUEST,
                                what, NULL);
        VN_DBG(RPC, "client %llu: %s", (unsigned long long)c->serial, what);
        c->srv->stats.errors++;
        client_send(c, err);
        cJSON_Delete(err);
        return;
    }
    root = cJSON_ParseWithLength(text, len);
    if (!root) {
        cJSON *err = vn_rpc_make_error(NULL, VN_RPC_ERR_PARSE, "request is not valid JSON", NULL);

        c->srv->stats.errors++;
        client_send(c, err);
        cJSON_Delete(err);
        return;
    }
    if (cJSON_IsArray(root)) {
        int n = cJSON_GetArraySize(root);
        struct vn_rpc_batch *b;

        if (n == 0 || (unsigned)n > c->srv->limits.max_batch) {
            char what[96];
            cJSON *err;

            snprintf(what, sizeof(what), "batch of %d requests: at most %u", n,
                     c->srv->limits.max_batch);
            err = vn_rpc_make_error(NULL, VN_RPC_ERR_INVALID_REQUEST, n ? what : "empty batch",
                                    NULL);

            c->srv->stats.errors++;
            client_send(c, err);
            cJSON_Delete(err);
            cJSON_Delete(root);
            return;
        }
        struct vn_rpc_request *hold = calloc(1, sizeof(*hold));

        b = calloc(1, sizeof(*b));
        if (!hold || !b) {
            free(hold);
            free(b);
            cJSON_Delete(root);
            return;
        }
        /* 'hold' keeps the batch open while dispatching, so it is sent once, complete. */
        hold->client = c;
        hold->batch = b;
        b->outstanding = 1;
        c->pending++;
        /*
         * Members run while the client's unsent replies (this batch's
         * included) are under the limit that pauses reading; the rest are
         * answered -32004 without running, so one batch costs at most that
         * much memory and work.
         */
        cJSON_ArrayForEach(msg, root) {
            if (c->fd < 0 || c->dead)
                break;
            dispatch_one(c, b, msg, client_held(c) >= c->srv->limits.max_unsent);
        }
        request_deliver(hold, NULL);
    } else {
        dispatch_one(c, NULL, root, false);
    }
    cJSON_Delete(root);
}

/* ---- connections ----------------------------------------------------- */

static void client_fatal(struct vn_rpc_client *c, int code, const char *what)
{
    cJSON *err = vn_rpc_make_error(NULL, code, what, NULL);

    VN_WARN_RL(RPC, "client %llu (pid %d): %s; closing", (unsigned long long)c->serial,
               (int)c->pid, what);
    c->srv->stats.errors++;
    client_send(c, err);
    cJSON_Delete(err);
    c->eof = true;
    c->in_len = 0;
}

static void client_process_input(struct vn_rpc_client *c)
{
    const struct vn_rpc_limits *lim = &c->srv->limits;

    if (c->in_dispatch)
        return;
    c->in_dispatch = true;
    while (!c->eof && !c->dead && c->fd >= 0 && c->in_len && c->pending < lim->max_pending &&
           c->out_len - c->out_off <= lim->max_unsent) {
        size_t off, len, consumed;
        enum vn_frame_result r;
        char msg[128];

        r = vn_json_framer_scan(&c->framer, c->in, c->in_len, &off, &len, &consumed);
        switch (r) {
        case VN_FRAME_NEED_MORE:
            if (consumed) {
                memmove(c->in, c->in + consumed, c->in_len - consumed);
                c->in_len -= consumed;
            }
            goto out;
        case VN_FRAME_OK:
            dispatch_value(c, c->in + off, len);
            if (c->fd < 0)
                goto out;
            memmove(c->in, c->in + consumed, c->in_len - consumed);
            c->in_len -= consumed;
            break;
        case VN_FRAME_TOO_BIG:
            snprintf(msg, sizeof(msg), "request larger than %zu bytes", lim->max_request);
            client_fatal(c, VN_RPC_ERR_INVALID_REQUEST, msg);
            goto out;
        case VN_FRAME_TOO_DEEP:
            snprintf(msg, sizeof(msg), "request nested deeper than %u levels", lim->max_depth);
            client_fatal(c, VN_RPC_ERR_INVALID_REQUEST, msg);
            goto out;
        case VN_FRAME_BAD:
            client_fatal(c, VN_RPC_ERR_PARSE, "request is not a JSON object or array");
            goto out;
        }
    }
out:
    c->in_dispatch = false;
}

static void client_update_watchers(struct vn_rpc_client *c)
{
    struct vn_rpc_server *srv = c->srv;
    const struct vn_rpc_limits *lim = &srv->limits;
    bool want_read, want_write;

    if (c->fd < 0)
        return;
    want_write = c->out_off < c->out_len;
    want_read = !c->eof && !c->dead && c->pending < lim->max_pending &&
                c->out_len - c->out_off <= lim->max_unsent;
    if (want_read && !ev_is_active(&c->rd))
        ev_io_start(srv->loop, &c->rd);
    else if (!want_read && ev_is_active(&c->rd))
        ev_io_stop(srv->loop, &c->rd);
    if (want_write && !ev_is_active(&c->wr))
        ev_io_start(srv->loop, &c->wr);
    else if (!want_write && ev_is_active(&c->wr))
        ev_io_stop(srv->loop, &c->wr);
    /* Requests held back by the limits may run now. */
    if (want_read && c->in_len)
        client_process_input(c);
}

static void client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct vn_rpc_client *c = vn_container_of(w, struct vn_rpc_client, rd);
    size_t room = c->srv->limits.max_request + READ_CHUNK;

    if (c->in_cap < room) {
        char *n = realloc(c->in, room);

        if (!n) {
            client_fatal(c, VN_RPC_ERR_INTERNAL, "out of memory");
            goto out;
        }
        c->in = n;
        c->in_cap = room;
    }
    if (c->in_len < c->in_cap) {
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            c->dead = true;
            c->out_off = c->out_len; /* the peer is gone: nothing to flush */
            goto out;
        }
        if (n == 0) {
            /* Half-close: answer what was complete, then close. */
            c->eof = true;
            c->in_len = 0;
            goto out;
        }
        c->in_len += (size_t)n;
        client_touch(c);
    }
    client_process_input(c);
out:
    client_flush(c);
    client_update_watchers(c);
    client_maybe_free(c);
}

static void client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct vn_rpc_client *c = vn_container_of(w, struct vn_rpc_client, wr);

    client_flush(c);
    client_update_watchers(c);
    client_maybe_free(c);
}

static void client_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct vn_rpc_client *c = vn_container_of(w, struct vn_rpc_client, idle);

    if (c->pending) {
        ev_timer_again(loop, w); /* a request is running: not idle */
        return;
    }
    VN_LOG_RL(RPC, VN_LL_INFO, "client %llu (pid %d uid %u): idle for %u s%s; closing it",
              (unsigned long long)c->serial, (int)c->pid, (unsigned)c->uid,
              c->srv->limits.idle_timeout_s,
              c->out_off < c->out_len ? " with replies it does not read" : "");
    c->srv->stats.clients_idle++;
    c->dead = true;
    c->out_off = c->out_len;
    client_maybe_free(c);
}

/* Root, the controller's own user, or a member of the configured group. */
static bool peer_privileged(const struct vn_rpc_server *srv, uid_t uid, gid_t gid)
{
    if (uid == 0 || uid == geteuid())
        return true;
    if (!srv->has_group)
        return false;
    if (gid == srv->group)
        return true;

    struct passwd pw, *res = NULL;
    char buf[4096];
    gid_t groups[256];
    int n = (int)VN_ARRAY_SIZE(groups);

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) || !res)
        return false;
    if (getgrouplist(res->pw_name, res->pw_gid, groups, &n) < 0)
        return false;
    for (int i = 0; i < n; i++)
        if (groups[i] == srv->group)
            return true;
    return false;
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct vn_rpc_server *srv = vn_container_of(w, struct vn_rpc_server, accept_io);

    for (int i = 0; i < 16; i++) {
        struct vn_rpc_client *c;
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        bool privileged;
        unsigned limit;
        int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                VN_ERR_RL(RPC, "accept on %s: %s", srv->path, strerror(errno));
            return;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
            VN_ERR_RL(RPC, "SO_PEERCRED: %s", strerror(errno));
            close(fd);
            continue;
        }
        privileged = peer_privileged(srv, cred.uid, cred.gid);
        /* The last 'reserved_clients' slots are for privileged callers only. */
        limit = srv->limits.max_clients;
        if (!privileged)
            limit -= VN_MIN(srv->limits.reserved_clients, limit);
        if (srv->stats.clients >= limit) {
            static const char busy[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32004,"
                                       "\"message\":\"too many clients\"}}\n";

            srv->stats.clients_rejected++;
            VN_WARN_RL(RPC, "rejecting a client (pid %d uid %u): %u clients connected (limit %u%s)",
                       (int)cred.pid, (unsigned)cred.uid, srv->stats.clients, limit,
                       privileged ? "" : " for unprivileged callers");
            (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = srv;
        c->fd = fd;
        c->serial = ++srv->next_serial;
        c->pid = cred.pid;
        c->uid = cred.uid;
        c->privileged = privileged;
        vn_json_framer_init(&c->framer, srv->limits.max_request, srv->limits.max_depth);
        ev_io_init(&c->rd, client_read_cb, fd, EV_READ);
        ev_io_init(&c->wr, client_write_cb, fd, EV_WRITE);
        ev_init(&c->idle, client_idle_cb);
        c->idle.repeat = srv->limits.idle_timeout_s;
        client_touch(c);
        c->next = srv->clients;
        if (srv->clients)
            srv->clients->prev = c;
        srv->clients = c;
        srv->stats.clients++;
        srv->stats.clients_accepted++;
        ev_io_start(loop, &c->rd);
        VN_DBG(RPC, "client %llu: connected (pid %d uid %u%s)", (unsigned long long)c->serial,
               (int)cred.pid, (unsigned)cred.uid, c->privileged ? ", privileged" : "");
    }
}

/* Unlinks 'path' if it is a socket nobody answers on. */
static int remove_stale_socket(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, ret;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    vn_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    if (ret == 0)
        return -EADDRINUSE;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int vn_rpc_server_set_idle_timeout(struct vn_rpc_server *srv, unsigned seconds)
{
    if (getenv(VN_RPC_IDLE_TIMEOUT_ENV))
        return -EBUSY;
    srv->limits.idle_timeout_s = seconds;
    return 0;
}

int vn_rpc_server_set_group(struct vn_rpc_server *srv, const char *group, char *err,
                            size_t errlen)
{
    struct group gr, *res = NULL;
    char buf[4096];
    gid_t gid = getgid();

    if (group[0]) {
        if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) || !res) {
            snprintf(err, errlen, "rpc_group '%s': no such group", group);
            return -ENOENT;
        }
        gid = res->gr_gid;
    }
    if (chown(srv->path, (uid_t)-1, gid) < 0) {
        int ret = -errno;

        snprintf(err, errlen, "cannot give %s to group %u: %s", srv->path, (unsigned)gid,
                 strerror(errno));
        return ret;
    }
    srv->has_group = group[0] != '\0';
    srv->group = gid;
    return 0;
}

int vn_rpc_server_create(struct ev_loop *loop, const struct vn_rpc_server_cfg *cfg,
                         struct vn_rpc_server **out)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct vn_rpc_server *srv;
    const char *env;
    mode_t old_umask;
    int ret;

    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->loop = loop;
    srv->fd = -1;
    srv->methods = cfg->methods;
    srv->n_methods = cfg->n_methods;
    srv->ctx = cfg->ctx;
    srv->limits = cfg->limits;
    env = getenv(VN_RPC_IDLE_TIMEOUT_ENV);
    if (env && *env) {
        uint64_t v;

        if (vn_parse_u64(env, 10, 0, 86400, &v) < 0) {
            VN_ERR(RPC, "%s=%s: not a number of seconds in [0, 86400]", VN_RPC_IDLE_TIMEOUT_ENV,
                   env);
            ret = -EINVAL;
            goto err_free;
        }
        srv->limits.idle_timeout_s = (unsigned)v;
    }
    if (vn_strlcpy(srv->path, cfg->path, sizeof(srv->path)) < 0 ||
        vn_strlcpy(sa.sun_path, cfg->path, sizeof(sa.sun_path)) < 0) {
        VN_ERR(RPC, "RPC socket path too long (max %zu bytes): %s", sizeof(sa.sun_path) - 1,
               cfg->path);
        ret = -ENAMETOOLONG;
        goto err_free;
    }
    if (cfg->group && cfg->group[0]) {
        struct group gr, *res = NULL;
        char buf[4096];

        if (getgrnam_r(cfg->group, &gr, buf, sizeof(buf), &res) || !res) {
            VN_ERR(RPC, "rpc_group '%s': no such group", cfg->group);
            ret = -ENOENT;
            goto err_free;
        }
        srv->has_group = true;
        srv->group = res->gr_gid;
    }

    if (cfg->inherited_fd >= 0) {
        srv->fd = cfg->inherited_fd;
    } else {
        ret = remove_stale_socket(srv->path);
        if (ret < 0) {
            VN_ERR(RPC, "RPC socket %s: %s", srv->path,
                   ret == -EADDRINUSE ? "another controller is serving on it"
                   : ret == -EEXIST   ? "exists and is not a socket"
                                      : strerror(-ret));
            goto err_free;
        }
        srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (srv->fd < 0) {
            ret = -errno;
            VN_ERR(RPC, "socket: %s", strerror(errno));
            goto err_free;
        }
        old_umask = umask(0117);
        ret = bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old_umask);
        if (ret < 0) {
            ret = -errno;
            VN_ERR(RPC, "bind %s: %s", srv->path, strerror(errno));
            goto err_close;
        }
        if (chmod(srv->path, 0660) < 0 ||
            (srv->has_group && chown(srv->path, (uid_t)-1, srv->group) < 0)) {
            ret = -errno;
            VN_ERR(RPC, "setting mode/group of %s: %s", srv->path, strerror(errno));
            goto err_unlink;
        }
        if (listen(srv->fd, 64) < 0) {
            ret = -errno;
            VN_ERR(RPC, "listen %s: %s", srv->path, strerror(errno));
            goto err_unlink;
        }
    }
    ev_io_init(&srv->accept_io, accept_cb, srv->fd, EV_READ);
    ev_io_start(loop, &srv->accept_io);
    VN_INFO(RPC, "listening on %s", srv->path);
    *out = srv;
    return 0;

err_unlink:
    unlink(srv->path);
err_close:
    close(srv->fd);
err_free:
    free(srv);
    return ret;
}

void vn_rpc_server_destroy(struct vn_rpc_server *srv)
{
    if (!srv)
        return;
    ev_io_stop(srv->loop, &srv->accept_io);
    while (srv->clients) {
        struct vn_rpc_client *c = srv->clients;

        c->dead = true;
        client_close_fd(c);
        if (c->pending == 0)
            free(c);
        /*
         * else: freed when its last request is answered.  Handlers that answer
         * later must do so before the server is destroyed (the controller
         * stops them first).
         */
    }
    if (srv->fd >= 0) {
        close(srv->fd);
        if (!srv->released)
            unlink(srv->path);
    }
    free(srv);
}

int vn_rpc_server_fd(const struct vn_rpc_server *srv)
{
    return srv ? srv->fd : -1;
}

void vn_rpc_server_release(struct vn_rpc_server *srv)
{
    ev_io_stop(srv->loop, &srv->accept_io);
    srv->released = true;
}

const struct vn_rpc_stats *vn_rpc_server_stats(const struct vn_rpc_server *srv)
{
    return &srv->stats;
}

size_t vn_rpc_server_unsent(const struct vn_rpc_server *srv)
{
    return server_held(srv);
}
