/*
 * paths.h - built-in default locations, shared by the daemon and the CLI.
 * Every one can be overridden: on the daemon's command line, in virtnet.conf,
 * or (for the CLI's socket) with --socket / VIRTNET_SOCKET.
 */
#ifndef VN_PATHS_H
#define VN_PATHS_H

/* The vendor's one directory for configuration and state; a distribution
   package moves them apart (configure --with-virtnet-confdir/-statedir). */
#ifndef VN_VIRTNET_DIR
#define VN_VIRTNET_DIR "/opt/mellanox/mlnx_virtnet"
#endif
#ifndef VN_CONF_DIR
#define VN_CONF_DIR VN_VIRTNET_DIR
#endif
#ifndef VN_STATE_DIR
#define VN_STATE_DIR VN_VIRTNET_DIR
#endif

/* The JSON-RPC socket the CLI talks to. */
#define VN_DEFAULT_RPC_SOCKET "/run/virtnet.sock"
/* Main configuration file (optional: built-in defaults without it). */
#define VN_DEFAULT_CONFIG VN_CONF_DIR "/virtnet.conf"
/* Recovery files, vhost-user sockets, the lock file. */
#define VN_DEFAULT_STATE_DIR VN_STATE_DIR
/* Provider files (NAME.provider). */
#define VN_DEFAULT_PROVIDERS_DIR VN_CONF_DIR "/providers"
/* Sub-directories and files of the state dir. */
#define VN_RECOVERY_SUBDIR "recovery"
#define VN_LOCK_FILE "virtio_net_controller.lock"

#define VN_ENV_SOCKET "VIRTNET_SOCKET"

#endif /* VN_PATHS_H */
