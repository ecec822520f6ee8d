/*
 * statefile.c - files in the controller's own directories; see statefile.h.
 */
#include <config.h>

#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "util.h"

#define TMP_SUFFIX ".tmp"
#define OTHERS_WRITE (S_IWGRP | S_IWOTH)

int vn_statedir_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    return fd < 0 ? -errno : fd;
}

int vn_statedir_secure(int dirfd, const char *path, const char *what)
{
    uid_t me = geteuid();
    struct stat st;

    if (fstat(dirfd, &st) < 0) {
        int ret = -errno;

        VN_ERR(MAIN, "%s %s: %s", what, path, strerror(errno));
        return ret;
    }
    if (st.st_uid != me) {
        VN_ERR(MAIN, "%s %s is owned by uid %u, not by the controller's user (uid %u): "
                     "refusing it (its owner could make the controller write anywhere)",
               what, path, (unsigned)st.st_uid, (unsigned)me);
        return -EPERM;
    }
    if (!(st.st_mode & OTHERS_WRITE))
        return 0;
    if (st.st_mode & S_ISVTX) {
        VN_ERR(MAIN, "%s %s is a shared directory (mode %04o, sticky): refusing it; "
                     "give the controller a directory of its own",
               what, path, (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    if (fchmod(dirfd, st.st_mode & 07777 & ~(mode_t)OTHERS_WRITE) < 0) {
        int ret = -errno;

        VN_ERR(MAIN, "%s %s is writable by others (mode %04o) and cannot be fixed: %s", what,
               path, (unsigned)(st.st_mode & 07777), strerror(errno));
        return ret;
    }
    VN_WARN(MAIN, "%s %s was writable by others (mode %04o): mode set to %04o", what, path,
            (unsigned)(st.st_mode & 07777),
            (unsigned)(st.st_mode & 07777 & ~(mode_t)OTHERS_WRITE));
    return 0;
}

int vn_statedir_open_secure(const char *path, const char *what)
{
    int fd = vn_statedir_open(path);
    int ret;

    if (fd < 0) {
        VN_ERR(MAIN, "cannot open %s %s: %s", what, path, strerror(-fd));
        return fd;
    }
    ret = vn_statedir_secure(fd, path, what);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    return fd;
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

/* 0 when 'name' in 'dirfd' is missing or a regular file; what it is otherwise. */
static int check_target(int dirfd, const char *name)
{
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISREG(st.st_mode))
        return 0;
    return S_ISLNK(st.st_mode) ? -ELOOP : S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

int vn_statefile_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
    char tmp[NAME_MAX + 1];
    int fd, ret;

    if (!name[0] || strchr(name, '/'))
        return -EINVAL;
    if (vn_snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, name) < 0)
        return -ENAMETOOLONG;
    ret = check_target(dirfd, name);
    if (ret < 0)
        return ret;
    /*
     * A temporary file left by a crash, or anything planted there, goes
     * (unlinkat removes a symlink itself); O_EXCL then never follows a
     * symlink that reappears in between: the write fails instead.
     */
    if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
        return -errno;
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                mode);
    if (fd < 0)
        return -errno;
    ret = write_all(fd, data, len);
    if (ret == 0 && fsync(fd) < 0)
        ret = -errno;
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    /* The target may have been swapped for a symlink meanwhile: look again. */
    if (ret == 0)
        ret = check_target(dirfd, name);
    if (ret == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        ret = -errno;
    if (ret < 0) {
        unlinkat(dirfd, tmp, 0);
        return ret;
    }
    if (fsync(dirfd) < 0)
        VN_WARN(MAIN, "fsync of the directory of %s: %s", name, strerror(errno));
    return 0;
}

int vn_statefile_read(int dirfd, const char *name, size_t max, char **out, size_t *outlen)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return -errno;
    return vn_read_fd(fd, max, out, outlen);
}

int vn_statefile_remove(int dirfd, const char *name)
{
    if (!name[0] || strchr(name, '/'))
        return -EINVAL;
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        return -errno;
    if (fsync(dirfd) < 0)
        VN_WARN(MAIN, "fsync of the directory of %s: %s", name, strerror(errno));
    return 0;
}
