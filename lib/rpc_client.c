/*
 * rpc_client.c - blocking JSON-RPC 2.0 client; see rpc_client.h.
 */
#include <config.h>

#include "rpc_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "jsonrpc.h"
#include "util.h"

#define CLIENT_ID 1

static int remaining_ms(uint64_t deadline)
{
    uint64_t now = vn_now_ns();

    return now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1;
}

static int connect_unix(const char *path, uint64_t deadline, int *out)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, ret;

    if (vn_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) < 0)
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        ret = -errno;
        close(fd);
        return ret;
    }
    (void)deadline;
    *out = fd;
    return 0;
}

static int send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
    while (len) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        ssize_t n;
        int r = poll(&p, 1, remaining_ms(deadline));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? -ETIMEDOUT : -errno;
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

/* Reads until one whole JSON value has arrived; returns it parsed. */
static int recv_value(int fd, uint64_t deadline, cJSON **out)
{
    struct vn_json_framer f;
    size_t len = 0, cap = 64 * 1024, off, vlen, consumed;
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
            char *nb;

            if (cap >= VN_RPC_CLIENT_MAX_REPLY + 1) {
                ret = -EMSGSIZE;
                goto out;
            }
            cap *= 2;
            nb = realloc(buf, cap);
            if (!nb) {
                ret = -ENOMEM;
                goto out;
            }
            buf = nb;
        }
        r = poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ret = r == 0 ? -ETIMEDOUT : -errno;
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
        if (consumed) {
            memmove(buf, buf + consumed, len - consumed);
            len -= consumed;
        }
    }
out:
    free(buf);
    return ret;
}

int vn_rpc_call(const char *sock_path, const char *method, cJSON *params, int timeout_ms,
                struct vn_rpc_response *resp)
{
    uint64_t deadline = vn_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    cJSON *req = vn_rpc_make_request(method, params, CLIENT_ID);
    cJSON *reply = NULL;
    const cJSON *id, *result, *error;
    char *text;
    int fd = -1, ret;

    memset(resp, 0, sizeof(*resp));
    if (!req)
        return -ENOMEM;
    text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!text)
        return -ENOMEM;
    ret = connect_unix(sock_path, deadline, &fd);
    if (ret < 0)
        goto out;
    ret = send_all(fd, text, strlen(text), deadline);
    if (ret == 0)
        ret = send_all(fd, "\n", 1, deadline);
    if (ret < 0)
        goto out;
    ret = recv_value(fd, deadline, &reply);
    if (ret < 0)
        goto out;

    id = cJSON_GetObjectItemCaseSensitive(reply, "id");
    result = cJSON_GetObjectItemCaseSensitive(reply, "result");
    error = cJSON_GetObjectItemCaseSensitive(reply, "error");
    if (error && cJSON_IsObject(error)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(error, "data");

        /* An error about the request itself may carry id null. */
        if (!cJSON_IsNumber(code)) {
            ret = -EPROTO;
            goto out;
        }
        resp->err_code = (int)code->valuedouble;
        resp->err_message = strdup(cJSON_IsString(msg) ? msg->valuestring : "(no message)");
        resp->err_data = data ? cJSON_Duplicate(data, true) : NULL;
        ret = resp->err_message ? 0 : -ENOMEM;
        goto out;
    }
    if (!result || !cJSON_IsNumber(id) || (int)id->valuedouble != CLIENT_ID) {
        ret = -EPROTO;
        goto out;
    }
    resp->result = cJSON_DetachItemFromObjectCaseSensitive(reply, "result");
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    cJSON_Delete(reply);
    free(text);
    return ret;
}

void vn_rpc_response_fini(struct vn_rpc_response *resp)
{
    cJSON_Delete(resp->result);
    cJSON_Delete(resp->err_data);
    free(resp->err_message);
    memset(resp, 0, sizeof(*resp));
}
