/*
 * emu.h - the emulation backend interface (seam 1): what the device manager,
 * live update, host attachment, stats and RPC code may ask of the thing that
 * makes a virtio-net PCI function exist for the host.
 *
 * A backend is a class (struct vn_emu_class, emu_class.h) chosen by name in
 * the config ("emulation": {"backend": NAME}):
 *   "vhost" - the software DPU: a vhost-user server socket per function that
 *             QEMU or DPDK virtio-user drive (emu_vhost*.c);
 *   "dummy" - functions that exist only in memory: no socket, no root, for
 *             tests and dry runs (emu_dummy.c).
 * A hardware backend (device emulation objects on a DPU) is a third class.
 *
 * The backend never sees the device manager's structs: a function is created
 * from a value (struct vn_emu_spec, copied), changed by handing it the whole
 * new value, and described back as data (struct vn_emu_state,
 * struct vn_emu_queue_state); the JSON the user sees is made above.
 *
 * Threading: every call here runs on the main loop's thread.  A backend may
 * run threads of its own (the sw provider's workers) but reports back to the
 * loop only.
 */
#ifndef VN_EMU_H
#define VN_EMU_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "recovery.h"
#include "sfmgr.h"
#include "util.h"
#include "virtnet/provider.h"

struct ev_loop;
struct vn_emu;    /* one backend instance (the class and its shared state) */
struct vn_emu_fn; /* one emulated function */

/* X(enum suffix, name) */
#define VN_EVENT_MODES(X) \
    X(EVENT, "event")     \
    X(ADAPTIVE, "adaptive")

enum vn_event_mode {
#define VN_EVENT_MODE_ENUM(e, s) VN_EVENT_##e,
    VN_EVENT_MODES(VN_EVENT_MODE_ENUM)
#undef VN_EVENT_MODE_ENUM
    VN_EVENT_N_MODES
};

/* Interrupt moderation of one queue (`virtnet modify ... queue`). */
struct vn_queue_cfg {
    uint8_t event_mode;    /* enum vn_event_mode */
    uint32_t period_us;    /* coalescing period, 0 = none */
    uint32_t max_count;    /* completions per interrupt, 0 = none */
};

/* What a function is: a value, copied by the backend. */
struct vn_emu_spec {
    char vuid[VN_VUID_MAX];
    uint16_t bdf;                  /* as the host sees it */
    uint8_t mac[VN_MAC_LEN];
    uint32_t mtu;
    uint32_t max_queues;           /* virtqueues, control queue included */
    uint32_t max_queue_size;
    uint64_t features;             /* offered to the driver */
    uint32_t msix;
    bool legacy;                   /* transitional (virtio 0.95) layout */
    struct vn_queue_cfg queues[VN_EMU_MAX_VIRTQ]; /* moderation, max_queues used */
    struct vn_sf_rep rep;          /* the SF representor frames go to; ifname "" when none */
    /* vhost-user client mode: the socket the front-end listens on, which the backend
       connects (and reconnects) to; "" = server mode (the backend listens), the default. */
    char connect_path[108];
};

/* A function as the backend sees it now (`virtnet query`). */
/*
 * The device IOTLB of a function with VIRTIO_F_IOMMU_PLATFORM (a driver behind
 * a vIOMMU), named as `query` prints them: X(member).
 */
#define VN_EMU_IOTLB_COUNTERS(X)                                                                   \
    X(entries)        /* translations cached now */                                              \
    X(updates)        /* over the function's life: entries the front-end sent, */                 \
    X(invalidations)  /* entries it invalidated, */                                              \
    X(misses_sent)    /* translations asked for, */                                              \
    X(misses_unsent)  /* misses that could not be asked for (no channel), */                     \
    X(denied)         /* accesses the vIOMMU's permissions refused */

struct vn_emu_iotlb_state {
    bool offered; /* the bit is offered: the rest means something */
    bool active;  /* ... and negotiated: the driver's addresses are IOVAs */
#define VN_EMU_IOTLB_MEMBER(m) uint64_t m;
    VN_EMU_IOTLB_COUNTERS(VN_EMU_IOTLB_MEMBER)
#undef VN_EMU_IOTLB_MEMBER
};

struct vn_emu_state {
    bool has_session;              /* the backend has a notion of a connected driver */
    char endpoint[108];            /* where the host attaches (vhost-user socket path), "" */
    bool connected;                /* a driver/front-end is attached */
    uint64_t connections;          /* attachments over the function's life */
    uint8_t status;                /* virtio device status, NEEDS_RESET included */
    uint64_t negotiated_features;
    uint64_t protocol_features;    /* vhost-user protocol features; 0 elsewhere */
    uint64_t offered_features;     /* what the driver is offered: the spec's, within the datapath's */
    bool dirty_log_active;         /* live migration: the front-end logs dirty pages now */
    uint64_t dirty_pages_logged;   /* page bits set in dirty-page logs, over the function's life */
    uint64_t dirty_pages_missed;   /* writes outside the log, not logged (a front-end bug) */
    uint64_t rarps_sent;           /* announcements after a migration (SEND_RARP) */
    uint32_t vnet_hdr_len;         /* while connected */
    uint32_t nrings;               /* data rings the backend serves (2 * pairs) */
    char last_error[160];          /* why the last session ended badly, "" */
    bool client_mode;              /* the backend connects to 'endpoint' (spec.connect_path) */
    uint64_t connect_attempts;     /* client mode: connect() calls over the function's life */
    uint64_t connect_failures;     /* client mode: failed attempts since the last success */
    struct vn_emu_iotlb_state iotlb; /* IOMMU_PLATFORM */
};

enum vn_emu_queue_run {
    VN_EMU_Q_STOPPED,
    VN_EMU_Q_READY,
    VN_EMU_Q_RUNNING,
    VN_EMU_Q_ERROR,
    VN_EMU_Q_FRONTEND, /* a control queue the driver's side serves */
};

struct vn_emu_queue_state {
    enum vn_emu_queue_run run;
    bool enabled;
    uint32_t size;                 /* negotiated, 0 until set */
    uint16_t avail_idx, used_idx;  /* the device's next entries */
    bool has_driver_avail;
    uint16_t driver_avail_idx;
    const char *error;             /* static string, NULL when none */
};

/* How a host VMM attaches a function (host.c). */
enum vn_emu_attach {
    VN_EMU_ATTACH_NONE,       /* the backend cannot be attached by a VMM */
    VN_EMU_ATTACH_VHOST_USER, /* a vhost-user socket: 'path' */
};

struct vn_emu_host_info {
    enum vn_emu_attach kind;
    char path[108];
};

/* What every function of a backend shares; borrowed for the backend's lifetime. */
struct vn_emu_env {
    struct ev_loop *loop;
    const char *state_dir;            /* the backend's files go under it */
    struct vn_sfmgr *sfm;             /* representors: datapath queues come from here */
    const struct vn_provider_ops *dp; /* the active datapath provider, or NULL */
    void *dp_priv;
    /* Group and mode of the sockets the host's VMM connects to (vhost_socket); NULL: none. */
    const struct vn_conf_vhost_socket *sock_perms;
    /* Live update (new process): the running controller's listening fd of 'vuid', -1 when
       the hand-over has none for it, -ESRCH once no hand-over is under way (a function
       created after the commit, by hotplug); NULL = always create.  An adopted function is
       not served until import/serve_adopted. */
    int (*adopt_listen)(void *ctx, const char *vuid);
    void *adopt_ctx;
};

/* Names of the built-in backends, for the config check. */
bool vn_emu_backend_known(const char *name);

/*
 * Opens backend 'name' ("vhost", "dummy").  Returns 0 and '*out', or -ENOENT
 * (unknown name) / another negative errno, logged.
 */
int vn_emu_open(const char *name, const struct vn_emu_env *env, struct vn_emu **out);
/* Closes a backend whose functions are all destroyed.  Accepts NULL. */
void vn_emu_close(struct vn_emu *emu);
const char *vn_emu_name(const struct vn_emu *emu);
/* Whether the backend's functions need a datapath provider to carry traffic. */
bool vn_emu_needs_datapath(const struct vn_emu *emu);

/*
 * Creates function 'spec' (copied).  Returns 0 and '*out' (the caller owns
 * it: vn_emu_fn_destroy()), or a negative errno with nothing left behind.
 * Fault point "emu_create".
 */
int vn_emu_fn_create(struct vn_emu *emu, const struct vn_emu_spec *spec, struct vn_emu_fn **out);

/* Ends the function's session and everything the backend made for it.  Accepts NULL. */
void vn_emu_fn_destroy(struct vn_emu_fn *fn);

/*
 * Applies a changed spec (MAC, MTU, features, queue size, MSI-X, moderation,
 * representor MTU; never the number of queues or the VUID).  Moderation
 * reaches running queues at once; the rest applies to the next session.
 * Returns 0 or a negative errno, then nothing changed.  Fault point "emu_modify".
 */
int vn_emu_fn_update(struct vn_emu_fn *fn, const struct vn_emu_spec *spec);

/* State and counters, as data.  Accept NULL 'fn' (zeroed state). */
void vn_emu_fn_state(const struct vn_emu_fn *fn, struct vn_emu_state *out);
void vn_emu_fn_queue_state(const struct vn_emu_fn *fn, uint32_t index,
                           struct vn_emu_queue_state *out);
/* Counters of data ring 'index' over the function's life; -ERANGE past its rings. */
int vn_emu_fn_queue_stats(const struct vn_emu_fn *fn, uint32_t index,
                          struct vn_dp_queue_stats *out);
uint32_t vn_emu_fn_nrings(const struct vn_emu_fn *fn);
int vn_emu_fn_host_info(const struct vn_emu_fn *fn, struct vn_emu_host_info *out);

/*
 * Live update (update.c), old process: listen_fd is the fd the new process
 * adopts before it restores devices (-1 when the backend has none); export
 * stops the function and describes its session in '*out' with the fds it
 * refers to by index in fds[] (at most 'max'; still owned by the function);
 * then handed_over (the other process runs it), and either release (the
 * update committed: our copies close) or resume (it failed: serving again).
 * New process: import takes a session (fds it keeps are set to -1 in fds[],
 * the caller closes the rest); serve_adopted serves an adopted function that
 * was not handed over.
 */
int vn_emu_fn_listen_fd(const struct vn_emu_fn *fn);
int vn_emu_fn_export(struct vn_emu_fn *fn, cJSON **out, int *fds, unsigned *nfds, unsigned max);
void vn_emu_fn_handed_over(struct vn_emu_fn *fn);
void vn_emu_fn_resume(struct vn_emu_fn *fn);
void vn_emu_fn_release(struct vn_emu_fn *fn);
int vn_emu_fn_import(struct vn_emu_fn *fn, const cJSON *session, int *fds, unsigned nfds);
void vn_emu_fn_serve_adopted(struct vn_emu_fn *fn);

/* Names of the virtio device status bits set in 'status', as a JSON array. */
cJSON *vn_emu_status_names(uint8_t status);
const char *vn_emu_queue_run_name(enum vn_emu_queue_run run);

#endif /* VN_EMU_H */
