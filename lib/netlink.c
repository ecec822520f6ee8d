/*
 * netlink.c - rtnetlink link requests over libmnl; see netlink.h.
 */
#include <config.h>

#include "netlink.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

/* Requests are small; answers to a single-link GETLINK fit easily. */
#define NL_REQ_SIZE 1024
#define NL_RECV_SIZE 32768

struct vn_nl {
    struct mnl_socket *sock;
    unsigned int portid;
    unsigned int seq;
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
        goto err_close;
    }
    nl->portid = mnl_socket_get_portid(nl->sock);
    nl->seq = (unsigned int)time(NULL);
    *out = nl;
    return 0;

err_close:
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
 * Sends 'nlh' and runs 'cb' on the answers until the kernel's ACK (or
 * error).  Returns 0 or the kernel's negative errno.
 */
static int nl_talk(struct vn_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
    static __thread char buf[NL_RECV_SIZE];
    unsigned int seq = ++nl->seq;
    int ret;

    nlh->nlmsg_seq = seq;
    nlh->nlmsg_flags |= NLM_F_ACK;
    if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    do {
        ret = (int)mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
        if (ret < 0)
            return -errno;
        ret = mnl_cb_run(buf, (size_t)ret, seq, nl->portid, cb, data);
    } while (ret > 0);
    return ret < 0 ? -errno : 0;
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, int ifindex)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifinfomsg *ifm;

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = ifindex;
    return nlh;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
    struct vn_nl_link *l = data;

    if (mnl_attr_get_type(attr) == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
        l->mtu = mnl_attr_get_u32(attr);
    return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
    struct vn_nl_link *l = data;
    const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

    if (nlh->nlmsg_type != RTM_NEWLINK)
        return MNL_CB_OK;
    l->ifindex = ifm->ifi_index;
    l->up = (ifm->ifi_flags & IFF_UP) != 0;
    mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, l);
    return MNL_CB_OK;
}

int vn_nl_link_get(struct vn_nl *nl, const char *name, struct vn_nl_link *out)
{
    char buf[NL_REQ_SIZE];
    struct vn_nl_link l = { 0 };
    struct nlmsghdr *nlh;
    int ret;

    if (strlen(name) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    nlh = link_msg(buf, RTM_GETLINK, 0, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    ret = nl_talk(nl, nlh, link_cb, &l);
    if (ret < 0)
        return ret;
    if (!l.ifindex)
        return -ENODEV;
    *out = l;
    return 0;
}

int vn_nl_link_set_mtu(struct vn_nl *nl, int ifindex, uint32_t mtu)
{
    char buf[NL_REQ_SIZE];
    struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);

    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    return nl_talk(nl, nlh, NULL, NULL);
}

int vn_nl_link_set_up(struct vn_nl *nl, int ifindex, bool up)
{
    char buf[NL_REQ_SIZE];
    struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);
    struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

    ifm->ifi_change = IFF_UP;
    ifm->ifi_flags = up ? IFF_UP : 0;
    return nl_talk(nl, nlh, NULL, NULL);
}

int vn_nl_link_del(struct vn_nl *nl, int ifindex)
{
    char buf[NL_REQ_SIZE];
    struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, ifindex);

    return nl_talk(nl, nlh, NULL, NULL);
}
