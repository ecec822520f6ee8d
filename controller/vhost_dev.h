/*
 * vhost_dev.h - the vhost-user back-end of one device (seam 1 of the
 * software DPU: the emulated virtio-net function).
 *
 * Each device listens on <state-dir>/vhost/<VUID>.sock (the directory 0750,
 * the socket 0660, recreated at the same path after a restart so that QEMU's
 * `reconnect=` or a new virtio-user finds it again).  One front-end (QEMU or
 * DPDK virtio-user) is served at a time; a second one is refused.  Requests
 * are read and framed by lib/vhost_user.h, then pass one generic check (state
 * before SET_OWNER, vring index, memory table present) and go to a handler
 * from a table.  Anything a front-end does wrong closes its connection only:
 * the device keeps listening and the controller keeps running.
 *
 * The device is the source of truth: GET_FEATURES offers the device's
 * configured features (within what the provider supports) plus
 * VHOST_USER_F_PROTOCOL_FEATURES; GET_QUEUE_NUM answers its queue pairs,
 * max(1, max_queues / 2) (max_queues counts virtqueues, an odd one out is the
 * control queue, which the front-end serves itself); ring sizes above its
 * max_queue_size, rings beyond its pairs and an MTU other than its own are
 * refused.
 *
 * A ring starts (provider queue_start) once it has a size, addresses, a kick
 * fd and the memory table, and is enabled when VHOST_USER_F_PROTOCOL_FEATURES
 * was negotiated; virtqueue pair n runs on representor queue n (a tap queue
 * fd opened for the connection).  GET_VRING_BASE stops it.  A ring the
 * provider reports broken (a guest error) is stopped, the driver status gets
 * NEEDS_RESET and the ring's error eventfd is signalled.  A disconnect stops
 * every ring, drops the memory table and the tap queues, and the device waits
 * for the next front-end.  Counters add up over the device's life.
 *
 * Runs on the main loop's thread; the provider's threads only reach it
 * through an ev_async (ring errors).
 */
#ifndef VN_VHOST_DEV_H
#define VN_VHOST_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "virtnet/provider.h"

struct vn_device;
struct vn_vhost_dev;

#define VN_VHOST_SUBDIR "vhost" /* of the state dir */

/* What every device's back-end shares; all borrowed for the back-end's lifetime. */
struct vn_vhost_dev_cfg {
    struct ev_loop *loop;
    const char *dir;                  /* socket directory, see vn_vhost_dir_prepare() */
    const struct vn_provider_ops *dp; /* the active provider, NULL: rings never start */
    void *dp_priv;                    /* its init() state */
    /* Live update (new process): the running controller's listening fd for 'vuid', or -1
       to create the socket; NULL = always create.  An adopted socket is not served until
       vn_vhost_dev_import() or vn_vhost_dev_serve_adopted(). */
    int (*adopt_listen)(void *ctx, const char *vuid);
    void *adopt_ctx;
};

/* Creates 'dir' (0750) if needed and checks it is a directory.  Returns 0 or -errno. */
int vn_vhost_dir_prepare(const char *dir);

/*
 * Starts listening for device 'dev' (borrowed; it must outlive the back-end).
 * A stale socket left at the path by an earlier run is replaced; anything
 * else there is left alone (-EEXIST).  Returns 0 and '*out', or -errno with
 * nothing left behind.
 */
int vn_vhost_dev_create(const struct vn_vhost_dev_cfg *cfg, struct vn_device *dev,
                        struct vn_vhost_dev **out);

/* Stops every ring, closes the connection and the socket, removes the socket file.  Accepts NULL. */
void vn_vhost_dev_destroy(struct vn_vhost_dev *vd);

/* The socket's path. */
const char *vn_vhost_dev_path(const struct vn_vhost_dev *vd);

/* Rings the back-end serves: 2 * queue pairs. */
uint32_t vn_vhost_dev_nrings(const struct vn_vhost_dev *vd);

/*
 * Adds to the device object 'o' (query): "vhost_socket", "vhost_connected",
 * "driver_status" (names of the status bits), "negotiated_features" (and
 * their names), "negotiated_protocol_features", "vhost_connections",
 * "vnet_hdr_len" while connected, and "vhost_last_error" when a connection
 * ended badly.  Accepts NULL 'vd'.
 */
void vn_vhost_dev_to_json(const struct vn_vhost_dev *vd, cJSON *o);

/*
 * Adds ring 'index''s state to the queue object 'q' (query): "state"
 * (stopped, ready, running, error, or frontend for a control queue),
 * "enabled", "size" (negotiated, once set), "avail_idx" and "used_idx" (the
 * device's next entries), "driver_avail_idx" (the driver's, while mapped),
 * and "error".  Accepts NULL 'vd'.
 */
void vn_vhost_dev_queue_to_json(const struct vn_vhost_dev *vd, uint32_t index, cJSON *q);

/*
 * Counters of ring 'index' over the device's life (every run of it added
 * up).  Returns 0, or -ERANGE when 'index' is not a ring the back-end serves.
 */
int vn_vhost_dev_queue_stats(const struct vn_vhost_dev *vd, uint32_t index,
                             struct vn_dp_queue_stats *out);

/* Applies the device's queue moderation (dev->queues) to its running rings. */
void vn_vhost_dev_apply_moderation(struct vn_vhost_dev *vd);

/*
 * Live update (controller/update.c).  Old process: vn_vhost_dev_export()
 * stops the device's rings and its watchers and describes the session
 * (features, status, memory regions, rings with their exact avail index,
 * counters) in '*out', with the fds it refers to by index in fds[] (at most
 * 'max'; still owned by the device).  Then either the new process took it
 * (vn_vhost_dev_handed_over(); vn_vhost_dev_release() once the update
 * commits: our copies of the fds close, the socket file stays) or the
 * hand-over failed (vn_vhost_dev_resume(): serving again, rings restarted
 * from the guest's used index if the other side ran them).
 * New process: vn_vhost_dev_import() takes the session; fds it uses are set
 * to -1 in fds[], the caller closes the rest.
 */
int vn_vhost_dev_listen_fd(const struct vn_vhost_dev *vd);
int vn_vhost_dev_export(struct vn_vhost_dev *vd, cJSON **out, int *fds, unsigned *nfds,
                        unsigned max);
void vn_vhost_dev_handed_over(struct vn_vhost_dev *vd);
void vn_vhost_dev_resume(struct vn_vhost_dev *vd);
void vn_vhost_dev_release(struct vn_vhost_dev *vd);
int vn_vhost_dev_import(struct vn_vhost_dev *vd, const cJSON *s, int *fds, unsigned nfds);
/* A device the old process did not hand over: serve the adopted socket as is. */
void vn_vhost_dev_serve_adopted(struct vn_vhost_dev *vd);

#endif /* VN_VHOST_DEV_H */
