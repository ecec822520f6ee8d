/*
 * update_msg.h - the hand-over's messages (update.h has the protocol): one
 * JSON object per SOCK_SEQPACKET message plus the fds it names by index.
 * Shared by the old process's side (update.c) and the new one's
 * (update_follow.c).
 */
#ifndef VN_UPDATE_MSG_H
#define VN_UPDATE_MSG_H

#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#define HO_VERSION 1
#define HO_MAX_FDS 250            /* below the kernel's SCM_MAX_FD (253) */
#define HO_MAX_MSG (256 * 1024)
#define HO_START_TIMEOUT_MS 120000 /* new process: start-up with every device restored */
#define HO_STEP_TIMEOUT_MS 10000   /* one device, the commit */

/* Sends 'msg' (consumed) with 'nfds' fds.  0 or -errno (-EAGAIN on a full non-blocking socket). */
int ho_send(int sock, cJSON *msg, const int *fds, unsigned nfds);

/*
 * Receives one message within 'timeout_ms': '*msg' (caller deletes) and its
 * fds (caller owns).  -ETIMEDOUT, -ECONNRESET (the other side is gone),
 * -EPROTO (truncated, not JSON, no "type").
 */
int ho_recv(int sock, int timeout_ms, cJSON **msg, int *fds, unsigned *nfds);

/* Closes the fds of a message that are still >= 0. */
void ho_close_fds(int *fds, unsigned n);

bool ho_is_type(const cJSON *msg, const char *type);
/* The string member 'name' of 'msg', or "" when there is none. */
const char *ho_str_of(const cJSON *msg, const char *name);
cJSON *ho_msg_new(const char *type);
/* An fd that arrived is what the message says it is (S_IFREG, S_IFSOCK...). */
bool ho_fd_is(int fd, mode_t type);

#endif /* VN_UPDATE_MSG_H */
