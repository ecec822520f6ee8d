/*
 * statefile.h - files in the controller's own directories (the state dir,
 * the recovery dir), opened so that nobody else can redirect a write.
 *
 * The controller usually runs as root.  A directory another user can write
 * to lets that user plant a symlink where the controller is about to write
 * (live_update.json, a recovery file, their temporary files) and make root
 * overwrite any file on the machine.  So:
 *  - a directory is accepted only when it is owned by the controller's
 *    effective user and nobody else can write to it (vn_statedir_secure());
 *  - every file in it is reached relative to a directory fd, with
 *    O_NOFOLLOW, and a symlink (or anything but a regular file) found where
 *    a file should be is refused, never followed or written through.
 *
 * No daemon state: the caller keeps (or closes) the fds.
 */
#ifndef VN_STATEFILE_H
#define VN_STATEFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Opens the directory 'path' (O_DIRECTORY, O_CLOEXEC).  Returns an fd or -errno. */
int vn_statedir_open(const char *path);

/*
 * Checks the directory open at 'dirfd' ('path' and 'what', e.g. "state dir",
 * only name it in log lines):
 *  - owned by another user than the effective one: refused (-EPERM), since
 *    its owner can always make it writable again;
 *  - ours, group- or world-writable with the sticky bit (a shared directory
 *    such as /tmp): refused (-EPERM), its mode is not ours to change;
 *  - ours, group- or world-writable: those write bits are removed (fchmod)
 *    and a warning is logged.
 * Returns 0 when the directory is (now) safe, or a negative errno; an error
 * is logged.
 */
int vn_statedir_secure(int dirfd, const char *path, const char *what);

/* vn_statedir_open() then vn_statedir_secure(); returns the fd or -errno. */
int vn_statedir_open_secure(const char *path, const char *what);

/*
 * Replaces the file 'name' in the directory 'dirfd' with 'len' bytes of
 * 'data', atomically: "name.tmp" is created (any old one is unlinked first,
 * O_CREAT | O_EXCL | O_NOFOLLOW, 'mode'), written, fsync'ed, renamed over
 * 'name', and the directory is fsync'ed.  'name' must be one path component.
 * A symlink or other non-regular file at 'name' is refused (-ELOOP, or
 * -EISDIR / -EINVAL): it is neither followed nor replaced.  On failure the
 * previous file is unchanged and no temporary file is left.  Returns 0 or a
 * negative errno; logs nothing (the caller knows what the file is).
 */
int vn_statefile_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

/*
 * Reads the regular file 'name' in 'dirfd' (O_NOFOLLOW: a symlink is
 * -ELOOP) like vn_read_file(): at most 'max' bytes, NUL-terminated,
 * malloc'd.  Returns 0 or a negative errno.
 */
int vn_statefile_read(int dirfd, const char *name, size_t max, char **out, size_t *outlen);

/* Removes 'name' from 'dirfd' (never what a symlink points to); missing is success. */
int vn_statefile_remove(int dirfd, const char *name);

#endif /* VN_STATEFILE_H */
