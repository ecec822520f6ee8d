/*
 * reload.h - config reload (reload.c): SIGHUP and `systemctl reload`.
 */
#ifndef VN_RELOAD_H
#define VN_RELOAD_H

struct vn_ctl;

/*
 * Reads ctl->config_path again.  Invalid: nothing changes, the errors are
 * logged and kept.  Valid: the runtime keys that changed are applied, the
 * other changed keys are reported as waiting for a restart.  The outcome is
 * in ctl->reload_status (`virtnet health` "config_reload").  Returns 0 or a
 * negative errno.
 */
int vn_ctl_reload(struct vn_ctl *ctl);

#endif /* VN_RELOAD_H */
