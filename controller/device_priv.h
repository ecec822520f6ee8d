/*
 * device_priv.h - what the files of the device manager share (device.c:
 * lifecycle; device_rec.c: limits and recovery records; device_ops.c:
 * lookups and changes; device_json.c: output).  Not for use outside them.
 */
#ifndef VN_DEVICE_PRIV_H
#define VN_DEVICE_PRIV_H

#include "device.h"

#define RECOVERY_FORMAT 1
#define DEFAULT_MTU 1500

struct vn_dev_mgr {
    const struct vn_conf *conf;
    const char *recovery_dir;         /* NULL when recovery is off */
    struct vn_emu *emu;
    struct vn_sfmgr *sfm;
    uint32_t max_pfs;                 /* num_pf + hotplug_ports */
    struct vn_device **pfs;           /* by pf_id, max_pfs entries */
    struct vn_device **ports;         /* hotplug PF by switch port */
    struct vn_dev_counts counts;
    cJSON *pending;                   /* recovery records not yet claimed, by VUID */
    cJSON *recorded_reps;             /* during start: representor names the records hold */
    cJSON *rejected;                  /* records renamed aside: [{"file", "reason"}] (health) */
};

extern const char *const vn_event_mode_names[VN_EVENT_N_MODES];

/* device_ops.c: logs a warning when another device has 'dev''s MAC. */
void dev_warn_mac_twin(struct vn_dev_mgr *m, const struct vn_device *dev);

/* device.c */
uint32_t dev_max_queues_for(const struct vn_conf *c, uint32_t msix);
const char *dev_emu_manager(const struct vn_conf *c);
/* Tells the backend what 'dev' is now; 0 or -errno (then the backend has the old value). */
int dev_push(struct vn_device *dev);

/*
 * device_rec.c: each check returns 0, or a negative errno with a message for
 * the user in 'err'.
 */
int dev_check_mac(const char *s, uint8_t mac[VN_MAC_LEN], char *err, size_t errlen);
int dev_check_mtu(uint32_t mtu, char *err, size_t errlen);
/* A vhost-user client-mode socket path: absolute, fits sun_path.  0 or -EINVAL (why in 'err'). */
int dev_check_server_path(const char *path, char *err, size_t errlen);
/* Static PF/VF: dev->vhost_server_path = 'prefix' VUID ".sock" when 'prefix' is set. */
int dev_static_server_path(struct vn_device *dev, const char *prefix, char *err, size_t errlen);
int dev_check_queue_size(const struct vn_conf *c, uint32_t qs, char *err, size_t errlen);
int dev_check_queues(const struct vn_conf *c, uint32_t n, uint32_t msix, char *err,
                     size_t errlen);
/*
 * What makes a working virtio-net device out of 'n' virtqueues with features
 * 'f': at least one receive/transmit pair, and an odd count only with a
 * control queue (VIRTIO_NET_F_CTRL_VQ) as the last.  New devices only: a
 * recovery record keeps what the device had.
 */
int dev_check_queue_layout(uint32_t n, uint64_t f, char *err, size_t errlen);
/* Bits this DPU supports (the one check of a requested feature set). */
int dev_check_supported(const struct vn_conf *c, uint64_t f, char *err, size_t errlen);
/* Supported, and VERSION_1 unless 'legacy'. */
int dev_check_features(const struct vn_conf *c, uint64_t f, bool legacy, char *err,
                       size_t errlen);
/* Gives 'dev' 'n' queues, keeping the moderation of those that stay; 0 or -errno. */
int dev_set_queues(struct vn_device *dev, uint32_t n);
/* Writes the device's recovery file (when recovery is on); 0 or -errno. */
int dev_save(struct vn_dev_mgr *m, const struct vn_device *dev);
/* Removes it; 0 or -errno (the file may then remain). */
int dev_unsave(struct vn_dev_mgr *m, const struct vn_device *dev);
/* An unsigned member of a recovery record within [0, max]; 0 or -EINVAL. */
int dev_rec_u32(const cJSON *o, const char *key, uint32_t max, uint32_t *out);
int dev_apply_record(struct vn_dev_mgr *m, struct vn_device *dev, const cJSON *rec, char *err,
                     size_t errlen);
/* The pending recovery record of 'vuid' (the caller deletes it), or NULL. */
cJSON *dev_take_record(struct vn_dev_mgr *m, const char *vuid);
/*
 * A recovery record this controller cannot use: renamed aside to
 * "VUID.rejected" in the recovery dir (kept for the operator, never deleted),
 * logged and listed in `virtnet health`.  'reason' is printf-like.
 */
void dev_reject_record(struct vn_dev_mgr *m, const char *vuid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Lists the "*.rejected" files already in the recovery dir (a previous start's) in m->rejected. */
void dev_list_rejected(struct vn_dev_mgr *m);
/* vn_recovery_scan() callback: keeps this DPU's records in m->pending. */
int dev_collect_record(const char *vuid, const cJSON *obj, void *ctx);

#endif /* VN_DEVICE_PRIV_H */
