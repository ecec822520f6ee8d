#!/usr/bin/env python3
"""mkseeds.py - writes the seed inputs of fuzz_virtq_packed, fuzz_dirty_log and
the SET_LOG_BASE and IOTLB seeds of fuzz_vhost into tests/fuzz/corpus/NAME/ (run from
anywhere; the seeds are committed, this says how they were made)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GPA = 0x100000
AVAIL, USED = 1 << 7, 1 << 15
NEXT, WRITE, INDIRECT = 1, 2, 4
POP, OLDEST, NEWEST, UNPOP, NOTIFY, ENABLE, DISABLE, EVENT, POKE = range(9)


def put(name, seed, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), "wb") as f:
        f.write(data)


def desc(addr, length, id_, flags):
    return struct.pack("<QIHH", addr, length, id_, flags)


def packed(qbits, feats, start, base, script, ring, extra=()):
    """feats: 1 EVENT_IDX, 2 INDIRECT, 4 log (+ size index << 3, 0x40 unaligned)."""
    mem = bytearray(64 * 1024)
    for i, d in enumerate(ring):
        mem[16 * i:16 * i + 16] = d
    for off, b in extra:
        mem[off:off + len(b)] = b
    script = (script + [POP] * 64)[:64]
    # Guest memory past the input is zero: trailing zeros need not be stored.
    return (bytes([qbits, feats]) + struct.pack("<HH", start, base) + bytes(script) +
            bytes(mem).rstrip(b"\0"))


# Wrap counter 1 (a fresh ring): available = AVAIL set, USED clear.
ok = [desc(GPA + 0x2000, 64, 1, AVAIL | NEXT), desc(GPA + 0x3000, 128, 1, AVAIL | WRITE),
      desc(GPA + 0x5000, 32, 2, AVAIL | INDIRECT), desc(GPA + 0x6000, 1500, 3, AVAIL | WRITE)]
table = desc(GPA + 0x7000, 14, 0, 0) + desc(GPA + 0x7100, 2048, 0, WRITE)
event = (4096, struct.pack("<HH", 1 | 1 << 15, 2))  # the driver's off_wrap, DESC
script = [POP, POP, OLDEST, NOTIFY, POP, NEWEST, ENABLE, EVENT, POP, UNPOP, POP, OLDEST,
          NOTIFY, DISABLE, POKE, POP, OLDEST, NOTIFY]
put("fuzz_virtq_packed", "chains_indirect_log",
    packed(3, 1 | 2 | 4 | (3 << 3), 0, 0x8001, script, ok, [(0x5000, table), event]))
put("fuzz_virtq_packed", "log_unaligned_edge",
    packed(2, 2 | 4 | (2 << 3) | 0x40, 0, 2, script, ok, [(0x5000, table)]))
# The device's index near 2^16 and in the second lap (wrap counter 0: AVAIL clear, USED set).
put("fuzz_virtq_packed", "wrap0_u16_edge",
    packed(2, 1, 0xfffc, 0x0003,
           [POP, OLDEST, POP, OLDEST, NOTIFY, POP, NEWEST, NOTIFY] * 4,
           [desc(GPA + 0x2000, 64, i, USED | WRITE) for i in range(4)]))
# Malicious drivers: a NEXT loop over the whole ring, a wrong wrap counter,
# an address outside guest memory, an indirect table inside one, an indirect
# table without INDIRECT_DESC, a table of a bad length.
put("fuzz_virtq_packed", "bad_loop",
    packed(2, 0, 0, 0, [POP, POP], [desc(GPA + 0x2000, 8, 0, AVAIL | NEXT)] * 4))
put("fuzz_virtq_packed", "bad_wrap",
    packed(2, 0, 4, 0, [POP, POKE, POP], [desc(GPA + 0x2000, 8, 0, AVAIL)] * 4))
put("fuzz_virtq_packed", "bad_addr",
    packed(2, 0, 0, 0, [POP, OLDEST, POP], [desc(GPA + 0xfff0, 32, 0, AVAIL),
                                           desc(0xffffffffffff0000, 16, 1, AVAIL)]))
put("fuzz_virtq_packed", "bad_nested_indirect",
    packed(3, 2, 0, 0, [POP], [desc(GPA + 0x5000, 16, 0, AVAIL | INDIRECT)],
           [(0x5000, desc(GPA + 0x5000, 16, 0, INDIRECT))]))
put("fuzz_virtq_packed", "bad_indirect_len",
    packed(3, 2, 0, 0, [POP], [desc(GPA + 0x5000, 24, 0, AVAIL | INDIRECT)]))
put("fuzz_virtq_packed", "bad_indirect_unnegotiated",
    packed(3, 0, 0, 0, [POP], [desc(GPA + 0x5000, 32, 0, AVAIL | INDIRECT)], [(0x5000, table)]))


def dlog(fsize, size, off, second=None, recs=()):
    b = struct.pack("<HQQ", fsize, size, off)
    b += bytes([1 if second else 0]) + struct.pack("<QQ", *(second or (0, 0)))
    for kind, a, n in recs:
        b += bytes([kind]) + struct.pack("<QQ", a, n)
    return b


edges = [(0, 0, 4096), (0, 4095, 2), (0, 8 * 4096 * 34 - 1, 1), (0, 8 * 4096 * 34, 4096),
         (0, 2 ** 64 - 4096, 8192), (1, 0, 4096), (1, 65535, 2), (1, 65536 - 10, 100)]
put("fuzz_dirty_log", "edges", dlog(8192, 34, 4093, None, edges))
put("fuzz_dirty_log", "exact_file", dlog(4096, 4096, 0, (4097, 0), edges))
put("fuzz_dirty_log", "past_end", dlog(4096, 4096, 1, (1, 4095), edges))
put("fuzz_dirty_log", "overflow", dlog(12288, 16, 2 ** 64 - 8, (2 ** 30 + 1, 0), edges))
put("fuzz_dirty_log", "empty", dlog(4096, 0, 0, (16, 4080), edges))


def rec(req, payload=b"", fds=0):
    return bytes([fds]) + struct.pack("<III", req, 1, len(payload)) + payload


hello = (rec(1) + rec(2, struct.pack("<Q", 1 << 30 | 1 << 32 | 1 << 26)) + rec(3) +
         rec(15) + rec(16, struct.pack("<Q", 1 << 1)))
for name, size, off in [("log_base_ok", 65536, 0), ("log_base_last_byte", 1, 65535),
                        ("log_base_past_end", 65536, 1), ("log_base_empty", 0, 0),
                        ("log_base_overflow", 2 ** 64 - 1, 2), ("log_base_huge", 2 ** 30 + 1, 0)]:
    put("fuzz_vhost", name, hello + rec(6, struct.pack("<QQ", size, off), 0x81) + rec(7, b"", 1))

# IOMMU_PLATFORM: the back-end channel, a memory table, IOTLB updates (good, outside the
# table, wrapping, a bad permission), an invalidation, then rings at IOVAs.
hello_iommu = (rec(1) + rec(15) + rec(16, struct.pack("<Q", 1 << 3 | 1 << 5)) + rec(21, b"", 1) +
               rec(3) + rec(2, struct.pack("<Q", 1 << 30 | 1 << 32 | 1 << 33)) +
               rec(5, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", GPA, 65536, 0x7f0000000000, 0),
                   0x81))


def iotlb(iova, size, uaddr, perm, typ):
    return rec(22, struct.pack("<QQQBB6x", iova, size, uaddr, perm, typ))


ring_at_iova = (rec(8, struct.pack("<II", 0, 8)) +
                rec(9, struct.pack("<IIQQQQ", 0, 0, 0x10000000, 0x10002000, 0x10001000, 0)) +
                rec(12, struct.pack("<Q", 0), 1))
put("fuzz_vhost", "iotlb_good", hello_iommu + iotlb(0x10000000, 0x4000, 0x7f0000000000, 3, 2) +
    ring_at_iova + iotlb(0x10001000, 0x1000, 0, 0, 3) + iotlb(0x10001000, 0x1000, 0x7f0000001000, 1, 2))
put("fuzz_vhost", "iotlb_outside", hello_iommu + iotlb(0x10000000, 0x1000, 0x7f0000010000, 3, 2))
put("fuzz_vhost", "iotlb_wrap", hello_iommu + iotlb(2 ** 64 - 4096, 8192, 0x7f0000000000, 3, 2))
put("fuzz_vhost", "iotlb_perm", hello_iommu + iotlb(0x10000000, 0x1000, 0x7f0000000000, 9, 2))
put("fuzz_vhost", "iotlb_miss_from_frontend", hello_iommu + iotlb(0x10000000, 0, 0, 1, 1))
