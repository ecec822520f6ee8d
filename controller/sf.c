/*
 * sf.c - tap representors; see sf.h.
 */
#include <config.h>

#include "sf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

#define REP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)
#define VNET_HDR_SIZE 12 /* struct virtio_net_hdr_mrg_rxbuf: VERSION_1 and MRG_RXBUF */

int vn_sf_rep_name(uint32_t pf_num, uint32_t sf_num, char buf[IFNAMSIZ])
{
    return vn_snprintf(buf, IFNAMSIZ, "en3f%upf%usf%u", pf_num, pf_num, sf_num);
}

/* Reads /sys/class/net/NAME/tun_flags: -ENODEV (no netdev), -EEXIST (not a tap of ours). */
static int check_existing(const char *name)
{
    char path[64], buf[32];
    uint64_t flags;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/sys/class/net/%s", name);
    if (access(path, F_OK) < 0)
        return -ENODEV;
    snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -EEXIST; /* a netdev, but not a tun/tap */
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EEXIST;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (vn_parse_u64(buf, 16, 0, UINT32_MAX, &flags) < 0)
        return -EEXIST;
    if ((flags & (REP_FLAGS | IFF_TUN)) != REP_FLAGS)
        return -EEXIST;
    return 0;
}

/* Attaches a queue to tap 'name' (creating it when absent). Returns the fd or -errno. */
static int tap_attach(const char *name, int extra_flags)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | extra_flags);
    int ret;

    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = REP_FLAGS;
    vn_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        ret = -errno;
        close(fd);
        return ret;
    }
    return fd;
}

int vn_sf_rep_create(struct vn_nl *nl, uint32_t pf_num, uint32_t sf_num, uint32_t mtu,
                     struct vn_sf_rep *out)
{
    struct vn_sf_rep rep = { .pf_num = pf_num, .sf_num = sf_num };
    struct vn_nl_link link;
    bool adopted;
    int hdr = VNET_HDR_SIZE, fd, ret;

    ret = vn_sf_rep_name(pf_num, sf_num, rep.ifname);
    if (ret < 0)
        return ret;
    ret = check_existing(rep.ifname);
    if (ret == -EEXIST) {
        VN_ERR(SF, "%s exists and is not a multi-queue vnet-hdr tap: left alone", rep.ifname);
        return ret;
    }
    adopted = ret == 0;
    if (vn_fault("sf_create"))
        return -EIO;
    fd = tap_attach(rep.ifname, 0);
    if (fd < 0) {
        VN_ERR(SF, "cannot create tap %s: %s", rep.ifname, strerror(-fd));
        return fd;
    }
    if (ioctl(fd, TUNSETPERSIST, 1) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
        ret = -errno;
        VN_ERR(SF, "cannot make %s persistent: %s", rep.ifname, strerror(errno));
        goto err_close;
    }
    ret = vn_nl_link_get(nl, rep.ifname, &link);
    if (ret < 0)
        goto err_delete;
    if (link.mtu < mtu) {
        ret = vn_nl_link_set_mtu(nl, link.ifindex, mtu);
        if (ret < 0) {
            VN_ERR(SF, "cannot set MTU %u on %s: %s", mtu, rep.ifname, strerror(-ret));
            goto err_delete;
        }
        link.mtu = mtu;
    }
    if (vn_fault("sf_link_up")) {
        ret = -EIO;
        goto err_delete;
    }
    if (!link.up) {
        ret = vn_nl_link_set_up(nl, link.ifindex, true);
        if (ret < 0) {
            VN_ERR(SF, "cannot bring %s up: %s", rep.ifname, strerror(-ret));
            goto err_delete;
        }
    }
    /* The netdev persists without any queue attached. */
    close(fd);
    rep.ifindex = link.ifindex;
    rep.mtu = link.mtu;
    VN_INFO(SF, "representor %s (ifindex %d, MTU %u) %s", rep.ifname, rep.ifindex, rep.mtu,
            adopted ? "adopted" : "created");
    *out = rep;
    return 0;

err_delete:
    /* Only a tap this call created is removed; an adopted one stays as it was. */
    if (!adopted)
        (void)!ioctl(fd, TUNSETPERSIST, 0);
err_close:
    close(fd);
    return ret;
}

int vn_sf_rep_destroy(struct vn_nl *nl, struct vn_sf_rep *rep)
{
    struct vn_nl_link link;
    int ret;

    if (!rep->ifname[0])
        return 0;
    ret = vn_nl_link_get(nl, rep->ifname, &link);
    if (ret == 0 && link.ifindex == rep->ifindex)
        ret = vn_nl_link_del(nl, link.ifindex);
    if (ret < 0 && ret != -ENODEV) {
        VN_ERR(SF, "cannot remove representor %s: %s", rep->ifname, strerror(-ret));
        return ret;
    }
    VN_INFO(SF, "representor %s removed", rep->ifname);
    rep->ifname[0] = '\0';
    rep->ifindex = 0;
    return 0;
}

int vn_sf_rep_set_mtu(struct vn_nl *nl, struct vn_sf_rep *rep, uint32_t mtu)
{
    int ret = vn_nl_link_set_mtu(nl, rep->ifindex, mtu);

    if (ret == 0)
        rep->mtu = mtu;
    return ret;
}

int vn_sf_rep_open_queue(const struct vn_sf_rep *rep, int *fd_out)
{
    int fd = tap_attach(rep->ifname, O_NONBLOCK);

    if (fd < 0)
        return fd;
    *fd_out = fd;
    return 0;
}
