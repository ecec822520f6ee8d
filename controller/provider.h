/*
 * provider.h - choosing and loading the datapath provider (the consumer side
 * of include/virtnet/provider.h).
 *
 * Candidates come from the provider files in the providers directory
 * (NAME.provider: provider=NAME, score=N, the vendor's format; the provider
 * line names the library, a file named otherwise is used with a warning);
 * without any file, the vendor's default applies: ace, score 100.  Unless
 * the config forbids it (provider_sw_fallback 0) and unless a file already
 * names it, the built-in sw provider is added as the last resort.
 *
 * Candidates are tried in order: highest score first; equal scores by name
 * (C locale, so "ace" before "dpa"); the sw fallback last whatever its
 * score.  Each candidate's NAME.so is loaded from the provider library
 * directory, probed and initialised; the first that gets through wins and
 * the rest are not tried.  Every candidate's outcome and reason is kept for
 * the log, `virtnet list` and `virtnet health`.
 */
#ifndef VN_PROVIDER_LOADER_H
#define VN_PROVIDER_LOADER_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "virtnet/provider.h"

struct vn_providers;

/*
 * Loads the best provider.  Returns 0 and '*out' even when no candidate
 * works (then no provider is active and the reasons are logged), or a
 * negative errno on allocation failure.
 */
int vn_providers_load(const char *conf_dir, const char *lib_dir, const struct vn_provider_env *env,
                      bool sw_fallback, struct vn_providers **out);

/* Calls the active provider's fini and unloads it. Accepts NULL. */
void vn_providers_unload(struct vn_providers *p);

/* The active provider's ops, or NULL. */
const struct vn_provider_ops *vn_providers_active(const struct vn_providers *p);

/* The active provider's init() state, handed back to its ops; NULL when none. */
void *vn_providers_active_priv(const struct vn_providers *p);

/* The active provider's name, or NULL when devices have no datapath. */
const char *vn_providers_active_name(const struct vn_providers *p);

/*
 * {"name": ..., "score": ..., "reason": ..., "candidates": [{"name", "score",
 * "source", "status", "reason"}...]} for `virtnet list` and `health`, the
 * candidates in the order they were tried.
 */
cJSON *vn_providers_to_json(const struct vn_providers *p);

#endif /* VN_PROVIDER_LOADER_H */
