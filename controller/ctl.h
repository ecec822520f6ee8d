/*
 * ctl.h - the controller: its configuration, paths, state-dir lock, RPC
 * server and main loop.  One instance per process, owned by main().
 *
 * Later modules (device manager, SF manager, providers, recovery, live
 * update) hang off struct vn_ctl and are created in vn_ctl_start() in
 * dependency order and torn down in reverse in vn_ctl_stop().
 */
#ifndef VN_CTL_H
#define VN_CTL_H

#include <limits.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <ev.h>

#include "conf.h"

struct vn_rpc_server;
struct vn_dev_mgr;
struct vn_nl;
struct vn_sfmgr;
struct vn_emu;
struct vn_update_run;
struct vn_providers;
struct vn_metrics_http;
struct vn_host_libvirt;

/* What main() got on the command line; NULL = not given. */
struct vn_ctl_opts {
    const char *config_path;
    const char *socket_path;
    const char *state_dir;
    const char *update_binary;   /* binary `virtnet update -s` would start */
    const char *provider_lib_dir;/* where NAME.so providers are */
    const char *log_level;       /* --log-level as given, handed on by a live update */
    int handover_fd;             /* live update: our end of the hand-over socket, or -1 */
    bool foreground;
};

/* Live update state (update.c). */
struct vn_ctl_update {
    int fd;                            /* new process: the hand-over socket, -1 otherwise */
    int rpc_fd;                        /* new process: the RPC socket handed over, -1 */
    pid_t old_pid;
    struct {
        char vuid[64];
        int fd;
    } *listen;                         /* new process: device sockets handed over */
    unsigned nlisten;
    struct vn_update_run *run;         /* old process: the hand-over under way, or NULL */
};

struct vn_ctl {
    struct ev_loop *loop;
    struct vn_conf conf;               /* effective configuration */
    bool has_config_file;              /* false: built-in defaults */
    char config_path[PATH_MAX];        /* the file read, or the default looked for */
    char state_dir[PATH_MAX];
    char recovery_dir[PATH_MAX];
    char providers_dir[PATH_MAX];
    char rpc_socket[PATH_MAX];
    char update_binary[PATH_MAX];
    char provider_lib_dir[PATH_MAX];
    char log_level_arg[16];            /* --log-level as given ("" when not) */
    int lock_fd;                       /* flock'ed state-dir lock, -1 if none */

    struct vn_nl *nl;                  /* rtnetlink socket (tap representors), or NULL */
    struct vn_providers *providers;    /* the datapath provider */
    struct vn_sfmgr *sfm;              /* SF manager (seam 2) */
    struct vn_emu *emu;                /* emulation backend (seam 1) */
    struct vn_dev_mgr *devs;           /* every emulated function */
    struct vn_rpc_server *rpc;
    struct vn_metrics_http *metrics;   /* the Prometheus listener, NULL when off */
    struct vn_host_libvirt *libvirt;   /* the libvirt host's worker, from its first use */

    ev_signal sig_term, sig_int, sig_hup;
    struct cJSON *reload_status;       /* the last config reload's outcome (reload.c), or NULL */
    ev_timer latency_timer;            /* measures how late the loop runs timers */
    ev_tstamp latency_expected;        /* when the timer should fire */
    struct {
        double last_us, max_us, sum_us;
        uint64_t samples;
    } latency;

    struct vn_ctl_update upd;
    bool exit_requested;               /* a live update committed: leave the loop */

    uint64_t start_ns;                 /* CLOCK_MONOTONIC at start */
    time_t start_time;                 /* wall clock at start */
};

/*
 * Resolves paths (command line > config > built-in default), loads the
 * config, creates the state and recovery dirs and takes the state-dir lock.
 * Everything that can be wrong with the config or the paths is reported here,
 * before anything is created for devices.  Returns 0 or a negative errno
 * (logged, naming what failed).  On failure 'ctl' needs only vn_ctl_fini().
 */
int vn_ctl_init(struct vn_ctl *ctl, struct ev_loop *loop, const struct vn_ctl_opts *opts);

/*
 * Creates the devices (restoring them from recovery files), then starts the
 * RPC server, signal handlers and the loop probe. Returns 0 or -errno.
 */
int vn_ctl_start(struct vn_ctl *ctl);

/* Stops everything vn_ctl_start() started; idempotent. */
void vn_ctl_stop(struct vn_ctl *ctl);

/* Releases what vn_ctl_init() took (lock, ...); idempotent, accepts a half-built ctl. */
void vn_ctl_fini(struct vn_ctl *ctl);

/* Seconds since start. */
double vn_ctl_uptime(const struct vn_ctl *ctl);

/*
 * True when devices move frames through a datapath provider, so a controller
 * without one cannot serve them (health degraded, hotplug refused).  The
 * emulation backend says (vn_emu_needs_datapath(); the dummy moves no frames).
 */
bool vn_ctl_needs_datapath(const struct vn_ctl *ctl);

/* Tells systemd (NOTIFY_SOCKET) something like "READY=1"; a no-op outside systemd. */
void vn_ctl_sd_notify(const char *state);

#endif /* VN_CTL_H */
