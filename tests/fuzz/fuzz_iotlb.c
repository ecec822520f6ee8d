/*
 * fuzz_iotlb.c - libFuzzer target: the device IOTLB (lib/iotlb.c) against a
 * model, with the values a front-end's IOTLB_MSG and a guest's descriptors
 * can carry (sizes 0 and near 2^64, ranges that wrap, overlapping updates,
 * invalidations of any range, lookups at and across entry edges).
 *
 * Input: records of 26 bytes, at most 1500 (the table never fills: eviction
 * is the unit tests'):
 *   [0] op: & 3 == 0 update, 1 invalidate, 2 translate, 3 translate a range
 *   [1] permission (update: as given, any byte; lookups: & 3)
 *   [2..9] iova, [10..17] size or length, [18..25] uaddr
 *   op & 4: the iova is near the last one (iova % 2^16 + the previous iova),
 *   so records meet at edges; op & 8: the size is small (% 2^13).
 * The model is a plain list of entries.  Checked after each record: an
 * update is refused exactly when the model refuses it; every lookup agrees
 * with the model (error, front-end address, length); lookups one byte
 * before and after the record's range agree too; the table stays sorted
 * and without overlaps, with as many entries as the model.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iotlb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REC 26
#define MAX_RECS 1500

struct model {
    struct vn_iotlb_entry e[MAX_RECS + 1];
    unsigned n;
};

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static int overlaps(const struct vn_iotlb_entry *e, uint64_t first, uint64_t last)
{
    return e->iova <= last && first <= e->iova + (e->size - 1);
}

static void model_remove(struct model *m, uint64_t first, uint64_t last)
{
    unsigned j = 0;

    for (unsigned i = 0; i < m->n; i++)
        if (!overlaps(&m->e[i], first, last))
            m->e[j++] = m->e[i];
    m->n = j;
}

static int model_update(struct model *m, uint64_t iova, uint64_t size, uint64_t uaddr,
                        uint8_t perm)
{
    if (size == 0 || size - 1 > UINT64_MAX - iova || size - 1 > UINT64_MAX - uaddr)
        return -EINVAL;
    if (perm < 1 || perm > 3)
        return -EINVAL;
    model_remove(m, iova, iova + (size - 1));
    m->e[m->n++] = (struct vn_iotlb_entry){ .iova = iova, .size = size, .uaddr = uaddr,
                                             .perm = perm };
    return 0;
}

static int model_translate(const struct model *m, uint64_t iova, uint64_t len, uint8_t perm,
                           uint64_t *uaddr, uint64_t *n)
{
    if (len == 0)
        return -EINVAL;
    for (unsigned i = 0; i < m->n; i++) {
        const struct vn_iotlb_entry *e = &m->e[i];

        if (iova < e->iova || iova - e->iova > e->size - 1)
            continue;
        if ((e->perm & perm) != perm)
            return -EACCES;
        *uaddr = e->uaddr + (iova - e->iova);
        *n = len < e->size - (iova - e->iova) ? len : e->size - (iova - e->iova);
        return 0;
    }
    return -ENOENT;
}

static void check_lookup(struct vn_iotlb *t, const struct model *m, uint64_t iova, uint64_t len,
                         uint8_t perm)
{
    uint64_t u1 = 0, n1 = 0, u2 = 0, n2 = 0;
    int r1 = vn_iotlb_translate(t, iova, len, perm, &u1, &n1);
    int r2 = model_translate(m, iova, len, perm, &u2, &n2);

    if (r1 != r2 || (r1 == 0 && (u1 != u2 || n1 != n2))) {
        fprintf(stderr, "translate 0x%llx+0x%llx perm %u: table %d 0x%llx+0x%llx, model %d "
                        "0x%llx+0x%llx\n",
                (unsigned long long)iova, (unsigned long long)len, perm, r1,
                (unsigned long long)u1, (unsigned long long)n1, r2, (unsigned long long)u2,
                (unsigned long long)n2);
        abort();
    }
}

static void check_table(struct vn_iotlb *t, const struct model *m)
{
    if (t->n != m->n)
        abort();
    for (unsigned i = 0; i < t->n; i++) {
        const struct vn_iotlb_entry *e = &t->entries[i];

        if (e->size == 0 || e->size - 1 > UINT64_MAX - e->iova)
            abort();
        if (i > 0 && t->entries[i - 1].iova + (t->entries[i - 1].size - 1) >= e->iova)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct model m;
    struct vn_iotlb t;
    uint64_t last = 0;
    size_t nrec = size / REC;

    if (nrec > MAX_RECS)
        nrec = MAX_RECS;
    if (vn_iotlb_init(&t, NULL, NULL) < 0)
        return 0;
    m.n = 0;
    for (size_t r = 0; r < nrec; r++) {
        const uint8_t *p = data + r * REC;
        uint8_t op = p[0], perm = p[1];
        uint64_t iova = get_u64(p + 2), sz = get_u64(p + 10), uaddr = get_u64(p + 18);
        struct vn_iotlb_miss misses[VN_IOTLB_MAX_MISSES];
        uint64_t ua;
        int r1, r2;

        if (op & 4)
            iova = last + iova % 65536;
        if (op & 8)
            sz %= 8192;
        switch (op & 3) {
        case 0:
            r1 = vn_iotlb_update(&t, iova, sz, uaddr, perm);
            r2 = model_update(&m, iova, sz, uaddr, perm);
            if (r1 != r2)
                abort();
            break;
        case 1:
            (void)vn_iotlb_invalidate(&t, iova, sz);
            model_remove(&m, iova, sz == 0 || sz - 1 > UINT64_MAX - iova ? UINT64_MAX
                                                                         : iova + (sz - 1));
            break;
        case 2:
            check_lookup(&t, &m, iova, sz, perm & 3);
            break;
        default:
            /* A range: every piece agrees with the model; contiguity is the table's to say. */
            r1 = vn_iotlb_translate_range(&t, iova, sz % 65536, perm & 3, &ua);
            if (r1 == 0) {
                uint64_t a = iova, left = sz % 65536, expect = ua;

                while (left > 0) {
                    uint64_t u, n;

                    if (model_translate(&m, a, left, perm & 3, &u, &n) != 0 || u != expect)
                        abort();
                    expect = u + n;
                    a += n;
                    left -= n;
                }
            }
            break;
        }
        /* The edges of the record's range. */
        check_lookup(&t, &m, iova - 1, 1, VN_IOTLB_PERM_RO);
        check_lookup(&t, &m, iova, 1, VN_IOTLB_PERM_RO);
        if (sz)
            check_lookup(&t, &m, iova + (sz - 1), 2, VN_IOTLB_PERM_WO);
        check_lookup(&t, &m, iova + sz, 1, VN_IOTLB_PERM_RW);
        check_table(&t, &m);
        (void)vn_iotlb_take_misses(&t, misses, VN_IOTLB_MAX_MISSES, NULL);
        last = iova;
    }
    vn_iotlb_fini(&t);
    return 0;
}
