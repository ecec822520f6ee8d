/*
 * test_sf.c - the SF manager of the software DPU (controller/sf.c) and the
 * rtnetlink helpers under it (lib/netlink.c), on real netdevs: a representor
 * is a persistent multi-queue vnet-hdr tap, is adopted after a restart with
 * the same ifindex, gives queue fds, goes away on destroy; a name held by a
 * link that is not ours is refused and the link left untouched; an injected
 * fault leaves nothing behind; the SF pool hands representors out, takes
 * them back, and keeps or removes them when released.
 *
 * Creating netdevs needs root and /dev/net/tun: without them those cases are
 * skipped, saying why.  Each run uses its own block of SF numbers (9xxxx,
 * from the pid) and every netdev of that block is deleted after each case.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "log.h"
#include "netlink.h"
#include "sfmgr.h"
#include "sfmgr_tap.h"
#include "util.h"

#define BLOCK         10 /* SF numbers of one run: base .. base + BLOCK - 1 */
#define REP_TUN_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)

static struct vn_nl *nl;
static uint32_t base;         /* first SF number of this run */
static char peer[IFNAMSIZ];   /* the veth peer some cases create */
static char skip_reason[128]; /* why netdev cases cannot run, "" when they can */

static bool tap_output; /* CMOCKA_MESSAGE_OUTPUT=TAP */

/*
 * First line of every case that creates or changes netdevs.  cmocka 1.1.5
 * prints a skip() as "not ok N # SKIP", which automake's TAP driver counts
 * as a failure; so in TAP output such a case carries "# SKIP reason" in its
 * name (see main()) and returns at once, which TAP reads as "ok N - name #
 * SKIP reason".  Elsewhere it is cmocka's skip(), with the reason.
 */
#define NEED_NETDEVS()                                                                             \
    do {                                                                                           \
        if (skip_reason[0]) {                                                                      \
            if (tap_output)                                                                        \
                return;                                                                            \
            print_message("%s\n", skip_reason);                                                    \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void name_of(uint32_t i, char buf[IFNAMSIZ])
{
    assert_int_equal(vn_sf_rep_name(0, base + i, buf), 0);
}

static bool exists(const char *ifname)
{
    return if_nametoindex(ifname) != 0;
}

/* Runs a shell command built from 'fmt'; returns its exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[256];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    return st == -1 ? -1 : WEXITSTATUS(st);
}

/* Reads /sys/class/net/IFNAME/ATTR as a number in 'num_base' (16 takes "0x"). */
static uint64_t sys_u64(const char *ifname, const char *attr, int num_base)
{
    char path[128], buf[64];
    uint64_t v = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    assert_int_equal(vn_parse_u64(buf, num_base, 0, UINT64_MAX, &v), 0);
    return v;
}

/* Deletes every netdev of this run's block, and the veth peer. */
static void cleanup_block(void)
{
    char name[IFNAMSIZ];

    for (uint32_t i = 0; i < BLOCK; i++) {
        name_of(i, name);
        if (exists(name))
            run("ip link del %s 2>/dev/null", name);
    }
    if (peer[0] && exists(peer))
        run("ip link del %s 2>/dev/null", peer);
}

/* Picks a block of SF numbers no netdev uses, starting from one derived from the pid. */
static bool pick_block(void)
{
    uint32_t start = (uint32_t)getpid() % 1000;
    char name[IFNAMSIZ];

    for (uint32_t k = 0; k < 1000; k++) {
        uint32_t i;

        base = 90000 + ((start + k) % 1000) * BLOCK;
        snprintf(peer, sizeof(peer), "vnsfp%u", base);
        for (i = 0; i < BLOCK; i++) {
            name_of(i, name);
            if (exists(name))
                break;
        }
        if (i == BLOCK && !exists(peer))
            return true;
    }
    return false;
}

/* Open fds of this process, to catch a leak on any path. */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int fds_at_start;

/* Says in 'skip_reason' why netdev cases cannot run here, if they cannot. */
static void check_netdevs_possible(void)
{
    if (geteuid() != 0)
        snprintf(skip_reason, sizeof(skip_reason), "needs root (creates tap netdevs)");
    else if (access("/dev/net/tun", R_OK | W_OK) < 0)
        snprintf(skip_reason, sizeof(skip_reason), "needs /dev/net/tun");
    else if (run("command -v ip >/dev/null") != 0)
        snprintf(skip_reason, sizeof(skip_reason), "needs iproute2 (ip)");
    else if (!pick_block())
        snprintf(skip_reason, sizeof(skip_reason), "no free block of SF numbers 9xxxx");
}

static int group_setup(void **state)
{
    int ret = vn_nl_open(&nl);

    if (ret < 0) {
        fprintf(stderr, "cannot open rtnetlink: %s\n", strerror(-ret));
        return -1;
    }
    fds_at_start = count_fds();
    return 0;
}

static int group_teardown(void **state)
{
    if (!skip_reason[0])
        cleanup_block();
    vn_nl_close(nl);
    nl = NULL;
    return 0;
}

/* After each case: every netdev of the block deleted, and no fd left open. */
static int teardown(void **state)
{
    int fds = count_fds();

    if (!skip_reason[0])
        cleanup_block();
    if (fds != fds_at_start) {
        print_error("%d fds open, %d before the first case: a leak\n", fds, fds_at_start);
        return -1;
    }
    return 0;
}

/* Asserts that 'rep' is a live representor: a persistent multi-queue vnet-hdr tap, up. */
static void assert_rep_netdev(const struct vn_sf_rep *rep, uint32_t mtu)
{
    uint64_t tun_flags = sys_u64(rep->ifname, "tun_flags", 16);
    struct vn_nl_link l;

    assert_int_equal(if_nametoindex(rep->ifname), rep->ifindex);
    assert_int_equal(tun_flags & (REP_TUN_FLAGS | IFF_TUN | IFF_PERSIST),
                     REP_TUN_FLAGS | IFF_PERSIST);
    assert_int_equal(sys_u64(rep->ifname, "mtu", 10), mtu);
    assert_int_equal(rep->mtu, mtu);
    assert_true(sys_u64(rep->ifname, "flags", 16) & IFF_UP);
    /* The same, as rtnetlink tells it; no queue stays attached. */
    assert_int_equal(vn_nl_link_get(nl, rep->ifname, &l), 0);
    assert_int_equal(l.ifindex, rep->ifindex);
    assert_string_equal(l.name, rep->ifname);
    assert_string_equal(l.kind, "tun");
    assert_true(l.tun.valid && l.tun.type == IFF_TAP && !l.tun.pi && l.tun.vnet_hdr &&
                l.tun.multi_queue && l.tun.persist);
    assert_int_equal(l.tun.num_queues, 0);
    assert_true(l.up);
}

/* ---- names and rtnetlink ----------------------------------------------------- */

static void test_rep_name(void **state)
{
    char buf[IFNAMSIZ];

    assert_int_equal(vn_sf_rep_name(0, 1001, buf), 0);
    assert_string_equal(buf, "en3f0pf0sf1001");
    assert_int_equal(vn_sf_rep_name(1, 0, buf), 0);
    assert_string_equal(buf, "en3f1pf1sf0");
    assert_int_equal(vn_sf_rep_name(0, 99999, buf), 0);
    assert_string_equal(buf, "en3f0pf0sf99999");
    /* 15 characters at most: a sixth digit does not fit with pf 0. */
    assert_int_equal(vn_sf_rep_name(0, 100000, buf), -ENAMETOOLONG);
    assert_int_equal(vn_sf_rep_name(10, 1000, buf), -ENAMETOOLONG);
}

static void test_nl_link_get(void **state)
{
    struct vn_nl_link l = {.ifindex = -7};

    assert_int_equal(vn_nl_link_get(nl, "lo", &l), 0);
    assert_int_equal(l.ifindex, if_nametoindex("lo"));
    assert_string_equal(l.name, "lo");
    assert_true(l.up);
    assert_true(l.mtu > 0);
    assert_false(l.tun.valid);

    l.ifindex = -7;
    assert_int_equal(vn_nl_link_get(nl, "vn-no-such-if", &l), -ENODEV);
    assert_int_equal(l.ifindex, -7); /* untouched on failure */
    assert_int_equal(vn_nl_link_get(nl, "a-name-far-too-long-for-ifnamsiz", &l), -ENAMETOOLONG);
    assert_int_equal(vn_nl_link_get(nl, "", &l), -ENAMETOOLONG);
    /* The socket stays usable after errors. */
    assert_int_equal(vn_nl_link_get(nl, "lo", &l), 0);
}

static void test_nl_link_errors(void **state)
{
    NEED_NETDEVS(); /* changing links needs CAP_NET_ADMIN */
    /* A free ifindex: the kernel's error comes back as a negative errno. */
    assert_int_equal(vn_nl_link_del(nl, 0x7ffffff0), -ENODEV);
    assert_int_equal(vn_nl_link_set_mtu(nl, 0x7ffffff0, 1500), -ENODEV);
    assert_int_equal(vn_nl_link_set_up(nl, 0x7ffffff0, true), -ENODEV);
    assert_int_equal(vn_nl_link_del(nl, 0), -EINVAL);
}

static void test_nl_set_mtu_up_down(void **state)
{
    struct vn_nl_link l;
    char name[IFNAMSIZ];

    NEED_NETDEVS();
    name_of(0, name);
    assert_int_equal(run("ip tuntap add dev %s mode tap", name), 0);
    assert_int_equal(vn_nl_link_get(nl, name, &l), 0);
    assert_false(l.up);
    assert_true(l.tun.valid && l.tun.persist && !l.tun.vnet_hdr && !l.tun.multi_queue);

    assert_int_equal(vn_nl_link_set_mtu(nl, l.ifindex, 1234), 0);
    assert_int_equal(sys_u64(name, "mtu", 10), 1234);
    assert_int_equal(vn_nl_link_set_mtu(nl, l.ifindex, 10), -EINVAL); /* below the minimum */
    assert_int_equal(vn_nl_link_set_up(nl, l.ifindex, true), 0);
    assert_true(sys_u64(name, "flags", 16) & IFF_UP);
    assert_int_equal(vn_nl_link_set_up(nl, l.ifindex, false), 0);
    assert_false(sys_u64(name, "flags", 16) & IFF_UP);

    assert_int_equal(vn_nl_link_del(nl, l.ifindex), 0);
    assert_false(exists(name));
    assert_int_equal(vn_nl_link_del(nl, l.ifindex), -ENODEV);
}

/* ---- representors ------------------------------------------------------------- */

static void test_create(void **state)
{
    struct vn_sf_rep rep;

    NEED_NETDEVS();
    assert_int_equal(vn_sf_rep_create(nl, 0, base, 1600, &rep), 0);
    assert_int_equal(rep.pf_num, 0);
    assert_int_equal(rep.sf_num, base);
    assert_false(rep.adopted);
    assert_true(rep.ifindex > 0);
    assert_rep_netdev(&rep, 1600);

    /* A tap's default MTU is kept when it is above the one asked for. */
    assert_int_equal(vn_sf_rep_create(nl, 0, base + 1, 576, &rep), 0);
    assert_rep_netdev(&rep, 1500);
}

static void test_adopt_after_restart(void **state)
{
    struct vn_sf_rep first, again;

    NEED_NETDEVS();
    assert_int_equal(vn_sf_rep_create(nl, 0, base, 1500, &first), 0);

    /* "Restart": a new rtnetlink socket, as a new process would have; a lower MTU asked. */
    vn_nl_close(nl);
    assert_int_equal(vn_nl_open(&nl), 0);
    assert_int_equal(vn_sf_rep_create(nl, 0, base, 1400, &again), 0);
    assert_true(again.adopted);
    assert_int_equal(again.ifindex, first.ifindex);
    assert_rep_netdev(&again, 1500); /* never lowered */

    /* An operator took it down and the next start wants a bigger MTU. */
    assert_int_equal(run("ip link set dev %s down", first.ifname), 0);
    assert_int_equal(vn_sf_rep_create(nl, 0, base, 9000, &again), 0);
    assert_int_equal(again.ifindex, first.ifindex);
    assert_rep_netdev(&again, 9000);
}

static void test_open_queue(void **state)
{
    struct vn_sf_rep rep;
    struct vn_nl_link l;
    struct ifreq ifr;
    int fd1 = -1, fd2 = -1, hdr = 0;

    NEED_NETDEVS();
    assert_int_equal(vn_sf_rep_create(nl, 0, base, 1500, &rep), 0);
    assert_int_equal(vn_sf_rep_open_queue(&rep, &fd1), 0);
    assert_int_equal(vn_sf_rep_open_queue(&rep, &fd2), 0);
    assert_true(fd1 >= 0 && fd2 >= 0 && fd1 != fd2);
    assert_true(fcntl(fd1, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(fd1, F_GETFD) & FD_CLOEXEC);
    memset(&ifr, 0, sizeof(ifr));
    assert_int_equal(ioctl(fd1, TUNGETIFF, &ifr), 0);
    assert_string_equal(ifr.ifr_name, rep.ifname);
    assert_int_equal(ifr.ifr_flags & REP_TUN_FLAGS, REP_TUN_FLAGS);
    assert_int_equal(ioctl(fd1, TUNGETVNETHDRSZ, &hdr), 0);
    assert_int_equal(hdr, 12);
    assert_int_equal(vn_nl_link_get(nl, rep.ifname, &l), 0);
    assert_int_equal(l.tun.num_queues, 2);
    /* A frame written to a queue is accepted (the header comes first). */
    {
        uint8_t frame[12 + 60] = {0};

        memset(frame + 12, 0xff, 6);
        assert_int_equal(write(fd1, frame, sizeof(frame)), (ssize_t)sizeof(frame));
    }
    close(fd1);
    close(fd2);
    assert_int_equal(if_nametoindex(rep.ifname), rep.ifindex); /* persistent */

    /* Once the representor is gone, no queue, and no tap made by asking for one. */
    assert_int_equal(run("ip link del %s", rep.ifname), 0);
    fd1 = -1;
    assert_int_equal(vn_sf_rep_open_queue(&rep, &fd1), -ENODEV);
    assert_int_equal(fd1, -1);
    assert_false(exists(rep.ifname));
}

static void test_destroy(void **state)
{
    struct vn_sf_rep rep, copy;
    int fd;

    NEED_NETDEVS();
    assert_int_equal(vn_sf_rep_create(nl, 0, base, 1500, &rep), 0);
    copy = rep;
    /* A queue still attached does not keep it. */
    assert_int_equal(vn_sf_rep_open_queue(&rep, &fd), 0);
    assert_int_equal(vn_sf_rep_destroy(nl, &rep), 0);
    assert_false(exists(copy.ifname));
    assert_string_equal(rep.ifname, "");
    assert_int_equal(rep.ifindex, 0);
    assert_int_equal(rep.sf_num, base);
    close(fd);
    assert_false(exists(copy.ifname));

    /* Idempotent, and a netdev already gone is success. */
    assert_int_equal(vn_sf_rep_destroy(nl, &rep), 0);
    assert_int_equal(vn_sf_rep_destroy(nl, &copy), 0);
    assert_string_equal(copy.ifname, "");
}

static void test_name_taken_by_other_link(void **state)
{
    struct vn_sf_rep rep = {.ifindex = 0}, stale;
    char name[IFNAMSIZ];
    unsigned int ifindex;

    NEED_NETDEVS();
    /* A veth holds the name. */
    name_of(0, name);
    assert_int_equal(run("ip link add %s mtu 1400 type veth peer name %s", name, peer), 0);
    ifindex = if_nametoindex(name);
    assert_int_equal(vn_sf_rep_create(nl, 0, base, 1500, &rep), -EEXIST);
    assert_int_equal(rep.ifindex, 0); /* untouched */
    assert_int_equal(if_nametoindex(name), ifindex);
    assert_int_equal(sys_u64(name, "mtu", 10), 1400);
    assert_false(sys_u64(name, "flags", 16) & IFF_UP);
    assert_true(exists(peer));

    /* A representor record whose name a veth now holds: destroy leaves the veth. */
    stale = (struct vn_sf_rep){.ifindex = (int)ifindex, .sf_num = base};
    vn_strlcpy(stale.ifname, name, sizeof(stale.ifname));
    assert_int_equal(vn_sf_rep_destroy(nl, &stale), 0);
    assert_int_equal(if_nametoindex(name), ifindex);

    /* A tap without the representor's flags is not ours either. */
    name_of(1, name);
    assert_int_equal(run("ip tuntap add dev %s mode tap", name), 0);
    ifindex = if_nametoindex(name);
    assert_int_equal(vn_sf_rep_create(nl, 0, base + 1, 1500, &rep), -EEXIST);
    assert_int_equal(if_nametoindex(name), ifindex);
    assert_int_equal(sys_u64(name, "tun_flags", 16) & (IFF_VNET_HDR | IFF_MULTI_QUEUE), 0);
    assert_false(sys_u64(name, "flags", 16) & IFF_UP);
}

static void test_fault_env(void **state)
{
    /* main() set VIRTNET_FAULT=test_env_a,test_env_b before the first check. */
    assert_true(vn_fault("test_env_a"));
    assert_true(vn_fault("test_env_a")); /* every pass */
    assert_true(vn_fault("test_env_b"));
    assert_false(vn_fault("test_env"));
    assert_false(vn_fault("sf_create"));
}

static void test_fault_rolls_back(void **state)
{
    static const char *const points[] = {"sf_create", "sf_link_up"};
    struct vn_sf_rep rep = {.ifindex = 0}, kept;
    char name[IFNAMSIZ];

    NEED_NETDEVS();
    name_of(0, name);
    for (size_t i = 0; i < VN_ARRAY_SIZE(points); i++) {
        assert_int_equal(vn_fault_arm(points[i]), 0);
        assert_int_equal(vn_sf_rep_create(nl, 0, base, 1500, &rep), -EIO);
        assert_int_equal(rep.ifindex, 0);
        assert_false(exists(name));
        /* The point fired once: the next create works. */
        assert_int_equal(vn_sf_rep_create(nl, 0, base, 1500, &rep), 0);
        assert_int_equal(vn_sf_rep_destroy(nl, &rep), 0);
        assert_false(exists(name));
    }

    /* A fault while adopting leaves the tap as it was: same ifindex, MTU, persistent. */
    assert_int_equal(vn_sf_rep_create(nl, 0, base, 1500, &kept), 0);
    for (size_t i = 0; i < VN_ARRAY_SIZE(points); i++) {
        assert_int_equal(vn_fault_arm(points[i]), 0);
        assert_int_equal(vn_sf_rep_create(nl, 0, base, 9000, &rep), -EIO);
        assert_rep_netdev(&kept, 1500);
    }
}

static void test_set_mtu(void **state)
{
    struct vn_sf_rep rep, none = {.ifindex = 0};

    NEED_NETDEVS();
    assert_int_equal(vn_sf_rep_create(nl, 0, base, 1500, &rep), 0);
    assert_int_equal(vn_sf_rep_set_mtu(nl, &rep, 9000), 0);
    assert_int_equal(rep.mtu, 9000);
    assert_int_equal(sys_u64(rep.ifname, "mtu", 10), 9000);
    assert_int_equal(vn_sf_rep_set_mtu(nl, &rep, 1280), 0);
    assert_int_equal(sys_u64(rep.ifname, "mtu", 10), 1280);
    assert_int_equal(vn_sf_rep_set_mtu(nl, &rep, 1 << 20), -EINVAL);
    assert_int_equal(rep.mtu, 1280);
    assert_int_equal(vn_sf_rep_set_mtu(nl, &none, 1500), -ENODEV);
}

/* ---- SF manager core (sfmgr.c): numbers and the pool -------------------------------- */

static struct vn_sfmgr *sfm_open(const char *backend, uint32_t total, uint32_t pool, bool force)
{
    struct vn_sfmgr_cfg cfg = {
        .backend = backend, .serial = "TESTSF", .nl = nl, .total_sf = total, .sf_num_base = base,
        .pool_size = pool, .pool_mtu = 1500, .pool_force_destroy = force,
    };
    struct vn_sfmgr *sfm = NULL;

    assert_int_equal(vn_sfmgr_open(&cfg, &sfm), 0);
    return sfm;
}

static int acquire(struct vn_sfmgr *sfm, uint32_t pf, uint32_t sf, uint32_t mtu,
                   struct vn_sf_rep *out)
{
    const struct vn_sf_req req = {.pf_num = pf, .sf_num = sf, .mtu = mtu, .owner = "T"};
    char err[128];

    return vn_sfmgr_acquire(sfm, &req, out, err, sizeof(err));
}

static void test_sfmgr_numbers(void **state)
{
    struct vn_sfmgr *sfm = sfm_open("dummy", 3, 0, false);
    struct vn_sfmgr_counts n;
    struct vn_sf_rep a, b, c, d;
    char name[IFNAMSIZ];

    (void)state;
    /* A number a recovery file claims is not handed out as "any". */
    vn_sfmgr_reserve(sfm, base);
    assert_int_equal(acquire(sfm, 0, 0, 1500, &a), 0);
    assert_int_equal(a.sf_num, base + 1);
    assert_int_equal(acquire(sfm, 0, base, 9000, &b), 0);
    assert_int_equal(b.mtu, 9000);
    assert_true(vn_sfmgr_sf_used(sfm, base));
    vn_sfmgr_unreserve_all(sfm);
    /* A number in use is refused; past PF_TOTAL_SF nothing is made. */
    assert_int_equal(acquire(sfm, 0, base, 1500, &d), -EEXIST);
    assert_int_equal(acquire(sfm, 1, 0, 1500, &c), 0);
    assert_int_equal(vn_sf_rep_name(1, base + 2, name), 0);
    assert_string_equal(c.ifname, name);
    assert_int_equal(acquire(sfm, 0, 0, 1500, &d), -ENOSPC);
    vn_sfmgr_counts(sfm, &n);
    assert_int_equal(n.in_use, 3);
    /* Released, kept or deleted: the number is free again and the caller's copy empty. */
    assert_int_equal(vn_sfmgr_release(sfm, &a, false), 0);
    assert_string_equal(a.ifname, "");
    assert_int_equal(vn_sfmgr_release(sfm, &b, true), 0);
    assert_false(vn_sfmgr_sf_used(sfm, base));
    vn_sfmgr_counts(sfm, &n);
    assert_int_equal(n.in_use, 1);
    assert_int_equal(vn_sfmgr_release(sfm, &c, true), 0);
    vn_sfmgr_close(sfm);
}

static void test_sfmgr_pool(void **state)
{
    struct vn_sfmgr *sfm;
    struct vn_sfmgr_counts n;
    struct vn_sf_rep a, x;
    char name[IFNAMSIZ];
    int ifindex[3];

    NEED_NETDEVS();
    sfm = sfm_open("tap", 10, 3, false);
    vn_sfmgr_pool_fill(sfm);
    vn_sfmgr_counts(sfm, &n);
    assert_int_equal(n.pool_free, 3);
    assert_int_equal(n.in_use, 3);
    for (uint32_t i = 0; i < 3; i++) {
        name_of(i, name);
        ifindex[i] = (int)if_nametoindex(name);
        assert_true(ifindex[i] > 0);
    }
    /* "Any" on the pool's port comes from the pool, with its MTU raised. */
    assert_int_equal(acquire(sfm, 0, 0, 1600, &a), 0);
    assert_rep_netdev(&a, 1600);
    vn_sfmgr_counts(sfm, &n);
    assert_int_equal(n.pool_free, 2);
    /* A given number is made for the device; given back to a full pool it is deleted. */
    assert_int_equal(acquire(sfm, 0, base + 5, 1500, &x), 0);
    assert_int_equal(vn_sfmgr_release(sfm, &a, true), 0);
    vn_sfmgr_counts(sfm, &n);
    assert_int_equal(n.pool_free, 3);
    name_of(5, name);
    assert_int_equal(vn_sfmgr_release(sfm, &x, true), 0);
    assert_false(exists(name));
    /* Closed without force: the pool's representors stay, and the next start adopts them. */
    vn_sfmgr_close(sfm);
    sfm = sfm_open("tap", 10, 3, true);
    vn_sfmgr_pool_fill(sfm);
    for (uint32_t i = 0; i < 3; i++) {
        name_of(i, name);
        assert_int_equal(if_nametoindex(name), ifindex[i]);
    }
    /* Closed with force (sf_pool_force_destroy): gone. */
    vn_sfmgr_close(sfm);
    for (uint32_t i = 0; i < 3; i++) {
        name_of(i, name);
        assert_false(exists(name));
    }
}

int main(void)
{
    /* X(case, needs netdevs) */
#define SF_CASES(X)                                                                                \
    X(test_rep_name, false)                                                                        \
    X(test_nl_link_get, false)                                                                     \
    X(test_nl_link_errors, true)                                                                   \
    X(test_nl_set_mtu_up_down, true)                                                               \
    X(test_create, true)                                                                           \
    X(test_adopt_after_restart, true)                                                              \
    X(test_open_queue, true)                                                                       \
    X(test_destroy, true)                                                                          \
    X(test_name_taken_by_other_link, true)                                                         \
    X(test_fault_env, false)                                                                       \
    X(test_fault_rolls_back, true)                                                                 \
    X(test_set_mtu, true)                                                                          \
    X(test_sfmgr_numbers, false)                                                                   \
    X(test_sfmgr_pool, true)
#define SF_CASE(f, netdevs) {#f, f, netdevs},
    static const struct {
        const char *name;
        CMUnitTestFunction fn;
        bool netdevs;
    } cases[] = {SF_CASES(SF_CASE)};
#undef SF_CASE
    static char names[VN_ARRAY_SIZE(cases)][192];
    struct CMUnitTest tests[VN_ARRAY_SIZE(cases)];
    const char *out = getenv("CMOCKA_MESSAGE_OUTPUT");

    /* Read once by lib/fault.c, at the first check: set before any. */
    setenv("VIRTNET_FAULT", "test_env_a,test_env_b", 1);
    vn_log_set_all_levels(VN_LL_WARN);
    tap_output = out && vn_streq_nocase(out, "tap");
    check_netdevs_possible();
    for (size_t i = 0; i < VN_ARRAY_SIZE(cases); i++) {
        if (cases[i].netdevs && skip_reason[0] && tap_output)
            snprintf(names[i], sizeof(names[i]), "%s # SKIP %s", cases[i].name, skip_reason);
        else
            snprintf(names[i], sizeof(names[i]), "%s", cases[i].name);
        tests[i] = (struct CMUnitTest){
            .name = names[i],
            .test_func = cases[i].fn,
            .teardown_func = teardown,
        };
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
