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
#define SW_PROVIDER "sw"

struct candidate {
    char name[VN_PROVIDER_NAME_MAX];
    int64_t score;
    bool fallback;            /* the built-in sw fallback: tried last whatever its score */
    char source[64];          /* the provider file, "built-in default" or "built-in fallback" */
    char status[16];          /* "active", "load failed", "probe failed", "init failed",
                                 "not tried" */
    char why[256];
    void *dl;
    const struct vn_provider_ops *ops;
};

struct vn_providers {
    struct candidate cand[MAX_CANDIDATES]; /* in the order they were tried */
    unsigned n;
    int active;               /* index into cand, -1 for none */
    void *priv;               /* the active provider's init state */
};

static struct candidate *find_candidate(struct vn_providers *p, const char *name)
{
    for (unsigned i = 0; i < p->n; i++)
        if (!strcmp(p->cand[i].name, name))
            return &p->cand[i];
    return NULL;
}

static struct candidate *add_candidate(struct vn_providers *p, const char *name, int64_t score,
                                       const char *source)
{
    struct candidate *c = find_candidate(p, name);

    /* One provider per name: a later file for the same name replaces it. */
    if (c) {
        VN_WARN(PROV, "provider '%s' defined again in %s; using that one", name, source);
    } else if (p->n == MAX_CANDIDATES) {
        VN_WARN(PROV, "more than %d providers defined; ignoring %s", MAX_CANDIDATES, source);
        return NULL;
    } else {
        c = &p->cand[p->n++];
    }
    memset(c, 0, sizeof(*c));
    vn_strlcpy(c->name, name, sizeof(c->name));
    c->score = score;
    snprintf(c->source, sizeof(c->source), "%.63s", source);
    snprintf(c->status, sizeof(c->status), "not tried");
    return c;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The order candidates are tried in: the built-in fallback last, then the
 * higher score first, then (a tie) the name that sorts first in the C
 * locale, so the choice never depends on the order of a directory listing.
 */
static int try_order_cmp(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;

    if (x->fallback != y->fallback)
        return x->fallback ? 1 : -1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->name, y->name);
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
        if (pc.n_unknown)
            VN_WARN(PROV, "%s: %s", path, pc.warning);
        /*
         * The vendor's rule: "provider" has to be the accurate provider name
         * (it names the library), and the file name "should" be that name.
         * The provider line decides; a file named otherwise still counts.
         */
        if (strlen(pc.name) != base || strncmp(pc.name, names[i], base))
            VN_WARN(PROV, "%s: defines provider '%s' but is named for '%.*s': using '%s' (the "
                    "provider line names the library; the file should be %s" SUFFIX ")",
                    path, pc.name, (int)base, names[i], pc.name, pc.name);
        add_candidate(p, pc.name, pc.score, names[i]);
next:
        free(names[i]);
    }
    return (int)n;
}

/*
 * Loads and probes candidate 'c'; on success keeps it loaded (c->dl, c->ops)
 * and returns 0.  Otherwise returns -1 with c->status and c->why set.
 */
static int try_candidate(struct candidate *c, const char *lib_dir,
                         const struct vn_provider_env *env)
{
    char path[PATH_MAX];
    vn_provider_entry_fn *entry;
    const struct vn_provider_ops *ops;
    int ret;

    snprintf(c->status, sizeof(c->status), "load failed");
    if (vn_snprintf(path, sizeof(path), "%s/%s.so", lib_dir, c->name) < 0) {
        snprintf(c->why, sizeof(c->why), "library path too long");
        return -1;
    }
    c->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!c->dl) {
        snprintf(c->why, sizeof(c->why), "cannot load: %s", dlerror());
        return -1;
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
    c->why[0] = '\0';
    return 0;

err_close:
    dlclose(c->dl);
    c->dl = NULL;
    return -1;
}

int vn_providers_load(const char *conf_dir, const char *lib_dir, const struct vn_provider_env *env,
                      bool sw_fallback, struct vn_providers **out)
{
    struct vn_providers *p = calloc(1, sizeof(*p));
    const struct candidate *winner;

    if (!p)
        return -ENOMEM;
    p->active = -1;
    /* No provider file at all: the vendor's default, ACE. */
    if (read_provider_files(p, conf_dir) == 0)
        add_candidate(p, "ace", 100, "built-in default");
    if (sw_fallback && !find_candidate(p, SW_PROVIDER)) {
        struct candidate *c = add_candidate(p, SW_PROVIDER, 0, "built-in fallback");

        if (c)
            c->fallback = true;
    }
    qsort(p->cand, p->n, sizeof(p->cand[0]), try_order_cmp);

    /* The first candidate that loads, probes and initialises wins. */
    for (unsigned i = 0; i < p->n && p->active < 0; i++) {
        struct candidate *c = &p->cand[i];
        int ret;

        if (try_candidate(c, lib_dir, env) < 0)
            continue;
        ret = c->ops->init ? c->ops->init(env, &p->priv) : 0;
        if (ret < 0) {
            snprintf(c->status, sizeof(c->status), "init failed");
            snprintf(c->why, sizeof(c->why), "init: %s", strerror(-ret));
            dlclose(c->dl);
            c->dl = NULL;
            c->ops = NULL;
            p->priv = NULL;
            continue;
        }
        snprintf(c->status, sizeof(c->status), "active");
        snprintf(c->why, sizeof(c->why), "%s",
                 c->fallback ? "every provider with a file failed: the built-in fallback"
                 : i ? "the highest score that probed"
                     : "the highest score");
        p->active = (int)i;
    }
    winner = p->active >= 0 ? &p->cand[p->active] : NULL;
    for (unsigned i = 0; i < p->n; i++) {
        struct candidate *c = &p->cand[i];

        if ((int)i == p->active) {
            VN_INFO(PROV, "provider '%s' (score %lld, %s) is active: %s", c->name,
                    (long long)c->score, c->source, c->why);
            continue;
        }
        if (!strcmp(c->status, "not tried") && winner)
            snprintf(c->why, sizeof(c->why), "'%s' comes first (score %lld%s)", winner->name,
                     (long long)winner->score,
                     winner->score == c->score ? ", a tie: the name sorting first wins" : "");
        /* A library that does not load (a missing optional dependency such as
           libibverbs, a wrong ABI) is worth a warning; a probe that finds no
           hardware, or a lower score, is the normal case. */
        if (!strcmp(c->status, "load failed"))
            VN_WARN(PROV, "provider '%s' (score %lld, %s): %s: %s", c->name, (long long)c->score,
                    c->source, c->status, c->why);
        else
            VN_INFO(PROV, "provider '%s' (score %lld, %s): %s: %s", c->name, (long long)c->score,
                    c->source, c->status, c->why);
    }
    if (!winner)
        VN_ERR(PROV, "no datapath provider could be loaded%s: devices have no datapath and "
               "hotplug is refused", sw_fallback ? "" : " (provider_sw_fallback is 0)");
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

const char *vn_providers_active_name(const struct vn_providers *p)
{
    return p && p->active >= 0 ? p->cand[p->active].name : NULL;
}

cJSON *vn_providers_to_json(const struct vn_providers *p)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();

    if (p && p->active >= 0) {
        vn_json_add_str(o, "name", p->cand[p->active].name);
        vn_json_add_num(o, "score", (double)p->cand[p->active].score);
        vn_json_add_str(o, "reason", p->cand[p->active].why);
    } else {
        vn_json_add_str(o, "name", NULL);
        vn_json_add_str(o, "reason", "no provider could be loaded: devices have no datapath");
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
