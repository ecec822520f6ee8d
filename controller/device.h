/*
 * device.h - the device manager: every virtio-net function the controller
 * emulates (static PFs, their SR-IOV VFs, hotplug PFs on switch ports), with
 * their ids, VUIDs, BDFs, MACs, queue limits, features, SFs and representors,
 * the profile limits they obey, and their recovery files.
 *
 * The manager owns the devices; the RPC methods (rpc_device.c) only decode,
 * call in here and print.  Every operation validates first, then builds in
 * steps that it unwinds completely on failure: a failed hotplug leaves no
 * representor, no recovery file, no id and no port behind.
 *
 * The manager reaches the NIC only through the two seams: the emulation
 * backend (emu.h) for the functions the host sees and the SF manager
 * (sfmgr.h) for representors and SF numbers.  Every device, whatever its
 * type or origin (config, hotplug, recovery file), is built by one sequence
 * (representor, function, recovery file) and unwound by its mirror.
 *
 * Runs on the main loop's thread.
 */
#ifndef VN_DEVICE_H
#define VN_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "recovery.h"
#include "emu.h"
#include "sfmgr.h"
#include "util.h"

/* MTU range a device accepts (virtio-net: 68 is the IPv4 minimum; 9216 covers jumbo frames). */
#define VN_DEV_MTU_MIN 68
#define VN_DEV_MTU_MAX 9216
#define VN_DEV_QUEUE_SIZE_MIN 2

/*
 * X(enum suffix, name): where a device is in its life.  The RPC registry
 * checks it against the states each method accepts (a request in another
 * state gets "busy: <state>").
 */
#define VN_DEV_STATES(X)                                                                           \
    X(CREATING, "creating")   /* being built (representor, function, recovery file) */             \
    X(READY, "ready")         /* serving; every operation may start */                             \
    X(ATTACHING, "attaching") /* being plugged into the host VM */                                 \
    X(UPDATING, "updating")   /* being handed to a new controller (live update) */                 \
    X(REMOVING, "removing")   /* being unplugged from the host VM, then removed */

enum vn_dev_state {
#define VN_DEV_STATE_ENUM(e, s) VN_DEV_S_##e,
    VN_DEV_STATES(VN_DEV_STATE_ENUM)
#undef VN_DEV_STATE_ENUM
    VN_DEV_N_STATES
};
#define VN_DEV_S_MASK(s) (1u << VN_DEV_S_##s)

const char *vn_dev_state_name(enum vn_dev_state state);

enum vn_dev_type {
    VN_DEV_STATIC_PF,
    VN_DEV_HOTPLUG_PF,
    VN_DEV_VF,
};

struct vn_device {
    enum vn_dev_type type;
    uint32_t pf_id;                /* PF id; for a VF, its parent PF's */
    uint32_t vf_id;                /* VF only */
    uint32_t port;                 /* hotplug PF: switch port; static PF: index */
    char vuid[VN_VUID_MAX];        /* stable, unique; names the recovery file */
    uint16_t bdf;                  /* bus << 8 | dev << 3 | fn, as the host sees it */
    char ib_dev[VN_IBDEV_NAME_MAX];/* RDMA device of the physical port */
    uint32_t pf_num;               /* physical port number (0 or 1) */
    uint8_t mac[VN_MAC_LEN];
    char mac_text[VN_MAC_STR_LEN]; /* 'mac' as the user wrote it, ':'-separated (what the
                                      vendor echoes); "" = lower-case of 'mac' */
    uint32_t mtu;
    uint32_t max_queues;           /* virtqueues */
    uint32_t max_queue_size;
    uint64_t features;             /* offered to the driver */
    uint32_t msix;                 /* MSI-X vectors */
    bool legacy;                   /* transitional (virtio 0.95) layout */
    struct vn_sf_rep rep;          /* the SF's representor (sf_num inside) */
    bool has_rep;
    struct vn_queue_cfg *queues;   /* max_queues entries */
    struct vn_device *parent;      /* VF: its PF */
    struct vn_device **vfs;        /* static PF: its VFs, num_vfs entries */
    uint32_t num_vfs;
    uint32_t total_vfs;            /* static PF: VFs reserved (SR-IOV TotalVFs) */
    uint16_t first_vf_offset;      /* static PF: SR-IOV First VF Offset (stride 1) */
    struct vn_emu_fn *fn;          /* the emulated function (emu.h) */
    enum vn_dev_state state;
    /* vhost-user client mode: the front-end's listening socket; "" = server mode. */
    char vhost_server_path[108];
};

struct vn_dev_mgr;

/* What the manager needs from the controller; all borrowed for its lifetime. */
struct vn_dev_mgr_cfg {
    const struct vn_conf *conf;
    const char *recovery_dir;      /* used when conf->recovery */
    struct vn_emu *emu;            /* makes the functions (seam 1) */
    struct vn_sfmgr *sfm;          /* makes the representors, owns SF numbers (seam 2) */
    bool reap_orphans;             /* cold start: delete our representors no device holds */
};

/*
 * Creates the manager: restores devices from recovery files (when enabled),
 * then creates the static PFs and their VFs the profile and config ask for
 * (adopting what recovery brought back).  A bad recovery file is reported and
 * skipped.  Returns 0 and '*out', or a negative errno (logged) when a static
 * device cannot be created; then nothing is left behind.
 */
int vn_dev_mgr_create(const struct vn_dev_mgr_cfg *cfg, struct vn_dev_mgr **out);

/*
 * Frees the manager.  Representors and recovery files stay for the next
 * start unless recovery is disabled, in which case hotplug PFs' representors
 * are removed.  Accepts NULL.
 */
void vn_dev_mgr_destroy(struct vn_dev_mgr *mgr);

/* What `virtnet hotplug` asks for. */
struct vn_hotplug_req {
    const char *ib_device;
    const char *mac;
    uint32_t mtu;
    uint32_t max_queues;
    uint32_t max_queue_size;
    bool has_sf_num;
    uint32_t sf_num;
    bool has_features;
    uint64_t features;             /* added to the default set */
    bool legacy;
    const char *vhost_server_path; /* NULL or "": server mode */
};

/*
 * Creates a hotplug PF on the lowest free switch port.  On failure returns a
 * negative errno with a message for the user in 'err' and changes nothing.
 * On success '*out' is the new device (owned by the manager).
 */
int vn_dev_hotplug(struct vn_dev_mgr *mgr, const struct vn_hotplug_req *req,
                   struct vn_device **out, char *err, size_t errlen);

/* Removes a hotplug PF: representor, recovery file, id, port. */
int vn_dev_unplug(struct vn_dev_mgr *mgr, struct vn_device *dev, char *err, size_t errlen);

/* What `virtnet modify ... device` asks for; only the has_ members change. */
struct vn_modify_req {
    bool has_mac, has_mtu, has_features, has_max_queue_size, has_msix;
    bool has_packed_vq, has_mrg_rxbuf;
    const char *mac;
    uint32_t mtu;
    uint64_t features;
    uint32_t max_queue_size;
    uint32_t msix;
    uint32_t packed_vq; /* 0/1: clear/set VIRTIO_F_RING_PACKED in the offered features */
    uint32_t mrg_rxbuf; /* 0/1: clear/set VIRTIO_NET_F_MRG_RXBUF */
};

/*
 * Validates all of 'req' first, then applies it and saves the recovery file.
 * packed_vq and mrg_rxbuf change how the driver lays out its rings and
 * receive buffers, which it learns only at a reset: a change of either is
 * refused (-EBUSY) while a driver runs on the device (status DRIVER_OK, or a
 * vhost-user front-end attached); setting the value the device already has
 * is not a change.  With 'features' too, they must agree on their bit.
 */
int vn_dev_modify(struct vn_dev_mgr *mgr, struct vn_device *dev, const struct vn_modify_req *req,
                  char *err, size_t errlen);

/* `virtnet modify ... queue`: 'queue' is an index or -1 for every queue. */
int vn_dev_modify_queue(struct vn_dev_mgr *mgr, struct vn_device *dev, int64_t queue,
                        const char *event_mode, const uint32_t *period, const uint32_t *max_count,
                        char *err, size_t errlen);

/*
 * Sets the number of VFs of static PF 'pf' (what the host does by writing
 * sriov_numvfs).  Destroying VFs deletes their recovery files (vendor rule).
 */
int vn_dev_set_num_vfs(struct vn_dev_mgr *mgr, struct vn_device *pf, uint32_t num_vfs, char *err,
                       size_t errlen);

/* Lookups; NULL when absent. */
struct vn_device *vn_dev_find_pf(struct vn_dev_mgr *mgr, uint32_t pf_id);
struct vn_device *vn_dev_find_vf(struct vn_dev_mgr *mgr, uint32_t pf_id, uint32_t vf_id);
struct vn_device *vn_dev_find_vuid(struct vn_dev_mgr *mgr, const char *vuid);

/*
 * Resolves a selector (-p PF [-v VF] | -u VUID) to a device; on failure
 * writes a user message to 'err' and returns -EINVAL (bad combination) or
 * -ENODEV (no such device).
 */
int vn_dev_select(struct vn_dev_mgr *mgr, bool has_pf, uint32_t pf, bool has_vf, uint32_t vf,
                  const char *vuid, struct vn_device **out, char *err, size_t errlen);

/* Iteration over every device: PFs by id, each followed by its VFs. */
typedef void vn_dev_visit_fn(struct vn_device *dev, void *ctx);
void vn_dev_for_each(struct vn_dev_mgr *mgr, vn_dev_visit_fn *fn, void *ctx);

struct vn_dev_counts {
    unsigned total, static_pf, hotplug_pf, vf;
};
void vn_dev_counts(const struct vn_dev_mgr *mgr, struct vn_dev_counts *out);

/* Data rings the device's function serves, and ring 'index''s counters over its life (-ERANGE). */
uint32_t vn_dev_nrings(const struct vn_device *dev);
int vn_dev_queue_stats(const struct vn_device *dev, uint32_t index, struct vn_dp_queue_stats *out);

/*
 * Recovery files this start set aside (renamed "VUID.rejected", never
 * deleted) or found set aside: [{"file", "reason"}], for `virtnet health`.
 */
cJSON *vn_dev_mgr_rejected_json(const struct vn_dev_mgr *mgr);

/* JSON for `virtnet list`'s controller section, and for one device (query). */
cJSON *vn_dev_mgr_to_json(const struct vn_dev_mgr *mgr);
cJSON *vn_dev_to_json(const struct vn_device *dev, bool brief);
/* The short form `virtnet list` prints per device. */
cJSON *vn_dev_to_list_json(const struct vn_device *dev);

/* The names of the virtio-net feature bits set in 'features', as a JSON array. */
cJSON *vn_dev_feature_names(uint64_t features);

/* The device's MAC as `virtnet` prints it (see mac_text), into 'buf'. */
void vn_dev_mac_string(const struct vn_device *dev, char buf[VN_MAC_STR_LEN]);

/*
 * Another device with 'dev''s MAC, or NULL.  Duplicates are allowed (a
 * migration destination shares its source's MAC) but flagged.
 */
const struct vn_device *vn_dev_mac_twin(struct vn_dev_mgr *mgr, const struct vn_device *dev);

/*
 * A BDF as the vendor prints it ("bdf": "84:0.0", the device number not
 * padded), and as lspci and sysfs write it ("pci_bdf": "84:00.0").
 */
void vn_bdf_format(uint16_t bdf, char buf[16]);
void vn_bdf_format_pci(uint16_t bdf, char buf[16]);
const char *vn_dev_type_name(enum vn_dev_type type);

#endif /* VN_DEVICE_H */
