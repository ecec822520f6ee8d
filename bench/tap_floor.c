/*
 * tap_floor.c - the floor for controller start-up: create N persistent
 * multi-queue vnet-hdr taps (as representors are made), set their MTU and
 * bring them up, in a plain loop; then delete them.  Prints the seconds the
 * creation took.  Used by bench/control_plane.sh.
 *
 * usage: tap_floor N PREFIX
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int tap(const char *name, int persist)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, persist) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 2 ? atoi(argv[1]) : 0;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    double t0, t1;

    if (n <= 0 || n > 4096 || s < 0) {
        fprintf(stderr, "usage: tap_floor N PREFIX (as root)\n");
        return 2;
    }
    t0 = now();
    for (int i = 0; i < n; i++) {
        struct ifreq ifr;
        char name[IFNAMSIZ];

        snprintf(name, sizeof(name), "%s%d", argv[2], i);
        if (tap(name, 1) < 0) {
            perror("tap");
            return 1;
        }
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
        ifr.ifr_mtu = 1500;
        ioctl(s, SIOCSIFMTU, &ifr);
        ioctl(s, SIOCGIFFLAGS, &ifr);
        ifr.ifr_flags |= IFF_UP;
        ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    t1 = now();
    for (int i = 0; i < n; i++) {
        char name[IFNAMSIZ];

        snprintf(name, sizeof(name), "%s%d", argv[2], i);
        tap(name, 0);
    }
    printf("%.4f\n", t1 - t0);
    return 0;
}
