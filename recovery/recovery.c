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
#include "util.h"

#define TMP_SUFFIX ".tmp"

bool vn_recovery_vuid_ok(const char *vuid)
{
    return vn_is_safe_filename(vuid, VN_VUID_MAX) && !strstr(vuid, TMP_SUFFIX);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ret = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        ret = -errno;
    close(fd);
    return ret;
}

int vn_recovery_save(const char *dir, const char *vuid, const cJSON *obj)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    char *text;
    int fd, ret;

    if (!vn_recovery_vuid_ok(vuid))
        return -EINVAL;
    if (vn_snprintf(path, sizeof(path), "%s/%s", dir, vuid) < 0 ||
        vn_snprintf(tmp, sizeof(tmp), "%s/%s" TMP_SUFFIX, dir, vuid) < 0)
        return -ENAMETOOLONG;
    text = vn_json_print_pretty(obj);
    if (!text)
        return -ENOMEM;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        ret = -errno;
        goto err_free;
    }
    if (vn_fault("recovery_write")) {
        ret = -EIO;
        goto err_close;
    }
    ret = write_all(fd, text, strlen(text));
    if (ret == 0)
        ret = write_all(fd, "\n", 1);
    if (ret < 0)
        goto err_close;
    if (fsync(fd) < 0) {
        ret = -errno;
        goto err_close;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        ret = -errno;
        goto err_unlink;
    }
    free(text);
    ret = fsync_dir(dir);
    if (ret < 0)
        VN_WARN(REC, "fsync of %s: %s", dir, strerror(-ret));
    return 0;

err_close:
    close(fd);
err_unlink:
    unlink(tmp);
err_free:
    free(text);
    VN_ERR(REC, "cannot write recovery file %s: %s", path, strerror(-ret));
    return ret;
}

int vn_recovery_remove(const char *dir, const char *vuid)
{
    char path[PATH_MAX];

    if (!vn_recovery_vuid_ok(vuid))
        return -EINVAL;
    if (vn_snprintf(path, sizeof(path), "%s/%s", dir, vuid) < 0)
        return -ENAMETOOLONG;
    if (unlink(path) < 0 && errno != ENOENT) {
        int ret = -errno;

        VN_ERR(REC, "cannot remove recovery file %s: %s", path, strerror(errno));
        return ret;
    }
    (void)fsync_dir(dir);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vn_recovery_scan(const char *dir, vn_recovery_cb *cb, void *ctx)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int found = 0;

    if (!d)
        return errno == ENOENT ? 0 : -errno;
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
    closedir(d);
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
        ret = vn_read_file(path, VN_RECOVERY_MAX_FILE, &text, &len);
        if (ret < 0) {
            VN_WARN(REC, "skipping %s: %s", path, strerror(-ret));
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
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return found;
}
