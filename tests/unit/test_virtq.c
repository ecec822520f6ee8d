/*
 * test_virtq.c - unit tests of lib/virtq.c against a simulated driver: the
 * rings live in a malloc'ed "guest RAM" registered as one guest memory region
 * (lib/guest_mem.h), and each test writes descriptors and avail entries the
 * way a virtio driver does, well-formed or not, then checks what the device
 * side takes, returns, counts and refuses.
 */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/virtio_config.h>

#include <sys/mman.h>
#include <unistd.h>

#include "dirty_log.h"
#include "guest_mem.h"
#include "iotlb.h"
#include "virtq.h"
#include "virtq_inflight.h"

/* Guest RAM: one region at a guest address and a front-end address that differ. */
#define RAM_SIZE 0x100000u
#define GPA_BASE 0x100000000ULL
#define UVA_BASE 0x7f0000000000ULL
#define DESC_OFF 0x0u      /* descriptor table (up to 2048 entries) */
#define AVAIL_OFF 0x10000u /* avail ring */
#define USED_OFF 0x20000u  /* used ring */
#define BUF_OFF 0x40000u   /* buffers and indirect tables */

#define F_INDIRECT (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)

/* The simulated driver and the device-side queue under test. */
struct sim {
    uint8_t *ram;
    struct vn_guest_mem mem;
    struct vn_virtq q;
    struct vn_vq_chain *chain;
    uint32_t size;
    uint64_t features;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t avail_idx; /* the driver's next avail index */
};

static uint64_t gpa(uint64_t off)
{
    return GPA_BASE + off;
}

static struct vn_virtq_layout sim_layout(const struct sim *s)
{
    struct vn_virtq_layout l = {
        .size = s->size,
        .features = s->features,
        .desc_addr = UVA_BASE + DESC_OFF,
        .avail_addr = UVA_BASE + AVAIL_OFF,
        .used_addr = UVA_BASE + USED_OFF,
    };

    return l;
}

static struct sim *sim_new(uint32_t size, uint64_t features)
{
    struct sim *s = calloc(1, sizeof(*s));
    struct vn_mem_region_info r = { .gpa = GPA_BASE, .size = RAM_SIZE, .uva = UVA_BASE };
    struct vn_virtq_layout l;

    assert_non_null(s);
    s->ram = aligned_alloc(4096, RAM_SIZE);
    s->chain = malloc(sizeof(*s->chain));
    assert_non_null(s->ram);
    assert_non_null(s->chain);
    memset(s->ram, 0, RAM_SIZE);
    s->size = size;
    s->features = features;
    s->desc = (struct vring_desc *)(void *)(s->ram + DESC_OFF);
    s->avail = (struct vring_avail *)(void *)(s->ram + AVAIL_OFF);
    s->used = (struct vring_used *)(void *)(s->ram + USED_OFF);

    vn_guest_mem_init(&s->mem);
    assert_int_equal(vn_guest_mem_add_mapped(&s->mem, &r, s->ram), 0);
    vn_virtq_init(&s->q);
    l = sim_layout(s);
    assert_int_equal(vn_virtq_set_addrs(&s->q, &s->mem, &l), 0);
    assert_true(vn_virtq_is_ready(&s->q));
    return s;
}

static void sim_free(struct sim *s)
{
    vn_guest_mem_clear(&s->mem);
    free(s->chain);
    free(s->ram);
    free(s);
}

static void desc_set(struct vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    d->addr = addr;
    d->len = len;
    d->flags = flags;
    d->next = next;
}

/* An indirect table at BUF_OFF + 'off' in guest RAM. */
static struct vring_desc *itable(struct sim *s, uint32_t off)
{
    return (struct vring_desc *)(void *)(s->ram + BUF_OFF + off);
}

/* Makes chain 'head' available, as a driver does: entry, then release-store of idx. */
static void post(struct sim *s, uint16_t head)
{
    s->avail->ring[s->avail_idx % s->size] = head;
    s->avail_idx++;
    __atomic_store_n(&s->avail->idx, s->avail_idx, __ATOMIC_RELEASE);
}

static uint16_t *used_event(struct sim *s)
{
    return &s->avail->ring[s->size];
}

static uint16_t avail_event(struct sim *s)
{
    return *(uint16_t *)(void *)&s->used->ring[s->size];
}

static void assert_errors(struct sim *s, uint64_t bad_desc, uint64_t exceed, uint64_t invalid,
                          uint64_t avail_idx)
{
    struct vn_virtq_stats st;

    vn_virtq_get_stats(&s->q, &st);
    assert_int_equal(st.bad_desc_errors, bad_desc);
    assert_int_equal(st.exceed_max_chain, exceed);
    assert_int_equal(st.invalid_buffer, invalid);
    assert_int_equal(st.avail_idx_errors, avail_idx);
}

/*
 * Pops the chain posted at 'head', expects 'err', checks that the queue is
 * now broken with that error (popping again neither advances nor counts
 * twice) and that the counters are as given.
 */
static void expect_pop_error(struct sim *s, uint16_t head, int err, uint64_t bad_desc,
                             uint64_t exceed, uint64_t invalid)
{
    uint16_t last = vn_virtq_get_last_avail_idx(&s->q);

    post(s, head);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), err);
    assert_int_equal(vn_virtq_error(&s->q), err);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), err);
    assert_int_equal(vn_virtq_avail_count(&s->q), err);
    assert_int_equal(vn_virtq_get_last_avail_idx(&s->q), last);
    assert_errors(s, bad_desc, exceed, invalid, 0);
    assert_string_not_equal(vn_virtq_strerror(err), "unknown error");
}

/* ---- well-formed chains ------------------------------------------------------ */

static void test_simple_chain(void **state)
{
    struct sim *s = sim_new(256, 0);
    struct vn_vq_chain *c = s->chain;
    struct vn_virtq_stats st;
    uint16_t old;

    desc_set(&s->desc[0], gpa(BUF_OFF), 12, VRING_DESC_F_NEXT, 1);
    desc_set(&s->desc[1], gpa(BUF_OFF + 0x100), 100, VRING_DESC_F_NEXT, 2);
    desc_set(&s->desc[2], gpa(BUF_OFF + 0x1000), 200, VRING_DESC_F_WRITE, 0);
    assert_int_equal(vn_virtq_avail_count(&s->q), 0);
    assert_int_equal(vn_virtq_pop(&s->q, c), -EAGAIN);
    post(s, 0);
    assert_int_equal(vn_virtq_avail_count(&s->q), 1);

    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->head, 0);
    assert_int_equal(c->ndesc, 3);
    assert_int_equal(c->out_num, 2);
    assert_int_equal(c->in_num, 1);
    assert_int_equal(c->out_len, 112);
    assert_int_equal(c->in_len, 200);
    assert_ptr_equal(c->iov[0].iov_base, s->ram + BUF_OFF);
    assert_int_equal(c->iov[0].iov_len, 12);
    assert_ptr_equal(c->iov[1].iov_base, s->ram + BUF_OFF + 0x100);
    assert_int_equal(c->iov[1].iov_len, 100);
    assert_ptr_equal(c->iov[2].iov_base, s->ram + BUF_OFF + 0x1000);
    assert_int_equal(c->iov[2].iov_len, 200);
    assert_int_equal(vn_virtq_get_last_avail_idx(&s->q), 1);
    assert_int_equal(vn_virtq_pop(&s->q, c), -EAGAIN);
    assert_int_equal(vn_virtq_avail_count(&s->q), 0);

    old = vn_virtq_used_idx(&s->q);
    assert_int_equal(old, 0);
    vn_virtq_push(&s->q, 0, 150);
    assert_int_equal(s->used->idx, 1);
    assert_int_equal(s->used->ring[0].id, 0);
    assert_int_equal(s->used->ring[0].len, 150);
    assert_int_equal(vn_virtq_used_idx(&s->q), 1);
    assert_true(vn_virtq_should_notify(&s->q, old));

    vn_virtq_get_stats(&s->q, &st);
    assert_int_equal(st.received_desc, 1);
    assert_int_equal(st.completed_desc, 1);
    assert_int_equal(st.total_bytes, 112 + 150);
    assert_errors(s, 0, 0, 0, 0);
    sim_free(s);
}

static void test_zero_length_descriptors(void **state)
{
    struct sim *s = sim_new(16, 0);
    struct vn_vq_chain *c = s->chain;

    /* Empty buffers produce no iovec and their address is never looked at. */
    desc_set(&s->desc[0], UINT64_MAX, 0, VRING_DESC_F_NEXT, 1);
    desc_set(&s->desc[1], gpa(BUF_OFF), 10, VRING_DESC_F_NEXT, 2);
    desc_set(&s->desc[2], 0, 0, VRING_DESC_F_WRITE, 0);
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->ndesc, 3);
    assert_int_equal(c->out_num, 1);
    assert_int_equal(c->in_num, 0);
    assert_int_equal(c->out_len, 10);
    assert_int_equal(c->in_len, 0);
    sim_free(s);
}

static void test_wraparound(void **state)
{
    struct sim *s = sim_new(8, 0);
    struct vn_vq_chain *c = s->chain;
    const uint16_t start = 65530;
    static const unsigned int batches[] = { 3, 8, 3, 8, 3 };
    unsigned int total = 0;

    /* Resume at 65530 (SET_VRING_BASE): the 16-bit indices cross 65535 below. */
    vn_virtq_set_last_avail_idx(&s->q, start);
    s->avail_idx = start;
    s->avail->idx = start;
    s->used->idx = start;

    for (unsigned int b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
        unsigned int n = batches[b];

        for (unsigned int k = 0; k < n; k++) {
            uint16_t head = (uint16_t)((total + k) % 8);

            desc_set(&s->desc[head], gpa(BUF_OFF + head * 0x100u), head + 1u, 0, 0);
            post(s, head);
        }
        assert_int_equal(vn_virtq_avail_count(&s->q), n);
        for (unsigned int k = 0; k < n; k++) {
            uint16_t head = (uint16_t)((total + k) % 8);
            uint16_t slot = (uint16_t)(start + total + k);

            assert_int_equal(vn_virtq_pop(&s->q, c), 0);
            assert_int_equal(c->head, head);
            assert_int_equal(c->out_len, head + 1u);
            assert_ptr_equal(c->iov[0].iov_base, s->ram + BUF_OFF + head * 0x100u);
            vn_virtq_push(&s->q, head, head * 10u);
            assert_int_equal(s->used->ring[slot & 7].id, head);
            assert_int_equal(s->used->ring[slot & 7].len, head * 10u);
            assert_int_equal(s->used->idx, (uint16_t)(slot + 1));
        }
        assert_int_equal(vn_virtq_pop(&s->q, c), -EAGAIN);
        total += n;
    }
    assert_int_equal(vn_virtq_get_last_avail_idx(&s->q), (uint16_t)(start + total));
    assert_int_equal(vn_virtq_used_idx(&s->q), (uint16_t)(start + total));
    assert_true((uint16_t)(start + total) < start); /* it did wrap */
    assert_errors(s, 0, 0, 0, 0);
    sim_free(s);
}

static void test_indirect(void **state)
{
    struct sim *s = sim_new(256, F_INDIRECT);
    struct vn_vq_chain *c = s->chain;
    struct vring_desc *t = itable(s, 0x2000);
    struct vring_desc *t2 = itable(s, 0x2100);
    struct vring_desc *t3 = itable(s, 0x2208); /* 8-byte aligned only */

    /* A head that is only an indirect table of three buffers. */
    desc_set(&t[0], gpa(BUF_OFF + 0x3000), 10, VRING_DESC_F_NEXT, 1);
    desc_set(&t[1], gpa(BUF_OFF + 0x3100), 20, VRING_DESC_F_NEXT, 2);
    desc_set(&t[2], gpa(BUF_OFF + 0x3200), 30, VRING_DESC_F_WRITE, 0);
    desc_set(&s->desc[5], gpa(BUF_OFF + 0x2000), 3 * sizeof(struct vring_desc),
             VRING_DESC_F_INDIRECT, 0);
    post(s, 5);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->head, 5);
    assert_int_equal(c->ndesc, 3);
    assert_int_equal(c->out_num, 2);
    assert_int_equal(c->in_num, 1);
    assert_ptr_equal(c->iov[0].iov_base, s->ram + BUF_OFF + 0x3000);
    assert_ptr_equal(c->iov[1].iov_base, s->ram + BUF_OFF + 0x3100);
    assert_ptr_equal(c->iov[2].iov_base, s->ram + BUF_OFF + 0x3200);
    assert_int_equal(c->out_len, 30);
    assert_int_equal(c->in_len, 30);

    /* A direct descriptor, then an indirect one ending the chain. */
    desc_set(&s->desc[6], gpa(BUF_OFF + 0x4000), 14, VRING_DESC_F_NEXT, 7);
    desc_set(&s->desc[7], gpa(BUF_OFF + 0x2100), sizeof(struct vring_desc),
             VRING_DESC_F_INDIRECT, 0);
    desc_set(&t2[0], gpa(BUF_OFF + 0x5000), 40, VRING_DESC_F_WRITE, 0);
    post(s, 6);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->head, 6);
    assert_int_equal(c->ndesc, 2);
    assert_int_equal(c->out_num, 1);
    assert_int_equal(c->in_num, 1);
    assert_ptr_equal(c->iov[0].iov_base, s->ram + BUF_OFF + 0x4000);
    assert_ptr_equal(c->iov[1].iov_base, s->ram + BUF_OFF + 0x5000);

    /* An indirect table need not be 16-byte aligned; entries may be chained in any order. */
    desc_set(&t3[0], gpa(BUF_OFF + 0x6000), 1, VRING_DESC_F_NEXT, 2);
    desc_set(&t3[1], gpa(BUF_OFF + 0x6200), 3, VRING_DESC_F_WRITE, 0);
    desc_set(&t3[2], gpa(BUF_OFF + 0x6100), 2, VRING_DESC_F_NEXT, 1);
    desc_set(&s->desc[8], gpa(BUF_OFF + 0x2208), 3 * sizeof(struct vring_desc),
             VRING_DESC_F_INDIRECT, 0);
    post(s, 8);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->ndesc, 3);
    assert_int_equal(c->out_len, 3);
    assert_int_equal(c->in_len, 3);
    assert_ptr_equal(c->iov[1].iov_base, s->ram + BUF_OFF + 0x6100);
    assert_errors(s, 0, 0, 0, 0);
    sim_free(s);
}

static void test_max_chain_equals_size(void **state)
{
    struct sim *s = sim_new(16, F_INDIRECT);
    struct vn_vq_chain *c = s->chain;
    struct vring_desc *t = itable(s, 0x8000);

    for (uint16_t i = 0; i < 16; i++)
        desc_set(&s->desc[i], gpa(BUF_OFF + i * 16u), 16, i < 15 ? VRING_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->ndesc, 16);
    assert_int_equal(c->out_num, 16);
    assert_int_equal(c->out_len, 256);

    /* An indirect table of exactly 'size' entries. */
    for (uint16_t i = 0; i < 16; i++)
        desc_set(&t[i], gpa(BUF_OFF + i * 16u), 16, i < 15 ? VRING_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    desc_set(&s->desc[3], gpa(BUF_OFF + 0x8000), 16 * sizeof(struct vring_desc),
             VRING_DESC_F_INDIRECT, 0);
    post(s, 3);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->ndesc, 16);
    assert_errors(s, 0, 0, 0, 0);
    sim_free(s);
}

static void test_two_regions(void **state)
{
    struct sim *s = sim_new(16, 0);
    struct vn_vq_chain *c = s->chain;
    static uint8_t extra[0x1000];
    /* Guest-contiguous with the RAM region, elsewhere for the front-end and locally. */
    struct vn_mem_region_info r = { .gpa = GPA_BASE + RAM_SIZE, .size = sizeof(extra),
                                    .uva = 0x10000000ULL };

    assert_int_equal(vn_guest_mem_add_mapped(&s->mem, &r, extra), 0);

    /* A buffer crossing from one region into the next: one iovec per region. */
    desc_set(&s->desc[0], gpa(RAM_SIZE - 0x10), 0x30, 0, 0);
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->ndesc, 1);
    assert_int_equal(c->out_num, 2);
    assert_ptr_equal(c->iov[0].iov_base, s->ram + RAM_SIZE - 0x10);
    assert_int_equal(c->iov[0].iov_len, 0x10);
    assert_ptr_equal(c->iov[1].iov_base, extra);
    assert_int_equal(c->iov[1].iov_len, 0x20);
    assert_int_equal(c->out_len, 0x30);

    /* Crossing from the second region into nothing. */
    desc_set(&s->desc[1], gpa(RAM_SIZE + sizeof(extra) - 0x10), 0x11, VRING_DESC_F_WRITE, 0);
    expect_pop_error(s, 1, -EFAULT, 0, 0, 1);
    sim_free(s);
}

static void test_buffer_wrapping_address_space(void **state)
{
    struct sim *s = sim_new(16, 0);
    static uint8_t top[0x1000], bottom[0x1000];
    struct vn_mem_region_info rt = { .gpa = UINT64_MAX - 0xfff, .size = sizeof(top),
                                     .uva = 0x10000000ULL };
    struct vn_mem_region_info rb = { .gpa = 0, .size = sizeof(bottom), .uva = 0x20000000ULL };

    assert_int_equal(vn_guest_mem_add_mapped(&s->mem, &rt, top), 0);
    assert_int_equal(vn_guest_mem_add_mapped(&s->mem, &rb, bottom), 0);

    /* Up to the last byte of the address space is fine... */
    desc_set(&s->desc[0], UINT64_MAX - 0xf, 0x10, 0, 0);
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_ptr_equal(s->chain->iov[0].iov_base, top + 0xff0);
    /* ...going past it does not continue at guest address 0. */
    desc_set(&s->desc[1], UINT64_MAX - 0xf, 0x20, 0, 0);
    expect_pop_error(s, 1, -EFAULT, 0, 0, 1);
    sim_free(s);
}

static void test_ring_across_regions(void **state)
{
    struct sim *s = sim_new(16, 0);
    static uint8_t extra[0x1000] __attribute__((aligned(16)));
    struct vn_mem_region_info r = { .gpa = 0x10000000ULL, .size = sizeof(extra),
                                    .uva = UVA_BASE + RAM_SIZE };
    struct vn_virtq_layout l = sim_layout(s);
    struct vn_virtq q;

    assert_int_equal(vn_guest_mem_add_mapped(&s->mem, &r, extra), 0);
    vn_virtq_init(&q);
    /* Adjacent in the front-end's address space, not locally: a ring must be in one region. */
    l.desc_addr = UVA_BASE + RAM_SIZE - 0x80;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EFAULT);
    l.desc_addr = UVA_BASE + RAM_SIZE;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), 0);
    assert_ptr_equal(q.desc, extra);
    sim_free(s);
}

/* ---- broken chains ------------------------------------------------------------ */

static void test_loop(void **state)
{
    struct sim *s = sim_new(16, 0);
    struct vn_virtq_layout l = sim_layout(s);

    desc_set(&s->desc[0], gpa(BUF_OFF), 8, VRING_DESC_F_NEXT, 1);
    desc_set(&s->desc[1], gpa(BUF_OFF), 8, VRING_DESC_F_NEXT, 0);
    expect_pop_error(s, 0, -ELOOP, 0, 1, 0);

    /* Setting the queue up again clears the error; the failed chain is still next. */
    assert_int_equal(vn_virtq_set_addrs(&s->q, &s->mem, &l), 0);
    assert_int_equal(vn_virtq_error(&s->q), 0);
    desc_set(&s->desc[1], gpa(BUF_OFF), 8, 0, 0);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_int_equal(s->chain->head, 0);
    assert_int_equal(s->chain->ndesc, 2);

    /* A descriptor pointing at itself. */
    desc_set(&s->desc[2], gpa(BUF_OFF), 8, VRING_DESC_F_NEXT, 2);
    expect_pop_error(s, 2, -ELOOP, 0, 2, 0);
    sim_free(s);
}

static void test_chain_longer_than_size(void **state)
{
    struct sim *s;
    struct vring_desc *t;

    /* An indirect table with more entries than the queue. */
    s = sim_new(8, F_INDIRECT);
    t = itable(s, 0);
    for (uint16_t i = 0; i < 9; i++)
        desc_set(&t[i], gpa(BUF_OFF + 0x1000), 4, i < 8 ? VRING_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    desc_set(&s->desc[0], gpa(BUF_OFF), 9 * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -ELOOP, 0, 1, 0);
    sim_free(s);

    /* Two direct descriptors, then an indirect table of seven: nine buffers in a queue of 8. */
    s = sim_new(8, F_INDIRECT);
    t = itable(s, 0);
    for (uint16_t i = 0; i < 7; i++)
        desc_set(&t[i], gpa(BUF_OFF + 0x1000), 4, i < 6 ? VRING_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    desc_set(&s->desc[0], gpa(BUF_OFF + 0x1000), 4, VRING_DESC_F_NEXT, 1);
    desc_set(&s->desc[1], gpa(BUF_OFF + 0x1000), 4, VRING_DESC_F_NEXT, 2);
    desc_set(&s->desc[2], gpa(BUF_OFF), 7 * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -ELOOP, 0, 1, 0);
    sim_free(s);

    /* A loop inside an indirect table. */
    s = sim_new(8, F_INDIRECT);
    t = itable(s, 0);
    desc_set(&t[0], gpa(BUF_OFF + 0x1000), 4, VRING_DESC_F_NEXT, 1);
    desc_set(&t[1], gpa(BUF_OFF + 0x1000), 4, VRING_DESC_F_NEXT, 0);
    desc_set(&s->desc[0], gpa(BUF_OFF), 2 * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -ELOOP, 0, 1, 0);
    sim_free(s);
}

static void test_too_many_iovecs(void **state)
{
    struct sim *s = sim_new(2048, 0);

    /* VN_VQ_MAX_IOV buffers fit... */
    for (uint16_t i = 0; i < VN_VQ_MAX_IOV; i++)
        desc_set(&s->desc[i], gpa(BUF_OFF + i), 1,
                 i < VN_VQ_MAX_IOV - 1 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_int_equal(s->chain->out_num, VN_VQ_MAX_IOV);

    /* ...one more does not. */
    for (uint16_t i = 0; i <= VN_VQ_MAX_IOV; i++)
        desc_set(&s->desc[i], gpa(BUF_OFF + i), 1, i < VN_VQ_MAX_IOV ? VRING_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    expect_pop_error(s, 0, -ENOBUFS, 0, 1, 0);
    sim_free(s);
}

static void test_address_outside_memory(void **state)
{
    static const struct {
        uint64_t addr;
        uint32_t len;
    } cases[] = {
        { GPA_BASE + RAM_SIZE, 1 },      /* one past the end */
        { GPA_BASE + RAM_SIZE - 10, 11 }, /* last bytes plus one */
        { GPA_BASE - 1, 2 },             /* one before the start */
        { 0, 64 },                       /* nothing there */
        { UINT64_MAX - 3, 16 },          /* wraps around */
        { BUF_OFF, 64 },                 /* a local offset, not a guest address */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sim *s = sim_new(16, 0);

        desc_set(&s->desc[0], gpa(BUF_OFF), 8, VRING_DESC_F_NEXT, 1);
        desc_set(&s->desc[1], cases[i].addr, cases[i].len, VRING_DESC_F_WRITE, 0);
        expect_pop_error(s, 0, -EFAULT, 0, 0, 1);
        sim_free(s);
    }
}

static void test_indirect_table_outside_memory(void **state)
{
    struct sim *s = sim_new(16, F_INDIRECT);

    desc_set(&s->desc[0], gpa(RAM_SIZE - 16), 32, VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -EFAULT, 0, 0, 1);
    sim_free(s);
}

static void test_readable_after_writable(void **state)
{
    struct sim *s = sim_new(16, F_INDIRECT);
    struct vring_desc *t;

    desc_set(&s->desc[0], gpa(BUF_OFF), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    desc_set(&s->desc[1], gpa(BUF_OFF + 8), 8, 0, 0);
    expect_pop_error(s, 0, -EILSEQ, 1, 0, 0);
    sim_free(s);

    /* Inside an indirect table, and with an empty readable buffer. */
    s = sim_new(16, F_INDIRECT);
    t = itable(s, 0x100);
    desc_set(&t[0], gpa(BUF_OFF), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    desc_set(&t[1], gpa(BUF_OFF), 0, 0, 0);
    desc_set(&s->desc[0], gpa(BUF_OFF + 0x100), 2 * sizeof(struct vring_desc),
             VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -EILSEQ, 1, 0, 0);
    sim_free(s);
}

static void test_index_out_of_range(void **state)
{
    struct sim *s;
    struct vring_desc *t;

    /* Head outside the table. */
    s = sim_new(16, 0);
    expect_pop_error(s, 16, -ERANGE, 1, 0, 0);
    sim_free(s);
    s = sim_new(16, 0);
    expect_pop_error(s, 0xffff, -ERANGE, 1, 0, 0);
    sim_free(s);

    /* Next outside the table. */
    s = sim_new(16, 0);
    desc_set(&s->desc[0], gpa(BUF_OFF), 8, VRING_DESC_F_NEXT, 16);
    expect_pop_error(s, 0, -ERANGE, 1, 0, 0);
    sim_free(s);

    /* Next outside the indirect table (but inside the queue). */
    s = sim_new(16, F_INDIRECT);
    t = itable(s, 0);
    desc_set(&t[0], gpa(BUF_OFF + 0x100), 8, VRING_DESC_F_NEXT, 2);
    desc_set(&t[1], gpa(BUF_OFF + 0x100), 8, 0, 0);
    desc_set(&s->desc[0], gpa(BUF_OFF), 2 * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -ERANGE, 1, 0, 0);
    sim_free(s);
}

static void test_indirect_misuse(void **state)
{
    struct sim *s;
    struct vring_desc *t;

    /* Nested: an indirect descriptor inside an indirect table. */
    s = sim_new(16, F_INDIRECT);
    t = itable(s, 0);
    desc_set(&t[0], gpa(BUF_OFF + 0x100), 8, VRING_DESC_F_NEXT, 1);
    desc_set(&t[1], gpa(BUF_OFF), sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
    desc_set(&s->desc[0], gpa(BUF_OFF), 2 * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -EMLINK, 1, 0, 0);
    sim_free(s);

    /* INDIRECT together with NEXT. */
    s = sim_new(16, F_INDIRECT);
    t = itable(s, 0);
    desc_set(&t[0], gpa(BUF_OFF + 0x100), 8, 0, 0);
    desc_set(&s->desc[0], gpa(BUF_OFF), sizeof(struct vring_desc),
             VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    desc_set(&s->desc[1], gpa(BUF_OFF + 0x100), 8, 0, 0);
    expect_pop_error(s, 0, -EINVAL, 1, 0, 0);
    sim_free(s);

    /* INDIRECT without the feature. */
    s = sim_new(16, 0);
    t = itable(s, 0);
    desc_set(&t[0], gpa(BUF_OFF + 0x100), 8, 0, 0);
    desc_set(&s->desc[0], gpa(BUF_OFF), sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -EPERM, 1, 0, 0);
    sim_free(s);

    /* Table length 0 or not a whole number of descriptors. */
    s = sim_new(16, F_INDIRECT);
    desc_set(&s->desc[0], gpa(BUF_OFF), 0, VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -EMSGSIZE, 1, 0, 0);
    sim_free(s);
    s = sim_new(16, F_INDIRECT);
    desc_set(&s->desc[0], gpa(BUF_OFF), 24, VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(s, 0, -EMSGSIZE, 1, 0, 0);
    sim_free(s);
}

static void test_avail_idx_jump(void **state)
{
    struct sim *s = sim_new(8, 0);

    /* Exactly 'size' ahead is a full ring. */
    for (uint16_t i = 0; i < 8; i++) {
        desc_set(&s->desc[i], gpa(BUF_OFF), 1, 0, 0);
        post(s, i);
    }
    assert_int_equal(vn_virtq_avail_count(&s->q), 8);
    sim_free(s);

    /* One more is a jump. */
    s = sim_new(8, 0);
    __atomic_store_n(&s->avail->idx, 9, __ATOMIC_RELEASE);
    assert_int_equal(vn_virtq_avail_count(&s->q), -EPROTO);
    assert_int_equal(vn_virtq_error(&s->q), -EPROTO);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), -EPROTO);
    assert_int_equal(vn_virtq_avail_count(&s->q), -EPROTO);
    assert_errors(s, 0, 0, 0, 1);
    sim_free(s);

    /* So is moving backwards, seen through pop first. */
    s = sim_new(8, 0);
    vn_virtq_set_last_avail_idx(&s->q, 100);
    __atomic_store_n(&s->avail->idx, 99, __ATOMIC_RELEASE);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), -EPROTO);
    assert_errors(s, 0, 0, 0, 1);
    sim_free(s);
}

/* ---- notifications ----------------------------------------------------------- */

/* Pops and pushes 'n' single-buffer chains (desc 0) and returns the used index before. */
static uint16_t complete_n(struct sim *s, unsigned int n)
{
    uint16_t old = vn_virtq_used_idx(&s->q);

    desc_set(&s->desc[0], gpa(BUF_OFF), 1, VRING_DESC_F_WRITE, 0);
    for (unsigned int i = 0; i < n; i++) {
        post(s, 0);
        assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
        vn_virtq_push(&s->q, 0, 1);
    }
    return old;
}

static void test_event_idx(void **state)
{
    struct sim *s = sim_new(8, F_EVENT_IDX);
    uint16_t old;

    /* used_event 0: the first completion interrupts. */
    *used_event(s) = 0;
    old = complete_n(s, 1);
    assert_true(vn_virtq_should_notify(&s->q, old));
    /* Nothing pushed: nothing to say. */
    assert_false(vn_virtq_should_notify(&s->q, vn_virtq_used_idx(&s->q)));

    /* used_event 5: 1 -> 3 does not cross it, 3 -> 6 does. */
    *used_event(s) = 5;
    old = complete_n(s, 2);
    assert_false(vn_virtq_should_notify(&s->q, old));
    old = complete_n(s, 3);
    assert_true(vn_virtq_should_notify(&s->q, old));
    /* Already past it: 6 -> 7 does not. */
    old = complete_n(s, 1);
    assert_false(vn_virtq_should_notify(&s->q, old));

    /* With EVENT_IDX the NO_INTERRUPT flag is not what decides. */
    s->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
    *used_event(s) = 7;
    old = complete_n(s, 1);
    assert_true(vn_virtq_should_notify(&s->q, old));

    /* The device side: avail_event follows last_avail_idx. */
    vn_virtq_set_avail_event(&s->q);
    assert_int_equal(avail_event(s), vn_virtq_get_last_avail_idx(&s->q));
    assert_int_equal(avail_event(s), 8);
    vn_virtq_disable_notify(&s->q); /* implicit with EVENT_IDX: flags untouched */
    assert_int_equal(s->used->flags, 0);
    post(s, 0);
    assert_int_equal(vn_virtq_enable_notify(&s->q), 1);
    assert_int_equal(avail_event(s), 8);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_int_equal(vn_virtq_enable_notify(&s->q), 0);
    assert_int_equal(avail_event(s), 9);
    sim_free(s);
}

static void test_event_idx_wraparound(void **state)
{
    struct sim *s = sim_new(8, F_EVENT_IDX);
    uint16_t old;

    vn_virtq_set_last_avail_idx(&s->q, 65534);
    s->avail_idx = 65534;
    s->avail->idx = 65534;
    /* 65534 -> 0 crosses used_event 65535. */
    *used_event(s) = 65535;
    old = complete_n(s, 2);
    assert_int_equal(old, 65534);
    assert_int_equal(vn_virtq_used_idx(&s->q), 0);
    assert_true(vn_virtq_should_notify(&s->q, old));
    /* 0 -> 1 does not cross used_event 1 (the driver wants to hear after entry 1). */
    *used_event(s) = 1;
    old = complete_n(s, 1);
    assert_false(vn_virtq_should_notify(&s->q, old));
    old = complete_n(s, 1);
    assert_true(vn_virtq_should_notify(&s->q, old));
    sim_free(s);
}

static void test_no_interrupt(void **state)
{
    struct sim *s = sim_new(8, 0);
    uint16_t old;

    old = complete_n(s, 1);
    assert_true(vn_virtq_should_notify(&s->q, old));
    s->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
    old = complete_n(s, 1);
    assert_false(vn_virtq_should_notify(&s->q, old));
    s->avail->flags = 0;
    old = complete_n(s, 2);
    assert_true(vn_virtq_should_notify(&s->q, old));

    /* Kicks off and on through VRING_USED_F_NO_NOTIFY; avail_event is not used. */
    vn_virtq_disable_notify(&s->q);
    assert_int_equal(s->used->flags, VRING_USED_F_NO_NOTIFY);
    assert_int_equal(vn_virtq_enable_notify(&s->q), 0);
    assert_int_equal(s->used->flags, 0);
    vn_virtq_disable_notify(&s->q);
    post(s, 0);
    assert_int_equal(vn_virtq_enable_notify(&s->q), 1);
    assert_int_equal(s->used->flags, 0);
    vn_virtq_set_avail_event(&s->q);
    assert_int_equal(avail_event(s), 0);
    sim_free(s);
}

/* ---- set-up, batches, suspend/resume ----------------------------------------- */

static void test_set_addrs_validation(void **state)
{
    struct sim *s = sim_new(16, 0);
    struct vn_virtq_layout l;
    struct vn_virtq q;
    static const uint32_t bad_sizes[] = { 0, 3, 24, 32767, 65536, UINT32_MAX };

    vn_virtq_init(&q);
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        l = sim_layout(s);
        l.size = bad_sizes[i];
        assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EINVAL);
    }
    /* The largest queue: 512 KiB of descriptors ending exactly at the region's end. */
    l = sim_layout(s);
    l.size = 32768;
    l.desc_addr = UVA_BASE + RAM_SIZE - 32768 * sizeof(struct vring_desc);
    l.avail_addr = UVA_BASE;
    l.used_addr = UVA_BASE + USED_OFF;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), 0);
    assert_int_equal(q.size, 32768);
    l.desc_addr += 16;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EFAULT);

    /* Alignment: 16 for descriptors, 2 for avail, 4 for used. */
    l = sim_layout(s);
    l.desc_addr += 8;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EINVAL);
    l = sim_layout(s);
    l.avail_addr += 1;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EINVAL);
    l = sim_layout(s);
    l.used_addr += 2;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EINVAL);

    /* Areas outside memory, or guest addresses where front-end ones are due. */
    l = sim_layout(s);
    l.desc_addr = GPA_BASE + DESC_OFF;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EFAULT);
    l = sim_layout(s);
    l.used_addr = UVA_BASE + RAM_SIZE - 4 - 8 * 16 + 4;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EFAULT);

    /* The avail ring ends at the region's end: fits without EVENT_IDX, not with it. */
    l = sim_layout(s);
    l.avail_addr = UVA_BASE + RAM_SIZE - (4 + 2 * 16);
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), 0);
    l.features = F_EVENT_IDX;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EFAULT);
    /* Same for the used ring. */
    l = sim_layout(s);
    l.used_addr = UVA_BASE + RAM_SIZE - (4 + 8 * 16);
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), 0);
    l.features = F_EVENT_IDX;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EFAULT);
    sim_free(s);
}

static void test_local_alignment(void **state)
{
    struct sim *s = sim_new(16, 0);
    struct vn_mem_region_info r = { .gpa = 0x10000000ULL, .size = 0x1000,
                                    .uva = 0x20000000ULL };
    struct vn_virtq_layout l = sim_layout(s);
    struct vn_virtq q;

    /* A region whose local address is 8 bytes off its front-end alignment. */
    assert_int_equal(vn_guest_mem_add_mapped(&s->mem, &r, s->ram + BUF_OFF + 8), 0);
    vn_virtq_init(&q);
    l.desc_addr = 0x20000000ULL;
    assert_int_equal(vn_virtq_set_addrs(&q, &s->mem, &l), -EINVAL);
    sim_free(s);
}

static void test_push_batch(void **state)
{
    struct sim *s = sim_new(8, 0);
    struct vring_used_elem elems[3] = { { 2, 100 }, { 0, 0 }, { 1, 60 } };
    struct vn_virtq_stats st;
    uint16_t old = vn_virtq_used_idx(&s->q);

    for (uint16_t i = 0; i < 3; i++) {
        desc_set(&s->desc[i], gpa(BUF_OFF), 128, VRING_DESC_F_WRITE, 0);
        post(s, i);
        assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    }
    vn_virtq_push_batch(&s->q, elems, 0);
    assert_int_equal(s->used->idx, 0);
    vn_virtq_push_batch(&s->q, elems, 3);
    assert_int_equal(s->used->idx, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s->used->ring[i].id, elems[i].id);
        assert_int_equal(s->used->ring[i].len, elems[i].len);
    }
    assert_true(vn_virtq_should_notify(&s->q, old));
    vn_virtq_get_stats(&s->q, &st);
    assert_int_equal(st.received_desc, 3);
    assert_int_equal(st.completed_desc, 3);
    assert_int_equal(st.total_bytes, 160);
    sim_free(s);
}

/* ---- dirty-page logging (live migration) ------------------------------------------ */

/* A log in a memfd of 'file_size' bytes covering 'size' bytes; its bitmap in '*bits'. */
static void log_new(struct vn_dirty_log *l, uint64_t size, uint64_t file_size)
{
    int fd = memfd_create("test-log", 0);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)file_size), 0);
    vn_dirty_log_init(l);
    assert_int_equal(vn_dirty_log_map(l, fd, size, 0), 0);
    close(fd);
}

static bool page_dirty(const struct vn_dirty_log *l, uint64_t guest_addr)
{
    uint64_t page = guest_addr >> 12;

    return l->bitmap[page / 8] & (1u << (page % 8));
}

static unsigned dirty_count(const struct vn_dirty_log *l)
{
    unsigned n = 0;

    for (uint64_t i = 0; i < l->size; i++)
        n += (unsigned)__builtin_popcount(l->bitmap[i]);
    return n;
}

/* Bytes of bitmap for the sim's guest memory: one bit per 4 KiB page up to its end. */
#define SIM_LOG_SIZE (((GPA_BASE + RAM_SIZE) >> 12) / 8)

static void test_log_used_ring_and_buffers(void **state)
{
    struct sim *s = sim_new(256, F_EVENT_IDX);
    struct vn_dirty_log l;
    struct vn_vq_chain *c = s->chain;

    log_new(&l, SIM_LOG_SIZE, SIM_LOG_SIZE);
    /* Not logging: nothing marked. */
    desc_set(&s->desc[0], gpa(BUF_OFF + 0xf00), 0x200, VRING_DESC_F_WRITE, 0);
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    vn_virtq_log_write(&s->q, &c->iov[c->out_num], c->in_num, 0x200);
    vn_virtq_push(&s->q, c->head, 0x200);
    assert_int_equal(dirty_count(&l), 0);

    /* Logging: the written part of the buffer (across a page boundary) and the used ring. */
    assert_int_equal(vn_virtq_set_log(&s->q, &l), 0);
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    vn_virtq_log_write(&s->q, &c->iov[c->out_num], c->in_num, 0x200);
    vn_virtq_push(&s->q, c->head, 0x200);
    assert_true(page_dirty(&l, gpa(BUF_OFF)));
    assert_true(page_dirty(&l, gpa(BUF_OFF + 0x1000)));
    assert_true(page_dirty(&l, gpa(USED_OFF)));
    assert_int_equal(dirty_count(&l), 3);

    /* Only what was written: 16 bytes stay in the first page; avail_event is in the used ring. */
    memset(l.bitmap, 0, l.size);
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    vn_virtq_log_write(&s->q, &c->iov[c->out_num], c->in_num, 16);
    vn_virtq_set_avail_event(&s->q);
    assert_true(page_dirty(&l, gpa(BUF_OFF)));
    assert_false(page_dirty(&l, gpa(BUF_OFF + 0x1000)));
    assert_true(page_dirty(&l, gpa(USED_OFF + 4 + 8 * 256)));
    assert_int_equal(dirty_count(&l), 2);
    vn_virtq_push(&s->q, c->head, 16);

    /* New ring addresses drop the log: it must be set again. */
    {
        struct vn_virtq_layout lay = sim_layout(s);

        assert_int_equal(vn_virtq_set_addrs(&s->q, &s->mem, &lay), 0);
        assert_null(s->q.log);
    }
    assert_true(l.pages >= 5);
    assert_int_equal(l.missed, 0);
    vn_dirty_log_unmap(&l);
    sim_free(s);
}

static void test_log_used_batch_wraps(void **state)
{
    struct sim *s = sim_new(8, 0);
    struct vring_used_elem elems[4] = { { 0, 1 }, { 1, 1 }, { 2, 1 }, { 3, 1 } };
    struct vn_dirty_log l;

    log_new(&l, SIM_LOG_SIZE, SIM_LOG_SIZE);
    vn_virtq_set_last_avail_idx(&s->q, 6);
    for (uint16_t i = 0; i < 4; i++) {
        desc_set(&s->desc[i], gpa(BUF_OFF), 64, VRING_DESC_F_WRITE, 0);
        s->avail_idx = (uint16_t)(6 + i);
        post(s, i);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_int_equal(vn_virtq_set_log(&s->q, &l), 0);
    vn_virtq_push_batch(&s->q, elems, 4); /* slots 6, 7, 0, 1 */
    assert_int_equal(s->used->idx, 10);
    assert_true(page_dirty(&l, gpa(USED_OFF)));
    assert_int_equal(dirty_count(&l), 1);
    /* The flags of the used ring are a write too (no EVENT_IDX). */
    memset(l.bitmap, 0, l.size);
    vn_virtq_disable_notify(&s->q);
    assert_int_equal(dirty_count(&l), 1);
    vn_dirty_log_unmap(&l);
    sim_free(s);
}

static void test_log_bounds(void **state)
{
    struct sim *s = sim_new(8, 0);
    struct vn_dirty_log l;
    int fd = memfd_create("test-log", 0), p[2];
    uint8_t outside[64];

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 8192), 0);
    vn_dirty_log_init(&l);
    assert_int_equal(vn_dirty_log_map(&l, fd, 0, 0), -EINVAL);          /* empty */
    assert_int_equal(vn_dirty_log_map(&l, fd, 8193, 0), -EINVAL);       /* past the file */
    assert_int_equal(vn_dirty_log_map(&l, fd, 4096, 4097), -EINVAL);    /* offset past it */
    assert_int_equal(vn_dirty_log_map(&l, fd, 16, UINT64_MAX - 8), -EINVAL); /* wraps */
    assert_int_equal(vn_dirty_log_map(&l, fd, VN_DIRTY_LOG_MAX_SIZE + 1, 0), -EINVAL);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(vn_dirty_log_map(&l, p[0], 16, 0), -EBADF);       /* not a file */
    close(p[0]);
    close(p[1]);
    assert_false(vn_dirty_log_is_mapped(&l));

    /* A log too small for the guest: nothing written outside it, the pages are counted. */
    assert_int_equal(vn_dirty_log_map(&l, fd, 16, 100), 0);  /* unaligned offset is fine */
    assert_int_equal(vn_virtq_set_log(&s->q, &l), 0);
    desc_set(&s->desc[0], gpa(BUF_OFF), 64, VRING_DESC_F_WRITE, 0);
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    vn_virtq_push(&s->q, 0, 64);
    assert_int_equal(dirty_count(&l), 0);
    assert_true(l.missed >= 1);
    /* Pages 0..127 fit; a range ending past the bitmap stops at its end; a wrapping range too. */
    vn_dirty_log_gpa(&l, 126 * 4096, 3 * 4096);
    assert_int_equal(dirty_count(&l), 2);
    vn_dirty_log_gpa(&l, UINT64_MAX - 10, 100);
    assert_int_equal(dirty_count(&l), 2);
    /* A local address in no region is not logged, only counted. */
    l.missed = 0;
    vn_dirty_log_hva(&l, &s->mem, outside, sizeof(outside));
    assert_int_equal(l.missed, 1);
    vn_dirty_log_unmap(&l);
    vn_dirty_log_unmap(&l); /* idempotent */
    /* A queue without rings takes no log. */
    {
        struct vn_virtq q;

        vn_virtq_init(&q);
        assert_int_equal(vn_virtq_set_log(&q, &l), -EFAULT);
    }
    close(fd);
    sim_free(s);
}

/* ---- packed rings ----------------------------------------------------------------- */

#define F_PACKED (1ULL << VIRTIO_F_RING_PACKED)
#define PK_AVAIL_F (1u << VRING_PACKED_DESC_F_AVAIL)
#define PK_USED_F (1u << VRING_PACKED_DESC_F_USED)

/* A packed-ring driver: descriptor ring at DESC_OFF, event areas at AVAIL_OFF / USED_OFF. */
struct psim {
    struct sim *s;
    struct vring_packed_desc *ring;
    struct vring_packed_desc_event *drv, *dev;
    uint16_t next;     /* the driver's next slot (free-running) */
    uint16_t used;     /* the driver's next used slot to read */
};

static struct psim psim_new(uint32_t size, uint64_t features)
{
    struct psim p = { 0 };

    p.s = sim_new(size, 0); /* maps the RAM, then the packed layout replaces the split one */
    p.s->features = features | F_PACKED;
    {
        struct vn_virtq_layout l = sim_layout(p.s);

        assert_int_equal(vn_virtq_set_addrs(&p.s->q, &p.s->mem, &l), 0);
    }
    p.ring = (struct vring_packed_desc *)(void *)(p.s->ram + DESC_OFF);
    p.drv = (struct vring_packed_desc_event *)(void *)(p.s->ram + AVAIL_OFF);
    p.dev = (struct vring_packed_desc_event *)(void *)(p.s->ram + USED_OFF);
    return p;
}

static void psim_free(struct psim *p)
{
    vn_virtq_stop(&p->s->q);
    sim_free(p->s);
}

static bool pwrap(const struct psim *p, uint16_t idx)
{
    return !(idx & p->s->size);
}

/*
 * Makes a chain of 'n' descriptors available (buffer id 'id', lengths 'len',
 * the last 'nw' writable), the head's flags written last as a driver does.
 */
static void ppost(struct psim *p, uint16_t id, unsigned n, unsigned nw, uint32_t len,
                  uint16_t extra_flags)
{
    uint16_t head_flags = 0;

    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)(p->next + i);
        struct vring_packed_desc *d = &p->ring[idx & (p->s->size - 1)];
        uint16_t f = (uint16_t)((pwrap(p, idx) ? PK_AVAIL_F : PK_USED_F) | extra_flags);

        if (i + 1 < n)
            f |= VRING_DESC_F_NEXT;
        if (i >= n - nw)
            f |= VRING_DESC_F_WRITE;
        d->addr = gpa(BUF_OFF + (uint64_t)((idx & (p->s->size - 1)) * 0x1000));
        d->len = len;
        d->id = id;
        if (i == 0)
            head_flags = f;
        else
            d->flags = f;
    }
    __atomic_store_n(&p->ring[p->next & (p->s->size - 1)].flags, head_flags, __ATOMIC_RELEASE);
    p->next = (uint16_t)(p->next + n);
}

/* The next used descriptor the driver would take: its id and len, -1 when none. */
static int pused(struct psim *p, uint16_t *id, uint32_t *len, unsigned slots)
{
    struct vring_packed_desc *d = &p->ring[p->used & (p->s->size - 1)];
    uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
    bool w = pwrap(p, p->used);

    if (!!(f & PK_AVAIL_F) != w || !!(f & PK_USED_F) != w)
        return -1;
    *id = d->id;
    *len = d->len;
    p->used = (uint16_t)(p->used + slots);
    return 0;
}

static void test_packed_chain_and_used(void **state)
{
    struct psim p = psim_new(8, 0);
    struct vn_vq_chain *c = p.s->chain;
    uint16_t id;
    uint32_t len;

    assert_int_equal(vn_virtq_pop(&p.s->q, c), -EAGAIN);
    assert_int_equal(vn_virtq_avail_count(&p.s->q), 0);
    ppost(&p, 5, 2, 1, 200, 0);
    assert_int_equal(vn_virtq_avail_count(&p.s->q), 1);
    assert_int_equal(vn_virtq_pop(&p.s->q, c), 0);
    assert_int_equal(c->head, 5);
    assert_int_equal(c->out_num, 1);
    assert_int_equal(c->in_num, 1);
    assert_int_equal(c->ndesc, 2);
    assert_ptr_equal(c->iov[0].iov_base, p.s->ram + BUF_OFF);
    assert_int_equal(vn_virtq_get_last_avail_idx(&p.s->q), 2);
    assert_int_equal(pused(&p, &id, &len, 2), -1);
    vn_virtq_push(&p.s->q, 5, 150);
    assert_int_equal(pused(&p, &id, &len, 2), 0);
    assert_int_equal(id, 5);
    assert_int_equal(len, 150);
    assert_int_equal(vn_virtq_used_idx(&p.s->q), 2);
    assert_int_equal(vn_virtq_pop(&p.s->q, c), -EAGAIN);
    psim_free(&p);
}

static void test_packed_wrap_counters(void **state)
{
    struct psim p = psim_new(4, 0);
    struct vn_vq_chain *c = p.s->chain;
    uint16_t id;
    uint32_t len;

    /* Ten laps' worth of two-slot chains: the counters flip every 4 slots. */
    for (uint16_t i = 0; i < 20; i++) {
        ppost(&p, i, 2, 2, 64, 0);
        assert_int_equal(vn_virtq_pop(&p.s->q, c), 0);
        assert_int_equal(c->head, i);
        vn_virtq_push(&p.s->q, c->head, 10 + i);
        assert_int_equal(pused(&p, &id, &len, 2), 0);
        assert_int_equal(id, i);
        assert_int_equal(len, 10 + i);
    }
    assert_int_equal(vn_virtq_get_last_avail_idx(&p.s->q), 40);
    /* A descriptor left with the previous lap's wrap counter is not available. */
    {
        struct vring_packed_desc *d = &p.ring[p.next & 3];

        d->flags = (uint16_t)(pwrap(&p, p.next) ? PK_USED_F : PK_AVAIL_F);
        assert_int_equal(vn_virtq_pop(&p.s->q, c), -EAGAIN);
        /* Both bits equal to the counter: a used descriptor, not available either. */
        d->flags = (uint16_t)(pwrap(&p, p.next) ? (PK_AVAIL_F | PK_USED_F) : 0);
        assert_int_equal(vn_virtq_pop(&p.s->q, c), -EAGAIN);
    }
    assert_int_equal(vn_virtq_error(&p.s->q), 0);
    psim_free(&p);
}

static void test_packed_indirect(void **state)
{
    struct psim p = psim_new(8, F_INDIRECT);
    struct vn_vq_chain *c = p.s->chain;
    struct vring_packed_desc *t = (struct vring_packed_desc *)(void *)(p.s->ram + BUF_OFF + 0x8000);
    uint16_t id;
    uint32_t len;

    for (int i = 0; i < 3; i++) {
        t[i].addr = gpa(BUF_OFF + 0x100 * (uint64_t)i);
        t[i].len = 100;
        t[i].flags = i == 2 ? VRING_DESC_F_WRITE : 0;
    }
    ppost(&p, 3, 1, 0, 3 * sizeof(*t), VRING_DESC_F_INDIRECT);
    p.ring[0].addr = gpa(BUF_OFF + 0x8000);
    assert_int_equal(vn_virtq_pop(&p.s->q, c), 0);
    assert_int_equal(c->head, 3);
    assert_int_equal(c->out_num, 2);
    assert_int_equal(c->in_num, 1);
    assert_int_equal(c->ndesc, 3);
    vn_virtq_push(&p.s->q, 3, 100);
    assert_int_equal(pused(&p, &id, &len, 1), 0);
    assert_int_equal(vn_virtq_used_idx(&p.s->q), 1); /* one ring slot */
    /* An indirect entry that is indirect itself. */
    t[1].flags = VRING_DESC_F_INDIRECT;
    ppost(&p, 4, 1, 0, 3 * sizeof(*t), VRING_DESC_F_INDIRECT);
    p.ring[1].addr = gpa(BUF_OFF + 0x8000);
    assert_int_equal(vn_virtq_pop(&p.s->q, c), -EMLINK);
    assert_errors(p.s, 1, 0, 0, 0);
    psim_free(&p);
}

/* A malicious driver: each case breaks its queue only, with its error and counter. */
static void test_packed_malicious(void **state)
{
    struct {
        int err;
        uint64_t bad, exceed, invalid;
    } want[] = {
        { -ELOOP, 0, 1, 0 },    /* NEXT on every slot of the ring */
        { -EFAULT, 0, 0, 1 },   /* buffer outside guest memory */
        { -EPERM, 1, 0, 0 },    /* INDIRECT without the feature */
        { -EILSEQ, 1, 0, 0 },   /* readable after writable */
        { -EMSGSIZE, 1, 0, 0 }, /* indirect table of 17 bytes */
        { -EINVAL, 1, 0, 0 },   /* INDIRECT with NEXT */
    };

    for (unsigned k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        struct psim p = psim_new(4, k >= 4 ? F_INDIRECT : 0);
        struct vn_vq_chain *c = p.s->chain;

        switch (k) {
        case 0: /* four descriptors, all with NEXT: the walk stops at the ring's size */
            ppost(&p, 1, 4, 0, 64, 0);
            p.ring[3].flags |= VRING_DESC_F_NEXT;
            break;
        case 1:
            ppost(&p, 1, 1, 0, 64, 0);
            p.ring[0].addr = gpa(RAM_SIZE - 8);
            break;
        case 2:
        case 4:
            ppost(&p, 1, 1, 0, k == 2 ? 32 : 17, VRING_DESC_F_INDIRECT);
            break;
        case 3:
            ppost(&p, 1, 2, 0, 64, 0);
            p.ring[0].flags |= VRING_DESC_F_WRITE;
            break;
        case 5:
            ppost(&p, 1, 2, 0, 32, VRING_DESC_F_INDIRECT);
            break;
        }
        assert_int_equal(vn_virtq_pop(&p.s->q, c), want[k].err);
        assert_int_equal(vn_virtq_error(&p.s->q), want[k].err);
        assert_int_equal(vn_virtq_pop(&p.s->q, c), want[k].err);
        assert_int_equal(vn_virtq_get_last_avail_idx(&p.s->q), 0);
        assert_errors(p.s, want[k].bad, want[k].exceed, want[k].invalid, 0);
        psim_free(&p);
    }
}

static void test_packed_unpop_and_out_of_order(void **state)
{
    struct psim p = psim_new(8, 0);
    struct vn_vq_chain *c = p.s->chain;
    uint16_t id;
    uint32_t len;

    ppost(&p, 1, 1, 1, 64, 0);
    ppost(&p, 2, 3, 3, 64, 0);
    ppost(&p, 3, 2, 2, 64, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vn_virtq_pop(&p.s->q, c), 0);
    assert_int_equal(vn_virtq_get_last_avail_idx(&p.s->q), 6);
    vn_virtq_unpop(&p.s->q, 2);
    assert_int_equal(vn_virtq_get_last_avail_idx(&p.s->q), 1);
    assert_int_equal(vn_virtq_pop(&p.s->q, c), 0);
    assert_int_equal(c->head, 2);
    /* Completed out of order: 2 (3 slots) first, then 1 (1 slot). */
    vn_virtq_push(&p.s->q, 2, 7);
    vn_virtq_push(&p.s->q, 1, 8);
    assert_int_equal(vn_virtq_used_idx(&p.s->q), 4);
    assert_int_equal(pused(&p, &id, &len, 3), 0);
    assert_int_equal(id, 2);
    assert_int_equal(pused(&p, &id, &len, 1), 0);
    assert_int_equal(id, 1);
    psim_free(&p);
}

static void test_packed_notifications(void **state)
{
    struct psim p = psim_new(8, F_EVENT_IDX);
    struct psim q = psim_new(8, 0);
    struct vn_vq_chain *c = p.s->chain;
    uint16_t old;

    /* Without EVENT_IDX: the device asks for kicks with ENABLE / DISABLE. */
    vn_virtq_disable_notify(&q.s->q);
    assert_int_equal(q.dev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
    assert_int_equal(vn_virtq_enable_notify(&q.s->q), 0);
    assert_int_equal(q.dev->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
    ppost(&q, 1, 1, 1, 64, 0);
    assert_int_equal(vn_virtq_enable_notify(&q.s->q), 1);
    assert_int_equal(vn_virtq_pop(&q.s->q, q.s->chain), 0);
    old = vn_virtq_used_idx(&q.s->q);
    vn_virtq_push(&q.s->q, 1, 1);
    q.drv->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
    assert_false(vn_virtq_should_notify(&q.s->q, old));
    q.drv->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
    assert_true(vn_virtq_should_notify(&q.s->q, old));
    assert_false(vn_virtq_should_notify(&q.s->q, vn_virtq_used_idx(&q.s->q)));

    /* EVENT_IDX: the device's event names the next slot; the driver's is honoured. */
    for (uint16_t i = 0; i < 6; i++)
        ppost(&p, i, 1, 1, 64, 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(vn_virtq_pop(&p.s->q, c), 0);
    vn_virtq_set_avail_event(&p.s->q);
    assert_int_equal(p.dev->flags, VRING_PACKED_EVENT_FLAG_DESC);
    assert_int_equal(p.dev->off_wrap, 6 | 1u << 15);
    p.drv->flags = VRING_PACKED_EVENT_FLAG_DESC;
    p.drv->off_wrap = 3 | 1u << 15; /* interrupt once slot 3 of the first lap is used */
    old = vn_virtq_used_idx(&p.s->q);
    vn_virtq_push(&p.s->q, 0, 1);
    vn_virtq_push(&p.s->q, 1, 1);
    assert_false(vn_virtq_should_notify(&p.s->q, old));
    old = vn_virtq_used_idx(&p.s->q);
    vn_virtq_push(&p.s->q, 2, 1);
    vn_virtq_push(&p.s->q, 3, 1);
    assert_true(vn_virtq_should_notify(&p.s->q, old));
    /* Past the wrap: slots 6, 7 then 0 of the next lap (wrap counter 0). */
    old = vn_virtq_used_idx(&p.s->q);
    vn_virtq_push(&p.s->q, 4, 1);
    vn_virtq_push(&p.s->q, 5, 1);
    p.drv->off_wrap = 0; /* slot 0, wrap 0: not reached yet */
    assert_false(vn_virtq_should_notify(&p.s->q, old));
    psim_free(&p);
    psim_free(&q);
}

static void test_packed_base(void **state)
{
    uint16_t idx;

    (void)state;
    assert_int_equal(vn_virtq_packed_base(0, 256), 1u << 15);
    assert_int_equal(vn_virtq_packed_base(255, 256), 255 | 1u << 15);
    assert_int_equal(vn_virtq_packed_base(256, 256), 0);
    assert_int_equal(vn_virtq_packed_base(513, 256), 1 | 1u << 15);
    for (uint32_t i = 0; i < 70000; i += 97) {
        assert_int_equal(vn_virtq_packed_idx(vn_virtq_packed_base((uint16_t)i, 256), 256, &idx), 0);
        assert_int_equal(idx & 511, i & 511);
    }
    assert_int_equal(vn_virtq_packed_idx(256, 256, &idx), -EINVAL);     /* slot past the ring */
    assert_int_equal(vn_virtq_packed_idx(1u << 16, 256, &idx), -EINVAL); /* more than 16 bits */
}

static void test_packed_log(void **state)
{
    struct psim p = psim_new(8, 0);
    struct vn_dirty_log l;

    log_new(&l, SIM_LOG_SIZE, SIM_LOG_SIZE);
    assert_int_equal(vn_virtq_set_log(&p.s->q, &l), 0);
    ppost(&p, 1, 1, 1, 64, 0);
    assert_int_equal(vn_virtq_pop(&p.s->q, p.s->chain), 0);
    vn_virtq_push(&p.s->q, 1, 64);
    assert_true(page_dirty(&l, gpa(DESC_OFF)));
    vn_virtq_disable_notify(&p.s->q);
    assert_true(page_dirty(&l, gpa(USED_OFF)));
    assert_int_equal(dirty_count(&l), 2);
    vn_dirty_log_unmap(&l);
    psim_free(&p);
}

static void test_suspend_resume(void **state)
{
    struct sim *s = sim_new(8, 0);
    struct vn_virtq_layout l = sim_layout(s);
    struct vn_virtq q2;
    uint16_t base;

    for (uint16_t i = 0; i < 3; i++) {
        desc_set(&s->desc[i], gpa(BUF_OFF + i * 0x10u), 4, 0, 0);
        post(s, i);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
        vn_virtq_push(&s->q, s->chain->head, 0);
    }
    /* GET_VRING_BASE, stop; a new queue (as after a restart) resumes from SET_VRING_BASE. */
    base = vn_virtq_get_last_avail_idx(&s->q);
    assert_int_equal(base, 2);
    vn_virtq_stop(&s->q);
    assert_false(vn_virtq_is_ready(&s->q));
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), -ENXIO);

    vn_virtq_init(&q2);
    vn_virtq_set_last_avail_idx(&q2, base);
    assert_int_equal(vn_virtq_set_addrs(&q2, &s->mem, &l), 0);
    assert_int_equal(vn_virtq_avail_count(&q2), 1);
    assert_int_equal(vn_virtq_pop(&q2, s->chain), 0);
    assert_int_equal(s->chain->head, 2);
    vn_virtq_push(&q2, 2, 0);
    assert_int_equal(s->used->idx, 3);
    assert_int_equal(s->used->ring[2].id, 2);
    sim_free(s);
}

static void test_unpop(void **state)
{
    struct sim *s = sim_new(4, 0);
    struct vn_virtq_stats st;

    /* Six receive chains through a ring of four: wraps while chains are given back. */
    for (uint16_t i = 0; i < 4; i++) {
        desc_set(&s->desc[i], gpa(BUF_OFF + i * 0x100u), 0x100, VRING_DESC_F_WRITE, 0);
        post(s, i);
    }
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_int_equal(s->chain->head, 2);
    /* The frame needed one buffer: push the first, give the other two back. */
    vn_virtq_push(&s->q, 0, 60);
    vn_virtq_unpop(&s->q, 2);
    assert_int_equal(vn_virtq_get_last_avail_idx(&s->q), 1);
    vn_virtq_get_stats(&s->q, &st);
    assert_int_equal(st.received_desc, 1);
    assert_int_equal(st.completed_desc, 1);
    /* They come again, in the same order, then the one never taken. */
    for (uint16_t want = 1; want < 4; want++) {
        assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
        assert_int_equal(s->chain->head, want);
        vn_virtq_push(&s->q, want, 0);
    }
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), -EAGAIN);
    /* Across the wrap of the free-running indices. */
    post(s, 0);
    post(s, 1);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    vn_virtq_unpop(&s->q, 2);
    assert_int_equal(vn_virtq_get_last_avail_idx(&s->q), 4);
    assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
    assert_int_equal(s->chain->head, 0);
    /* Unpop 0 is a no-op. */
    vn_virtq_unpop(&s->q, 0);
    assert_int_equal(vn_virtq_get_last_avail_idx(&s->q), 5);
    vn_virtq_get_stats(&s->q, &st);
    assert_int_equal(st.received_desc, 5);
    sim_free(s);
}

static void test_not_ready(void **state)
{
    struct vn_virtq q;
    struct vn_vq_chain *c = malloc(sizeof(*c));

    assert_non_null(c);
    vn_virtq_init(&q);
    assert_false(vn_virtq_is_ready(&q));
    assert_int_equal(vn_virtq_pop(&q, c), -ENXIO);
    assert_int_equal(vn_virtq_avail_count(&q), -ENXIO);
    assert_int_equal(vn_virtq_enable_notify(&q), -ENXIO);
    assert_false(vn_virtq_should_notify(&q, 0));
    vn_virtq_disable_notify(&q);
    vn_virtq_set_avail_event(&q);
    assert_string_equal(vn_virtq_strerror(-ENXIO), "queue not ready");
    assert_string_equal(vn_virtq_strerror(-EAGAIN), "no available buffer");
    assert_string_equal(vn_virtq_strerror(-E2BIG), "unknown error");
    free(c);
}

/* ---- resuming after a restart, and the transmit record (lib/virtq_inflight.c) ------------ */

/*
 * A driver with 'nposted' chains made available (heads 7, 6, 5, ... so a head
 * is not its position), 'nused' of them returned used by a device that then
 * died; '*q2' is the new process's queue, resumed from SET_VRING_BASE 0.
 */
static struct sim *crashed(uint16_t start, uint16_t nposted, uint16_t nused, struct vn_virtq *q2)
{
    struct sim *s = sim_new(8, 0);
    struct vn_virtq_layout l = sim_layout(s);

    /* Free-running indices from 'start' (to cross 65535 -> 0). */
    s->avail_idx = start;
    s->avail->idx = start;
    s->used->idx = start;
    vn_virtq_set_last_avail_idx(&s->q, start);
    for (uint16_t i = 0; i < 8; i++)
        desc_set(&s->desc[i], gpa(BUF_OFF + i * 0x100u), 64, 0, 0);
    for (uint16_t i = 0; i < nposted; i++)
        post(s, (uint16_t)(7 - i));
    for (uint16_t i = 0; i < nused; i++) {
        assert_int_equal(vn_virtq_pop(&s->q, s->chain), 0);
        vn_virtq_push(&s->q, s->chain->head, 0);
    }
    vn_virtq_init(q2);
    assert_int_equal(vn_virtq_set_addrs(q2, &s->mem, &l), 0);
    return s;
}

static void test_resume_at_used(void **state)
{
    struct vn_virtq q2;
    struct vn_virtq_resume_info ri;
    struct sim *s = crashed(0, 5, 2, &q2);

    assert_true(vn_virtq_resume(&q2, 0, &ri));
    assert_int_equal(ri.from, 0);
    assert_int_equal(ri.to, 2);
    assert_false(ri.from_record);
    assert_int_equal(vn_virtq_used_idx(&q2), 2);
    /* The chains not seen used are taken again, in order. */
    assert_int_equal(vn_virtq_pop(&q2, s->chain), 0);
    assert_int_equal(s->chain->head, 5);
    /* Nothing to do: false. */
    vn_virtq_unpop(&q2, 1);
    assert_false(vn_virtq_resume(&q2, 0, &ri));
    sim_free(s);
}

static void test_resume_tx_record(void **state)
{
    struct vn_virtq q2;
    struct vn_virtq_resume_info ri;
    struct sim *s = crashed(0, 6, 2, &q2);

    /* The record: every chain below position 5 was written to the representor. */
    assert_true(vn_virtq_resume(&q2, vn_txrec_pack(5, 0, 123), &ri));
    assert_true(ri.from_record);
    assert_int_equal(ri.handled, 3);
    assert_int_equal(ri.to, 5);
    assert_int_equal(s->used->idx, 5);
    for (uint16_t i = 2; i < 5; i++) {
        assert_int_equal(s->used->ring[i].id, 7 - i);
        assert_int_equal(s->used->ring[i].len, 0);
    }
    /* The one not written is taken again. */
    assert_int_equal(vn_virtq_pop(&q2, s->chain), 0);
    assert_int_equal(s->chain->head, 2);
    assert_int_equal(vn_virtq_pop(&q2, s->chain), -EAGAIN);
    sim_free(s);
}

static void test_resume_tx_record_wraps(void **state)
{
    struct vn_virtq q2;
    struct vn_virtq_resume_info ri;
    struct sim *s = crashed(65533, 6, 1, &q2);

    /* Positions 65534, 65535, 0 and 1 went (heads 6, 5, 4, 3); position 2 did not. */
    assert_true(vn_virtq_resume(&q2, vn_txrec_pack(2, 0, 0), &ri));
    assert_int_equal(ri.handled, 4);
    assert_int_equal(s->used->idx, 2);
    assert_int_equal(s->used->ring[65534 % 8].id, 6);
    assert_int_equal(s->used->ring[65535 % 8].id, 5);
    assert_int_equal(s->used->ring[0].id, 4);
    assert_int_equal(s->used->ring[1].id, 3);
    assert_int_equal(vn_virtq_pop(&q2, s->chain), 0);
    assert_int_equal(s->chain->head, 2);
    sim_free(s);
}

/* A record that does not describe this ring is ignored: the ring resumes at its used index. */
static void test_resume_tx_record_untrusted(void **state)
{
    static const struct {
        uint64_t rec;
        const char *why;
    } cases[] = {
        {0x1, "behind the used index"},               /* pos 1 < used 2 */
        {0x7, "past the avail index"},                /* pos 7 > avail 6 */
        {0x4 | 8u << 16, "a flush still in flight"},  /* n != 0 (unresolved) */
        {0x8000, "far past everything"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vn_virtq q2;
        struct vn_virtq_resume_info ri;
        struct sim *s = crashed(0, 6, 2, &q2);

        print_message("record %s\n", cases[i].why);
        vn_virtq_resume(&q2, cases[i].rec, &ri);
        assert_false(ri.from_record);
        assert_int_equal(ri.to, 2);
        assert_int_equal(s->used->idx, 2);
        sim_free(s);
    }
}

/* A driver that rewrote the avail ring with a head out of range: nothing is returned. */
static void test_resume_tx_record_bad_head(void **state)
{
    struct vn_virtq q2;
    struct vn_virtq_resume_info ri;
    struct sim *s = crashed(0, 6, 2, &q2);

    s->avail->ring[3] = 999;
    vn_virtq_resume(&q2, vn_txrec_pack(5, 0, 0), &ri);
    assert_false(ri.from_record);
    assert_int_equal(s->used->idx, 2);
    assert_int_equal(ri.to, 2);
    sim_free(s);
}

static struct vn_txrec_file *rec_new(uint32_t nwords, uint64_t base)
{
    struct vn_txrec_file *f = calloc(1, vn_txrec_file_bytes(nwords));

    assert_non_null(f);
    vn_txrec_file_init(f, nwords);
    f->base = base;
    f->flags = VN_TXREC_F_BASED;
    return f;
}

static void test_txrec_resolve_one_queue(void **state)
{
    struct vn_txrec_file *f = rec_new(4, 1000);
    struct vn_txrec_outcome o;

    f->word[1] = vn_txrec_pack(10, 8, 100); /* 8 frames from 10 being written */
    f->word[3] = vn_txrec_pack(5, 0, 50);
    /* The representor took 150 counted frames and 5 more: the first 5 of the flush. */
    vn_txrec_resolve(f, true, 1000 + 150 + 5, &o);
    assert_true(o.exact);
    assert_int_equal(o.queues_in_flight, 1);
    assert_int_equal(o.in_flight, 8);
    assert_int_equal(o.unaccounted, 5);
    assert_int_equal(o.sent, 5);
    assert_int_equal(f->word[1], vn_txrec_pack(15, 0, 0));
    assert_int_equal(f->word[3], vn_txrec_pack(5, 0, 0));
    assert_int_equal(f->base, 1155);
    /* More than the flush (someone else wrote into the tap): at most the flush. */
    f->word[1] = vn_txrec_pack(15, 4, 0);
    vn_txrec_resolve(f, true, 1155 + 9, &o);
    assert_int_equal(o.sent, 4);
    assert_int_equal(vn_txrec_pos(f->word[1]), 19);
    /* None of it went. */
    f->word[1] = vn_txrec_pack(19, 4, 0);
    vn_txrec_resolve(f, true, 1164, &o);
    assert_true(o.exact);
    assert_int_equal(o.sent, 0);
    assert_int_equal(vn_txrec_pos(f->word[1]), 19);
    free(f);
}

static void test_txrec_resolve_several_queues(void **state)
{
    struct vn_txrec_file *f = rec_new(6, 0);
    struct vn_txrec_outcome o;

    /* None went: exact. */
    f->word[1] = vn_txrec_pack(100, 3, 7);
    f->word[5] = vn_txrec_pack(200, 2, 3);
    vn_txrec_resolve(f, true, 10, &o);
    assert_true(o.exact);
    assert_int_equal(o.sent, 0);
    assert_int_equal(vn_txrec_pos(f->word[1]), 100);
    assert_int_equal(vn_txrec_pos(f->word[5]), 200);
    /* All went: exact. */
    f->word[1] = vn_txrec_pack(100, 3, 0);
    f->word[5] = vn_txrec_pack(200, 2, 0);
    vn_txrec_resolve(f, true, 15, &o);
    assert_true(o.exact);
    assert_int_equal(o.sent, 5);
    assert_int_equal(vn_txrec_pos(f->word[1]), 103);
    assert_int_equal(vn_txrec_pos(f->word[5]), 202);
    /* Some went, from which queue the count cannot tell: all taken as sent, not exact. */
    f->word[1] = vn_txrec_pack(103, 3, 0);
    f->word[5] = vn_txrec_pack(202, 2, 0);
    vn_txrec_resolve(f, true, 17, &o);
    assert_false(o.exact);
    assert_int_equal(o.unaccounted, 2);
    assert_int_equal(o.sent, 5);
    assert_int_equal(vn_txrec_pos(f->word[1]), 106);
    assert_int_equal(vn_txrec_pos(f->word[5]), 204);
    free(f);
}

static void test_txrec_resolve_without_count(void **state)
{
    struct vn_txrec_file *f = rec_new(2, 0);
    struct vn_txrec_outcome o;

    /* No base (or the count cannot be read): what was in flight is taken as sent. */
    f->flags = 0;
    f->word[1] = vn_txrec_pack(65534, 4, 9);
    vn_txrec_resolve(f, true, 77, &o);
    assert_false(o.based);
    assert_false(o.exact);
    assert_int_equal(o.sent, 4);
    assert_int_equal(f->word[1], vn_txrec_pack(2, 0, 0)); /* wraps */
    assert_true(f->flags & VN_TXREC_F_BASED);
    assert_int_equal(f->base, 77);
    f->word[1] = vn_txrec_pack(2, 1, 0);
    vn_txrec_resolve(f, false, 0, &o);
    assert_false(o.exact);
    assert_int_equal(o.sent, 1);
    assert_false(f->flags & VN_TXREC_F_BASED);
    free(f);
}

/* 'written' and the count wrap (32 and 64 bits): the difference is what counts. */
static void test_txrec_counts_wrap(void **state)
{
    struct vn_txrec_file *f = rec_new(2, UINT64_MAX - 9);
    struct vn_txrec_outcome o;
    uint64_t w = vn_txrec_pack(0, 0, UINT32_MAX - 1);

    vn_txrec_begin(&w, 0, 6);
    vn_txrec_end(&w, 6, 6); /* written wraps to 4 */
    assert_int_equal(vn_txrec_written(w), 4);
    f->word[1] = vn_txrec_pack(6, 3, vn_txrec_written(w));
    /* base + (2^32 - 2 + 6) + 2 more = base + 2^32 + 6, the 64-bit count wrapping too. */
    vn_txrec_resolve(f, true, UINT64_MAX - 9 + (UINT64_C(1) << 32) + 6, &o);
    assert_true(o.exact);
    assert_int_equal(o.unaccounted, 2);
    assert_int_equal(vn_txrec_pos(f->word[1]), 8);
    free(f);
}

static void test_txrec_file_valid(void **state)
{
    size_t size = vn_txrec_file_bytes(4);
    struct vn_txrec_file *f = calloc(1, size);

    assert_non_null(f);
    assert_false(vn_txrec_file_valid(f, size, 4)); /* zeroes: no magic */
    vn_txrec_file_init(f, 4);
    assert_true(vn_txrec_file_valid(f, size, 4));
    assert_true(vn_txrec_file_valid(f, size, 2));
    assert_false(vn_txrec_file_valid(f, size, 5)); /* fewer words than rings */
    assert_false(vn_txrec_file_valid(f, size - 1, 4)); /* truncated */
    assert_false(vn_txrec_file_valid(f, sizeof(*f) - 1, 0));
    f->nwords = 60000; /* claims more than the file holds */
    assert_false(vn_txrec_file_valid(f, size, 4));
    f->nwords = 4;
    f->version++;
    assert_false(vn_txrec_file_valid(f, size, 4));
    free(f);
}

/* ---- VIRTIO_F_IOMMU_PLATFORM: addresses are IOVAs translated through an IOTLB ---- */

#define IOVA_BASE 0x80000000ULL /* the vIOMMU's view of guest RAM offset 0 in these tests */

static uint64_t iova(uint64_t off)
{
    return IOVA_BASE + off;
}

/* Maps RAM pages [off, off + len) at iova(off) with 'perm'. */
static void iotlb_map(struct vn_iotlb *t, uint64_t off, uint64_t len, uint8_t perm)
{
    assert_int_equal(vn_iotlb_update(t, iova(off), len, UVA_BASE + off, perm), 0);
}

/* The rings of 's' again, at IOVAs, through 't'. */
static int sim_set_iotlb(struct sim *s, struct vn_iotlb *t)
{
    struct vn_virtq_layout l = sim_layout(s);

    l.desc_addr = iova(DESC_OFF);
    l.avail_addr = iova(AVAIL_OFF);
    l.used_addr = iova(USED_OFF);
    vn_virtq_stop(&s->q);
    return vn_virtq_set_addrs_iotlb(&s->q, &s->mem, t, &l);
}

static void test_iotlb_rings(void **state)
{
    struct sim *s = sim_new(8, 0);
    struct vn_iotlb_miss m[VN_IOTLB_MAX_MISSES];
    struct vn_iotlb t;

    assert_int_equal(vn_iotlb_init(&t, NULL, NULL), 0);
    /* Nothing mapped: a miss for each of the three areas, asked for at once. */
    assert_int_equal(sim_set_iotlb(s, &t), -ENOENT);
    assert_false(vn_virtq_is_ready(&s->q));
    assert_int_equal(vn_iotlb_take_misses(&t, m, VN_IOTLB_MAX_MISSES, NULL), 3);
    assert_int_equal(m[0].iova, iova(DESC_OFF));
    assert_int_equal(m[2].perm, VN_IOTLB_PERM_WO);
    /* The used ring mapped read-only: the device cannot write it. */
    iotlb_map(&t, DESC_OFF, 0x1000, VN_IOTLB_PERM_RO);
    iotlb_map(&t, AVAIL_OFF, 0x1000, VN_IOTLB_PERM_RO);
    iotlb_map(&t, USED_OFF, 0x1000, VN_IOTLB_PERM_RO);
    assert_int_equal(sim_set_iotlb(s, &t), -EACCES);
    /* A used ring whose IOVA maps outside the memory table. */
    assert_int_equal(vn_iotlb_update(&t, iova(USED_OFF), 0x1000, UVA_BASE + RAM_SIZE,
                                     VN_IOTLB_PERM_RW),
                     0);
    assert_int_equal(sim_set_iotlb(s, &t), -EFAULT);
    iotlb_map(&t, USED_OFF, 0x1000, VN_IOTLB_PERM_WO);
    assert_int_equal(sim_set_iotlb(s, &t), 0);
    assert_true(vn_virtq_is_ready(&s->q));
    assert_ptr_equal(s->q.desc, s->desc);
    assert_ptr_equal(s->q.used, s->used);
    vn_virtq_stop(&s->q);
    vn_iotlb_fini(&t);
    sim_free(s);
}

static void test_iotlb_buffers(void **state)
{
    struct sim *s = sim_new(8, F_INDIRECT);
    struct vn_vq_chain *c = s->chain;
    struct vn_iotlb_miss m[VN_IOTLB_MAX_MISSES];
    struct vn_virtq_stats st;
    struct vn_iotlb t;

    assert_int_equal(vn_iotlb_init(&t, NULL, NULL), 0);
    iotlb_map(&t, DESC_OFF, 0x1000, VN_IOTLB_PERM_RO);
    iotlb_map(&t, AVAIL_OFF, 0x1000, VN_IOTLB_PERM_RO);
    iotlb_map(&t, USED_OFF, 0x1000, VN_IOTLB_PERM_WO);
    assert_int_equal(sim_set_iotlb(s, &t), 0);

    /* A readable buffer at an IOVA nobody mapped: the chain waits, the queue is not broken. */
    desc_set(&s->desc[0], iova(BUF_OFF), 100, 0, 0);
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, c), -EAGAIN);
    assert_int_equal(vn_virtq_error(&s->q), 0);
    assert_int_equal(vn_virtq_avail_count(&s->q), 0);
    assert_int_equal(vn_virtq_enable_notify(&s->q), 0);
    assert_int_equal(vn_virtq_get_last_avail_idx(&s->q), 0);
    assert_int_equal(vn_iotlb_take_misses(&t, m, VN_IOTLB_MAX_MISSES, NULL), 1);
    assert_int_equal(m[0].iova, iova(BUF_OFF));
    assert_int_equal(m[0].perm, VN_IOTLB_PERM_RO);
    /* The update comes: the chain is available again and maps where the IOVA says. */
    iotlb_map(&t, BUF_OFF, 0x1000, VN_IOTLB_PERM_RO);
    assert_int_equal(vn_virtq_avail_count(&s->q), 1);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->out_num, 1);
    assert_ptr_equal(c->iov[0].iov_base, s->ram + BUF_OFF);
    vn_virtq_push(&s->q, c->head, 0);

    /* A buffer across two entries whose front-end addresses are not adjacent: two iovecs. */
    assert_int_equal(vn_iotlb_update(&t, iova(BUF_OFF + 0x1000), 0x1000,
                                     UVA_BASE + BUF_OFF + 0x8000, VN_IOTLB_PERM_RW),
                     0);
    desc_set(&s->desc[1], iova(BUF_OFF + 0xf00), 0x200, VRING_DESC_F_WRITE, 0);
    post(s, 1);
    assert_int_equal(vn_virtq_pop(&s->q, c), -EACCES); /* BUF_OFF's page is read-only */
    assert_int_equal(vn_virtq_error(&s->q), -EACCES);
    vn_virtq_get_stats(&s->q, &st);
    assert_int_equal(st.invalid_buffer, 1);
    assert_int_equal(sim_set_iotlb(s, &t), 0); /* set up again: the error goes */
    iotlb_map(&t, BUF_OFF, 0x1000, VN_IOTLB_PERM_RW);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->in_num, 2);
    assert_ptr_equal(c->iov[0].iov_base, s->ram + BUF_OFF + 0xf00);
    assert_int_equal(c->iov[0].iov_len, 0x100);
    assert_ptr_equal(c->iov[1].iov_base, s->ram + BUF_OFF + 0x8000);
    assert_int_equal(c->iov[1].iov_len, 0x100);
    vn_virtq_push(&s->q, c->head, 0);

    /* An indirect table at an unmapped IOVA waits too; mapped, it is walked. */
    desc_set(&s->desc[2], iova(BUF_OFF + 0x4000), 2 * sizeof(struct vring_desc),
             VRING_DESC_F_INDIRECT, 0);
    desc_set(&itable(s, 0x4000)[0], iova(BUF_OFF), 10, VRING_DESC_F_NEXT, 1);
    desc_set(&itable(s, 0x4000)[1], iova(BUF_OFF + 0x10), 10, VRING_DESC_F_WRITE, 0);
    post(s, 2);
    assert_int_equal(vn_virtq_pop(&s->q, c), -EAGAIN);
    iotlb_map(&t, BUF_OFF + 0x4000, 0x1000, VN_IOTLB_PERM_RO);
    assert_int_equal(vn_virtq_pop(&s->q, c), 0);
    assert_int_equal(c->out_num, 1);
    assert_int_equal(c->in_num, 1);
    vn_virtq_push(&s->q, c->head, 10);

    /* A buffer whose IOVA maps to a front-end address outside guest memory: a guest error. */
    assert_int_equal(vn_iotlb_update(&t, iova(BUF_OFF + 0x10000), 0x1000, UVA_BASE + RAM_SIZE,
                                     VN_IOTLB_PERM_RW),
                     0);
    desc_set(&s->desc[3], iova(BUF_OFF + 0x10000), 64, 0, 0);
    post(s, 3);
    assert_int_equal(vn_virtq_pop(&s->q, c), -EFAULT);
    assert_true(s->q.iotlb_waits >= 2);
    vn_virtq_stop(&s->q);
    vn_iotlb_fini(&t);
    sim_free(s);
}

/* Without an IOTLB nothing changed: an IOVA-looking address is a guest physical one. */
static void test_iotlb_none(void **state)
{
    struct sim *s = sim_new(8, 0);
    struct vn_vq_chain *c = s->chain;

    assert_null(s->q.iotlb);
    desc_set(&s->desc[0], iova(BUF_OFF), 100, 0, 0);
    post(s, 0);
    assert_int_equal(vn_virtq_pop(&s->q, c), -EFAULT);
    sim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_chain),
        cmocka_unit_test(test_zero_length_descriptors),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_indirect),
        cmocka_unit_test(test_max_chain_equals_size),
        cmocka_unit_test(test_two_regions),
        cmocka_unit_test(test_buffer_wrapping_address_space),
        cmocka_unit_test(test_ring_across_regions),
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_chain_longer_than_size),
        cmocka_unit_test(test_too_many_iovecs),
        cmocka_unit_test(test_address_outside_memory),
        cmocka_unit_test(test_indirect_table_outside_memory),
        cmocka_unit_test(test_readable_after_writable),
        cmocka_unit_test(test_index_out_of_range),
        cmocka_unit_test(test_indirect_misuse),
        cmocka_unit_test(test_avail_idx_jump),
        cmocka_unit_test(test_event_idx),
        cmocka_unit_test(test_event_idx_wraparound),
        cmocka_unit_test(test_no_interrupt),
        cmocka_unit_test(test_set_addrs_validation),
        cmocka_unit_test(test_local_alignment),
        cmocka_unit_test(test_push_batch),
        cmocka_unit_test(test_log_used_ring_and_buffers),
        cmocka_unit_test(test_log_used_batch_wraps),
        cmocka_unit_test(test_log_bounds),
        cmocka_unit_test(test_packed_chain_and_used),
        cmocka_unit_test(test_packed_wrap_counters),
        cmocka_unit_test(test_packed_indirect),
        cmocka_unit_test(test_packed_malicious),
        cmocka_unit_test(test_packed_unpop_and_out_of_order),
        cmocka_unit_test(test_packed_notifications),
        cmocka_unit_test(test_packed_base),
        cmocka_unit_test(test_packed_log),
        cmocka_unit_test(test_suspend_resume),
        cmocka_unit_test(test_unpop),
        cmocka_unit_test(test_not_ready),
        cmocka_unit_test(test_resume_at_used),
        cmocka_unit_test(test_resume_tx_record),
        cmocka_unit_test(test_resume_tx_record_wraps),
        cmocka_unit_test(test_resume_tx_record_untrusted),
        cmocka_unit_test(test_resume_tx_record_bad_head),
        cmocka_unit_test(test_txrec_resolve_one_queue),
        cmocka_unit_test(test_txrec_resolve_several_queues),
        cmocka_unit_test(test_txrec_resolve_without_count),
        cmocka_unit_test(test_txrec_counts_wrap),
        cmocka_unit_test(test_txrec_file_valid),
        cmocka_unit_test(test_iotlb_rings),
        cmocka_unit_test(test_iotlb_buffers),
        cmocka_unit_test(test_iotlb_none),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
