/*
 * update_msg.c - the hand-over's messages; see update_msg.h.
 */
#include <config.h>

#include "update_msg.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "util.h"

int ho_send(int sock, cJSON *msg, const int *fds, unsigned nfds)
{
    char *text = cJSON_PrintUnformatted(msg);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * HO_MAX_FDS)];
    } u;
    struct iovec iov;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    cJSON_Delete(msg);
    if (!text)
        return -ENOMEM;
    iov.iov_base = text;
    iov.iov_len = strlen(text);
    if (nfds > HO_MAX_FDS || iov.iov_len > HO_MAX_MSG) {
        free(text);
        return -E2BIG;
    }
    if (nfds)
        vn_msg_put_fds(&mh, u.buf, fds, nfds);
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    free(text);
    return n < 0 ? -errno : 0;
}

void ho_close_fds(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int ho_recv(int sock, int timeout_ms, cJSON **msg, int *fds, unsigned *nfds)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * HO_MAX_FDS)];
    } u;
    struct pollfd pfd = { .fd = sock, .events = POLLIN };
    char *buf = malloc(HO_MAX_MSG + 1);
    struct iovec iov = { buf, HO_MAX_MSG };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *c;
    ssize_t n;
    int ret;

    *msg = NULL;
    *nfds = 0;
    if (!buf)
        return -ENOMEM;
    do
        ret = poll(&pfd, 1, timeout_ms);
    while (ret < 0 && errno == EINTR);
    if (ret <= 0) {
        free(buf);
        return ret == 0 ? -ETIMEDOUT : -errno;
    }
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    for (c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

            memcpy(fds + *nfds, CMSG_DATA(c), k * sizeof(int));
            *nfds += k;
        }
    }
    if (n <= 0) {
        free(buf);
        return n == 0 ? -ECONNRESET : -errno;
    }
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        ho_close_fds(fds, *nfds);
        *nfds = 0;
        free(buf);
        return -EPROTO;
    }
    buf[n] = '\0';
    *msg = cJSON_Parse(buf);
    free(buf);
    if (!*msg || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*msg, "type"))) {
        cJSON_Delete(*msg);
        *msg = NULL;
        ho_close_fds(fds, *nfds);
        *nfds = 0;
        return -EPROTO;
    }
    return 0;
}

bool ho_is_type(const cJSON *msg, const char *type)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "type");

    return cJSON_IsString(t) && !strcmp(t->valuestring, type);
}

const char *ho_str_of(const cJSON *msg, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}

cJSON *ho_msg_new(const char *type)
{
    cJSON *m = cJSON_CreateObject();

    vn_json_add_str(m, "type", type);
    return m;
}

bool ho_fd_is(int fd, mode_t type)
{
    struct stat st;

    return fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type;
}
