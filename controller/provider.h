/*
 * provider.h - choosing and loading the datapath provider (the consumer side
 * of include/virtnet/provider.h).
 *
 * Candidates come from the provider files in the providers directory
 * (NAME.provider: provider=NAME, score=N, the vendor's format); without any,
 * the built-in defaults apply (ace with score 100, sw with score 1, so real
 * hardware wins where it exists).  Each candidate's NAME.so is loaded from
 * the provider library directory and probed; the highest score among those
 * that load and probe wins.  Every candidate's outcome and reason is kept for
 * the log and `virtnet list`.
 */
#ifndef VN_PROVIDER_LOADER_H
#define VN_PROVIDER_LOADER_H

#include <cjson/cJSON.h>

#include "virtnet/provider.h"

struct vn_providers;

/*
 * Loads the best provider.  Returns 0 and '*out' even when no candidate
 * works (then no provider is active and the reasons are logged), or a
 * negative errno on allocation failure.
 */
int vn_providers_load(const char *conf_dir, const char *lib_dir, const struct vn_provider_env *env,
                      struct vn_providers **out);

/* Calls the active provider's fini and unloads it. Accepts NULL. */
void vn_providers_unload(struct vn_providers *p);

/* The active provider's ops, or NULL. */
const struct vn_provider_ops *vn_providers_active(const struct vn_providers *p);

/* The active provider's init() state, handed back to its ops; NULL when none. */
void *vn_providers_active_priv(const struct vn_providers *p);

/* {"name": ..., "score": ..., "candidates": [...]} for `virtnet list`. */
cJSON *vn_providers_to_json(const struct vn_providers *p);

#endif /* VN_PROVIDER_LOADER_H */
