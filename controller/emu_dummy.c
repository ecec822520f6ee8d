/*
 * emu_dummy.c - the dummy emulation backend: functions that exist only in
 * this process's memory.  No socket, no thread, no root: the device manager,
 * recovery, live update and the RPC layer run on it exactly as on the
 * software DPU, which is what tests without root and dry runs need.  No
 * driver ever attaches, so every data ring stays "stopped" with zero
 * counters.  A live update hands each function over as its spec's VUID (no
 * fds).  Failures are injected through the core's fault points
 * ("emu_create", "emu_modify") and "emu_import" here.
 */
#include <config.h>

#include "emu_class.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "json.h"
#include "log.h"

struct dummy_fn {
    struct vn_emu_fn up;
    struct vn_emu_spec spec;
    bool handed_over;
};

/* 'up' is the first member. */
static struct dummy_fn *dummy_fn(struct vn_emu_fn *fn)
{
    return vn_container_of(fn, struct dummy_fn, up);
}

static const struct dummy_fn *cdummy_fn(const struct vn_emu_fn *fn)
{
    return (const struct dummy_fn *)(const void *)fn;
}

static uint32_t nrings(const struct vn_emu_spec *spec)
{
    return 2 * VN_MAX(1u, spec->max_queues / 2);
}

static int dummy_create(struct vn_emu *emu, const struct vn_emu_spec *spec, struct vn_emu_fn **out)
{
    struct dummy_fn *d = calloc(1, sizeof(*d));

    (void)emu;
    if (!d)
        return -ENOMEM;
    d->spec = *spec;
    VN_DBG(DEV, "%s: dummy function (%u rings)", spec->vuid, nrings(spec));
    *out = &d->up;
    return 0;
}

static void dummy_destroy(struct vn_emu_fn *fn)
{
    free(dummy_fn(fn));
}

static int dummy_update(struct vn_emu_fn *fn, const struct vn_emu_spec *spec)
{
    dummy_fn(fn)->spec = *spec;
    return 0;
}

static void dummy_state(const struct vn_emu_fn *fn, struct vn_emu_state *out)
{
    out->nrings = nrings(&cdummy_fn(fn)->spec);
}

static void dummy_queue_state(const struct vn_emu_fn *fn, uint32_t index,
                              struct vn_emu_queue_state *out)
{
    out->run = index < nrings(&cdummy_fn(fn)->spec) ? VN_EMU_Q_STOPPED : VN_EMU_Q_FRONTEND;
    out->enabled = false;
}

static int dummy_queue_stats(const struct vn_emu_fn *fn, uint32_t index,
                             struct vn_dp_queue_stats *out)
{
    if (index >= nrings(&cdummy_fn(fn)->spec))
        return -ERANGE;
    memset(out, 0, sizeof(*out));
    return 0;
}

static int dummy_export(struct vn_emu_fn *fn, cJSON **out, int *fds, unsigned *nfds, unsigned max)
{
    cJSON *s = cJSON_CreateObject();

    (void)fds;
    (void)max;
    *nfds = 0;
    if (!s)
        return -ENOMEM;
    vn_json_add_str(s, "dummy", dummy_fn(fn)->spec.vuid);
    *out = s;
    return 0;
}

static void dummy_handed_over(struct vn_emu_fn *fn)
{
    dummy_fn(fn)->handed_over = true;
}

static void dummy_resume(struct vn_emu_fn *fn)
{
    dummy_fn(fn)->handed_over = false;
}

static int dummy_import(struct vn_emu_fn *fn, const cJSON *session, int *fds, unsigned nfds)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(session, "dummy");

    (void)fds;
    if (nfds || !cJSON_IsString(v) || strcmp(v->valuestring, cdummy_fn(fn)->spec.vuid))
        return -EPROTO;
    if (vn_fault("emu_import"))
        return -EIO;
    return 0;
}

const struct vn_emu_class vn_emu_dummy_class = {
    .name = "dummy",
    .create = dummy_create,
    .destroy = dummy_destroy,
    .update = dummy_update,
    .state = dummy_state,
    .queue_state = dummy_queue_state,
    .queue_stats = dummy_queue_stats,
    .export = dummy_export,
    .handed_over = dummy_handed_over,
    .resume = dummy_resume,
    .import = dummy_import,
};
