/*
 * rpc_client.c - blocking JSON-RPC 2.0 client over a unix socket; see
 * rpc_client.h.
 *
 * One call is one connection: connect, write the request and a newline,
 * read until vn_json_framer says one whole value has arrived, parse it and
 * match it to the request.  Every wait (connect, write, read) is bounded by
 * one deadline taken when the call starts.
 */
#include <config.h>

#include "rpc_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "jsonrpc.h"
#include "util.h"

/* The id of our one request on the connection. */
#define CLIENT_ID 1
/* First size of the reply buffer; it doubles up to the reply limit. */
#define RECV_BUF_INITIAL (64 * 1024)
/* Pause between connect attempts while the server's backlog is full. */
#define CONNECT_RETRY_NS (10 * 1000 * 1000ull)

/* Milliseconds left until 'deadline' (CLOCK_MONOTONIC ns), rounded up; 0 when past. */
static int remaining_ms(uint64_t deadline)
{
    uint64_t now = vn_now_ns(), ms;

    if (now >= deadline)
        return 0;
    ms = (deadline - now + 999999ull) / 1000000ull;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/*
 * Connects a non-blocking stream socket to 'path'.  A listener whose
 * backlog is full answers EAGAIN: retried until 'deadline'.  Returns 0 and
 * the fd in '*out', or a negative errno.
 */
static int connect_unix(const char *path, uint64_t deadline, int *out)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, ret;

    if (!*path)
        return -ENOENT;
    if (vn_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) < 0)
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    for (;;) {
        uint64_t now;

        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        ret = -errno;
        if (ret == -EINTR)
            continue;
        if (ret != -EAGAIN)
            goto err_close;
        now = vn_now_ns();
        if (now >= deadline) {
            ret = -ETIMEDOUT;
            goto err_close;
        }
        nanosleep(&(struct timespec){ .tv_nsec = (long)VN_MIN(CONNECT_RETRY_NS, deadline - now) },
                  NULL);
    }
    *out = fd;
    return 0;

err_close:
    close(fd);
    return ret;
}

/* Writes all of 'buf' before 'deadline'.  Returns 0 or a negative errno. */
static int send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
    while (len) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        ssize_t n;
        int r = poll(&p, 1, remaining_ms(deadline));

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * Reads until one whole JSON value has arrived (at most
 * VN_RPC_CLIENT_MAX_REPLY bytes, VN_RPC_CLIENT_MAX_DEPTH levels) and parses
 * it.  Returns 0 and the tree in '*out' (caller owns), or -ETIMEDOUT,
 * -ECONNRESET (closed first), -EMSGSIZE, -EPROTO (not JSON), -ENOMEM or
 * another negative errno of recv().
 */
static int recv_value(int fd, uint64_t deadline, cJSON **out)
{
    struct vn_json_framer f;
    size_t len = 0, cap = RECV_BUF_INITIAL, off, vlen, consumed;
    char *buf = malloc(cap);
    int ret;

    if (!buf)
        return -ENOMEM;
    vn_json_framer_init(&f, VN_RPC_CLIENT_MAX_REPLY, VN_RPC_CLIENT_MAX_DEPTH);
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        enum vn_frame_result fr;
        ssize_t n;
        int r;

        if (len == cap) {
            /* The framer refuses a value past the limit, so one byte more is enough. */
            size_t ncap = VN_MIN(cap * 2, (size_t)VN_RPC_CLIENT_MAX_REPLY + 1);
            char *nb;

            if (ncap <= cap) {
                ret = -EMSGSIZE;
                goto out;
            }
            nb = realloc(buf, ncap);
            if (!nb) {
                ret = -ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        r = poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ret = -errno;
            goto out;
        }
        if (r == 0) {
            ret = -ETIMEDOUT;
            goto out;
        }
        n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            ret = -errno;
            goto out;
        }
        if (n == 0) {
            ret = -ECONNRESET;
            goto out;
        }
        len += (size_t)n;
        fr = vn_json_framer_scan(&f, buf, len, &off, &vlen, &consumed);
        if (fr == VN_FRAME_OK) {
            *out = cJSON_ParseWithLength(buf + off, vlen);
            ret = *out ? 0 : -EPROTO;
            goto out;
        }
        if (fr == VN_FRAME_TOO_BIG) {
            ret = -EMSGSIZE;
            goto out;
        }
        if (fr != VN_FRAME_NEED_MORE) {
            ret = -EPROTO;
            goto out;
        }
        /* Only whitespace so far: drop it. */
        if (consumed) {
            memmove(buf, buf + consumed, len - consumed);
            len -= consumed;
        }
    }
out:
    free(buf);
    return ret;
}

/*
 * Checks that 'reply' answers our request and fills '*resp' from it.
 * Returns 0, -EPROTO or -ENOMEM; '*resp' is written only on success.
 */
static int decode_reply(cJSON *reply, struct vn_rpc_response *resp)
{
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(reply, "jsonrpc");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "id");
    cJSON *error = cJSON_GetObjectItemCaseSensitive(reply, "error");
    bool has_result = cJSON_HasObjectItem(reply, "result");
    bool our_id = cJSON_IsNumber(id) && id->valuedouble == CLIENT_ID;
    struct vn_rpc_response r = { 0 };

    if (!cJSON_IsObject(reply) || !cJSON_IsString(version) || strcmp(version->valuestring, "2.0"))
        return -EPROTO;
    if (!error == !has_result)
        return -EPROTO;
    if (error) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        cJSON *data = cJSON_GetObjectItemCaseSensitive(error, "data");
        double whole;

        /* An error about a request the server could not read has id null. */
        if (!cJSON_IsObject(error) || !(our_id || cJSON_IsNull(id)))
            return -EPROTO;
        if (vn_json_get_whole(code, &whole) < 0 || whole < INT32_MIN || whole > INT32_MAX)
            return -EPROTO;
        r.err_code = (int)whole;
        r.err_message = strdup(cJSON_IsString(msg) ? msg->valuestring
                                                   : vn_rpc_error_message(r.err_code));
        if (!r.err_message)
            return -ENOMEM;
        if (data)
            r.err_data = cJSON_DetachItemViaPointer(error, data);
    } else {
        if (!our_id)
            return -EPROTO;
        r.result = cJSON_DetachItemFromObjectCaseSensitive(reply, "result");
    }
    *resp = r;
    return 0;
}

int vn_rpc_call(const char *sock_path, const char *method, cJSON *params, int timeout_ms,
                struct vn_rpc_response *resp)
{
    uint64_t deadline = vn_now_ns() + (uint64_t)VN_MAX(timeout_ms, 0) * 1000000ull;
    cJSON *req = vn_rpc_make_request(method, params, CLIENT_ID);
    cJSON *reply = NULL;
    char *text;
    int fd = -1, ret;

    if (!req)
        return -ENOMEM;
    text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!text)
        return -ENOMEM;
    ret = connect_unix(sock_path, deadline, &fd);
    if (ret < 0)
        goto out_free_text;
    ret = send_all(fd, text, strlen(text), deadline);
    if (ret == 0)
        ret = send_all(fd, "\n", 1, deadline);
    /*
     * A server that refuses us (too many clients) writes its error and
     * closes before reading: the write fails, the error is still there.
     */
    if (ret < 0 && ret != -EPIPE && ret != -ECONNRESET)
        goto out_close;
    ret = recv_value(fd, deadline, &reply);
    if (ret < 0)
        goto out_close;
    ret = decode_reply(reply, resp);
    cJSON_Delete(reply);
out_close:
    close(fd);
out_free_text:
    free(text);
    return ret;
}

void vn_rpc_response_fini(struct vn_rpc_response *resp)
{
    if (!resp)
        return;
    cJSON_Delete(resp->result);
    cJSON_Delete(resp->err_data);
    free(resp->err_message);
    memset(resp, 0, sizeof(*resp));
}
