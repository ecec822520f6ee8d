/*
 * emu_class.h - what an emulation backend implements (the SDK side of
 * emu.h, which is what the rest of the controller calls).
 *
 * A backend is a static const struct vn_emu_class with designated
 * initializers, listed in emu.c.  Lifecycle: init() once when the
 * controller opens the backend, then any number of functions, each
 * create() ... destroy(), then fini().  Every op runs on the main loop's
 * thread.  Mandatory ops are checked when the backend is opened; a missing
 * optional op behaves as its comment says.
 *
 * A function is the backend's own struct with a struct vn_emu_fn as its
 * first member (CONTAINER_OF to get back); the core only reads 'cls'.
 */
#ifndef VN_EMU_CLASS_H
#define VN_EMU_CLASS_H

#include "emu.h"

struct vn_emu_fn {
    const struct vn_emu_class *cls;
    struct vn_emu *emu;
};

/* One opened backend. */
struct vn_emu {
    const struct vn_emu_class *cls;
    struct vn_emu_env env; /* copied; what it points to is borrowed */
    void *priv;            /* init()'s state */
};

struct vn_emu_class {
    const char *name;
    /* Its functions move frames through the datapath provider (none: the dummy). */
    bool needs_datapath;

    /* ---- management ---- */

    /* Optional.  Sets up what every function shares in '*priv'; 0 or -errno. */
    int (*init)(struct vn_emu *emu);
    /* Optional.  Releases init()'s state; every function is destroyed by then. */
    void (*fini)(struct vn_emu *emu);
    /*
     * Mandatory.  Makes function 'spec' (copied: the backend keeps no pointer
     * into it) visible to the host.  On success '*out' is owned by the caller
     * until destroy(); on failure nothing the call made is left.
     */
    int (*create)(struct vn_emu *emu, const struct vn_emu_spec *spec, struct vn_emu_fn **out);
    /* Mandatory.  Ends the function: its session, rings, files. Frees 'fn'. */
    void (*destroy)(struct vn_emu_fn *fn);

    /* ---- runtime ---- */

    /* Mandatory.  Applies a changed spec (same vuid and max_queues); 0 or -errno, unchanged. */
    int (*update)(struct vn_emu_fn *fn, const struct vn_emu_spec *spec);
    /* Mandatory.  Fills '*out' (zeroed by the caller). */
    void (*state)(const struct vn_emu_fn *fn, struct vn_emu_state *out);
    /* Mandatory.  Queue 'index' (< spec.max_queues); '*out' zeroed by the caller. */
    void (*queue_state)(const struct vn_emu_fn *fn, uint32_t index, struct vn_emu_queue_state *out);
    /* Optional (no counters: -EOPNOTSUPP).  Counters of data ring 'index', or -ERANGE. */
    int (*queue_stats)(const struct vn_emu_fn *fn, uint32_t index, struct vn_dp_queue_stats *out);
    /* Optional (VN_EMU_ATTACH_NONE).  How a VMM attaches the function. */
    void (*host_info)(const struct vn_emu_fn *fn, struct vn_emu_host_info *out);

    /* ---- live update; see emu.h.  Optional as a group: without export, update -s is refused. */
    int (*listen_fd)(const struct vn_emu_fn *fn);
    int (*export)(struct vn_emu_fn *fn, cJSON **out, int *fds, unsigned *nfds, unsigned max);
    void (*handed_over)(struct vn_emu_fn *fn);
    void (*resume)(struct vn_emu_fn *fn);
    void (*release)(struct vn_emu_fn *fn);
    int (*import)(struct vn_emu_fn *fn, const cJSON *session, int *fds, unsigned nfds);
    void (*serve_adopted)(struct vn_emu_fn *fn);
};

extern const struct vn_emu_class vn_emu_vhost_class;
extern const struct vn_emu_class vn_emu_dummy_class;

#endif /* VN_EMU_CLASS_H */
