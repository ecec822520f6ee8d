/*
 * log_bench.c - the cost of dirty-page logging (live migration) on the ring
 * path the datapath runs, per frame: lib/virtq.c and lib/dirty_log.c as they
 * are, on split and packed rings, with logging off and on.
 *
 * One process, one thread: a simulated driver keeps a ring of 256 entries
 * full of one-descriptor chains over 2 KiB buffers in an 8 MiB "guest
 * memory"; the device side pops a chain, copies a frame into it (rx: the
 * device writes guest memory, as when a frame arrives from the representor)
 * or reads it (tx: the driver's frame goes out; only the used ring is written),
 * logs what it wrote when a log is set (vn_virtq_log_write(), as the sw
 * provider does), pushes it back, and asks whether to notify every 32.  The
 * driver re-posts the buffers the device returned.  The log is a memfd of the
 * size QEMU gives (one bit per 4 KiB page of guest memory), mapped with
 * vn_dirty_log_map(); the bits are left set (QEMU clears them as it syncs,
 * which would only add its cost on another CPU).
 *
 * Prints ns per frame for each case (median of ROUNDS runs of FRAMES frames)
 * and the overhead of logging.  What it does not measure: the tap read/write
 * of the real datapath (hundreds of ns to microseconds per frame, which
 * dwarf the ring path), a driver on another CPU (cache lines bouncing), QEMU
 * reading and clearing the bitmap meanwhile.
 *
 * Usage: log_bench [FRAMES [ROUNDS]]   (defaults 2000000 and 5)
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "dirty_log.h"
#include "guest_mem.h"
#include "util.h"
#include "virtq.h"

#define QSIZE 256u
#define BUF_SIZE 2048u
#define GPA_BASE 0x40000000ull
#define MEM_SIZE (8u << 20)
#define RING_AREA (64u << 10) /* rings at the start of guest memory, buffers after */
#define NOTIFY_BATCH 32

struct bench {
    uint8_t *g;              /* guest memory */
    struct vn_guest_mem mem;
    struct vn_virtq q;
    struct vn_dirty_log log;
    bool packed;
    /* the driver's side */
    uint16_t avail_idx;      /* split: next avail entry; packed: next slot to post */
    uint16_t used_seen;      /* split: used entries reaped; packed: next slot to reap */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t buf_gpa(unsigned int id)
{
    return GPA_BASE + RING_AREA + (uint64_t)id * BUF_SIZE;
}

/* Driver: posts buffer 'id' (writable for rx, readable for tx). */
static void drv_post(struct bench *b, unsigned int id, bool rx)
{
    if (!b->packed) {
        struct vring_desc *d = (struct vring_desc *)b->g + id;
        struct vring_avail *av = (struct vring_avail *)(b->g + 16 * QSIZE);

        d->addr = buf_gpa(id);
        d->len = BUF_SIZE;
        d->flags = rx ? VRING_DESC_F_WRITE : 0;
        av->ring[b->avail_idx % QSIZE] = (uint16_t)id;
        b->avail_idx++;
        __atomic_store_n(&av->idx, b->avail_idx, __ATOMIC_RELEASE);
    } else {
        struct vring_packed_desc *d = (struct vring_packed_desc *)b->g + b->avail_idx % QSIZE;
        bool w = !(b->avail_idx & QSIZE);
        uint16_t f = (rx ? VRING_DESC_F_WRITE : 0) |
                     (w ? 1u << VRING_PACKED_DESC_F_AVAIL : 1u << VRING_PACKED_DESC_F_USED);

        d->addr = buf_gpa(id);
        d->len = BUF_SIZE;
        d->id = (uint16_t)id;
        __atomic_store_n(&d->flags, f, __ATOMIC_RELEASE);
        b->avail_idx++;
    }
}

/* Driver: takes back what the device used and posts it again; returns how many. */
static unsigned int drv_reap(struct bench *b, bool rx)
{
    unsigned int n = 0;

    if (!b->packed) {
        struct vring_used *u = (struct vring_used *)(b->g + 32768);
        uint16_t idx = __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);

        while (b->used_seen != idx) {
            drv_post(b, u->ring[b->used_seen % QSIZE].id, rx);
            b->used_seen++;
            n++;
        }
    } else {
        for (;;) {
            struct vring_packed_desc *d = (struct vring_packed_desc *)b->g + b->used_seen % QSIZE;
            uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
            bool w = !(b->used_seen & QSIZE);
            bool avail = f & (1u << VRING_PACKED_DESC_F_AVAIL), used = f & (1u << VRING_PACKED_DESC_F_USED);

            if (avail != w || used != w)
                break;
            b->used_seen++;
            drv_post(b, d->id, rx);
            n++;
        }
    }
    return n;
}

static int bench_setup(struct bench *b, bool packed, bool logged, bool rx)
{
    struct vn_mem_region_info r = { .gpa = GPA_BASE, .size = MEM_SIZE, .uva = GPA_BASE };
    struct vn_virtq_layout l = {
        .size = QSIZE,
        .features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
                    (packed ? 1ull << VIRTIO_F_RING_PACKED : 0),
        .desc_addr = GPA_BASE,
        .avail_addr = GPA_BASE + (packed ? 16 * QSIZE : 16 * QSIZE),
        .used_addr = GPA_BASE + (packed ? 16 * QSIZE + 64 : 32768),
    };
    int fd;

    memset(b, 0, sizeof(*b));
    b->packed = packed;
    b->g = aligned_alloc(4096, MEM_SIZE);
    if (!b->g)
        return -ENOMEM;
    memset(b->g, 0, MEM_SIZE);
    vn_guest_mem_init(&b->mem);
    vn_dirty_log_init(&b->log);
    if (vn_guest_mem_add_mapped(&b->mem, &r, b->g) < 0)
        return -EINVAL;
    vn_virtq_init(&b->q);
    if (vn_virtq_set_addrs(&b->q, &b->mem, &l) < 0)
        return -EINVAL;
    if (logged) {
        uint64_t size = (GPA_BASE + MEM_SIZE) / 4096 / 8;

        fd = memfd_create("log_bench", MFD_CLOEXEC);
        if (fd < 0 || ftruncate(fd, (off_t)size) < 0 || vn_dirty_log_map(&b->log, fd, size, 0) < 0 ||
            vn_virtq_set_log(&b->q, &b->log) < 0)
            return -EIO;
        close(fd);
    }
    for (unsigned int i = 0; i < QSIZE; i++)
        drv_post(b, i, rx);
    return 0;
}

static void bench_teardown(struct bench *b)
{
    vn_virtq_stop(&b->q);
    vn_dirty_log_unmap(&b->log);
    vn_guest_mem_clear(&b->mem);
    free(b->g);
}

/* ns per frame for 'frames' frames of 'size' bytes. */
static double bench_run(bool packed, bool logged, bool rx, uint32_t size, uint64_t frames)
{
    static struct vn_vq_chain c;
    static uint8_t frame[BUF_SIZE];
    struct bench b;
    uint64_t t0, done = 0;
    volatile uint8_t sink = 0;

    if (bench_setup(&b, packed, logged, rx) < 0) {
        fprintf(stderr, "log_bench: set-up failed\n");
        exit(1);
    }
    memset(frame, 0x5a, sizeof(frame));
    t0 = now_ns();
    while (done < frames) {
        uint16_t old = vn_virtq_used_idx(&b.q);

        for (int k = 0; k < NOTIFY_BATCH; k++) {
            if (vn_virtq_pop(&b.q, &c) < 0)
                break;
            if (rx) {
                memcpy(c.iov[0].iov_base, frame, size);
                vn_virtq_log_write(&b.q, c.iov, c.in_num, size);
                vn_virtq_push(&b.q, c.head, size);
            } else {
                const uint8_t *p = c.iov[0].iov_base;

                for (uint32_t i = 0; i < size; i += 64)
                    sink ^= p[i];
                vn_virtq_push(&b.q, c.head, 0);
            }
            done++;
        }
        (void)vn_virtq_should_notify(&b.q, old);
        drv_reap(&b, rx);
    }
    (void)sink;
    if (vn_virtq_error(&b.q) || (logged && b.log.missed)) {
        fprintf(stderr, "log_bench: queue error %d, %llu pages missed\n", vn_virtq_error(&b.q),
                (unsigned long long)b.log.missed);
        exit(1);
    }
    if (logged && b.log.pages == 0) {
        fprintf(stderr, "log_bench: logging on but no page logged\n");
        exit(1);
    }
    bench_teardown(&b);
    return (double)(now_ns() - t0) / (double)frames;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    uint64_t frames = 2000000, rounds = 5;
    static const uint32_t sizes[] = { 64, 1500 };

    if (argc > 1 && vn_parse_u64(argv[1], 10, 1000, UINT64_MAX / 2, &frames) < 0)
        return fprintf(stderr, "usage: log_bench [FRAMES [ROUNDS]]\n"), 2;
    if (argc > 2 && vn_parse_u64(argv[2], 10, 1, 99, &rounds) < 0)
        return fprintf(stderr, "usage: log_bench [FRAMES [ROUNDS]]\n"), 2;
    printf("# ns per frame, median of %llu runs of %llu frames; ring 256, one 2 KiB buffer a chain\n",
           (unsigned long long)rounds, (unsigned long long)frames);
    printf("%-6s %-2s %5s %10s %10s %10s %8s\n", "ring", "dir", "size", "log off", "log on",
           "delta", "ratio");
    for (int packed = 0; packed <= 1; packed++)
        for (int rx = 1; rx >= 0; rx--)
            for (size_t s = 0; s < VN_ARRAY_SIZE(sizes); s++) {
                double off[99], on[99];

                /* Alternate the two so drifts of the machine hit both alike. */
                for (uint64_t r = 0; r < rounds; r++) {
                    off[r] = bench_run(packed, false, rx, sizes[s], frames);
                    on[r] = bench_run(packed, true, rx, sizes[s], frames);
                }
                qsort(off, rounds, sizeof(double), cmp_double);
                qsort(on, rounds, sizeof(double), cmp_double);
                printf("%-6s %-2s %5u %10.1f %10.1f %10.1f %8.2f\n", packed ? "packed" : "split",
                       rx ? "rx" : "tx", sizes[s], off[rounds / 2], on[rounds / 2],
                       on[rounds / 2] - off[rounds / 2], on[rounds / 2] / off[rounds / 2]);
            }
    return 0;
}
