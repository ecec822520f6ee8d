/*
 * fuzz_dirty_log.c - libFuzzer target: the dirty-page log's bounds
 * (lib/dirty_log.c), as SET_LOG_BASE gives them (size and offset in a
 * front-end's file) and as the datapath marks pages at their edges.
 * tests/fuzz/fuzz_vhost.c drives the same code through the real message
 * handler; this target checks the results against a model.
 *
 * Input:
 *   [0..1]    the file's size in bytes, % (3 pages + 1)
 *   [2..9]    mmap_size, [10..17] mmap_offset (raw u64: overflow cases)
 *   [18]      bit 0: a second SET_LOG_BASE with [19..34] (size, offset)
 *   then records of 17 bytes: [kind] [u64 a] [u64 len]
 *     kind & 1 == 0: mark guest physical range [a, a + len) (len % 2^20)
 *     kind & 1 == 1: mark local range (a % 2^17 + region start, len % 2^17)
 *                    of a 64 KiB guest memory region at GPA 0x7fff0000
 * Checked: a map is accepted exactly when size is in [1, max], offset + size
 * does not overflow and fits in the file; a refused map leaves the previous
 * one in place; the file holds exactly the model's bits inside the log and
 * zeros everywhere else; the counters of logged and missed pages agree.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dirty_log.h"
#include "guest_mem.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILE_MAX (3 * 4096)
#define MEM_SIZE (64 * 1024)
#define MEM_GPA 0x7fff0000ull
#define REC_LEN 17

static int fd = -1;
static uint8_t *guest;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fd = memfd_create("fuzz-dirty-log", MFD_CLOEXEC);
    guest = malloc(MEM_SIZE);
    if (fd < 0 || !guest)
        abort();
    return 0;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static bool map_ok(uint64_t fsize, uint64_t sz, uint64_t off)
{
    return sz >= 1 && sz <= VN_DIRTY_LOG_MAX_SIZE && off <= UINT64_MAX - sz && off + sz <= fsize;
}

/* The model: marks [gpa, gpa + len) in 'bits' (the log's 'lsize' bytes); returns pages missed. */
static uint64_t model_mark(uint8_t *bits, uint64_t lsize, uint64_t gpa, uint64_t len,
                           uint64_t *pages)
{
    uint64_t first, last, missed = 0;

    if (len == 0)
        return 0;
    first = gpa >> 12;
    last = (len - 1 > UINT64_MAX - gpa ? UINT64_MAX : gpa + len - 1) >> 12;
    for (uint64_t p = first; p <= last; p++) {
        if (p / 8 >= lsize) {
            missed = last - p + 1;
            break;
        }
        bits[p / 8] |= (uint8_t)(1u << (p % 8));
        (*pages)++;
        if (p == UINT64_MAX)
            break;
    }
    return missed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t file[FILE_MAX], model[FILE_MAX];
    struct vn_mem_region_info r = { .gpa = MEM_GPA, .size = MEM_SIZE, .uva = 0, .mmap_offset = 0 };
    struct vn_guest_mem mem;
    struct vn_dirty_log l;
    uint64_t fsize, sz, off, pages = 0, missed = 0;
    size_t pos = 35;
    int ret;

    if (size < pos)
        return 0;
    fsize = (uint64_t)(data[0] | data[1] << 8) % (FILE_MAX + 1);
    if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)fsize) < 0)
        abort();
    vn_dirty_log_init(&l);
    sz = get64(data + 2), off = get64(data + 10);
    ret = vn_dirty_log_map(&l, fd, sz, off);
    if ((ret == 0) != map_ok(fsize, sz, off)) {
        fprintf(stderr, "map of %llu at %llu in a file of %llu: %d\n", (unsigned long long)sz,
                (unsigned long long)off, (unsigned long long)fsize, ret);
        abort();
    }
    if (ret < 0 && (l.bitmap || l.size))
        abort(); /* a refused map changed the log */
    if (data[18] & 1) {
        uint64_t sz2 = get64(data + 19), off2 = get64(data + 27);
        uint8_t *before = l.bitmap;

        ret = vn_dirty_log_map(&l, fd, sz2, off2);
        if ((ret == 0) != map_ok(fsize, sz2, off2))
            abort();
        if (ret == 0)
            sz = sz2, off = off2;
        else if (l.bitmap != before)
            abort(); /* a refused map replaced the previous one */
    }
    if (!vn_dirty_log_is_mapped(&l))
        return 0;

    vn_guest_mem_init(&mem);
    r.uva = (uint64_t)(uintptr_t)guest;
    if (vn_guest_mem_add_mapped(&mem, &r, guest) < 0)
        abort();
    memset(model, 0, sizeof(model));
    for (; pos + REC_LEN <= size; pos += REC_LEN) {
        uint64_t a = get64(data + pos + 1), len = get64(data + pos + 9);

        if (!(data[pos] & 1)) {
            len %= 1u << 20;
            vn_dirty_log_gpa(&l, a, len);
            missed += model_mark(model, sz, a, len, &pages);
        } else {
            uint64_t o = a % (2 * MEM_SIZE), n = len % (2 * MEM_SIZE);

            /* The part inside the region is logged; a part outside it is one miss. */
            vn_dirty_log_hva(&l, &mem, guest + o, n);
            if (o < MEM_SIZE && n)
                missed += model_mark(model, sz, MEM_GPA + o, VN_MIN(n, MEM_SIZE - o), &pages);
            if (n && o + n > MEM_SIZE)
                missed++;
        }
    }
    if (pread(fd, file, fsize, 0) != (ssize_t)fsize)
        abort();
    for (uint64_t i = 0; i < fsize; i++) {
        uint8_t want = (i >= off && i < off + sz) ? model[i - off] : 0;

        if (file[i] != want) {
            fprintf(stderr, "log byte %llu is %#x, want %#x (log of %llu at %llu)\n",
                    (unsigned long long)i, file[i], want, (unsigned long long)sz,
                    (unsigned long long)off);
            abort();
        }
    }
    if (l.pages != pages || l.missed != missed) {
        fprintf(stderr, "counters: pages %llu/%llu, missed %llu/%llu\n",
                (unsigned long long)l.pages, (unsigned long long)pages,
                (unsigned long long)l.missed, (unsigned long long)missed);
        abort();
    }
    vn_dirty_log_unmap(&l);
    vn_dirty_log_unmap(&l); /* idempotent */
    vn_guest_mem_clear(&mem);
    return 0;
}
