/*
 * fuzz_virtq.c - libFuzzer target: a driver that writes anything into its
 * split ring.  The input fills a 64 KiB "guest memory" holding the
 * descriptor table, avail and used rings and the buffers; the first bytes
 * choose the queue size and features.  The device side pops and pushes
 * until the queue is empty or broken: it must never read or write outside
 * guest memory (ASan watches the region's edges).  With bit 2 of the second
 * byte, the queue first resumes as after a restart, with a transmit record
 * word taken from the input (lib/virtq_inflight.h): whatever the record and
 * the rings say, the chains it returns stay inside the rings.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "guest_mem.h"
#include "virtq.h"
#include "virtq_inflight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE (64 * 1024)
#define GPA_BASE 0x100000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vn_vq_chain chain;
    struct vn_guest_mem mem;
    struct vn_mem_region_info r = { .gpa = GPA_BASE, .size = MEM_SIZE, .uva = GPA_BASE,
                                    .mmap_offset = 0 };
    struct vn_virtq_layout l;
    struct vn_virtq q;
    uint8_t *g;

    if (size < 2)
        return 0;
    g = malloc(MEM_SIZE);
    if (!g)
        return 0;
    memset(g, 0, MEM_SIZE);
    memcpy(g, data + 2, size - 2 < MEM_SIZE ? size - 2 : MEM_SIZE);
    vn_guest_mem_init(&mem);
    if (vn_guest_mem_add_mapped(&mem, &r, g) < 0)
        goto out;

    l.size = 1u << (data[0] % 9);                 /* 1..256 */
    l.features = ((data[1] & 1) ? (1ull << VIRTIO_RING_F_EVENT_IDX) : 0) |
                 ((data[1] & 2) ? (1ull << VIRTIO_RING_F_INDIRECT_DESC) : 0) |
                 (1ull << VIRTIO_F_VERSION_1);
    l.desc_addr = GPA_BASE;                       /* 16 * 256 = 4 KiB */
    l.avail_addr = GPA_BASE + 4096;               /* 4 + 2 * 256 + 2 */
    l.used_addr = GPA_BASE + 8192;                /* 4 + 8 * 256 + 2 */
    vn_virtq_init(&q);
    if (vn_virtq_set_addrs(&q, &mem, &l) < 0)
        goto out_mem;
    vn_virtq_set_last_avail_idx(&q, (uint16_t)(data[1] << 8));
    if (data[1] & 4) {
        struct vn_virtq_resume_info ri;
        uint64_t rec;

        memcpy(&rec, g + 12288, sizeof(rec)); /* past the used ring: the input's bytes */
        vn_virtq_resume(&q, rec, &ri);
    }
    for (int i = 0; i < 512; i++) {
        uint16_t old = vn_virtq_used_idx(&q);

        if (vn_virtq_pop(&q, &chain) < 0)
            break;
        /* Touch every byte the device was given, as the datapath would. */
        for (uint32_t k = 0; k < chain.out_num + chain.in_num; k++) {
            volatile uint8_t *b = chain.iov[k].iov_base;

            if (chain.iov[k].iov_len)
                (void)b[0], (void)b[chain.iov[k].iov_len - 1];
        }
        vn_virtq_push(&q, chain.head, (uint32_t)chain.in_len);
        (void)vn_virtq_should_notify(&q, old);
    }
out_mem:
    vn_guest_mem_clear(&mem);
out:
    free(g);
    return 0;
}
