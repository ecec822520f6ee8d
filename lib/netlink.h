/*
 * netlink.h - the rtnetlink requests the controller needs (libmnl): look a
 * link up, set its MTU, bring it up or down, delete it.  Each call is one
 * synchronous request with NLM_F_ACK; the kernel's error comes back as a
 * negative errno.  The SF manager (controller/sf.c) builds representors on
 * these; nothing here knows about representors.
 *
 * One struct vn_nl is opened once and reused for every request of the thread
 * that owns it (not thread-safe).  Requests act in the network namespace the
 * socket was opened in.
 */
#ifndef VN_NETLINK_H
#define VN_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct vn_nl;

#define VN_NL_KIND_LEN 16
#define VN_NL_ALIAS_LEN 128 /* IFLA_IFALIAS we read and write (the kernel allows 255) */

/* What the tun driver reports about a tun/tap netdev (IFLA_INFO_DATA, Linux >= 4.15). */
struct vn_nl_tun {
    bool valid;          /* the attributes below were reported */
    uint8_t type;        /* IFF_TUN or IFF_TAP */
    bool pi;             /* packet information header on (IFF_NO_PI clear) */
    bool vnet_hdr;       /* IFF_VNET_HDR */
    bool multi_queue;    /* IFF_MULTI_QUEUE */
    bool persist;        /* IFF_PERSIST: the netdev outlives its queue fds */
    uint32_t num_queues; /* queue fds attached now */
};

/* One link, as RTM_GETLINK reports it. */
struct vn_nl_link {
    int ifindex;
    char name[IFNAMSIZ];
    uint32_t mtu;
    bool up;                   /* administratively up (IFF_UP) */
    char kind[VN_NL_KIND_LEN]; /* IFLA_INFO_KIND ("tun", "veth", ...), "" when none */
    char alias[VN_NL_ALIAS_LEN]; /* IFLA_IFALIAS, "" when none (or longer than we keep) */
    struct vn_nl_tun tun;      /* when 'kind' is "tun" */
    bool has_stats;            /* rx_packets was reported (vn_nl_link_get_stats() only) */
    uint64_t rx_packets;       /* frames the link received (a tap: frames written into it) */
};

/*
 * Opens an rtnetlink socket (close-on-exec).  Returns 0 and '*out' (the
 * caller owns it, release with vn_nl_close()), or a negative errno and
 * '*out' untouched.
 */
int vn_nl_open(struct vn_nl **out);

/* Closes 'nl'; accepts NULL. */
void vn_nl_close(struct vn_nl *nl);

/*
 * Looks up the link called 'name'.  Returns 0 and fills '*out', -ENODEV when
 * there is no such link, -ENAMETOOLONG when 'name' cannot be an interface
 * name, or another negative errno.  '*out' is written only on success.
 */
int vn_nl_link_get(struct vn_nl *nl, const char *name, struct vn_nl_link *out);

/* vn_nl_link_get() with the link's counters (IFLA_STATS64): has_stats, rx_packets. */
int vn_nl_link_get_stats(struct vn_nl *nl, const char *name, struct vn_nl_link *out);

/*
 * Calls 'fn' for every link of the namespace (one RTM_GETLINK dump), in the
 * kernel's order; 'fn' returning non-zero stops the walk.  Returns 0 or a
 * negative errno.  'fn' must not send requests on 'nl'.
 */
typedef int vn_nl_link_fn(const struct vn_nl_link *link, void *ctx);
int vn_nl_link_foreach(struct vn_nl *nl, vn_nl_link_fn *fn, void *ctx);

/* Sets the alias (IFLA_IFALIAS) of link 'ifindex'; "" clears it.  0 or a negative errno. */
int vn_nl_link_set_alias(struct vn_nl *nl, int ifindex, const char *alias);

/* Sets the MTU of link 'ifindex'.  Returns 0 or the kernel's negative errno. */
int vn_nl_link_set_mtu(struct vn_nl *nl, int ifindex, uint32_t mtu);

/* Sets link 'ifindex' administratively up or down.  Returns 0 or a negative errno. */
int vn_nl_link_set_up(struct vn_nl *nl, int ifindex, bool up);

/*
 * Deletes link 'ifindex' (RTM_DELLINK).  Returns 0, -ENODEV when it is
 * already gone, or another negative errno.  The caller decides that the link
 * is its own to delete.
 */
int vn_nl_link_del(struct vn_nl *nl, int ifindex);

#endif /* VN_NETLINK_H */
