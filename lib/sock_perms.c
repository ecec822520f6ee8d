/*
 * sock_perms.c - owner group and mode of the vhost-user sockets and their
 * directory; see sock_perms.h.
 */
#include <config.h>

#include "sock_perms.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define SOCK_PERMS_DEFAULT_MODE 0660

int vn_sock_perms_resolve(const struct vn_conf_vhost_socket *cfg, struct vn_sock_perms *out,
                          char *err, size_t errlen)
{
    struct vn_sock_perms p = { .gid = getegid(), .mode = SOCK_PERMS_DEFAULT_MODE };
    uint32_t mode;

    p.active = cfg->group[0] || cfg->mode[0];
    if (cfg->mode[0]) {
        if (vn_conf_parse_sock_mode(cfg->mode, &mode) < 0) {
            snprintf(err, errlen, "vhost_socket.mode '%.8s': not an octal mode without the "
                     "others-write bit", cfg->mode);
            return -EINVAL;
        }
        p.mode = (mode_t)mode;
    }
    if (cfg->group[0]) {
        struct group gr, *res = NULL;
        char buf[4096];
        int ret = getgrnam_r(cfg->group, &gr, buf, sizeof(buf), &res);

        if (ret || !res) {
            snprintf(err, errlen, "vhost_socket.group '%.64s': %s", cfg->group,
                     ret ? strerror(ret) : "no such group");
            return ret ? -ret : -ENOENT;
        }
        p.gid = res->gr_gid;
        p.set_gid = true;
    }
    *out = p;
    return 0;
}

/* 'path' must be of type 'type' (S_IFSOCK, S_IFDIR) and owned by us; 0, or -errno with 'err'. */
static int check_ours(const char *path, mode_t type, struct stat *st, char *err, size_t errlen)
{
    if (lstat(path, st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    if ((st->st_mode & S_IFMT) != type || st->st_uid != geteuid()) {
        snprintf(err, errlen, "%s: not a %s owned by uid %u: left alone", path,
                 type == S_IFDIR ? "directory" : "socket", (unsigned)geteuid());
        return -EPERM;
    }
    return 0;
}

/* chown (group only, when configured) then chmod of 'path'; 0 or -errno with 'err'. */
static int set_group_mode(const char *path, const struct vn_sock_perms *p, mode_t mode, char *err,
                          size_t errlen)
{
    if (p->set_gid && lchown(path, (uid_t)-1, p->gid) < 0) {
        snprintf(err, errlen, "chown of %s to group %u: %s", path, (unsigned)p->gid,
                 strerror(errno));
        return -errno;
    }
    if (chmod(path, mode) < 0) {
        snprintf(err, errlen, "chmod %04o of %s: %s", (unsigned)mode, path, strerror(errno));
        return -errno;
    }
    return 0;
}

int vn_sock_apply_perms(const char *path, const struct vn_conf_vhost_socket *cfg, char *err,
                        size_t errlen)
{
    struct vn_sock_perms p;
    struct stat st;
    int ret;

    ret = vn_sock_perms_resolve(cfg, &p, err, errlen);
    if (ret < 0 || !p.active)
        return ret;
    ret = check_ours(path, S_IFSOCK, &st, err, errlen);
    if (ret < 0)
        return ret;
    return set_group_mode(path, &p, p.mode, err, errlen);
}

/* True when members of group 'gid' who are not the owner may search 'st'. */
static bool group_can_search(const struct stat *st, gid_t gid)
{
    return (st->st_mode & S_IXOTH) || ((st->st_mode & S_IXGRP) && st->st_gid == gid);
}

int vn_sock_dir_apply_perms(const char *dir, const struct vn_conf_vhost_socket *cfg, char *err,
                            size_t errlen)
{
    char path[PATH_MAX], *slash;
    struct vn_sock_perms p;
    struct stat st;
    int ret;

    ret = vn_sock_perms_resolve(cfg, &p, err, errlen);
    if (ret < 0 || !p.active)
        return ret;
    ret = check_ours(dir, S_IFDIR, &st, err, errlen);
    if (ret < 0)
        return ret;
    ret = set_group_mode(dir, &p, (p.mode & 0060) ? 0750 : 0700, err, errlen);
    if (ret < 0 || !(p.mode & 0060))
        return ret;
    /* The ancestors: reachable by the group, or the VMM cannot connect. */
    if (dir[0] != '/' || vn_strlcpy(path, dir, sizeof(path)) < 0)
        return 0;
    while ((slash = strrchr(path, '/')) != NULL) {
        *(slash == path ? slash + 1 : slash) = '\0';
        if (stat(path, &st) < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -errno;
        }
        if (!group_can_search(&st, p.gid)) {
            snprintf(err, errlen, "%s (mode %04o, group %u) does not let group %u through to "
                     "the vhost-user sockets: give it o+x, or that group and g+x",
                     path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid, (unsigned)p.gid);
            return -EACCES;
        }
        if (slash == path)
            break;
    }
    return 0;
}
