/*
 * netlink.h - the rtnetlink requests the controller needs (libmnl): look a
 * link up, set its MTU, bring it up or down, delete it.  Each call is one
 * synchronous request with an acknowledgement; the kernel's error comes back
 * as a negative errno.
 *
 * One struct vn_nl per thread that uses it (not thread-safe).
 */
#ifndef VN_NETLINK_H
#define VN_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

struct vn_nl;

struct vn_nl_link {
    int ifindex;
    uint32_t mtu;
    bool up;               /* IFF_UP */
};

/* Opens an rtnetlink socket.  Returns 0 and '*out', or a negative errno. */
int vn_nl_open(struct vn_nl **out);

/* Closes it; accepts NULL. */
void vn_nl_close(struct vn_nl *nl);

/* Looks up 'name'.  Returns 0 and '*out', -ENODEV when there is no such link. */
int vn_nl_link_get(struct vn_nl *nl, const char *name, struct vn_nl_link *out);

int vn_nl_link_set_mtu(struct vn_nl *nl, int ifindex, uint32_t mtu);
int vn_nl_link_set_up(struct vn_nl *nl, int ifindex, bool up);

/* Deletes link 'ifindex'; -ENODEV when it is already gone. */
int vn_nl_link_del(struct vn_nl *nl, int ifindex);

#endif /* VN_NETLINK_H */
