/*
 * null_provider.c - the smallest out-of-tree datapath provider: it builds
 * against the installed provider SDK (virtio-net-controller-dev) alone, and
 * shows the parts every provider has: one exported, versioned entry point
 * returning a static ops table; a probe that says why it cannot run; queue
 * ops that own a queue from queue_start until queue_stop returns.
 *
 * This one moves no frames: queue_start accepts a queue and does nothing
 * with it, queue_stop hands it back untouched (nothing popped, nothing to
 * give back) with zero counters.  Its probe refuses unless the environment
 * variable NULL_PROVIDER_OK is set, so it never wins by accident.
 *
 * The controller of this version loads only the providers it knows by name
 * (ace, dpa, sw; see controller/provider.c), so a provider built out of tree
 * is used by installing it under one of those names, with its provider file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtnet/provider.h>

struct null_queue {
    unsigned short index;    /* the virtqueue's index, for nothing but show */
};

static int null_probe(const struct vn_provider_env *env, char *why, size_t whylen)
{
    if (!getenv("NULL_PROVIDER_OK")) {
        snprintf(why, whylen, "example provider: set NULL_PROVIDER_OK to use it (emu manager %s)",
                 env->emu_manager ? env->emu_manager : "none");
        return -EOPNOTSUPP;
    }
    return 0;
}

/* Takes the queue: 'q' and what it points to are borrowed until queue_stop. */
static int null_queue_start(void *priv, const struct vn_dp_queue *q, void **qpriv)
{
    struct null_queue *nq = calloc(1, sizeof(*nq));

    (void)priv;
    if (!nq)
        return -ENOMEM;
    nq->index = q->index;
    *qpriv = nq;
    return 0;
}

/* Gives the queue back: nothing was taken from its rings, so no counters. */
static void null_queue_stop(void *priv, void *qpriv, struct vn_dp_queue_stats *final)
{
    (void)priv;
    if (final)
        memset(final, 0, sizeof(*final));
    free(qpriv);
}

static const struct vn_provider_ops null_ops = {
    .abi_version = VN_PROVIDER_ABI_VERSION,
    .name = "null",
    .description = "example out-of-tree provider (moves no frames)",
    .probe = null_probe,
    .queue_start = null_queue_start,
    .queue_stop = null_queue_stop,
};

VN_PROVIDER_EXPORT const struct vn_provider_ops *vn_provider_entry(void);

const struct vn_provider_ops *vn_provider_entry(void)
{
    return &null_ops;
}
