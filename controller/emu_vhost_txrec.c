/*
 * emu_vhost_txrec.c - the transmit record file of a vhost-user device; see
 * emu_vhost_txrec.h.
 */
#include <config.h>

#include "emu_vhost_txrec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Opens 'path' as a regular file of ours (a symlink or anything else is refused). */
static int rec_fd(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        return -EPERM;
    }
    return fd;
}

void vn_vhost_txrec_open(struct vn_vhost_txrec *t, const char *dir, const char *vuid,
                         uint32_t nrings)
{
    size_t size = vn_txrec_file_bytes(nrings);
    struct stat st;
    void *p = MAP_FAILED;
    int fd = -1, ret = -ENOMEM;

    memset(t, 0, sizeof(*t));
    t->nwords = nrings;
    t->loaded = calloc(nrings, sizeof(*t->loaded));
    if (!t->loaded || asprintf(&t->path, "%s/%s.txrec", dir, vuid) < 0) {
        t->path = NULL;
        goto fail;
    }
    fd = rec_fd(t->path);
    if (fd < 0) {
        ret = fd;
        goto fail;
    }
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        goto fail;
    }
    /* An earlier process's record of this device keeps its size (it may hold more words). */
    if ((size_t)st.st_size > size && (size_t)st.st_size <= vn_txrec_file_bytes(UINT16_MAX))
        size = (size_t)st.st_size;
    /* Blocks reserved, not a sparse file: a store into a page the file system cannot
       back (a full disk) would be a SIGBUS. */
    ret = -posix_fallocate(fd, 0, (off_t)size);
    if (ret < 0)
        goto fail;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        ret = -errno;
        goto fail;
    }
    close(fd);
    t->f = p;
    t->size = size;
    if (vn_txrec_file_valid(t->f, size, nrings)) {
        for (uint32_t i = 0; i < nrings; i++)
            t->loaded[i] = true;
    } else {
        if (st.st_size)
            VN_WARN(VHOST, "%s: transmit record %s is not one of this version: made anew", vuid,
                    t->path);
        vn_txrec_file_init(t->f, nrings);
    }
    return;

fail:
    if (fd >= 0)
        close(fd);
    VN_WARN(VHOST, "%s: no transmit record (%s: %s): a crash may send frames in flight twice",
            vuid, t->path ? t->path : dir, strerror(-ret));
    free(t->loaded);
    free(t->path);
    memset(t, 0, sizeof(*t));
}

void vn_vhost_txrec_close(struct vn_vhost_txrec *t, bool remove)
{
    if (t->f)
        munmap(t->f, t->size);
    if (remove && t->path)
        unlink(t->path);
    free(t->loaded);
    free(t->path);
    memset(t, 0, sizeof(*t));
}

void vn_vhost_txrec_resolve(struct vn_vhost_txrec *t, const char *vuid, bool have,
                            uint64_t accepted)
{
    struct vn_txrec_outcome o;

    if (!t->f)
        return;
    /* A record made by this process has no flush in flight and no base: it just takes one. */
    vn_txrec_resolve(t->f, have, accepted, &o);
    if (o.queues_in_flight)
        vn_log(VN_LOG_VHOST, o.exact ? VN_LL_INFO : VN_LL_WARN,
               "%s: %u frame(s) of %u queue(s) were being sent when the last controller stopped: "
               "%u reached the representor%s", vuid, o.in_flight, o.queues_in_flight, o.sent,
               o.exact ? "" : " (taken as sent without proof: some may be lost, none is sent twice)");
    else if (o.based && o.unaccounted)
        VN_DBG(VHOST, "%s: the representor took %u frame(s) no transmit record counts", vuid,
               o.unaccounted);
}

uint64_t vn_vhost_txrec_take(struct vn_vhost_txrec *t, uint32_t index)
{
    bool loaded;

    if (!t->f || index >= t->nwords)
        return 0;
    loaded = t->loaded[index];
    t->loaded[index] = false;
    return loaded && (index & 1) ? vn_txrec_load(&t->f->word[index]) : 0;
}

uint64_t *vn_vhost_txrec_word(struct vn_vhost_txrec *t, uint32_t index, uint16_t pos)
{
    uint64_t *w;

    if (!t->f || index >= t->nwords || !(index & 1))
        return NULL;
    w = &t->f->word[index];
    __atomic_store_n(w, vn_txrec_pack(pos, 0, vn_txrec_written(vn_txrec_load(w))),
                     __ATOMIC_RELEASE);
    return w;
}
