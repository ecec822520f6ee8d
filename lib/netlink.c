/*
 * netlink.c - rtnetlink link requests over libmnl; see netlink.h.
 */
#include <config.h>

#include "netlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "util.h"

/* Requests carry an ifinfomsg and a few attributes. */
#define NL_REQ_SIZE 512
/* One link's RTM_NEWLINK (statistics skipped) fits with room to spare. */
#define NL_RECV_SIZE 32768

struct vn_nl {
    struct mnl_socket *sock;
    unsigned int portid; /* our netlink address, to match answers */
    unsigned int seq;    /* sequence number of the last request */
};

int vn_nl_open(struct vn_nl **out)
{
    struct vn_nl *nl = calloc(1, sizeof(*nl));
    int ret;

    if (!nl)
        return -ENOMEM;
    nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl->sock) {
        ret = -errno;
        goto err_free;
    }
    if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        ret = -errno;
        goto err_close_sock;
    }
    nl->portid = mnl_socket_get_portid(nl->sock);
    nl->seq = (unsigned int)time(NULL);
    *out = nl;
    return 0;

err_close_sock:
    mnl_socket_close(nl->sock);
err_free:
    free(nl);
    return ret;
}

void vn_nl_close(struct vn_nl *nl)
{
    if (!nl)
        return;
    mnl_socket_close(nl->sock);
    free(nl);
}

/*
 * Sends 'nlh' with NLM_F_ACK and runs 'cb' (may be NULL) on each answer
 * until the kernel's acknowledgement.  Returns 0 or the kernel's negative
 * errno.
 */
static int nl_talk(struct vn_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
    static __thread char buf[NL_RECV_SIZE] __attribute__((aligned(8)));
    const struct nlmsghdr *first = (const struct nlmsghdr *)(const void *)buf;
    unsigned int seq;
    ssize_t n;
    int ret;

    seq = ++nl->seq;
    if (!seq)
        seq = ++nl->seq; /* 0 would turn libmnl's sequence check off */
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_flags |= NLM_F_ACK;
    if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    for (;;) {
        n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        /* A late answer to an earlier request that gave up waiting: drop it. */
        if (mnl_nlmsg_ok(first, (int)n) && first->nlmsg_seq != seq)
            continue;
        errno = 0;
        ret = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
        if (ret == MNL_CB_STOP)
            return 0;
        if (ret < 0)
            return errno ? -errno : -EPROTO;
    }
}

/* Starts a link request of 'type' about 'ifindex' in 'buf' (NL_REQ_SIZE). */
static struct nlmsghdr *link_msg(char *buf, uint16_t type, int ifindex)
{
    struct nlmsghdr *nlh;
    struct ifinfomsg *ifm;

    memset(buf, 0, NL_REQ_SIZE); /* attribute padding goes to the kernel too */
    nlh = mnl_nlmsg_put_header(buf);

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = ifindex;
    return nlh;
}

/* Attributes of one nesting level, indexed by type; unknown types are skipped. */
struct attr_table {
    const struct nlattr **tb;
    uint16_t max;
};

static int attr_table_cb(const struct nlattr *attr, void *data)
{
    struct attr_table *t = data;

    if (mnl_attr_type_valid(attr, t->max) > 0)
        t->tb[mnl_attr_get_type(attr)] = attr;
    return MNL_CB_OK;
}

static bool attr_u8(const struct nlattr *a, uint8_t *v)
{
    if (!a || mnl_attr_validate(a, MNL_TYPE_U8) < 0)
        return false;
    *v = mnl_attr_get_u8(a);
    return true;
}

static bool attr_u32(const struct nlattr *a, uint32_t *v)
{
    if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
        return false;
    *v = mnl_attr_get_u32(a);
    return true;
}

/* Copies a NUL-terminated string attribute into 'dst' ('size'); false if it does not fit. */
static bool attr_str(const struct nlattr *a, char *dst, size_t size)
{
    if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
        return false;
    return vn_strlcpy(dst, mnl_attr_get_str(a), size) == 0;
}

/* IFLA_INFO_DATA of a tun/tap netdev. */
static void parse_tun(const struct nlattr *data, struct vn_nl_tun *tun)
{
    const struct nlattr *tb[IFLA_TUN_MAX + 1] = {0};
    struct attr_table t = {tb, IFLA_TUN_MAX};
    uint8_t pi, vnet_hdr, multi_queue, persist;

    if (mnl_attr_parse_nested(data, attr_table_cb, &t) < 0)
        return;
    if (!attr_u8(tb[IFLA_TUN_TYPE], &tun->type) || !attr_u8(tb[IFLA_TUN_PI], &pi) ||
        !attr_u8(tb[IFLA_TUN_VNET_HDR], &vnet_hdr) ||
        !attr_u8(tb[IFLA_TUN_MULTI_QUEUE], &multi_queue) ||
        !attr_u8(tb[IFLA_TUN_PERSIST], &persist))
        return;
    tun->pi = pi;
    tun->vnet_hdr = vnet_hdr;
    tun->multi_queue = multi_queue;
    tun->persist = persist;
    attr_u32(tb[IFLA_TUN_NUM_QUEUES], &tun->num_queues);
    tun->valid = true;
}

/* IFLA_LINKINFO: the driver's kind and, for tun/tap, its flags. */
static void parse_linkinfo(const struct nlattr *info, struct vn_nl_link *l)
{
    const struct nlattr *tb[IFLA_INFO_MAX + 1] = {0};
    struct attr_table t = {tb, IFLA_INFO_MAX};

    if (mnl_attr_parse_nested(info, attr_table_cb, &t) < 0)
        return;
    if (!attr_str(tb[IFLA_INFO_KIND], l->kind, sizeof(l->kind)))
        return;
    if (!strcmp(l->kind, "tun") && tb[IFLA_INFO_DATA] &&
        mnl_attr_validate(tb[IFLA_INFO_DATA], MNL_TYPE_NESTED) >= 0)
        parse_tun(tb[IFLA_INFO_DATA], &l->tun);
}

/* Parses an RTM_NEWLINK message into '*l' (zeroed by the caller). */
static int link_parse(const struct nlmsghdr *nlh, struct vn_nl_link *l)
{
    const struct nlattr *tb[IFLA_MAX + 1] = {0};
    struct attr_table t = {tb, IFLA_MAX};
    const struct ifinfomsg *ifm;

    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm)) {
        errno = EPROTO;
        return MNL_CB_ERROR;
    }
    ifm = mnl_nlmsg_get_payload(nlh);
    if (mnl_attr_parse(nlh, sizeof(*ifm), attr_table_cb, &t) < 0) {
        errno = EPROTO;
        return MNL_CB_ERROR;
    }
    l->ifindex = ifm->ifi_index;
    l->up = (ifm->ifi_flags & IFF_UP) != 0;
    attr_str(tb[IFLA_IFNAME], l->name, sizeof(l->name));
    attr_u32(tb[IFLA_MTU], &l->mtu);
    if (!attr_str(tb[IFLA_IFALIAS], l->alias, sizeof(l->alias)))
        l->alias[0] = '\0';
    if (tb[IFLA_LINKINFO] && mnl_attr_validate(tb[IFLA_LINKINFO], MNL_TYPE_NESTED) >= 0)
        parse_linkinfo(tb[IFLA_LINKINFO], l);
    if (tb[IFLA_STATS64] &&
        mnl_attr_get_payload_len(tb[IFLA_STATS64]) >= sizeof(struct rtnl_link_stats64)) {
        struct rtnl_link_stats64 st;

        memcpy(&st, mnl_attr_get_payload(tb[IFLA_STATS64]), sizeof(st));
        l->rx_packets = st.rx_packets;
        l->has_stats = true;
    }
    return MNL_CB_OK;
}

/* Fills the struct vn_nl_link in 'data' from an RTM_NEWLINK answer. */
static int link_cb(const struct nlmsghdr *nlh, void *data)
{
    struct vn_nl_link *l = data;

    if (nlh->nlmsg_type != RTM_NEWLINK || l->ifindex)
        return MNL_CB_OK;
    return link_parse(nlh, l);
}

struct link_walk {
    vn_nl_link_fn *fn;
    void *ctx;
    bool stopped;
};

static int link_walk_cb(const struct nlmsghdr *nlh, void *data)
{
    struct link_walk *w = data;
    struct vn_nl_link l = {0};
    int ret;

    if (nlh->nlmsg_type != RTM_NEWLINK || w->stopped)
        return MNL_CB_OK;
    ret = link_parse(nlh, &l);
    if (ret != MNL_CB_OK)
        return ret;
    /* The rest of the dump is still read (and dropped) so the socket stays in step. */
    if (w->fn(&l, w->ctx))
        w->stopped = true;
    return MNL_CB_OK;
}

int vn_nl_link_foreach(struct vn_nl *nl, vn_nl_link_fn *fn, void *ctx)
{
    char buf[NL_REQ_SIZE];
    struct link_walk w = {fn, ctx, false};
    struct nlmsghdr *nlh;

    nlh = link_msg(buf, RTM_GETLINK, 0);
    nlh->nlmsg_flags |= NLM_F_DUMP;
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return nl_talk(nl, nlh, link_walk_cb, &w);
}

int vn_nl_link_set_alias(struct vn_nl *nl, int ifindex, const char *alias)
{
    char buf[NL_REQ_SIZE];
    struct nlmsghdr *nlh;

    if (ifindex <= 0)
        return -EINVAL;
    if (strlen(alias) >= VN_NL_ALIAS_LEN)
        return -ENAMETOOLONG;
    nlh = link_msg(buf, RTM_NEWLINK, ifindex);
    mnl_attr_put_str(nlh, IFLA_IFALIAS, alias);
    return nl_talk(nl, nlh, NULL, NULL);
}

static int link_get(struct vn_nl *nl, const char *name, bool stats, struct vn_nl_link *out)
{
    char buf[NL_REQ_SIZE];
    struct vn_nl_link l = {0};
    struct nlmsghdr *nlh;
    size_t len = strlen(name);
    int ret;

    if (!len || len >= IFNAMSIZ)
        return -ENAMETOOLONG;
    nlh = link_msg(buf, RTM_GETLINK, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    if (!stats)
        mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    ret = nl_talk(nl, nlh, link_cb, &l);
    if (ret < 0)
        return ret;
    if (l.ifindex <= 0)
        return -ENODEV;
    *out = l;
    return 0;
}

int vn_nl_link_get(struct vn_nl *nl, const char *name, struct vn_nl_link *out)
{
    return link_get(nl, name, false, out);
}

int vn_nl_link_get_stats(struct vn_nl *nl, const char *name, struct vn_nl_link *out)
{
    return link_get(nl, name, true, out);
}

int vn_nl_link_set_mtu(struct vn_nl *nl, int ifindex, uint32_t mtu)
{
    char buf[NL_REQ_SIZE];
    struct nlmsghdr *nlh;

    if (ifindex <= 0)
        return -EINVAL;
    nlh = link_msg(buf, RTM_NEWLINK, ifindex);
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    return nl_talk(nl, nlh, NULL, NULL);
}

int vn_nl_link_set_up(struct vn_nl *nl, int ifindex, bool up)
{
    char buf[NL_REQ_SIZE];
    struct nlmsghdr *nlh;
    struct ifinfomsg *ifm;

    if (ifindex <= 0)
        return -EINVAL;
    nlh = link_msg(buf, RTM_NEWLINK, ifindex);
    ifm = mnl_nlmsg_get_payload(nlh);
    ifm->ifi_change = IFF_UP;
    ifm->ifi_flags = up ? IFF_UP : 0;
    return nl_talk(nl, nlh, NULL, NULL);
}

int vn_nl_link_del(struct vn_nl *nl, int ifindex)
{
    char buf[NL_REQ_SIZE];

    if (ifindex <= 0)
        return -EINVAL;
    return nl_talk(nl, link_msg(buf, RTM_DELLINK, ifindex), NULL, NULL);
}
