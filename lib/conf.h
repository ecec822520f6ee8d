/*
 * conf.h - virtnet.conf: the controller's main configuration file.
 *
 * JSON, with every key of the vendor's file (ib_dev_p0/p1/lag/for_static_pf,
 * is_lag, single_port, recovery, sf_pool_percent, sf_pool_force_destroy,
 * static_pf{mac_base,features}, vf{mac_base,features,vfs_per_pf}, lm_prov,
 * dpa_core_start/end, eth_vq_workers, admin_cmd_workers, mrg_rxbuf, packed_vq)
 * plus our own: paths (state_dir, recovery_dir, providers_dir, rpc_socket,
 * rpc_group) and "emulation", the software DPU's emulation profile (what
 * mlxconfig sets on a BlueField).
 *
 * Parsing is strict about meaning and tolerant about the vendor's syntax:
 * trailing commas before '}' or ']' are accepted (the vendor's own example
 * has one) and feature masks may be hex strings or numbers.  Unknown keys,
 * wrong types, out-of-range values and inconsistent settings are errors that
 * name the key; every problem is collected, not just the first (`virtnet
 * validate` lists them all).
 *
 * No daemon state: used by the controller, the `validate` RPC and unit tests.
 */
#ifndef VN_CONF_H
#define VN_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define VN_IBDEV_NAME_MAX 64
#define VN_CONF_PATH_MAX 256
#define VN_CONF_MAX_ERRORS 32
#define VN_CONF_ERROR_LEN 256
#define VN_CONF_MAX_FILE_SIZE (1024 * 1024)

/* Limits of the emulation profile, from the vendor's mlxconfig documentation. */
#define VN_EMU_MAX_HOTPLUG_PORTS 31   /* PCI_SWITCH_EMULATION_NUM_PORT */
#define VN_EMU_MAX_PF 4               /* VIRTIO_NET_EMULATION_NUM_PF */
#define VN_EMU_MAX_VF_TOTAL 504       /* NUM_VF x NUM_PF on BlueField-2 */
#define VN_EMU_MAX_MSIX 2048          /* VIRTIO_NET_EMULATION_NUM_MSIX */
#define VN_EMU_MAX_QUEUE_SIZE 32768   /* split ring maximum (virtio spec) */
#define VN_EMU_MAX_VIRTQ 256
#define VN_EMU_MAX_TOTAL_SF 4096      /* PF_TOTAL_SF */
#define VN_EMU_SERIAL_MAX 24

/*
 * The vendor's feature bits that the software DPU accepts in every feature
 * mask (profile, static_pf/vf, hotplug -f, modify -f) and keeps in a device's
 * configured set, but whose datapath cannot provide them to a driver: the
 * emulation backend masks them off (with the provider's mask) when it offers
 * features.  They are not in a device's default set.  See docs/devices.md.
 *   CTRL_GUEST_OFFLOADS (2), RING_PACKED (34) and SPEED_DUPLEX (63) are provided (the
 *   front-end serves the control queue and the config space) and are in the
 *   profile's default set, not here; so is IOMMU_PLATFORM (33: the vhost-user
 *   IOTLB, a guest behind a vIOMMU).
 */
#define VN_VIRTIO_F_IOMMU_PLATFORM 33 /* provided (vhost-user IOTLB, a vIOMMU), not by default */
#define VN_VIRTIO_F_ORDER_PLATFORM 36
#define VN_VIRTIO_F_NOTIFICATION_DATA 38
#define VN_VIRTIO_F_RING_RESET 40
#define VN_VIRTIO_F_ADMIN_VQ 41
#define VN_VIRTIO_NET_F_HOST_USO 56
#define VN_VIRTIO_NET_F_HASH_REPORT 57
#define VN_VIRTIO_NET_F_GUEST_HDRLEN 59
#define VN_VIRTIO_NET_F_SPEED_DUPLEX 63
#define VN_CONF_FEATURES_CONFIG_ONLY                                                               \
    (VN_BIT(VN_VIRTIO_F_ORDER_PLATFORM) | VN_BIT(VN_VIRTIO_F_NOTIFICATION_DATA) |                  \
     VN_BIT(VN_VIRTIO_F_RING_RESET) | VN_BIT(VN_VIRTIO_F_ADMIN_VQ) |                               \
     VN_BIT(VN_VIRTIO_NET_F_HOST_USO) | VN_BIT(VN_VIRTIO_NET_F_HASH_REPORT) |                      \
     VN_BIT(VN_VIRTIO_NET_F_GUEST_HDRLEN))

/* A feature mask given as "Auto" (or left out) is chosen by the controller. */
struct vn_conf_features {
    bool is_auto;
    uint64_t mask;       /* valid when !is_auto */
};

/* vhost-user client mode of static functions: socket "<prefix><VUID>.sock"; "" = server mode. */
#define VN_CONF_SERVER_PREFIX_MAX 64

struct vn_conf_static_pf {
    bool has_mac_base;
    uint8_t mac_base[VN_MAC_LEN];   /* pf_0 gets mac_base, pf_1 mac_base + 1, ... */
    struct vn_conf_features features;
    char vhost_server_path_prefix[VN_CONF_SERVER_PREFIX_MAX];
};

struct vn_conf_vf {
    bool has_mac_base;
    uint8_t mac_base[VN_MAC_LEN];   /* vf_0 gets mac_base, vf_1 mac_base + 1, ... */
    struct vn_conf_features features;
    bool has_vfs_per_pf;
    uint32_t vfs_per_pf;            /* VFs created on each static PF; <= emu.num_vf */
    char vhost_server_path_prefix[VN_CONF_SERVER_PREFIX_MAX];
};

/* The software DPU's "mlxconfig": what the emulated NIC offers. */
struct vn_emu_profile {
    uint32_t hotplug_ports;   /* PCI_SWITCH_EMULATION_NUM_PORT, 0..31 (default 16) */
    uint32_t num_pf;          /* VIRTIO_NET_EMULATION_NUM_PF: static PFs (default 0) */
    uint32_t num_vf;          /* VIRTIO_NET_EMULATION_NUM_VF: VFs reserved per PF (default 0) */
    uint32_t num_msix;        /* VIRTIO_NET_EMULATION_NUM_MSIX per function (default 16) */
    uint32_t pf_total_sf;     /* PF_TOTAL_SF: SFs available for representors (default 512) */
    uint32_t sf_num_base;     /* lowest SF number handed out when none is asked for (default
                                 1000, the vendor's floor; >= 1000) */
    uint32_t max_virtq;       /* virtqueues per device (default 64) */
    uint32_t max_queue_size;  /* power of two, <= 32768 (default 4096) */
    uint64_t features;        /* virtio feature bits the DPU supports */
    uint64_t worker_cpu_mask; /* CPUs (bit n = CPU n) the sw provider's workers run on, round
                                 robin; 0 = wherever the scheduler puts them (default) */
    char serial[VN_EMU_SERIAL_MAX + 1]; /* board serial, prefix of every VUID */
    char backend[16];         /* emulation backend: "vhost" (software DPU, default) or
                                 "dummy" (functions and representors in memory only) */
};

/*
 * The host the software DPU plugs devices into (docs/host.md): a QEMU VM over
 * QMP ("type" "qmp", the default when qmp_socket is set), or a running libvirt
 * domain through libvirt's API ("type" "libvirt").
 */
#define VN_HOST_PORTS_MAX 256
struct vn_conf_host {
    char type[16];                    /* "", "qmp" or "libvirt" */
    char qmp_socket[108];             /* QEMU's QMP unix socket; "" = no host attached */
    char root_ports[VN_HOST_PORTS_MAX]; /* pcie-root-port ids, comma separated: hotplug port
                                           n is the n-th */
    uint32_t timeout_ms;              /* one QMP exchange / libvirt detach (default 20000) */
    char uri[256];                    /* libvirt: connection URI (default "qemu:///system") */
    char domain[128];                 /* libvirt: the domain's name or UUID */
    bool persistent;                  /* libvirt: also change the persistent definition */
};

/*
 * The Prometheus endpoint (controller/metrics_http.c): off unless 'listen' is
 * set.  'listen' is "ADDR:PORT", "[ADDR6]:PORT" or a bare "PORT" (loopback).
 */
#define VN_METRICS_DEFAULT_PORT 9465
struct vn_conf_metrics {
    char listen[64];                  /* "" = no HTTP listener (the default); port 0 = any */
    uint32_t connection_limit;        /* clients connected at once (default 16) */
    uint32_t per_ip_limit;            /* clients from one address at once (default 4) */
    uint32_t timeout_s;               /* a client idle this long is dropped (default 10) */
};

/*
 * Owner group and mode of the vhost-user sockets and of the directory that
 * holds them (controller/sock_perms.h), so that a VMM running as another user
 * (libvirt's QEMU runs as libvirt-qemu) can connect.  Left as the controller
 * makes them (0660, its own user and group) when neither is set.
 */
struct vn_conf_vhost_socket {
    char group[64];                   /* "" = the controller's own group */
    char mode[8];                     /* octal, e.g. "0660"; "" = 0660 */
};

/* Parses an octal file mode "0660" (at most 0777, never world-writable).  0 or -EINVAL. */
int vn_conf_parse_sock_mode(const char *s, uint32_t *out);

struct vn_conf {
    /* Vendor keys. */
    char ib_dev_p0[VN_IBDEV_NAME_MAX];
    char ib_dev_p1[VN_IBDEV_NAME_MAX];
    char ib_dev_lag[VN_IBDEV_NAME_MAX];
    char ib_dev_for_static_pf[VN_IBDEV_NAME_MAX];
    bool has_ib_dev_p0, has_ib_dev_p1, has_ib_dev_lag, has_ib_dev_for_static_pf;
    bool is_lag;
    bool single_port;
    bool recovery;                    /* default true */
    uint32_t sf_pool_percent;         /* 0..100 */
    bool sf_pool_force_destroy;
    struct vn_conf_static_pf static_pf;
    struct vn_conf_vf vf;
    char lm_prov[32];                 /* "" or "kernel" */
    bool has_dpa_cores;
    uint32_t dpa_core_start, dpa_core_end;
    uint32_t eth_vq_workers;          /* 0 = auto, else 1..24 */
    uint32_t admin_cmd_workers;       /* 0 = auto, else 1..16 */
    int mrg_rxbuf;                    /* -1 unset, else 0/1 */
    int packed_vq;                    /* -1 unset, else 0/1 */

    /* Our own keys: where things live ("" = built-in default). */
    char state_dir[VN_CONF_PATH_MAX];
    char recovery_dir[VN_CONF_PATH_MAX];
    char providers_dir[VN_CONF_PATH_MAX];
    bool provider_sw_fallback;        /* default true: sw is tried when every provider file's
                                         candidate fails; false = no datapath then */
    char rpc_socket[VN_CONF_PATH_MAX];
    char rpc_group[64];               /* group allowed to call mutating methods */
    uint32_t rpc_idle_timeout;        /* seconds before an idle RPC client is closed; 0 = never
                                         (default 60) */

    struct vn_emu_profile emu;
    struct vn_conf_host host;
    struct vn_conf_metrics metrics;
    struct vn_conf_vhost_socket vhost_socket;
};

/* Every problem found in one parse, in the order found. */
struct vn_conf_errors {
    unsigned n;                       /* errors recorded (<= VN_CONF_MAX_ERRORS) */
    unsigned dropped;                 /* errors beyond the limit */
    char msg[VN_CONF_MAX_ERRORS][VN_CONF_ERROR_LEN];
};

/* Fills 'conf' with the built-in defaults (a useful software DPU). */
void vn_conf_init_defaults(struct vn_conf *conf);

/*
 * Parses 'len' bytes of 'text' on top of the defaults.  Returns 0 and fills
 * 'conf', or -EINVAL with every problem in 'errs' ('conf' then unspecified).
 * 'errs' may be NULL.
 */
int vn_conf_parse(const char *text, size_t len, struct vn_conf *conf, struct vn_conf_errors *errs);

/*
 * Reads and parses the file at 'path'.  Returns 0, -EINVAL (bad content, see
 * 'errs'), or a negative errno from opening/reading it (also put in 'errs').
 */
int vn_conf_load(const char *path, struct vn_conf *conf, struct vn_conf_errors *errs);

/* The effective configuration as JSON (for `virtnet list` and debugging); NULL on ENOMEM. */
struct cJSON *vn_conf_to_json(const struct vn_conf *conf);

#endif /* VN_CONF_H */
