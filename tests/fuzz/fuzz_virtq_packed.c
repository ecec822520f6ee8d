/*
 * fuzz_virtq_packed.c - libFuzzer target: a driver that writes anything into
 * its packed ring (VIRTIO_F_RING_PACKED), and keeps writing while the device
 * walks it.  tests/fuzz/fuzz_virtq.c does the same for split rings.
 *
 * Input:
 *   [0]      queue size 2^(b % 9): 1..256
 *   [1]      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 dirty logging on,
 *            bits 3-5 the log's size (LOG_SIZES), bit 6 the log at an
 *            unaligned offset in its file
 *   [2..3]   the device's starting index (free-running: slot and wrap counter)
 *   [4..5]   a vhost-user ring base to convert (vn_virtq_packed_idx() checks)
 *   [6..69]  the device's script, one action per byte (ACT_*)
 *   [70..]   64 KiB of guest memory: the descriptor ring at its start, the
 *            driver's event suppression at 4096, the device's at 4100,
 *            buffers and indirect tables anywhere
 * The device pops, completes in order or out of order, gives chains back,
 * turns notifications on and off, and the "driver" overwrites ring bytes in
 * between.  Every guest error must stay in the queue (vn_virtq_pop() fails,
 * the queue stays broken); nothing may be read or written outside guest
 * memory (ASan watches the buffer's edges) nor outside the dirty log (its
 * file has a guard area that must stay zero: checked).
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "dirty_log.h"
#include "guest_mem.h"
#include "virtq.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE (64 * 1024)
#define GPA_BASE 0x100000ull /* pages 256..271: bitmap bytes 32 and 33 */
#define HDR_LEN 6
#define SCRIPT_LEN 64
#define LOG_FILE_SIZE 8192 /* the log plus a guard area that must stay zero */

/* Log sizes: empty of our pages, ending inside them, covering them, large. */
static const uint32_t LOG_SIZES[8] = { 1, 32, 33, 34, 35, 64, 4096, 4000 };

enum {
    ACT_POP,          /* pop one chain, write its writable bytes */
    ACT_PUSH_OLDEST,  /* complete in order */
    ACT_PUSH_NEWEST,  /* complete out of order */
    ACT_UNPOP,        /* give back the chains taken since the last push */
    ACT_NOTIFY,       /* should_notify after the pushes so far */
    ACT_ENABLE,       /* enable_notify */
    ACT_DISABLE,      /* disable_notify */
    ACT_EVENT,        /* set_avail_event (DESC suppression) */
    ACT_POKE,         /* the driver changes a ring byte meanwhile */
    ACT_N
};

static int log_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_fd = memfd_create("fuzz-dirty-log", MFD_CLOEXEC);
    if (log_fd < 0 || ftruncate(log_fd, LOG_FILE_SIZE) < 0)
        abort();
    return 0;
}

/* Aborts when a byte of the log's file outside [off, off + len) is not zero. */
static void check_log_guard(uint32_t off, uint32_t len)
{
    static uint8_t file[LOG_FILE_SIZE];

    if (pread(log_fd, file, sizeof(file), 0) != (ssize_t)sizeof(file))
        abort();
    for (uint32_t i = 0; i < sizeof(file); i++)
        if ((i < off || i >= off + len) && file[i]) {
            fprintf(stderr, "dirty log written at byte %u, outside [%u, %u)\n", i, off, off + len);
            abort();
        }
}

/* The vhost-user base form round-trips, and a slot past the ring is refused. */
static void check_base(uint32_t base, uint32_t qsize)
{
    uint16_t idx;
    int ret = vn_virtq_packed_idx(base, qsize, &idx);
    bool valid = (base & 0x7fff) < qsize && base >> 16 == 0;

    if ((ret == 0) != valid)
        abort();
    if (ret == 0 && vn_virtq_packed_base(idx, qsize) != base)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vn_vq_chain chain;
    static const uint8_t zeros[LOG_FILE_SIZE];
    struct vn_guest_mem mem;
    struct vn_mem_region_info r = { .gpa = GPA_BASE, .size = MEM_SIZE, .uva = GPA_BASE,
                                    .mmap_offset = 0 };
    struct vn_dirty_log log;
    struct vn_virtq_layout l;
    struct vn_virtq q;
    uint16_t ids[256 + 1];
    uint32_t lens[256 + 1];
    unsigned int n_inflight = 0, since_push = 0;
    uint32_t log_off = 0, log_len = 0;
    uint16_t old_used;
    uint8_t *g;

    if (size < HDR_LEN + SCRIPT_LEN)
        return 0;
    g = malloc(MEM_SIZE);
    if (!g)
        return 0;
    memset(g, 0, MEM_SIZE);
    memcpy(g, data + HDR_LEN + SCRIPT_LEN,
           VN_MIN(size - HDR_LEN - SCRIPT_LEN, (size_t)MEM_SIZE));
    vn_guest_mem_init(&mem);
    vn_dirty_log_init(&log);
    if (vn_guest_mem_add_mapped(&mem, &r, g) < 0)
        goto out;

    l.size = 1u << (data[0] % 9);
    l.features = ((data[1] & 1) ? (1ull << VIRTIO_RING_F_EVENT_IDX) : 0) |
                 ((data[1] & 2) ? (1ull << VIRTIO_RING_F_INDIRECT_DESC) : 0) |
                 (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_PACKED);
    l.desc_addr = GPA_BASE;
    l.avail_addr = GPA_BASE + 4096;
    l.used_addr = GPA_BASE + 4100;
    check_base((uint32_t)data[4] | (uint32_t)data[5] << 8, l.size);

    vn_virtq_init(&q);
    vn_virtq_set_last_avail_idx(&q, (uint16_t)(data[2] | data[3] << 8));
    if (vn_virtq_set_addrs(&q, &mem, &l) < 0)
        goto out_mem;
    if (!q.packed)
        abort();
    if (data[1] & 4) {
        log_len = LOG_SIZES[(data[1] >> 3) & 7];
        log_off = (data[1] & 0x40) ? 4093 : 0;
        if (pwrite(log_fd, zeros, sizeof(zeros), 0) != (ssize_t)sizeof(zeros) ||
            vn_dirty_log_map(&log, log_fd, log_len, log_off) < 0 || vn_virtq_set_log(&q, &log) < 0)
            abort();
    }

    old_used = vn_virtq_used_idx(&q);
    for (unsigned int s = 0; s < 4 * SCRIPT_LEN; s++) {
        uint8_t a = data[HDR_LEN + s % SCRIPT_LEN];
        unsigned int act = (a + s / SCRIPT_LEN) % ACT_N;
        int ret;

        switch (act) {
        case ACT_POP:
            ret = vn_virtq_pop(&q, &chain);
            if (ret == 0) {
                /* Write every byte the device was given to write, as a receiver would. */
                for (uint32_t k = 0; k < chain.out_num; k++) {
                    volatile uint8_t *b = chain.iov[k].iov_base;

                    if (chain.iov[k].iov_len)
                        (void)b[0], (void)b[chain.iov[k].iov_len - 1];
                }
                for (uint32_t k = chain.out_num; k < chain.out_num + chain.in_num; k++)
                    memset(chain.iov[k].iov_base, 0xa5, chain.iov[k].iov_len);
                vn_virtq_log_write(&q, chain.iov + chain.out_num, chain.in_num, chain.in_len);
                if (n_inflight >= l.size + 1)
                    abort(); /* more chains in flight than the ring has slots */
                ids[n_inflight] = chain.head;
                lens[n_inflight++] = (uint32_t)chain.in_len;
                since_push++;
            } else if (ret != -EAGAIN && vn_virtq_error(&q) == 0) {
                abort(); /* a guest error that did not stop the queue */
            }
            break;
        case ACT_PUSH_OLDEST:
        case ACT_PUSH_NEWEST:
            if (!n_inflight)
                break;
            if (act == ACT_PUSH_OLDEST) {
                vn_virtq_push(&q, ids[0], lens[0]);
                memmove(ids, ids + 1, --n_inflight * sizeof(ids[0]));
                memmove(lens, lens + 1, n_inflight * sizeof(lens[0]));
            } else {
                n_inflight--;
                vn_virtq_push(&q, ids[n_inflight], lens[n_inflight]);
            }
            since_push = 0;
            break;
        case ACT_UNPOP:
            vn_virtq_unpop(&q, since_push);
            n_inflight -= since_push;
            since_push = 0;
            break;
        case ACT_NOTIFY:
            (void)vn_virtq_should_notify(&q, old_used);
            old_used = vn_virtq_used_idx(&q);
            break;
        case ACT_ENABLE:
            (void)vn_virtq_enable_notify(&q);
            break;
        case ACT_DISABLE:
            vn_virtq_disable_notify(&q);
            break;
        case ACT_EVENT:
            vn_virtq_set_avail_event(&q);
            break;
        case ACT_POKE:
            /* The driver races the device: any byte of the ring or its event areas. */
            if (a & 0x80)
                g[4096 + (a + s) % 8] ^= (uint8_t)(a | 1);
            else
                g[(a * 37u + s) % (l.size * 16u)] ^= (uint8_t)(a | 1);
            break;
        }
    }
    /* A stopping queue hands back what it holds; the base it reports is valid. */
    check_base(vn_virtq_packed_base(vn_virtq_get_last_avail_idx(&q), l.size), l.size);
    if (log_len) {
        check_log_guard(log_off, log_len);
        vn_dirty_log_unmap(&log);
    }
    vn_virtq_stop(&q);
out_mem:
    vn_guest_mem_clear(&mem);
out:
    free(g);
    return 0;
}
