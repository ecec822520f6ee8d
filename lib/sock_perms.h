/*
 * sock_perms.h - owner group and mode of the vhost-user sockets and of the
 * directory that holds them (virtnet.conf "vhost_socket": {"group", "mode"}),
 * so that a VMM running as another user can connect: libvirt runs QEMU as
 * libvirt-qemu, and the controller's sockets are otherwise 0660 root:root.
 *
 * No daemon state: the functions resolve the group by name each time (a
 * group created after start is found) and act on paths only.  Nothing here
 * loosens "other" permissions: a mode writable by others is refused by the
 * config parser and again here.
 */
#ifndef VN_SOCK_PERMS_H
#define VN_SOCK_PERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

/* The settings resolved: what to apply. */
struct vn_sock_perms {
    bool active;       /* false: neither group nor mode configured, leave things alone */
    gid_t gid;         /* the group the sockets get (the controller's when none is set) */
    bool set_gid;      /* a group was configured */
    mode_t mode;       /* the sockets' mode (0660 when none is set) */
};

/*
 * Resolves 'cfg' (group name to gid, mode string to bits).  Returns 0 and
 * fills '*out', or -ENOENT (no such group) / -EINVAL (bad mode) with 'err'
 * naming the setting.
 */
int vn_sock_perms_resolve(const struct vn_conf_vhost_socket *cfg, struct vn_sock_perms *out,
                          char *err, size_t errlen);

/*
 * Gives the unix socket at 'path' (just bound by this process) the group and
 * mode of 'cfg'.  A no-op returning 0 when 'cfg' sets neither.  Refuses
 * (-EPERM) a path that is not a socket owned by this process's user, so a
 * symlink or a planted file is never chown'ed.  Returns 0 or a negative
 * errno with 'err' saying what failed.  Idempotent: call it again after a
 * restart re-creates the socket, or after a live update adopts it.
 */
int vn_sock_apply_perms(const char *path, const struct vn_conf_vhost_socket *cfg, char *err,
                        size_t errlen);

/*
 * Gives the socket directory 'dir' (owned by this process's user) the group
 * of 'cfg' and mode 0750 (0700 when the socket mode gives the group nothing),
 * then checks that the group can reach it: every ancestor must be searchable
 * by others, or by the group through its group owner.  Ancestors are never
 * changed: -EACCES with 'err' naming the first one that blocks.  A no-op
 * returning 0 when 'cfg' sets neither.
 */
int vn_sock_dir_apply_perms(const char *dir, const struct vn_conf_vhost_socket *cfg, char *err,
                            size_t errlen);

#endif /* VN_SOCK_PERMS_H */
