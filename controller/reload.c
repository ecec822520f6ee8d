/*
 * reload.c - config reload (SIGHUP, `systemctl reload`): the config file is
 * read and checked again; what can change while devices run is applied at
 * once, the rest is reported as waiting for a restart (`virtnet restart`,
 * the live hand-over, applies it without dropping traffic).  A file that does
 * not parse or validate changes nothing.  The outcome is logged and kept for
 * `virtnet health` ("config_reload").  Runs on the main loop's thread.
 */
#include <config.h>

#include "reload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "json.h"
#include "log.h"
#include "rpc_server.h"

/*
 * Top-level config keys applied at once, with how.  Every other key that
 * changed waits for a restart: device profile, ports, paths, the datapath
 * (provider files and workers are bound to running queues), the SF pool
 * (its representors exist already) and the metrics listener.
 */
static int apply_rpc_idle_timeout(struct vn_ctl *ctl, const struct vn_conf *nc, char *err,
                                  size_t errlen)
{
    int ret = vn_rpc_server_set_idle_timeout(ctl->rpc, nc->rpc_idle_timeout);

    if (ret < 0) {
        snprintf(err, errlen, "%s is set in the environment and wins", VN_RPC_IDLE_TIMEOUT_ENV);
        return ret;
    }
    ctl->conf.rpc_idle_timeout = nc->rpc_idle_timeout;
    return 0;
}

static int apply_rpc_group(struct vn_ctl *ctl, const struct vn_conf *nc, char *err,
                           size_t errlen)
{
    int ret = vn_rpc_server_set_group(ctl->rpc, nc->rpc_group, err, errlen);

    if (ret == 0)
        memcpy(ctl->conf.rpc_group, nc->rpc_group, sizeof(ctl->conf.rpc_group));
    return ret;
}

/* The QMP host: each attach or detach reads it when it starts (one under way keeps the old). */
static int apply_host(struct vn_ctl *ctl, const struct vn_conf *nc, char *err, size_t errlen)
{
    if (!strcmp(ctl->conf.host.type, "libvirt") || !strcmp(nc->host.type, "libvirt")) {
        snprintf(err, errlen, "a libvirt host keeps a connection: restart to change it");
        return -EBUSY;
    }
    ctl->conf.host = nc->host;
    return 0;
}

static const struct {
    const char *key;
    int (*apply)(struct vn_ctl *ctl, const struct vn_conf *nc, char *err, size_t errlen);
} runtime_keys[] = {
    { "rpc_idle_timeout", apply_rpc_idle_timeout },
    { "rpc_group", apply_rpc_group },
    { "host", apply_host },
};

static void set_status(struct vn_ctl *ctl, const char *status, cJSON *applied, cJSON *restart,
                       cJSON *errors)
{
    cJSON *o = cJSON_CreateObject();

    vn_json_add_str(o, "status", status);
    vn_json_add_num(o, "time", (double)time(NULL));
    vn_json_add_str(o, "file", ctl->config_path);
    vn_json_add(o, "applied", applied ? applied : cJSON_CreateArray());
    vn_json_add(o, "restart_needed", restart ? restart : cJSON_CreateArray());
    vn_json_add(o, "errors", errors ? errors : cJSON_CreateArray());
    cJSON_Delete(ctl->reload_status);
    ctl->reload_status = o;
}

int vn_ctl_reload(struct vn_ctl *ctl)
{
    struct vn_conf_errors errs;
    struct vn_conf *nc = malloc(sizeof(*nc));
    cJSON *old_j = NULL, *new_j = NULL, *applied, *restart, *errors, *item;
    char err[256];
    int ret;

    if (!nc)
        return -ENOMEM;
    VN_INFO(CONF, "reload: reading %s", ctl->config_path);
    vn_conf_init_defaults(nc);
    ret = vn_conf_load(ctl->config_path, nc, &errs);
    if (ret == -ENOENT && !ctl->has_config_file) {
        VN_INFO(CONF, "reload: no config file at %s: the built-in defaults stay", ctl->config_path);
        vn_conf_init_defaults(nc);
        ret = 0;
    }
    if (ret < 0) {
        errors = cJSON_CreateArray();
        for (unsigned i = 0; i < errs.n; i++) {
            VN_ERR(CONF, "reload: %s: %s", ctl->config_path, errs.msg[i]);
            vn_json_add_str(errors, NULL, errs.msg[i]);
        }
        if (!errs.n) {
            VN_ERR(CONF, "reload: %s: %s", ctl->config_path, strerror(-ret));
            vn_json_add_str(errors, NULL, strerror(-ret));
        }
        VN_ERR(CONF, "reload: %s is invalid: nothing changed", ctl->config_path);
        set_status(ctl, "failed", NULL, NULL, errors);
        free(nc);
        return ret;
    }

    old_j = vn_conf_to_json(&ctl->conf);
    new_j = vn_conf_to_json(nc);
    applied = cJSON_CreateArray();
    restart = cJSON_CreateArray();
    errors = cJSON_CreateArray();
    if (!old_j || !new_j) {
        ret = -ENOMEM;
        goto out;
    }
    /* Every top-level key either side has: the same, applied now, or waiting. */
    for (int pass = 0; pass < 2; pass++) {
        cJSON *a = pass ? old_j : new_j, *b = pass ? new_j : old_j;

        cJSON_ArrayForEach(item, a) {
            const cJSON *other = cJSON_GetObjectItemCaseSensitive(b, item->string);
            size_t i;

            if (pass && other)
                continue; /* compared in the first pass */
            if (other && cJSON_Compare(item, other, true))
                continue;
            for (i = 0; i < VN_ARRAY_SIZE(runtime_keys); i++)
                if (!strcmp(runtime_keys[i].key, item->string))
                    break;
            err[0] = '\0';
            if (i < VN_ARRAY_SIZE(runtime_keys) &&
                runtime_keys[i].apply(ctl, nc, err, sizeof(err)) == 0) {
                VN_INFO(CONF, "reload: %s applied", item->string);
                vn_json_add_str(applied, NULL, item->string);
                continue;
            }
            if (err[0]) {
                char msg[320];

                snprintf(msg, sizeof(msg), "%s: %s", item->string, err);
                vn_json_add_str(errors, NULL, msg);
            }
            VN_WARN(CONF, "reload: %s changed%s%s; it takes effect on a restart (`virtnet "
                          "restart` hands every device over without dropping traffic)",
                    item->string, err[0] ? ": " : "", err);
            vn_json_add_str(restart, NULL, item->string);
        }
    }
    VN_INFO(CONF, "reload: %d keys applied, %d waiting for a restart",
            cJSON_GetArraySize(applied), cJSON_GetArraySize(restart));
    set_status(ctl, "ok", applied, restart, errors);
    applied = restart = errors = NULL;
    ret = 0;
out:
    cJSON_Delete(applied);
    cJSON_Delete(restart);
    cJSON_Delete(errors);
    cJSON_Delete(old_j);
    cJSON_Delete(new_j);
    free(nc);
    return ret;
}
