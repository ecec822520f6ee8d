/*
 * main.c - virtio_net_controller: the virtio-net device emulation daemon.
 *
 * Parse the command line, set up the controller (config, paths, lock),
 * start serving, run the loop until SIGTERM/SIGINT, tear down.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ctl.h"
#include "log.h"
#include "paths.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: virtio_net_controller [OPTIONS]\n"
            "\n"
            "virtio-net device emulation controller (v%s).  Serves the `virtnet` CLI over\n"
            "JSON-RPC on a unix socket; without a DPU it runs on the built-in software DPU.\n"
            "\n"
            "options:\n"
            "  -c, --config FILE        configuration file (default %s;\n"
            "                           built-in defaults when that file does not exist)\n"
            "  -s, --socket PATH        JSON-RPC socket (default %s)\n"
            "  -d, --state-dir DIR      recovery files, vhost-user sockets, lock\n"
            "                           (default %s)\n"
            "  -f, --foreground         stay in the foreground, log to stderr\n"
            "  -l, --log-level LEVEL    initial level of every module: error, warn, info, debug\n"
            "      --update-binary PATH the controller `virtnet update -s` starts\n"
            "                           (default %s/virtio_net_controller)\n"
            "      --provider-lib-dir DIR where the provider libraries (NAME.so) are\n"
            "                           (default %s/providers)\n"
            "  -V, --version            print the version and exit\n"
            "  -h, --help               print this help and exit\n",
            VN_VERSION, VN_DEFAULT_CONFIG, VN_DEFAULT_RPC_SOCKET, VN_DEFAULT_STATE_DIR,
            VN_SBINDIR, VN_PKGLIBDIR);
}

/*
 * Forks into the background.  The parent waits until the child reports
 * readiness (or failure) through a pipe and exits with its status, so a
 * failed start is seen by whoever started the daemon.  Returns the write end
 * of that pipe in the child, or -1 on failure (in the original process).
 */
static int daemonize(void)
{
    int pfd[2];
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        char status = 1;

        close(pfd[1]);
        if (read(pfd[0], &status, 1) != 1)
            status = 1;
        _exit(status);
    }
    close(pfd[0]);
    if (setsid() < 0)
        return -1;
    if (chdir("/") < 0)
        return -1;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    return pfd[1];
}

static void report_ready(int fd, char status)
{
    if (fd >= 0) {
        (void)!write(fd, &status, 1);
        close(fd);
    }
}

int main(int argc, char **argv)
{
    enum { OPT_UPDATE_BINARY = 256, OPT_PROVIDER_LIB_DIR, OPT_HANDOVER_FD };
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "socket", required_argument, NULL, 's' },
        { "state-dir", required_argument, NULL, 'd' },
        { "foreground", no_argument, NULL, 'f' },
        { "log-level", required_argument, NULL, 'l' },
        { "update-binary", required_argument, NULL, OPT_UPDATE_BINARY },
        { "provider-lib-dir", required_argument, NULL, OPT_PROVIDER_LIB_DIR },
        { "handover-fd", required_argument, NULL, OPT_HANDOVER_FD },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vn_ctl_opts opts = { .handover_fd = -1 };
    struct vn_ctl ctl;
    struct ev_loop *loop;
    int level = -1, ready_fd = -1, c, ret;

    while ((c = getopt_long(argc, argv, "c:s:d:fl:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opts.config_path = optarg;
            break;
        case 's':
            opts.socket_path = optarg;
            break;
        case 'd':
            opts.state_dir = optarg;
            break;
        case 'f':
            opts.foreground = true;
            break;
        case 'l':
            level = vn_log_level_from_name(optarg);
            if (level < 0) {
                fprintf(stderr, "virtio_net_controller: unknown log level '%s' "
                                "(error, warn, info, debug)\n", optarg);
                return 2;
            }
            opts.log_level = optarg;
            break;
        case OPT_UPDATE_BINARY:
            opts.update_binary = optarg;
            break;
        case OPT_PROVIDER_LIB_DIR:
            opts.provider_lib_dir = optarg;
            break;
        case OPT_HANDOVER_FD: {
            uint64_t fd;

            /* Internal: set by a running controller that hands its devices over. */
            if (vn_parse_u64(optarg, 10, 3, INT_MAX, &fd) < 0 || fcntl((int)fd, F_GETFD) < 0) {
                fprintf(stderr, "virtio_net_controller: --handover-fd: '%s' is not an open fd\n",
                        optarg);
                return 2;
            }
            opts.handover_fd = (int)fd;
            (void)!fcntl((int)fd, F_SETFD, FD_CLOEXEC);
            break;
        }
        case 'V':
            printf("virtio_net_controller v%s\n", VN_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'virtio_net_controller --help'.\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "virtio_net_controller: unexpected argument '%s'\n"
                        "Try 'virtio_net_controller --help'.\n", argv[optind]);
        return 2;
    }

    if (!opts.foreground) {
        ready_fd = daemonize();
        if (ready_fd < 0) {
            perror("virtio_net_controller: cannot start in the background");
            return 1;
        }
    }
    vn_log_open("virtio_net_controller", opts.foreground);
    if (level >= 0)
        vn_log_set_all_levels((enum vn_log_level)level);

    loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    if (!loop) {
        VN_ERR(MAIN, "cannot create the event loop");
        report_ready(ready_fd, 1);
        return 1;
    }
    ret = vn_ctl_init(&ctl, loop, &opts);
    if (ret == 0)
        ret = vn_ctl_start(&ctl);
    if (ret < 0) {
        VN_ERR(MAIN, "start-up failed: %s", strerror(-ret));
        vn_ctl_stop(&ctl);
        vn_ctl_fini(&ctl);
        report_ready(ready_fd, 1);
        vn_log_close();
        return 1;
    }
    VN_INFO(MAIN, "virtio_net_controller v%s ready (pid %d): virtnet --socket %s list",
            VN_VERSION, (int)getpid(), ctl.rpc_socket);
    if (opts.handover_fd >= 0) {
        char mainpid[32];

        /* systemd follows the new main process (the unit has NotifyAccess=all). */
        snprintf(mainpid, sizeof(mainpid), "MAINPID=%d", (int)getpid());
        vn_ctl_sd_notify(mainpid);
    }
    vn_ctl_sd_notify("READY=1");
    report_ready(ready_fd, 0);

    ev_run(loop, 0);
    if (ctl.exit_requested)
        VN_INFO(MAIN, "handed over to the new controller");

    vn_ctl_stop(&ctl);
    vn_ctl_fini(&ctl);
    VN_INFO(MAIN, "stopped");
    vn_log_close();
    ev_loop_destroy(loop);
    return 0;
}
