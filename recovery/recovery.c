/*
 * recovery.c - atomic one-file-per-device JSON store; see recovery.h.
 */
#include <config.h>

#include "recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "json.h"
#include "log.h"
#include "statefile.h"
#include "util.h"

#define TMP_SUFFIX ".tmp"

bool vn_recovery_vuid_ok(const char *vuid)
{
    return vn_is_safe_filename(vuid, VN_VUID_MAX) && !strstr(vuid, TMP_SUFFIX);
}

int vn_recovery_save(const char *dir, const char *vuid, const cJSON *obj)
{
    char *pretty, *text = NULL;
    int dfd = -1, ret;

    if (!vn_recovery_vuid_ok(vuid))
        return -EINVAL;
    pretty = vn_json_print_pretty(obj);
    ret = pretty ? asprintf(&text, "%s\n", pretty) : -1;
    free(pretty);
    if (ret < 0)
        return -ENOMEM;
    ret = dfd = vn_statedir_open(dir);
    if (ret >= 0)
        ret = vn_fault("recovery_write") ? -EIO
                                           : vn_statefile_replace(dfd, vuid, text, strlen(text), 0640);
    if (dfd >= 0)
        close(dfd);
    free(text);
    if (ret < 0)
        VN_ERR(REC, "cannot write recovery file %s/%s: %s%s", dir, vuid, strerror(-ret),
               ret == -ELOOP ? " (a symlink is there: refused)" : "");
    return ret < 0 ? ret : 0;
}

int vn_recovery_remove(const char *dir, const char *vuid)
{
    int dfd, ret;

    if (!vn_recovery_vuid_ok(vuid))
        return -EINVAL;
    dfd = vn_statedir_open(dir);
    ret = dfd < 0 ? dfd : vn_statefile_remove(dfd, vuid);
    if (dfd >= 0)
        close(dfd);
    if (ret == -ENOENT)
        return 0;
    if (ret < 0)
        VN_ERR(REC, "cannot remove recovery file %s/%s: %s", dir, vuid, strerror(-ret));
    return ret;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vn_recovery_scan(const char *dir, vn_recovery_cb *cb, void *ctx)
{
    int dfd = vn_statedir_open(dir);
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int found = 0;

    if (dfd < 0)
        return dfd == -ENOENT ? 0 : dfd;
    d = fdopendir(dfd);
    if (!d) {
        int ret = -errno;

        close(dfd);
        return ret;
    }
    while ((de = readdir(d))) {
        char **grow;
        size_t len = strlen(de->d_name);

        if (de->d_name[0] == '.')
            continue;
        if (len > strlen(TMP_SUFFIX) && !strcmp(de->d_name + len - strlen(TMP_SUFFIX), TMP_SUFFIX)) {
            /* A write interrupted by a crash: the real file is intact. */
            if (unlinkat(dirfd(d), de->d_name, 0) == 0)
                VN_INFO(REC, "removed interrupted write %s/%s", dir, de->d_name);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            grow = realloc(names, cap * sizeof(*names));
            if (!grow)
                break;
            names = grow;
        }
        names[n] = strdup(de->d_name);
        if (names[n])
            n++;
    }
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);

    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], err[128];
        char *text = NULL;
        size_t len;
        cJSON *obj;
        int ret;

        if (!vn_recovery_vuid_ok(names[i])) {
            VN_WARN(REC, "skipping %s/%s: not a recovery file name", dir, names[i]);
            continue;
        }
        if (vn_snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < 0)
            continue;
        /* A symlink is never followed (-ELOOP): it is reported and skipped. */
        ret = vn_statefile_read(dirfd(d), names[i], VN_RECOVERY_MAX_FILE, &text, &len);
        if (ret < 0) {
            VN_WARN(REC, "skipping %s: %s", path,
                    ret == -ELOOP ? "a symlink, not a recovery file" : strerror(-ret));
            continue;
        }
        obj = vn_json_parse_relaxed(text, len, err, sizeof(err));
        free(text);
        if (!obj || !cJSON_IsObject(obj)) {
            VN_WARN(REC, "skipping %s: %s", path, obj ? "not a JSON object" : err);
            cJSON_Delete(obj);
            continue;
        }
        found++;
        cb(names[i], obj, ctx);
        cJSON_Delete(obj);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return found;
}
