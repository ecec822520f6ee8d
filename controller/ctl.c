/*
 * ctl.c - controller set-up and tear-down; see ctl.h.
 */
#include <config.h>

#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "device.h"
#include "host_libvirt.h"
#include "log.h"
#include "metrics.h"
#include "netlink.h"
#include "paths.h"
#include "provider.h"
#include "reload.h"
#include "rpc_methods.h"
#include "rpc_server.h"
#include "sock_perms.h"
#include "statefile.h"
#include "update.h"
#include "util.h"
#include "emu.h"
#include "sfmgr.h"

#define LATENCY_PERIOD 0.5 /* seconds between loop-latency samples */

/* mkdir -p with 'mode' for the components it creates. */
static int mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    int ret = vn_strlcpy(buf, path, sizeof(buf));

    if (ret < 0)
        return ret;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    struct stat st;

    if (stat(buf, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Picks the first non-empty of 'cli', 'conf', then 'def' into 'dst'. */
static int pick_path(char *dst, size_t size, const char *what, const char *cli, const char *conf,
                     const char *def)
{
    const char *v = (cli && cli[0]) ? cli : (conf && conf[0]) ? conf : def;
    int ret = vn_strlcpy(dst, v, size);

    if (ret < 0)
        VN_ERR(MAIN, "%s path too long: %s", what, v);
    return ret;
}

static int load_config(struct vn_ctl *ctl, const struct vn_ctl_opts *opts)
{
    struct vn_conf_errors errs;
    const char *path = opts->config_path ? opts->config_path : VN_DEFAULT_CONFIG;
    int ret;

    if (vn_strlcpy(ctl->config_path, path, sizeof(ctl->config_path)) < 0) {
        VN_ERR(CONF, "config path too long: %s", path);
        return -ENAMETOOLONG;
    }
    vn_conf_init_defaults(&ctl->conf);
    ret = vn_conf_load(path, &ctl->conf, &errs);
    if (ret == -ENOENT && !opts->config_path) {
        VN_INFO(CONF, "no config file at %s: using built-in defaults", path);
        vn_conf_init_defaults(&ctl->conf);
        return 0;
    }
    if (ret < 0) {
        for (unsigned i = 0; i < errs.n; i++)
            VN_ERR(CONF, "%s: %s", path, errs.msg[i]);
        if (errs.dropped)
            VN_ERR(CONF, "%s: ... and %u more errors", path, errs.dropped);
        if (!errs.n)
            VN_ERR(CONF, "%s: %s", path, strerror(-ret));
        return ret;
    }
    ctl->has_config_file = true;
    VN_INFO(CONF, "configuration loaded from %s", path);
    return 0;
}

/* Our pid into the lock file (the holder's pid, for people and tests). */
static void write_lock_pid(struct vn_ctl *ctl)
{
    char pid[32];

    snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(ctl->lock_fd, 0) < 0 || pwrite(ctl->lock_fd, pid, strlen(pid), 0) < 0)
        VN_WARN(MAIN, "cannot write pid to the lock file: %s", strerror(errno));
}

/* The lock file, in the state dir open at 'dfd' (never through a symlink). */
static int take_lock(struct vn_ctl *ctl, int dfd)
{
    char path[PATH_MAX], pid[32];
    int ret;

    if (vn_snprintf(path, sizeof(path), "%s/%s", ctl->state_dir, VN_LOCK_FILE) < 0)
        return -ENAMETOOLONG;
    ctl->lock_fd = openat(dfd, VN_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                          0640);
    if (ctl->lock_fd < 0) {
        ret = -errno;
        VN_ERR(MAIN, "cannot open lock file %s: %s", path, strerror(errno));
        return ret;
    }
    if (flock(ctl->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        ret = -errno;
        if (errno == EWOULDBLOCK) {
            ssize_t n = pread(ctl->lock_fd, pid, sizeof(pid) - 1, 0);

            pid[n > 0 ? n : 0] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
            VN_ERR(MAIN, "state dir %s is in use by another controller (pid %s)", ctl->state_dir,
                   pid[0] ? pid : "unknown");
            ret = -EBUSY;
        } else {
            VN_ERR(MAIN, "cannot lock %s: %s", path, strerror(errno));
        }
        close(ctl->lock_fd);
        ctl->lock_fd = -1;
        return ret;
    }
    write_lock_pid(ctl);
    return 0;
}

int vn_ctl_init(struct vn_ctl *ctl, struct ev_loop *loop, const struct vn_ctl_opts *opts)
{
    char def[PATH_MAX];
    int dfd, ret;

    memset(ctl, 0, sizeof(*ctl));
    ctl->loop = loop;
    ctl->lock_fd = -1;
    ctl->upd.fd = opts->handover_fd;
    ctl->upd.rpc_fd = -1;
    if (opts->log_level)
        snprintf(ctl->log_level_arg, sizeof(ctl->log_level_arg), "%s", opts->log_level);
    ctl->start_ns = vn_now_ns();
    ctl->start_time = time(NULL);

    ret = load_config(ctl, opts);
    if (ret < 0)
        return ret;

    ret = pick_path(ctl->state_dir, sizeof(ctl->state_dir), "state dir", opts->state_dir,
                    ctl->conf.state_dir, VN_DEFAULT_STATE_DIR);
    if (ret < 0)
        return ret;
    if (vn_snprintf(def, sizeof(def), "%s/%s", ctl->state_dir, VN_RECOVERY_SUBDIR) < 0)
        return -ENAMETOOLONG;
    if ((ret = pick_path(ctl->recovery_dir, sizeof(ctl->recovery_dir), "recovery dir", NULL,
                         ctl->conf.recovery_dir, def)) < 0 ||
        (ret = pick_path(ctl->providers_dir, sizeof(ctl->providers_dir), "providers dir", NULL,
                         ctl->conf.providers_dir, VN_DEFAULT_PROVIDERS_DIR)) < 0 ||
        (ret = pick_path(ctl->rpc_socket, sizeof(ctl->rpc_socket), "RPC socket",
                         opts->socket_path, ctl->conf.rpc_socket, VN_DEFAULT_RPC_SOCKET)) < 0 ||
        (ret = pick_path(ctl->update_binary, sizeof(ctl->update_binary), "update binary",
                         opts->update_binary, NULL, VN_SBINDIR "/virtio_net_controller")) < 0 ||
        (ret = pick_path(ctl->provider_lib_dir, sizeof(ctl->provider_lib_dir), "provider library",
                         opts->provider_lib_dir, NULL, VN_PKGLIBDIR "/providers")) < 0)
        return ret;

    ret = mkdir_p(ctl->state_dir, 0750);
    if (ret < 0) {
        VN_ERR(MAIN, "cannot create state dir %s: %s", ctl->state_dir, strerror(-ret));
        return ret;
    }
    /* Ours and writable by nobody else, or refused (statefile.h). */
    dfd = vn_statedir_open_secure(ctl->state_dir, "state dir");
    if (dfd < 0)
        return dfd;
    /* A live update brings the running controller's lock (and sockets) along. */
    ret = ctl->upd.fd >= 0 ? vn_update_receive_hello(ctl) : take_lock(ctl, dfd);
    close(dfd);
    if (ret < 0)
        return ret;
    if (ctl->conf.recovery) {
        ret = mkdir_p(ctl->recovery_dir, 0750);
        if (ret < 0) {
            VN_ERR(REC, "cannot create recovery dir %s: %s", ctl->recovery_dir, strerror(-ret));
            return ret;
        }
        dfd = vn_statedir_open_secure(ctl->recovery_dir, "recovery dir");
        if (dfd < 0)
            return dfd;
        close(dfd);
    }
    return 0;
}

static void stop_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    VN_INFO(MAIN, "%s: shutting down", strsignal(w->signum));
    vn_ctl_sd_notify("STOPPING=1");
    ev_break(loop, EVBREAK_ALL);
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct vn_ctl *ctl = vn_container_of(w, struct vn_ctl, sig_hup);

    VN_INFO(MAIN, "SIGHUP: reloading the configuration");
    (void)vn_ctl_reload(ctl);
}

static void latency_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct vn_ctl *ctl = vn_container_of(w, struct vn_ctl, latency_timer);
    double late = (ev_time() - ctl->latency_expected) * 1e6;

    if (late < 0)
        late = 0;
    ctl->latency.last_us = late;
    ctl->latency.sum_us += late;
    ctl->latency.samples++;
    if (late > ctl->latency.max_us)
        ctl->latency.max_us = late;
    ctl->latency_expected = ev_time() + LATENCY_PERIOD;
    ev_timer_set(w, LATENCY_PERIOD, 0);
    ev_timer_start(loop, w);
}

/*
 * vhost_socket (group, mode): checked before anything is created, so that a
 * group that does not exist stops the start with its name.  The socket
 * directory and the sockets get them where the emulation backend makes them
 * (sock_perms.h).
 */
static int check_vhost_socket_conf(struct vn_ctl *ctl)
{
    struct vn_sock_perms perms;
    char err[256];
    int ret = vn_sock_perms_resolve(&ctl->conf.vhost_socket, &perms, err, sizeof(err));

    if (ret < 0)
        VN_ERR(MAIN, "%s", err);
    return ret;
}

int vn_ctl_start(struct vn_ctl *ctl)
{
    struct vn_rpc_server_cfg cfg = {
        .path = ctl->rpc_socket,
        .group = ctl->conf.rpc_group,
        .methods = vn_rpc_methods,
        .n_methods = vn_rpc_n_methods,
        .ctx = ctl,
        .limits = VN_RPC_LIMITS_DEFAULT,
        .inherited_fd = -1,
    };
    int ret;

    cfg.limits.idle_timeout_s = ctl->conf.rpc_idle_timeout;

    signal(SIGPIPE, SIG_IGN);
    ev_signal_init(&ctl->sig_term, stop_signal_cb, SIGTERM);
    ev_signal_init(&ctl->sig_int, stop_signal_cb, SIGINT);
    ev_signal_init(&ctl->sig_hup, hup_cb, SIGHUP);
    ev_signal_start(ctl->loop, &ctl->sig_term);
    ev_signal_start(ctl->loop, &ctl->sig_int);
    ev_signal_start(ctl->loop, &ctl->sig_hup);

    struct vn_provider_env penv = {
        .abi_version = VN_PROVIDER_ABI_VERSION,
        .emu_manager = ctl->conf.is_lag ? ctl->conf.ib_dev_lag : ctl->conf.ib_dev_p0,
        .features = ctl->conf.emu.features,
        .max_virtq = ctl->conf.emu.max_virtq,
        .max_queue_size = ctl->conf.emu.max_queue_size,
        .dp_workers = ctl->conf.eth_vq_workers,
        .dp_cpu_mask = ctl->conf.emu.worker_cpu_mask,
    };

    ret = check_vhost_socket_conf(ctl);
    if (ret < 0)
        return ret;
    ret = vn_providers_load(ctl->providers_dir, ctl->provider_lib_dir, &penv,
                            ctl->conf.provider_sw_fallback, &ctl->providers);
    if (ret < 0)
        return ret;

    /* The software DPU's SF manager configures taps over rtnetlink; the dummy needs nothing. */
    bool dummy = !strcmp(ctl->conf.emu.backend, "dummy");

    if (!dummy) {
        ret = vn_nl_open(&ctl->nl);
        if (ret < 0) {
            VN_ERR(MAIN, "cannot open rtnetlink: %s", strerror(-ret));
            return ret;
        }
    }
    struct vn_sfmgr_cfg scfg = {
        .backend = dummy ? "dummy" : "tap",
        .serial = ctl->conf.emu.serial,
        .nl = ctl->nl,
        .total_sf = ctl->conf.emu.pf_total_sf,
        .sf_num_base = ctl->conf.emu.sf_num_base,
        .pool_size = (uint32_t)((uint64_t)ctl->conf.emu.pf_total_sf *
                                ctl->conf.sf_pool_percent / 100),
        .pool_mtu = 1500,
        .pool_force_destroy = ctl->conf.sf_pool_force_destroy,
    };

    ret = vn_sfmgr_open(&scfg, &ctl->sfm);
    if (ret < 0)
        return ret;
    struct vn_emu_env eenv = {
        .loop = ctl->loop,
        .state_dir = ctl->state_dir,
        .sfm = ctl->sfm,
        .dp = vn_providers_active(ctl->providers),
        .dp_priv = vn_providers_active_priv(ctl->providers),
        .sock_perms = &ctl->conf.vhost_socket,
        .adopt_listen = ctl->upd.fd >= 0 ? vn_update_adopt_listen : NULL,
        .adopt_ctx = ctl,
    };

    ret = vn_emu_open(ctl->conf.emu.backend, &eenv, &ctl->emu);
    if (ret < 0)
        return ret;
    struct vn_dev_mgr_cfg dcfg = {
        .conf = &ctl->conf,
        .recovery_dir = ctl->recovery_dir,
        .emu = ctl->emu,
        .sfm = ctl->sfm,
        .reap_orphans = ctl->upd.fd < 0,
    };

    ret = vn_dev_mgr_create(&dcfg, &ctl->devs);
    if (ret < 0)
        return ret;
    if (ctl->upd.fd >= 0) {
        ret = vn_update_follow(ctl);
        if (ret < 0)
            return ret;
        close(ctl->upd.fd); /* committed: the hand-over socket has served */
        ctl->upd.fd = -1;
        cfg.inherited_fd = ctl->upd.rpc_fd;
        ctl->upd.rpc_fd = -1;
        write_lock_pid(ctl);
    }

    ret = vn_rpc_server_create(ctl->loop, &cfg, &ctl->rpc);
    if (ret < 0)
        return ret;

    ret = vn_host_libvirt_start(ctl);
    if (ret < 0)
        return ret;
    if (ctl->conf.metrics.listen[0]) {
        ret = vn_metrics_http_start(ctl->loop, ctl, &ctl->conf.metrics, &ctl->metrics);
        if (ret < 0)
            return ret;
    }

    ev_timer_init(&ctl->latency_timer, latency_cb, LATENCY_PERIOD, 0);
    ctl->latency_expected = ev_time() + LATENCY_PERIOD;
    ev_timer_start(ctl->loop, &ctl->latency_timer);
    return 0;
}

void vn_ctl_stop(struct vn_ctl *ctl)
{
    ev_timer_stop(ctl->loop, &ctl->latency_timer);
    vn_metrics_http_stop(ctl->metrics);
    ctl->metrics = NULL;
    vn_host_libvirt_stop(ctl);
    vn_rpc_server_destroy(ctl->rpc);
    ctl->rpc = NULL;
    vn_dev_mgr_destroy(ctl->devs);
    ctl->devs = NULL;
    vn_emu_close(ctl->emu);
    ctl->emu = NULL;
    vn_sfmgr_close(ctl->sfm);
    ctl->sfm = NULL;
    vn_nl_close(ctl->nl);
    ctl->nl = NULL;
    vn_providers_unload(ctl->providers);
    ctl->providers = NULL;
    ev_signal_stop(ctl->loop, &ctl->sig_term);
    ev_signal_stop(ctl->loop, &ctl->sig_int);
    ev_signal_stop(ctl->loop, &ctl->sig_hup);
}

void vn_ctl_fini(struct vn_ctl *ctl)
{
    cJSON_Delete(ctl->reload_status);
    ctl->reload_status = NULL;
    if (ctl->lock_fd >= 0) {
        close(ctl->lock_fd);
        ctl->lock_fd = -1;
    }
    if (ctl->upd.fd >= 0)
        close(ctl->upd.fd);
    ctl->upd.fd = -1;
    if (ctl->upd.rpc_fd >= 0)
        close(ctl->upd.rpc_fd);
    ctl->upd.rpc_fd = -1;
    for (unsigned i = 0; i < ctl->upd.nlisten; i++)
        if (ctl->upd.listen[i].fd >= 0)
            close(ctl->upd.listen[i].fd);
    free(ctl->upd.listen);
    ctl->upd.listen = NULL;
    ctl->upd.nlisten = 0;
}

double vn_ctl_uptime(const struct vn_ctl *ctl)
{
    return (double)(vn_now_ns() - ctl->start_ns) / 1e9;
}

bool vn_ctl_needs_datapath(const struct vn_ctl *ctl)
{
    return !ctl->emu || vn_emu_needs_datapath(ctl->emu);
}

void vn_ctl_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    socklen_t len;
    int fd;

    if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, path, strlen(path));
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    (void)!sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    close(fd);
}
