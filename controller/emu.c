/*
 * emu.c - the emulation backend core: the list of backends, the check of
 * their ops, and the calls of emu.h dispatched to them.
 */
#include <config.h>

#include "emu.h"
#include "emu_class.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "json.h"
#include "log.h"

static const struct vn_emu_class *const classes[] = {
    &vn_emu_vhost_class,
    &vn_emu_dummy_class,
};

static const struct vn_emu_class *class_find(const char *name)
{
    for (size_t i = 0; i < VN_ARRAY_SIZE(classes); i++)
        if (!strcmp(classes[i]->name, name))
            return classes[i];
    return NULL;
}

bool vn_emu_backend_known(const char *name)
{
    return class_find(name) != NULL;
}

int vn_emu_open(const char *name, const struct vn_emu_env *env, struct vn_emu **out)
{
    const struct vn_emu_class *cls = class_find(name);
    struct vn_emu *emu;
    int ret;

    if (!cls) {
        VN_ERR(DEV, "no emulation backend called '%s'", name);
        return -ENOENT;
    }
    if (!cls->create || !cls->destroy || !cls->update || !cls->state || !cls->queue_state) {
        VN_ERR(DEV, "emulation backend '%s' lacks a mandatory op", name);
        return -EINVAL;
    }
    emu = calloc(1, sizeof(*emu));
    if (!emu)
        return -ENOMEM;
    emu->cls = cls;
    emu->env = *env;
    if (cls->init) {
        ret = cls->init(emu);
        if (ret < 0) {
            VN_ERR(DEV, "emulation backend '%s': %s", name, strerror(-ret));
            free(emu);
            return ret;
        }
    }
    VN_INFO(DEV, "emulation backend: %s", name);
    *out = emu;
    return 0;
}

void vn_emu_close(struct vn_emu *emu)
{
    if (!emu)
        return;
    if (emu->cls->fini)
        emu->cls->fini(emu);
    free(emu);
}

const char *vn_emu_name(const struct vn_emu *emu)
{
    return emu->cls->name;
}

bool vn_emu_needs_datapath(const struct vn_emu *emu)
{
    return emu->cls->needs_datapath;
}

int vn_emu_fn_create(struct vn_emu *emu, const struct vn_emu_spec *spec, struct vn_emu_fn **out)
{
    struct vn_emu_fn *fn;
    int ret;

    if (spec->max_queues > VN_EMU_MAX_VIRTQ)
        return -ERANGE;
    if (vn_fault("emu_create"))
        return -EIO;
    ret = emu->cls->create(emu, spec, &fn);
    if (ret < 0)
        return ret;
    fn->cls = emu->cls;
    fn->emu = emu;
    *out = fn;
    return 0;
}

void vn_emu_fn_destroy(struct vn_emu_fn *fn)
{
    if (fn)
        fn->cls->destroy(fn);
}

int vn_emu_fn_update(struct vn_emu_fn *fn, const struct vn_emu_spec *spec)
{
    if (vn_fault("emu_modify"))
        return -EIO;
    return fn->cls->update(fn, spec);
}

void vn_emu_fn_state(const struct vn_emu_fn *fn, struct vn_emu_state *out)
{
    memset(out, 0, sizeof(*out));
    if (fn)
        fn->cls->state(fn, out);
}

void vn_emu_fn_queue_state(const struct vn_emu_fn *fn, uint32_t index,
                           struct vn_emu_queue_state *out)
{
    memset(out, 0, sizeof(*out));
    if (fn)
        fn->cls->queue_state(fn, index, out);
}

int vn_emu_fn_queue_stats(const struct vn_emu_fn *fn, uint32_t index,
                          struct vn_dp_queue_stats *out)
{
    if (!fn)
        return -ERANGE;
    if (!fn->cls->queue_stats)
        return -EOPNOTSUPP;
    return fn->cls->queue_stats(fn, index, out);
}

uint32_t vn_emu_fn_nrings(const struct vn_emu_fn *fn)
{
    struct vn_emu_state st;

    vn_emu_fn_state(fn, &st);
    return st.nrings;
}

int vn_emu_fn_host_info(const struct vn_emu_fn *fn, struct vn_emu_host_info *out)
{
    memset(out, 0, sizeof(*out));
    if (fn && fn->cls->host_info)
        fn->cls->host_info(fn, out);
    return out->kind == VN_EMU_ATTACH_NONE ? -EOPNOTSUPP : 0;
}

int vn_emu_fn_listen_fd(const struct vn_emu_fn *fn)
{
    return fn && fn->cls->listen_fd ? fn->cls->listen_fd(fn) : -1;
}

int vn_emu_fn_export(struct vn_emu_fn *fn, cJSON **out, int *fds, unsigned *nfds, unsigned max)
{
    *nfds = 0;
    if (!fn->cls->export)
        return -EOPNOTSUPP;
    return fn->cls->export(fn, out, fds, nfds, max);
}

void vn_emu_fn_handed_over(struct vn_emu_fn *fn)
{
    if (fn->cls->handed_over)
        fn->cls->handed_over(fn);
}

void vn_emu_fn_resume(struct vn_emu_fn *fn)
{
    if (fn->cls->resume)
        fn->cls->resume(fn);
}

void vn_emu_fn_release(struct vn_emu_fn *fn)
{
    if (fn->cls->release)
        fn->cls->release(fn);
}

int vn_emu_fn_import(struct vn_emu_fn *fn, const cJSON *session, int *fds, unsigned nfds)
{
    if (!fn->cls->import)
        return -EOPNOTSUPP;
    return fn->cls->import(fn, session, fds, nfds);
}

void vn_emu_fn_serve_adopted(struct vn_emu_fn *fn)
{
    if (fn && fn->cls->serve_adopted)
        fn->cls->serve_adopted(fn);
}

/* X(bit value, name) - virtio device status bits, for `virtnet query`. */
#define VN_STATUS_BITS(X)                                                                          \
    X(VIRTIO_CONFIG_S_ACKNOWLEDGE, "ACKNOWLEDGE")                                                  \
    X(VIRTIO_CONFIG_S_DRIVER, "DRIVER")                                                            \
    X(VIRTIO_CONFIG_S_FEATURES_OK, "FEATURES_OK")                                                  \
    X(VIRTIO_CONFIG_S_DRIVER_OK, "DRIVER_OK")                                                      \
    X(VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET")                                                  \
    X(VIRTIO_CONFIG_S_FAILED, "FAILED")

cJSON *vn_emu_status_names(uint8_t status)
{
    cJSON *st = cJSON_CreateArray();

#define VN_STATUS_NAME(bit, name)                                                                  \
    if (status & (bit))                                                                            \
        vn_json_add_str(st, NULL, name);
    VN_STATUS_BITS(VN_STATUS_NAME)
#undef VN_STATUS_NAME
    return st;
}

const char *vn_emu_queue_run_name(enum vn_emu_queue_run run)
{
    static const char *const names[] = {
        [VN_EMU_Q_STOPPED] = "stopped", [VN_EMU_Q_READY] = "ready",
        [VN_EMU_Q_RUNNING] = "running", [VN_EMU_Q_ERROR] = "error",
        [VN_EMU_Q_FRONTEND] = "frontend",
    };

    return (unsigned)run < VN_ARRAY_SIZE(names) ? names[run] : "unknown";
}
