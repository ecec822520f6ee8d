/*
 * recovery.h - the recovery store: one JSON file per device, named by its
 * VUID, in the recovery directory (the vendor's layout).
 *
 * The store knows files, not devices: the device manager turns a device
 * into a JSON object and back.  Writes are atomic (temp file, fsync, rename,
 * fsync of the directory), so a crash leaves either the old or the new file.
 * Reading never fails as a whole: a file that is unreadable, not JSON, not
 * an object, or whose name is not a valid VUID is reported and skipped.
 */
#ifndef VN_RECOVERY_H
#define VN_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define VN_RECOVERY_MAX_FILE (64 * 1024)
#define VN_VUID_MAX 64

/* True when 'vuid' can name a recovery file (see vn_is_safe_filename()). */
bool vn_recovery_vuid_ok(const char *vuid);

/*
 * Writes 'obj' (not consumed) as 'dir'/'vuid' atomically.  Returns 0 or a
 * negative errno; on failure the previous file, if any, is unchanged and no
 * temporary file is left.
 */
int vn_recovery_save(const char *dir, const char *vuid, const cJSON *obj);

/* Removes 'dir'/'vuid'; a missing file is success.  Returns 0 or -errno. */
int vn_recovery_remove(const char *dir, const char *vuid);

/*
 * Calls 'cb' for every valid file in 'dir' (in name order), with its VUID
 * and parsed object (borrowed: valid during the call).  Left-over temporary
 * files are removed; bad files are logged and skipped.  'cb' returning
 * non-zero skips nothing else; its value is ignored.  Returns the number of
 * files handed to 'cb', or a negative errno when 'dir' cannot be read
 * (-ENOENT for a missing dir is returned as 0: nothing to restore).
 */
typedef int vn_recovery_cb(const char *vuid, const cJSON *obj, void *ctx);
int vn_recovery_scan(const char *dir, vn_recovery_cb *cb, void *ctx);

#endif /* VN_RECOVERY_H */
