/*
 * test_provider.c - a provider for tests of provider selection
 * (tests/functional/providers.sh); never installed.
 *
 * Built once per name (TEST_PROVIDER_NAME, see automake.mk) so several can
 * sit next to sw in one provider library directory.  Its score comes from
 * its provider file, as for any provider; what its probe and init do comes
 * from the environment of the controller:
 *
 *     VIRTNET_TEST_PROVIDER_<name>=ok          probe and init succeed (also when unset)
 *     VIRTNET_TEST_PROVIDER_<name>=probe-fail  probe fails (-ENODEV) and says why
 *     VIRTNET_TEST_PROVIDER_<name>=init-fail   probe succeeds, init fails (-EIO)
 *
 * It moves no traffic: queue_start refuses every queue (-EOPNOTSUPP), so a
 * device on it fails visibly instead of pretending to work.  Only the SDK
 * header is used.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtnet/provider.h"

#ifndef TEST_PROVIDER_NAME
#error "TEST_PROVIDER_NAME must be defined"
#endif

#define ENV_VAR "VIRTNET_TEST_PROVIDER_" TEST_PROVIDER_NAME

/* What the environment asks for: "ok" when unset. */
static const char *behaviour(void)
{
    const char *v = getenv(ENV_VAR);

    return v && *v ? v : "ok";
}

static int test_probe(const struct vn_provider_env *env, char *why, size_t whylen)
{
    const char *b = behaviour();

    (void)env;
    if (!strcmp(b, "ok") || !strcmp(b, "init-fail"))
        return 0;
    if (!strcmp(b, "probe-fail")) {
        snprintf(why, whylen, "told to fail by %s=probe-fail", ENV_VAR);
        return -ENODEV;
    }
    snprintf(why, whylen, "%s=%.40s: expected ok, probe-fail or init-fail", ENV_VAR, b);
    return -EINVAL;
}

static int test_init(const struct vn_provider_env *env, void **priv)
{
    (void)env;
    *priv = NULL;
    return strcmp(behaviour(), "init-fail") ? 0 : -EIO;
}

static void test_fini(void *priv)
{
    (void)priv;
}

static int test_queue_start(void *priv, const struct vn_dp_queue *q, void **qpriv)
{
    (void)priv, (void)q, (void)qpriv;
    return -EOPNOTSUPP;
}

static void test_queue_stop(void *priv, void *qpriv, struct vn_dp_queue_stats *final)
{
    (void)priv, (void)qpriv;
    if (final)
        memset(final, 0, sizeof(*final));
}

static const struct vn_provider_ops test_ops = {
    .abi_version = VN_PROVIDER_ABI_VERSION,
    .name = TEST_PROVIDER_NAME,
    .description = "test provider: selection only, moves no traffic",
    .probe = test_probe,
    .init = test_init,
    .fini = test_fini,
    .queue_start = test_queue_start,
    .queue_stop = test_queue_stop,
};

VN_PROVIDER_EXPORT const struct vn_provider_ops *vn_provider_entry(void);

const struct vn_provider_ops *vn_provider_entry(void)
{
    return &test_ops;
}
