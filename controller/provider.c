/*
 * provider.c - provider selection and loading; see provider.h.
 */
#include <config.h>

#include "provider.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "provider_conf.h"
#include "util.h"

#define MAX_CANDIDATES 16
#define SUFFIX ".provider"

/* Providers this controller knows; a file naming another is skipped. */
static const char *const known_providers[] = { "ace", "dpa", "sw" };

struct candidate {
    char name[VN_PROVIDER_NAME_MAX];
    int64_t score;
    char source[64];          /* the provider file, or "built-in default" */
    char status[16];          /* "active", "probe failed", "not loaded", "skipped" */
    char why[256];
    void *dl;
    const struct vn_provider_ops *ops;
};

struct vn_providers {
    struct candidate cand[MAX_CANDIDATES];
    unsigned n;
    int active;               /* index into cand, -1 for none */
    void *priv;               /* the active provider's init state */
};

static bool is_known(const char *name)
{
    for (size_t i = 0; i < VN_ARRAY_SIZE(known_providers); i++)
        if (!strcmp(name, known_providers[i]))
            return true;
    return false;
}

static struct candidate *add_candidate(struct vn_providers *p, const char *name, int64_t score,
                                       const char *source)
{
    struct candidate *c;

    /* One provider per name: a later file for the same name replaces it. */
    for (unsigned i = 0; i < p->n; i++) {
        if (!strcmp(p->cand[i].name, name)) {
            VN_WARN(PROV, "provider '%s' defined again in %s; using that one", name, source);
            c = &p->cand[i];
            goto fill;
        }
    }
    if (p->n == MAX_CANDIDATES) {
        VN_WARN(PROV, "more than %d providers defined; ignoring %s", MAX_CANDIDATES, source);
        return NULL;
    }
    c = &p->cand[p->n++];
fill:
    memset(c, 0, sizeof(*c));
    vn_strlcpy(c->name, name, sizeof(c->name));
    c->score = score;
    snprintf(c->source, sizeof(c->source), "%.63s", source);
    snprintf(c->status, sizeof(c->status), "not loaded");
    return c;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every NAME.provider in 'dir'. Returns how many files were found. */
static int read_provider_files(struct vn_providers *p, const char *dir)
{
    char *names[64];
    size_t n = 0;
    struct dirent *de;
    DIR *d = opendir(dir);

    if (!d) {
        if (errno != ENOENT)
            VN_WARN(PROV, "cannot read providers dir %s: %s", dir, strerror(errno));
        return 0;
    }
    while ((de = readdir(d)) && n < VN_ARRAY_SIZE(names)) {
        size_t len = strlen(de->d_name);

        if (len > strlen(SUFFIX) && !strcmp(de->d_name + len - strlen(SUFFIX), SUFFIX) &&
            de->d_name[0] != '.')
            names[n] = strdup(de->d_name), n += names[n] != NULL;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n; i++) {
        struct vn_provider_conf pc;
        char path[PATH_MAX], err[256];
        size_t base = strlen(names[i]) - strlen(SUFFIX);
        int ret;

        if (vn_snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < 0)
            goto next;
        ret = vn_provider_conf_load(path, &pc, err, sizeof(err));
        if (ret < 0) {
            VN_ERR(PROV, "%s: %s; skipped", path, ret == -EINVAL ? err : strerror(-ret));
            goto next;
        }
        /* The vendor's rule: the file is named after its provider. */
        if (strlen(pc.name) != base || strncmp(pc.name, names[i], base)) {
            VN_ERR(PROV, "%s: defines provider '%s' but is named for '%.*s'; skipped", path,
                   pc.name, (int)base, names[i]);
            goto next;
        }
        if (!is_known(pc.name)) {
            VN_ERR(PROV, "%s: unknown provider '%s' (ace, dpa or sw); skipped", path, pc.name);
            goto next;
        }
        add_candidate(p, pc.name, pc.score, names[i]);
next:
        free(names[i]);
    }
    return (int)n;
}

/* Loads and probes candidate 'c'; on success keeps it loaded. */
static void try_candidate(struct candidate *c, const char *lib_dir,
                          const struct vn_provider_env *env)
{
    char path[PATH_MAX];
    vn_provider_entry_fn *entry;
    const struct vn_provider_ops *ops;
    int ret;

    if (vn_snprintf(path, sizeof(path), "%s/%s.so", lib_dir, c->name) < 0) {
        snprintf(c->why, sizeof(c->why), "library path too long");
        return;
    }
    c->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!c->dl) {
        snprintf(c->why, sizeof(c->why), "cannot load: %s", dlerror());
        return;
    }
    *(void **)&entry = dlsym(c->dl, VN_PROVIDER_ENTRY_SYMBOL);
    ops = entry ? entry() : NULL;
    if (!ops) {
        snprintf(c->why, sizeof(c->why), "%s.so exports no %s()", c->name,
                 VN_PROVIDER_ENTRY_SYMBOL);
        goto err_close;
    }
    if (ops->abi_version != VN_PROVIDER_ABI_VERSION) {
        snprintf(c->why, sizeof(c->why),
                 "ABI version %u, this controller needs %u: rebuild the provider",
                 ops->abi_version, VN_PROVIDER_ABI_VERSION);
        goto err_close;
    }
    if (!ops->name || strcmp(ops->name, c->name) || !ops->probe) {
        snprintf(c->why, sizeof(c->why), "%s.so: bad ops table (name or probe missing)", c->name);
        goto err_close;
    }
    ret = ops->probe(env, c->why, sizeof(c->why));
    if (ret < 0) {
        snprintf(c->status, sizeof(c->status), "probe failed");
        if (!c->why[0])
            snprintf(c->why, sizeof(c->why), "%s", strerror(-ret));
        goto err_close;
    }
    c->ops = ops;
    snprintf(c->status, sizeof(c->status), "probed");
    return;

err_close:
    dlclose(c->dl);
    c->dl = NULL;
}

int vn_providers_load(const char *conf_dir, const char *lib_dir, const struct vn_provider_env *env,
                      struct vn_providers **out)
{
    struct vn_providers *p = calloc(1, sizeof(*p));

    if (!p)
        return -ENOMEM;
    p->active = -1;
    if (read_provider_files(p, conf_dir) == 0) {
        add_candidate(p, "ace", 100, "built-in default");
        add_candidate(p, "sw", 1, "built-in default");
    }
    for (unsigned i = 0; i < p->n; i++) {
        try_candidate(&p->cand[i], lib_dir, env);
        if (p->cand[i].ops && (p->active < 0 || p->cand[i].score > p->cand[p->active].score))
            p->active = (int)i;
    }
    /* Unload the others; start the winner. */
    for (unsigned i = 0; i < p->n; i++) {
        struct candidate *c = &p->cand[i];

        if ((int)i == p->active || !c->dl)
            continue;
        snprintf(c->status, sizeof(c->status), "skipped");
        snprintf(c->why, sizeof(c->why), "score %lld is below the chosen provider's",
                 (long long)c->score);
        dlclose(c->dl);
        c->dl = NULL;
        c->ops = NULL;
    }
    if (p->active >= 0) {
        struct candidate *c = &p->cand[p->active];
        int ret = c->ops->init ? c->ops->init(env, &p->priv) : 0;

        if (ret < 0) {
            snprintf(c->status, sizeof(c->status), "init failed");
            snprintf(c->why, sizeof(c->why), "init: %s", strerror(-ret));
            dlclose(c->dl);
            c->dl = NULL;
            c->ops = NULL;
            p->active = -1;
        } else {
            snprintf(c->status, sizeof(c->status), "active");
        }
    }
    for (unsigned i = 0; i < p->n; i++) {
        struct candidate *c = &p->cand[i];

        /* A library that does not load (a missing optional dependency such as
           libibverbs, a wrong ABI) is worth a warning; a probe that finds no
           hardware, or a lower score, is the normal case. */
        if ((int)i == p->active)
            VN_INFO(PROV, "provider '%s' (score %lld, %s) is active", c->name,
                    (long long)c->score, c->source);
        else if (!strcmp(c->status, "not loaded"))
            VN_WARN(PROV, "provider '%s' (score %lld, %s): %s: %s", c->name, (long long)c->score,
                    c->source, c->status, c->why);
        else
            VN_INFO(PROV, "provider '%s' (score %lld, %s): %s: %s", c->name, (long long)c->score,
                    c->source, c->status, c->why);
    }
    if (p->active < 0)
        VN_ERR(PROV, "no datapath provider could be loaded: devices have no datapath");
    *out = p;
    return 0;
}

void vn_providers_unload(struct vn_providers *p)
{
    if (!p)
        return;
    if (p->active >= 0) {
        struct candidate *c = &p->cand[p->active];

        if (c->ops->fini)
            c->ops->fini(p->priv);
        dlclose(c->dl);
    }
    free(p);
}

const struct vn_provider_ops *vn_providers_active(const struct vn_providers *p)
{
    return p && p->active >= 0 ? p->cand[p->active].ops : NULL;
}

void *vn_providers_active_priv(const struct vn_providers *p)
{
    return p && p->active >= 0 ? p->priv : NULL;
}

cJSON *vn_providers_to_json(const struct vn_providers *p)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();

    if (p && p->active >= 0) {
        vn_json_add_str(o, "name", p->cand[p->active].name);
        vn_json_add_num(o, "score", (double)p->cand[p->active].score);
    } else {
        vn_json_add_str(o, "name", NULL);
    }
    for (unsigned i = 0; p && i < p->n; i++) {
        const struct candidate *c = &p->cand[i];
        cJSON *j = cJSON_CreateObject();

        vn_json_add_str(j, "name", c->name);
        vn_json_add_num(j, "score", (double)c->score);
        vn_json_add_str(j, "source", c->source);
        vn_json_add_str(j, "status", c->status);
        if (c->why[0])
            vn_json_add_str(j, "reason", c->why);
        vn_json_add(a, NULL, j);
    }
    vn_json_add(o, "candidates", a);
    return o;
}
