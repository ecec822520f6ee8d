/*
 * emu_vhost_iommu.c - the device IOTLB of the vhost-user backend and the
 * misses it asks the front-end about; see emu_vhost_iommu.h.
 */
#include <config.h>

#include "emu_vhost_iommu.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Datapath thread: a miss was queued (the first since the last drain). */
static void miss_notify(void *ctx)
{
    struct vn_vhost_iommu *x = ctx;

    ev_async_send(x->loop, &x->miss_w);
}

/* Sends one MISS; 0 or -errno. */
static int miss_send(struct vn_vhost_iommu *x, const struct vn_iotlb_miss *m)
{
    struct vn_vhost_iotlb msg = {
        .iova = m->iova,
        .perm = m->perm,
        .type = VN_VHOST_IOTLB_MISS,
    };

    return vn_vhost_send_msg(x->backend_fd, VN_VHOST_BACKEND_IOTLB_MSG, VN_VHOST_VERSION, &msg,
                             sizeof(msg), NULL, 0);
}

/* Main thread: asks the front-end for every queued miss. */
static void miss_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    struct vn_vhost_iommu *x = vn_container_of(w, struct vn_vhost_iommu, miss_w);
    struct vn_iotlb_miss m[VN_IOTLB_MAX_MISSES];
    bool overflow = false;
    unsigned n = vn_iotlb_take_misses(&x->tlb, m, VN_IOTLB_MAX_MISSES, &overflow);

    for (unsigned i = 0; i < n; i++) {
        int ret = x->backend_fd >= 0 ? miss_send(x, &m[i]) : -ENOTCONN;

        if (ret < 0) {
            x->misses_unsent++;
            VN_WARN_RL(VHOST,
                       "%s: cannot ask the front-end for the translation of IOVA 0x%" PRIx64
                       ": %s; the queue using it waits",
                       x->name, m[i].iova,
                       ret == -ENOTCONN ? "no back-end request channel (SET_BACKEND_REQ_FD)"
                                        : strerror(-ret));
            if (ret != -ENOTCONN) {
                /* The channel is broken: stop writing into it. */
                close(x->backend_fd);
                x->backend_fd = -1;
            }
            continue;
        }
        x->misses_sent++;
        VN_DBG(VHOST, "%s: IOTLB miss sent for IOVA 0x%" PRIx64 " (%s)", x->name, m[i].iova,
               m[i].perm == VN_IOTLB_PERM_RO ? "read" : m[i].perm == VN_IOTLB_PERM_WO ? "write" : "read-write");
    }
    /* Misses were dropped: let the waiting queues run into them again. */
    if (overflow && x->retry)
        x->retry(x->retry_ctx);
}

int vn_vhost_iommu_init(struct vn_vhost_iommu *x, struct ev_loop *loop, const char *name,
                        vn_vhost_iommu_retry_fn *retry, void *retry_ctx)
{
    int ret;

    memset(x, 0, sizeof(*x));
    x->backend_fd = -1;
    ret = vn_iotlb_init(&x->tlb, miss_notify, x);
    if (ret < 0)
        return ret;
    x->loop = loop;
    x->name = name;
    x->retry = retry;
    x->retry_ctx = retry_ctx;
    ev_async_init(&x->miss_w, miss_cb);
    ev_async_start(loop, &x->miss_w);
    x->initialized = true;
    return 0;
}

void vn_vhost_iommu_fini(struct vn_vhost_iommu *x)
{
    if (!x->initialized)
        return;
    ev_async_stop(x->loop, &x->miss_w);
    if (x->backend_fd >= 0)
        close(x->backend_fd);
    x->backend_fd = -1;
    vn_iotlb_fini(&x->tlb);
    x->initialized = false;
}

void vn_vhost_iommu_reset(struct vn_vhost_iommu *x)
{
    if (!x->initialized)
        return;
    vn_iotlb_clear(&x->tlb);
    if (x->backend_fd >= 0)
        close(x->backend_fd);
    x->backend_fd = -1;
}

int vn_vhost_iommu_set_backend_fd(struct vn_vhost_iommu *x, int fd)
{
    int fl = fcntl(fd, F_GETFL);

    /* A MISS must never block the main loop for long (vn_vhost_send_msg() bounds the wait). */
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    if (x->backend_fd >= 0)
        close(x->backend_fd);
    x->backend_fd = fd;
    return 0;
}

static const char *access_name(uint8_t perm)
{
    switch (perm) {
    case VN_VHOST_ACCESS_RO:
        return "ro";
    case VN_VHOST_ACCESS_WO:
        return "wo";
    case VN_VHOST_ACCESS_RW:
        return "rw";
    default:
        return "invalid";
    }
}

int vn_vhost_iommu_msg(struct vn_vhost_iommu *x, const struct vn_guest_mem *mem,
                       const struct vn_vhost_iotlb *m, unsigned *ret_removed, char *why,
                       size_t whylen)
{
    int ret;

    switch (m->type) {
    case VN_VHOST_IOTLB_UPDATE:
        if (m->size == 0 || m->size - 1 > UINT64_MAX - m->iova ||
            m->size - 1 > UINT64_MAX - m->uaddr) {
            snprintf(why, whylen,
                     "IOTLB update of 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64 " -> 0x%" PRIx64
                     ": empty or wraps around the address space",
                     m->size, m->iova, m->uaddr);
            return -EINVAL;
        }
        if (m->perm != VN_VHOST_ACCESS_RO && m->perm != VN_VHOST_ACCESS_WO &&
            m->perm != VN_VHOST_ACCESS_RW) {
            snprintf(why, whylen, "IOTLB update at IOVA 0x%" PRIx64 ": permission 0x%x invalid",
                     m->iova, m->perm);
            return -EINVAL;
        }
        /* The front-end maps guest memory only: a range outside its memory table is a lie. */
        if (!vn_uva_to_hva(mem, m->uaddr, m->size)) {
            snprintf(why, whylen,
                     "IOTLB update of IOVA 0x%" PRIx64 "+0x%" PRIx64 " -> 0x%" PRIx64
                     ": not inside one region of the memory table",
                     m->iova, m->size, m->uaddr);
            return -EINVAL;
        }
        ret = vn_iotlb_update(&x->tlb, m->iova, m->size, m->uaddr, m->perm);
        if (ret < 0) {
            snprintf(why, whylen, "IOTLB update at IOVA 0x%" PRIx64 ": %s", m->iova,
                     strerror(-ret));
            return ret;
        }
        VN_DBG(VHOST, "%s: IOTLB update 0x%" PRIx64 "+0x%" PRIx64 " -> 0x%" PRIx64 " %s", x->name,
               m->iova, m->size, m->uaddr, access_name(m->perm));
        *ret_removed = 0;
        return 0;
    case VN_VHOST_IOTLB_INVALIDATE:
        *ret_removed = vn_iotlb_invalidate(&x->tlb, m->iova, m->size);
        VN_DBG(VHOST, "%s: IOTLB invalidate 0x%" PRIx64 "+0x%" PRIx64 ": %u entries", x->name,
               m->iova, m->size, *ret_removed);
        return 0;
    default:
        snprintf(why, whylen, "IOTLB message of type %u (a front-end sends UPDATE %u or "
                              "INVALIDATE %u)",
                 m->type, VN_VHOST_IOTLB_UPDATE, VN_VHOST_IOTLB_INVALIDATE);
        return -EINVAL;
    }
}

unsigned vn_vhost_iommu_entries(struct vn_vhost_iommu *x)
{
    return x->initialized ? vn_iotlb_count(&x->tlb) : 0;
}
