#!/usr/bin/env python3
"""vhost_peer.py - a scripted vhost-user front-end (the QEMU / virtio-user side)
for the protocol tests (tests/functional/vhost_proto.sh).

It speaks the wire protocol itself (QEMU docs/interop/vhost-user.rst), shares
a memfd as "guest memory", lays out split rings in it and plays the virtio
driver: it posts transmit frames and receive buffers, kicks, and watches the
used rings and the call eventfds.  Each scenario either behaves (to check the
device works) or breaks one rule on purpose (to check the controller closes
that connection only).  It prints one JSON object with what it saw and exits
0 when the back-end reacted as expected, 1 otherwise.

    vhost_peer.py SOCKET SCENARIO [--frames N] [--gap-ms MS] [--ifname REP]

Scenarios: see SCENARIOS at the bottom.
"""
import json
import mmap
import os
import select
import socket
import struct
import sys
import time

# Requests (vhost-user.rst numbering).
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18
NET_SET_MTU, GET_MAX_MEM_SLOTS, ADD_MEM_REG, SET_STATUS, GET_STATUS = 20, 36, 37, 39, 40
GET_INFLIGHT_FD, SET_INFLIGHT_FD = 31, 32
SET_LOG_BASE, SET_LOG_FD, SEND_RARP = 6, 7, 19
SET_BACKEND_REQ_FD, IOTLB_MSG = 21, 22
BACKEND_IOTLB_MSG = 1  # back-end request, on the SET_BACKEND_REQ_FD channel

VERSION, F_REPLY, F_NEED_REPLY = 0x1, 0x4, 0x8
F_PROTOCOL_FEATURES = 1 << 30
PF_MQ, PF_REPLY_ACK, PF_NET_MTU, PF_STATUS = 1 << 0, 1 << 3, 1 << 4, 1 << 16
PF_INFLIGHT_SHMFD = 1 << 12
PF_LOG_SHMFD, PF_RARP = 1 << 1, 1 << 2
F_LOG_ALL = 1 << 26
PF_BACKEND_REQ = 1 << 5
IOMMU_PLATFORM = 1 << 33
IOTLB_MISS, IOTLB_UPDATE, IOTLB_INVALIDATE = 1, 2, 3
ACCESS_RO, ACCESS_WO, ACCESS_RW = 1, 2, 3
VRING_F_LOG = 1
VRING_NOFD = 1 << 8

# Virtio bits.
VERSION_1, MRG_RXBUF, EVENT_IDX, INDIRECT = 1 << 32, 1 << 15, 1 << 29, 1 << 28
DESC_F_NEXT, DESC_F_WRITE = 1, 2
STATUS_DRIVER_OK, STATUS_NEEDS_RESET = 4, 0x40

# Guest memory: one memfd region, guest and front-end addresses that differ.
MEM_SIZE = 4 << 20
GPA_BASE = 0x40000000
UVA_BASE = 0x7F0000000000
QSIZE = 256
HDR_LEN = 12
BUF_SIZE = 2048
TIMEOUT = 5.0


class Closed(Exception):
    """The back-end closed the connection."""


class Peer:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.memfd = os.memfd_create("guest", 0)
        os.ftruncate(self.memfd, MEM_SIZE)
        self.mem = mmap.mmap(self.memfd, MEM_SIZE)
        self.kick = {}
        self.call = {}
        self.err = {}
        self.avail_idx = {0: 0, 1: 0}
        self.used_seen = {0: 0, 1: 0}
        self.next_buf = {0: 0, 1: 0}
        # What descriptors and SET_VRING_ADDR carry: guest physical / front-end addresses,
        # or IOVAs with IOMMU_PLATFORM (iommu_setup()).
        self.addr_base = GPA_BASE
        self.ring_base = UVA_BASE
        self.backend = None  # our end of the back-end request channel

    # ---- wire ---------------------------------------------------------------
    def send(self, req, payload=b"", fds=(), flags=VERSION, size=None):
        hdr = struct.pack("<III", req, flags, len(payload) if size is None else size)
        try:
            if fds:
                socket.send_fds(self.sock, [hdr + payload], list(fds))
            else:
                self.sock.sendall(hdr + payload)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed() from e

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError as e:
                raise Closed() from e
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def reply(self, req):
        r, flags, size = struct.unpack("<III", self.recv_exact(12))
        if r != req or not flags & F_REPLY:
            raise RuntimeError(f"reply to {r} flags {flags:#x}, expected {req}")
        return self.recv_exact(size)

    def call_u64(self, req):
        self.send(req)
        return struct.unpack("<Q", self.reply(req))[0]

    def send_u64(self, req, v, ack=False):
        self.send(req, struct.pack("<Q", v), flags=VERSION | (F_NEED_REPLY if ack else 0))
        if ack:
            return struct.unpack("<Q", self.reply(req))[0]
        return None

    def state(self, req, index, num):
        self.send(req, struct.pack("<II", index, num))

    def closed_by_peer(self, wait=TIMEOUT):
        """True when the back-end closes the connection within 'wait' seconds."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(TIMEOUT)
        return data == b""

    # ---- memory and rings -----------------------------------------------------
    def desc_off(self, q):
        return q * 0x10000

    def avail_off(self, q):
        return q * 0x10000 + 0x4000

    def used_off(self, q):
        return q * 0x10000 + 0x8000

    def buf_off(self, q, i):
        return 0x100000 + q * QSIZE * BUF_SIZE + (i % QSIZE) * BUF_SIZE

    def mem_table(self, regions=None):
        regions = regions or [(GPA_BASE, MEM_SIZE, UVA_BASE, 0)]
        payload = struct.pack("<II", len(regions), 0)
        for r in regions:
            payload += struct.pack("<QQQQ", *r)
        self.send(SET_MEM_TABLE, payload, fds=[self.memfd] * len(regions))

    def setup(self, features=VERSION_1 | MRG_RXBUF | F_PROTOCOL_FEATURES, queues=(0, 1), mtu=None,
              call=True, extra_pf=0, backend_fd=None):
        offered = self.call_u64(GET_FEATURES)
        if backend_fd is None:
            self.send(SET_OWNER)
        pf = self.call_u64(GET_PROTOCOL_FEATURES)
        self.offered_pf = pf
        want = pf & (PF_MQ | PF_REPLY_ACK | PF_NET_MTU | PF_STATUS | PF_INFLIGHT_SHMFD | extra_pf)
        self.send_u64(SET_PROTOCOL_FEATURES, want)
        if backend_fd is not None:
            # QEMU's order: the back-end channel right after the protocol features, acked,
            # then SET_OWNER.
            if want & PF_BACKEND_REQ:
                self.send(SET_BACKEND_REQ_FD, b"", fds=[backend_fd], flags=VERSION | F_NEED_REPLY)
                self.last_backend_ack = struct.unpack("<Q", self.reply(SET_BACKEND_REQ_FD))[0]
            self.send(SET_OWNER)
        self.pairs = self.call_u64(GET_QUEUE_NUM)
        self.features = features & offered
        self.send_u64(SET_FEATURES, self.features, ack=True)
        if mtu is not None:
            self.last_ack = self.send_u64(NET_SET_MTU, mtu, ack=True)
        self.mem_table()
        for q in queues:
            self.ring_setup(q, call=call)
        if want & PF_STATUS:
            self.send_u64(SET_STATUS, 0xF)  # ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK
        return offered

    def ring_setup(self, q, call=True):
        self.state(SET_VRING_NUM, q, QSIZE)
        self.state(SET_VRING_BASE, q, 0)
        self.send(SET_VRING_ADDR, struct.pack("<IIQQQQ", q, 0, self.ring_base + self.desc_off(q),
                                              self.ring_base + self.used_off(q),
                                              self.ring_base + self.avail_off(q), 0))
        self.kick[q] = os.eventfd(0, os.EFD_NONBLOCK)
        self.send(SET_VRING_KICK, struct.pack("<Q", q), fds=[self.kick[q]])
        if call:
            self.call[q] = os.eventfd(0, os.EFD_NONBLOCK)
            self.send(SET_VRING_CALL, struct.pack("<Q", q), fds=[self.call[q]])
        self.err[q] = os.eventfd(0, os.EFD_NONBLOCK)
        self.send(SET_VRING_ERR, struct.pack("<Q", q), fds=[self.err[q]])
        self.state(SET_VRING_ENABLE, q, 1)

    def set_desc(self, q, i, addr, length, flags, nxt=0):
        struct.pack_into("<QIHH", self.mem, self.desc_off(q) + 16 * i, addr, length, flags, nxt)

    def publish(self, q, head):
        a = self.avail_off(q)
        self.store16(a + 4 + 2 * (self.avail_idx[q] % QSIZE), head)
        self.avail_idx[q] = (self.avail_idx[q] + 1) & 0xFFFF
        self.store16(a + 2, self.avail_idx[q])

    def store16(self, off, v):
        """One 2-byte store, as a driver publishes an index.  Not struct.pack_into():
        it zeroes its target before writing the bytes, and the back-end, reading
        the ring at the same time, could see the index go back to 0."""
        self.mem[off:off + 2] = struct.pack("<H", v)

    def do_kick(self, q):
        os.eventfd_write(self.kick[q], 1)

    def used_idx(self, q):
        return struct.unpack_from("<H", self.mem, self.used_off(q) + 2)[0]

    def used_elem(self, q, i):
        return struct.unpack_from("<II", self.mem, self.used_off(q) + 4 + 8 * (i % QSIZE))

    def has_used(self, q, n):
        """True when at least 'n' used entries are there now (no wait)."""
        return ((self.used_idx(q) - self.used_seen[q]) & 0xFFFF) >= n

    def wait_used(self, q, n, wait=TIMEOUT):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if ((self.used_idx(q) - self.used_seen[q]) & 0xFFFF) >= n:
                return True
            time.sleep(0.001)
        return False

    def irqs(self, q):
        """Interrupts since the last call: the call eventfd's counter."""
        try:
            return os.eventfd_read(self.call[q])
        except BlockingIOError:
            return 0

    def send_frame(self, size=60, kick=True):
        """Posts one transmit frame (header + 'size' bytes) on ring 1."""
        i = self.next_buf[1]
        self.next_buf[1] += 1
        off = self.buf_off(1, i)
        frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x99" + b"\x88\xb5" + bytes(size - 14)
        self.mem[off:off + HDR_LEN + size] = bytes(HDR_LEN) + frame
        self.set_desc(1, i % QSIZE, self.addr_base + off, HDR_LEN + size, 0)
        self.publish(1, i % QSIZE)
        if kick:
            self.do_kick(1)

    def post_rx(self, n, size=BUF_SIZE):
        for _ in range(n):
            i = self.next_buf[0]
            self.next_buf[0] += 1
            self.set_desc(0, i % QSIZE, self.addr_base + self.buf_off(0, i), size, DESC_F_WRITE)
            self.publish(0, i % QSIZE)
        self.do_kick(0)

    def status(self):
        return self.call_u64(GET_STATUS)

    def wait_needs_reset(self):
        """The device status once it has NEEDS_RESET, or the last one read by TIMEOUT."""
        deadline = time.monotonic() + TIMEOUT
        status = self.status()
        while not status & STATUS_NEEDS_RESET and time.monotonic() < deadline:
            time.sleep(0.01)
            status = self.status()
        return status


def inject(ifname, size):
    """Sends one frame out of the representor, which the back-end delivers to ring 0."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    frame = b"\x02\x00\x00\x00\x00\x98" + b"\x02\x00\x00\x00\x00\x97" + b"\x88\xb5"
    s.send(frame + bytes(size - len(frame)))
    s.close()


# ---- scenarios -------------------------------------------------------------------
# Each returns a dict of results; "ok" tells whether the back-end did what it should.

def sc_good(p, args):
    """Full set-up, transmit frames, read them back as used, stop the rings."""
    offered = p.setup(mtu=args.mtu)
    for _ in range(args.frames):
        p.send_frame()
    used = p.wait_used(1, args.frames)
    p.send(GET_VRING_BASE, struct.pack("<II", 1, 0))
    base = struct.unpack("<II", p.reply(GET_VRING_BASE))[1]
    return {"ok": used and base == args.frames, "offered": hex(offered), "pairs": p.pairs,
            "tx_avail": p.avail_idx[1], "tx_used": p.used_idx(1), "tx_base": base,
            "status": p.status() if p.features & F_PROTOCOL_FEATURES else None}


def sc_rx(p, args):
    """Receive: frames sent out of the representor land in posted buffers."""
    p.setup(features=VERSION_1 | MRG_RXBUF | F_PROTOCOL_FEATURES)
    # Small buffers: a frame of 'size' bytes needs several (num_buffers > 1).
    p.post_rx(128, size=args.rx_buf)
    time.sleep(0.05)
    for _ in range(args.frames):
        inject(args.ifname, args.size)
    need = (HDR_LEN + args.size + args.rx_buf - 1) // args.rx_buf
    # Walk the used ring frame by frame (num_buffers entries each); count ours by ethertype.
    deadline = time.monotonic() + TIMEOUT
    ours, bad, i = 0, [], 0
    while ours < args.frames and time.monotonic() < deadline:
        if p.used_idx(0) == i:
            time.sleep(0.001)
            continue
        head, _ = p.used_elem(0, i)
        off = p.buf_off(0, head)
        nb = struct.unpack_from("<H", p.mem, off + 10)[0]
        if nb < 1 or not p.wait_used(0, i + nb, 1.0):
            bad.append({"at": i, "num_buffers": nb})
            break
        total = sum(p.used_elem(0, i + k)[1] for k in range(nb))
        if p.mem[off + HDR_LEN + 12:off + HDR_LEN + 14] == b"\x88\xb5":
            ours += 1
            if nb != need or total != HDR_LEN + args.size:
                bad.append({"at": i, "num_buffers": nb, "bytes": total})
        i += nb
    return {"ok": ours == args.frames and not bad, "frames": ours, "expected_buffers": need,
            "used": p.used_idx(0), "bad": bad}


# ---- live migration: the dirty-page log -------------------------------------------

LOG_PAGE = 4096
# One bit per 4 KiB page of guest physical memory, up to the end of our region.
LOG_SIZE = ((GPA_BASE + MEM_SIZE) // LOG_PAGE + 7) // 8


def log_fd(size=LOG_SIZE, file_size=None):
    fd = os.memfd_create("vhost-log", 0)
    os.ftruncate(fd, size if file_size is None else file_size)
    return fd


def set_log_base(p, fd, size=LOG_SIZE, offset=0):
    """SET_LOG_BASE (LOG_SHMFD): the back-end answers with an empty reply."""
    p.send(SET_LOG_BASE, struct.pack("<QQ", size, offset), fds=[fd])
    return p.reply(SET_LOG_BASE)


def log_pages(log):
    """Guest physical pages whose bits are set."""
    pages = set()
    for i, b in enumerate(bytes(log)):
        if b:
            pages.update(i * 8 + k for k in range(8) if b & (1 << k))
    return pages


def page_of(off):
    return (GPA_BASE + off) // LOG_PAGE


def log_start(p):
    """Set-up, then logging on as QEMU turns it on: SET_LOG_BASE, SET_FEATURES
    with LOG_ALL, SET_VRING_ADDR with the LOG flag.  Returns the log's mapping,
    SET_LOG_BASE's reply and None, or an error result."""
    offered = p.setup(extra_pf=PF_LOG_SHMFD)
    if not offered & F_LOG_ALL or not p.offered_pf & PF_LOG_SHMFD:
        return None, None, {"ok": False, "error": "LOG_ALL / LOG_SHMFD not offered",
                            "offered": hex(offered)}
    fd = log_fd()
    log = mmap.mmap(fd, LOG_SIZE)
    reply = set_log_base(p, fd)
    os.close(fd)
    p.features |= F_LOG_ALL
    p.send_u64(SET_FEATURES, p.features, ack=True)
    for q in (0, 1):
        p.send(SET_VRING_ADDR, struct.pack("<IIQQQQ", q, VRING_F_LOG, UVA_BASE + p.desc_off(q),
                                           UVA_BASE + p.used_off(q), UVA_BASE + p.avail_off(q),
                                           GPA_BASE + p.used_off(q)))
    return log, reply, None


def log_round(p, log, ifname, n, size):
    """Clears the log, has 'n' frames received and 'n' sent; returns (both used,
    receive-buffer pages not marked, used-ring pages not marked, pages marked)."""
    log[:] = bytes(LOG_SIZE)
    p.used_seen = {0: p.used_idx(0), 1: p.used_idx(1)}
    first = p.next_buf[0]
    p.post_rx(n)
    time.sleep(0.05)
    for _ in range(n):
        inject(ifname, size)
        p.send_frame()
    used = p.wait_used(0, n) and p.wait_used(1, n)
    pages = log_pages(log)
    rx_pages = {page_of(p.buf_off(0, i)) for i in range(first, first + n)}
    used_pages = {page_of(p.used_off(0)), page_of(p.used_off(1))}
    return used, sorted(rx_pages - pages), sorted(used_pages - pages), len(pages)


def sc_log_update(p, args):
    """A live update of the controller while logging is on (a migration in
    progress): frames flow and are logged; the peer prints {"logging": true}
    and waits for a line on stdin (the test runs `virtnet update -s -w`
    meanwhile); then, over the same connection, the new process must log
    every receive buffer and used ring it writes, with nothing set up again."""
    log, _, err = log_start(p)
    if err:
        return err
    before = log_round(p, log, args.ifname, args.frames, args.size)
    print(json.dumps({"logging": True, "before": before[0] and not before[1] and not before[2]}),
          flush=True)
    sys.stdin.readline()
    used, missing_rx, missing_used, marked = log_round(p, log, args.ifname, args.frames, args.size)
    ok = before[0] and not before[1] and not before[2] and used and not missing_rx and not missing_used
    return {"ok": ok, "before_update": {"used": before[0], "missing_rx": before[1],
                                        "missing_used": before[2], "pages_marked": before[3]},
            "used": used, "missing_rx": missing_rx, "missing_used": missing_used,
            "pages_marked": marked}


def sc_stream(p, args):
    """Throughput of the back-end's datapath with dirty logging off or on (--log),
    for bench/migrate_bench.sh: a driver that costs next to nothing per frame.
    Every descriptor of the ring is a fixed buffer (tx: a frame of --size bytes
    for the representor; rx: a 2 KiB receive buffer) and avail slot i always
    names descriptor i, so the driver only moves the avail index to the used
    index + the ring size and kicks: the ring stays full and all the per-frame
    work is the back-end's (pop, copy to or from the tap, used ring, and with
    --log the dirty bits of the used ring and of every receive buffer).  Rx
    frames come from outside (bench/dp_floor source into the representor).
    Runs --seconds and reports the frames the back-end completed per second;
    --idle-us: sleep that long when the ring did not move (rx: the source
    shares the CPU)."""
    q = 0 if args.dir == "rx" else 1
    if args.log:
        log, _, err = log_start(p)
        if err:
            return err
    else:
        p.setup()
    frame = b"\x02\x00\x00\x00\x00\x98" + b"\x02\x00\x00\x00\x00\x97" + b"\x88\xb5"
    frame += bytes(args.size - len(frame))
    a = p.avail_off(q)
    for i in range(QSIZE):
        off = p.buf_off(q, i)
        if q == 1:
            p.mem[off:off + HDR_LEN + args.size] = bytes(HDR_LEN) + frame
            p.set_desc(1, i, GPA_BASE + off, HDR_LEN + args.size, 0)
        else:
            p.set_desc(0, i, GPA_BASE + off, BUF_SIZE, DESC_F_WRITE)
        p.store16(a + 4 + 2 * i, i)
    # A round trip: every request before it (the rings' last restart) has been handled, so
    # the kick below reaches the running ring.
    p.call_u64(GET_FEATURES)
    last = p.used_idx(q)
    p.store16(a + 2, (last + QSIZE) & 0xFFFF)
    p.do_kick(q)
    done, out_of_order, polls, idle = 0, 0, 0, 0
    start = time.monotonic()
    next_clear = start + 0.1
    end = start + args.seconds
    now = start
    while now < end:
        u = p.used_idx(q)
        if u != last:
            n = (u - last) & 0xFFFF
            # Completion in order is what reusing descriptor i in slot i relies on.
            if p.used_elem(q, (u - 1) & 0xFFFF)[0] != (u - 1) % QSIZE:
                out_of_order += 1
            done += n
            last = u
            p.store16(a + 2, (u + QSIZE) & 0xFFFF)
            p.do_kick(q)
            idle = 0
        else:
            idle += 1
            if idle % 1024 == 0:
                p.do_kick(q)  # a kick the device may have missed: never wait on it
            if args.idle_us:
                time.sleep(args.idle_us / 1e6)  # leave the CPU to a source sharing it
        polls += 1
        if polls % 64 == 0:
            now = time.monotonic()
            # As QEMU's dirty-bitmap sync does, on its own CPU: the bits are cleared
            # (10 times a second) and the back-end sets them again.
            if args.log and now >= next_clear:
                log[:] = bytes(LOG_SIZE)
                next_clear = now + 0.1
    elapsed = time.monotonic() - start
    res = {"ok": done > 0 and out_of_order == 0, "dir": args.dir, "log": bool(args.log),
           "size": args.size, "frames": done, "seconds": round(elapsed, 3),
           "mpps": round(done / elapsed / 1e6, 4), "out_of_order": out_of_order}
    return res


def sc_log(p, args):
    """Dirty logging as QEMU drives it during a migration: SET_LOG_BASE, then
    SET_FEATURES with LOG_ALL, then SET_VRING_ADDR with the LOG flag, while
    frames flow both ways; every page the back-end wrote (receive buffers, both
    used rings) is marked, the transmit buffers (only read) are not; with
    LOG_ALL off again nothing more is marked."""
    log, reply, err = log_start(p)
    if err:
        return err
    n = args.frames
    p.post_rx(n)
    time.sleep(0.05)
    for _ in range(n):
        inject(args.ifname, args.size)
        p.send_frame()
    rx_used = p.wait_used(0, n)
    tx_used = p.wait_used(1, n)
    pages = log_pages(log)
    rx_pages = {page_of(p.buf_off(0, i)) for i in range(n)}
    tx_pages = {page_of(p.buf_off(1, i)) for i in range(n)}
    used_pages = {page_of(p.used_off(0)), page_of(p.used_off(1))}
    missing_rx = sorted(rx_pages - pages)
    missing_used = sorted(used_pages - pages)
    extra_tx = sorted(tx_pages & pages)
    # Logging off: clear the bitmap (as QEMU's sync does), more traffic, nothing marked.
    p.features &= ~F_LOG_ALL
    p.send_u64(SET_FEATURES, p.features, ack=True)
    log[:] = bytes(LOG_SIZE)
    p.used_seen = {0: p.used_idx(0), 1: p.used_idx(1)}
    p.post_rx(n)
    time.sleep(0.05)
    for _ in range(n):
        inject(args.ifname, args.size)
    after_off = p.wait_used(0, n)
    marked_off = len(log_pages(log))
    ok = (reply == b"" and rx_used and tx_used and after_off and not missing_rx and
          not missing_used and not extra_tx and marked_off == 0)
    return {"ok": ok, "reply_size": len(reply), "rx_used": rx_used, "tx_used": tx_used,
            "pages_marked": len(pages), "missing_rx": missing_rx, "missing_used": missing_used,
            "tx_pages_marked": extra_tx, "marked_with_logging_off": marked_off}


def sc_log_bad(p, args):
    """SET_LOG_BASE whose region lies past the end of its file (--size 1: offset
    past the end; --size 2: without LOG_SHMFD; else: size past the end)."""
    p.setup(extra_pf=PF_LOG_SHMFD if args.size != 2 else 0)
    fd = log_fd(file_size=4096)
    size, off = (LOG_SIZE, 0) if args.size not in (1,) else (4096, 8192)
    try:
        p.send(SET_LOG_BASE, struct.pack("<QQ", size, off), fds=[fd])
    finally:
        os.close(fd)
    return {"ok": p.closed_by_peer()}


def sc_rarp(p, args):
    """SEND_RARP (PROTOCOL_F_RARP): a RARP frame from the given MAC comes out of
    the representor."""
    mac = bytes.fromhex(args.mac.replace(":", ""))
    p.setup(extra_pf=PF_RARP)
    if not p.offered_pf & PF_RARP:
        return {"ok": False, "error": "RARP not offered"}
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x8035))
    s.bind((args.ifname, 0))
    s.settimeout(0.2)
    p.send(SEND_RARP, mac + bytes(2))
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            f = s.recv(2048)
        except socket.timeout:
            continue
        if f[12:14] == b"\x80\x35" and f[6:12] == mac and f[22:28] == mac and f[20:22] == b"\x00\x03":
            return {"ok": True, "len": len(f)}
    return {"ok": False, "error": "no RARP frame on the representor"}


def sc_irq(p, args):
    """Transmit frames one kick at a time; count the interrupts the back-end sends."""
    p.setup()
    p.irqs(1)
    for _ in range(args.frames):
        p.send_frame()
        time.sleep(args.gap_ms / 1000.0)
    used = p.wait_used(1, args.frames)
    time.sleep(0.3)  # a coalesced interrupt may still be due
    return {"ok": used, "interrupts": p.irqs(1), "frames": args.frames}


def sc_bad_size(p, args):
    """SET_FEATURES with a 4-byte payload."""
    p.call_u64(GET_FEATURES)
    p.send(SET_OWNER)
    p.send(SET_FEATURES, struct.pack("<I", 1))
    return {"ok": p.closed_by_peer()}


def sc_too_many_fds(p, args):
    """SET_VRING_KICK carrying two fds."""
    p.send(SET_OWNER)
    a, b = os.eventfd(0), os.eventfd(0)
    p.send(SET_VRING_KICK, struct.pack("<Q", 0), fds=[a, b])
    return {"ok": p.closed_by_peer()}


def sc_way_too_many_fds(p, args):
    """SET_MEM_TABLE with more fds than any message may carry (12)."""
    p.send(SET_OWNER)
    fds = [os.eventfd(0) for _ in range(12)]
    payload = struct.pack("<II", 1, 0) + struct.pack("<QQQQ", GPA_BASE, MEM_SIZE, UVA_BASE, 0)
    try:
        p.send(SET_MEM_TABLE, payload, fds=fds)
    except OSError:
        pass
    return {"ok": p.closed_by_peer()}


def sc_inflight(p, args):
    """INFLIGHT_SHMFD: the back-end hands out a region (split layout, nothing in
    flight) and takes it back with SET_INFLIGHT_FD, as after a reconnect."""
    p.setup()
    if not p.call_u64(GET_PROTOCOL_FEATURES) & PF_INFLIGHT_SHMFD:
        return {"ok": False, "error": "INFLIGHT_SHMFD not offered"}
    p.send(GET_INFLIGHT_FD, struct.pack("<QQHH4x", 0, 0, 2, QSIZE))
    # The fd comes with the header's first byte: header and payload in one recvmsg().
    data, fds, _, _ = socket.recv_fds(p.sock, 12 + 24, 1)
    r, _, size = struct.unpack_from("<III", data)
    msg = data[12:] + p.recv_exact(12 + size - len(data)) if len(data) < 12 + size else data[12:]
    if r != GET_INFLIGHT_FD or len(fds) != 1 or len(msg) != 24:
        return {"ok": False, "error": f"reply {r}, {len(fds)} fds, {len(msg)} bytes"}
    mmap_size, offset, nq, qs = struct.unpack("<QQHH4x", msg)
    region = mmap.mmap(fds[0], mmap_size)
    version, desc_num = struct.unpack_from("<HH", region, 8)
    per_queue = mmap_size // nq
    version2, desc_num2 = struct.unpack_from("<HH", region, per_queue + 8)
    empty = all(b == 0 for b in region[16:16 + 16 * qs])
    p.send(SET_INFLIGHT_FD, struct.pack("<QQHH4x", mmap_size, offset, nq, qs), fds=[fds[0]],
           flags=VERSION | F_NEED_REPLY)
    set_ack = struct.unpack("<Q", p.reply(SET_INFLIGHT_FD))[0]
    # Then a region too small for what it claims: refused, that connection closed.
    p.send(SET_INFLIGHT_FD, struct.pack("<QQHH4x", 64, 0, 2, QSIZE), fds=[fds[0]],
           flags=VERSION | F_NEED_REPLY)
    bad_ack = struct.unpack("<Q", p.reply(SET_INFLIGHT_FD))[0]
    return {"ok": nq == 2 and qs == QSIZE and offset == 0 and mmap_size >= 2 * (16 + 16 * QSIZE)
            and version == 1 and desc_num == QSIZE and version2 == 1 and desc_num2 == QSIZE
            and empty and set_ack == 0 and bad_ack != 0 and p.closed_by_peer(),
            "mmap_size": mmap_size, "set_ack": set_ack, "bad_ack": bad_ack}


def sc_inflight_geometry(p, args):
    """GET_INFLIGHT_FD for --nq queues of --qs descriptors; --expect accept: a
    region comes back with its fd, sized for what was asked; --expect refuse:
    no region, the back-end closes that connection."""
    p.setup()
    if not p.call_u64(GET_PROTOCOL_FEATURES) & PF_INFLIGHT_SHMFD:
        return {"ok": False, "error": "INFLIGHT_SHMFD not offered"}
    p.send(GET_INFLIGHT_FD, struct.pack("<QQHH4x", 0, 0, args.nq, args.qs))
    p.sock.settimeout(TIMEOUT)
    try:
        data, fds, _, _ = socket.recv_fds(p.sock, 12 + 24, 1)
    except ConnectionResetError:
        data, fds = b"", []
    except socket.timeout:
        return {"ok": False, "error": "neither a reply nor a close"}
    res = {"nq": args.nq, "qs": args.qs}
    if not data:
        res["outcome"] = "refuse"
    else:
        r, _, size = struct.unpack_from("<III", data)
        msg = data[12:] + p.recv_exact(12 + size - len(data)) if len(data) < 12 + size else data[12:]
        for fd in fds:
            os.close(fd)
        if r != GET_INFLIGHT_FD or len(fds) != 1 or len(msg) != 24:
            res.update(outcome="bad reply", error=f"reply {r}, {len(fds)} fds, {len(msg)} bytes")
        else:
            mmap_size, _, nq, qs = struct.unpack("<QQHH4x", msg)
            res.update(mmap_size=mmap_size, outcome="accept" if nq == args.nq and qs == args.qs
                       and mmap_size >= nq * (16 + 16 * qs) else "bad geometry")
    res["ok"] = res["outcome"] == args.expect
    return res


def sc_bad_queue(p, args):
    """SET_VRING_NUM for a ring the device does not have."""
    p.send(SET_OWNER)
    p.state(SET_VRING_NUM, 99, QSIZE)
    return {"ok": p.closed_by_peer()}


def sc_big_ring(p, args):
    """SET_VRING_NUM above the device's max_queue_size (asks for an ack first)."""
    p.send(SET_OWNER)
    p.send_u64(SET_PROTOCOL_FEATURES, PF_REPLY_ACK)
    p.send(SET_VRING_NUM, struct.pack("<II", 0, args.ring), flags=VERSION | F_NEED_REPLY)
    nack = struct.unpack("<Q", p.reply(SET_VRING_NUM))[0]
    return {"ok": nack != 0 and p.closed_by_peer(), "ack": nack}


def sc_bad_mtu(p, args):
    """NET_SET_MTU other than the device's."""
    p.setup(queues=())
    nack = p.send_u64(NET_SET_MTU, 1234, ack=True)
    return {"ok": nack != 0 and p.closed_by_peer(), "ack": nack}


def sc_before_owner(p, args):
    """SET_MEM_TABLE before SET_OWNER."""
    p.mem_table()
    return {"ok": p.closed_by_peer()}


def sc_unknown(p, args):
    """A request number nobody defined."""
    p.send(77, b"")
    return {"ok": p.closed_by_peer()}


def sc_bad_features(p, args):
    """SET_FEATURES with a bit the device did not offer (RING_PACKED)."""
    p.call_u64(GET_FEATURES)
    p.send(SET_OWNER)
    p.send_u64(SET_FEATURES, VERSION_1 | (1 << 34))
    return {"ok": p.closed_by_peer()}


def sc_mid_setup(p, args):
    """Hang up after the memory table and half of the rings."""
    p.call_u64(GET_FEATURES)
    p.send(SET_OWNER)
    p.send_u64(SET_FEATURES, VERSION_1)
    p.mem_table()
    p.state(SET_VRING_NUM, 0, QSIZE)
    p.sock.close()
    return {"ok": True}


def sc_mid_message(p, args):
    """Hang up in the middle of a message (header says 8 bytes, 3 come)."""
    p.send(SET_OWNER)
    p.sock.sendall(struct.pack("<III", SET_FEATURES, VERSION, 8) + b"abc")
    p.sock.close()
    return {"ok": True}


def sc_stall(p, args):
    """Stall in the middle of a message: the back-end gives up after its I/O timeout."""
    p.send(SET_OWNER)
    p.sock.sendall(struct.pack("<III", SET_FEATURES, VERSION, 8) + b"abc")
    return {"ok": p.closed_by_peer()}


def sc_mem_change(p, args):
    """Replace the memory table (two regions) while the rings run; traffic goes on."""
    p.setup()
    for _ in range(8):
        p.send_frame()
    first = p.wait_used(1, 8)
    half = MEM_SIZE // 2
    p.mem_table([(GPA_BASE, half, UVA_BASE, 0), (GPA_BASE + half, half, UVA_BASE + half, half)])
    for _ in range(8):
        p.send_frame()
    second = p.wait_used(1, 16)
    # A region added on its own (CONFIGURE_MEM_SLOTS style) after a removal-free table.
    return {"ok": first and second and not p.closed_by_peer(0.2), "tx_used": p.used_idx(1)}


def sc_guest_loop(p, args):
    """A descriptor chain that loops: the ring stops, NEEDS_RESET, the connection stays."""
    p.setup()
    p.send_frame()
    ok1 = p.wait_used(1, 1)
    p.set_desc(1, 5, GPA_BASE + p.buf_off(1, 5), 64, DESC_F_NEXT, 6)
    p.set_desc(1, 6, GPA_BASE + p.buf_off(1, 6), 64, DESC_F_NEXT, 5)
    p.publish(1, 5)
    p.do_kick(1)
    status = p.wait_needs_reset()
    r, _, _ = select.select([p.err[1]], [], [], 1.0)
    err_signalled = bool(r)
    # The driver resets the device; the connection is still usable.
    p.send_u64(SET_STATUS, 0)
    after = p.status()
    return {"ok": ok1 and bool(status & STATUS_NEEDS_RESET) and err_signalled and after == 0,
            "status": status, "err_fd": err_signalled, "status_after_reset": after}


def sc_guest_oob(p, args):
    """A buffer outside guest memory: the ring stops with NEEDS_RESET."""
    p.setup()
    p.set_desc(1, 0, GPA_BASE + MEM_SIZE + 0x1000, 64, 0)
    p.publish(1, 0)
    p.do_kick(1)
    status = p.wait_needs_reset()
    return {"ok": bool(status & STATUS_NEEDS_RESET), "status": status}


def sc_guest_idx_back(p, args):
    """A driver moves avail->idx back (what a torn index update looks like): 4 frames
    go, then the index drops to 0; the ring stops with NEEDS_RESET."""
    p.setup()
    for _ in range(4):
        p.send_frame()
    sent = p.wait_used(1, 4)
    p.store16(p.avail_off(1) + 2, 0)
    p.do_kick(1)
    status = p.wait_needs_reset()
    return {"ok": sent and bool(status & STATUS_NEEDS_RESET), "status": status}


def sc_hold(p, args):
    """Set up, then stay connected until stdin closes (to test a second front-end)."""
    p.setup()
    print(json.dumps({"ok": True, "connected": True}), flush=True)
    sys.stdin.read()
    return None


def sc_second(p, args):
    """Connect while another front-end holds the device: refused."""
    return {"ok": p.closed_by_peer()}


# ---- VIRTIO_F_IOMMU_PLATFORM: a guest behind a vIOMMU ------------------------------
# The "vIOMMU" maps IOVA_BASE + off to guest memory offset off, page by page, on demand:
# the back-end asks (MISS on the back-end channel), we answer (IOTLB_MSG UPDATE), as QEMU.

IOVA_BASE = 0x100000000
PAGE = 4096


def default_perm(off):
    """Rings read-write, receive buffers (ring 0) write-only, transmit buffers read-only."""
    if off < 0x100000:
        return ACCESS_RW
    if off < 0x100000 + QSIZE * BUF_SIZE:
        return ACCESS_WO
    return ACCESS_RO


def iotlb_msg(p, typ, iova, size, uaddr=0, perm=0):
    """One IOTLB_MSG; the back-end's u64 answer (0: done)."""
    p.send(IOTLB_MSG, struct.pack("<QQQBB6x", iova, size, uaddr, perm, typ),
           flags=VERSION | F_NEED_REPLY)
    return struct.unpack("<Q", p.reply(IOTLB_MSG))[0]


def read_misses(p, wait):
    """The MISS messages the back-end sent within 'wait' seconds: [(iova, perm)]."""
    out = []
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        r, _, _ = select.select([p.backend], [], [], max(left, 0))
        if not r:
            return out
        hdr = p.backend.recv(12, socket.MSG_WAITALL)
        if len(hdr) < 12:
            raise Closed()
        req, flags, size = struct.unpack("<III", hdr)
        body = p.backend.recv(size, socket.MSG_WAITALL) if size else b""
        if req != BACKEND_IOTLB_MSG or size != 32 or flags & F_NEED_REPLY:
            raise RuntimeError(f"back-end request {req} flags {flags:#x} size {size}")
        iova, _, _, perm, typ = struct.unpack("<QQQBB6x", body)
        if typ != IOTLB_MISS:
            raise RuntimeError(f"back-end IOTLB message of type {typ}")
        out.append((iova, perm))
        if left <= 0:
            return out


class Iommu:
    """Answers the back-end's misses page by page; records what it was asked."""

    def __init__(self, p, perm=default_perm):
        self.p, self.perm = p, perm
        self.asked = []  # (iova, perm) of every MISS
        self.unanswered = []

    def serve(self, until, wait=TIMEOUT, answer=True):
        deadline = time.monotonic() + wait
        while True:
            if until():
                return True
            if time.monotonic() >= deadline:
                return False
            for iova, perm in read_misses(self.p, 0.02):
                self.asked.append((iova, perm))
                page = iova & ~(PAGE - 1)
                off = page - IOVA_BASE
                if not answer or off < 0 or off >= MEM_SIZE:
                    self.unanswered.append(iova)
                    continue
                if iotlb_msg(self.p, IOTLB_UPDATE, page, PAGE, UVA_BASE + off, self.perm(off)):
                    raise RuntimeError(f"update of {page:#x} refused")


def iommu_setup(p, args, queues=(0, 1)):
    p.addr_base = p.ring_base = IOVA_BASE
    p.backend, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    offered = p.setup(features=VERSION_1 | MRG_RXBUF | F_PROTOCOL_FEATURES | IOMMU_PLATFORM,
                      extra_pf=PF_BACKEND_REQ | PF_REPLY_ACK, queues=queues, backend_fd=theirs.fileno())
    theirs.close()
    return offered


def sc_iommu(p, args):
    """IOMMU_PLATFORM end to end: rings and buffers at IOVAs, every translation asked
    for; an invalidated page is asked for again before it is used."""
    offered = iommu_setup(p, args)
    if not offered & IOMMU_PLATFORM or not p.offered_pf & PF_BACKEND_REQ:
        return {"ok": False, "error": "IOMMU_PLATFORM or BACKEND_REQ not offered",
                "offered": hex(offered), "offered_pf": hex(p.offered_pf)}
    io = Iommu(p)
    for _ in range(args.frames):
        p.send_frame()
    sent = io.serve(lambda: p.has_used(1, args.frames))
    ring_pages = {IOVA_BASE + p.desc_off(1), IOVA_BASE + p.avail_off(1), IOVA_BASE + p.used_off(1)}
    asked_pages = {iova & ~(PAGE - 1) for iova, _ in io.asked}
    rings_asked = ring_pages <= asked_pages
    used_write = any(i & ~(PAGE - 1) == IOVA_BASE + p.used_off(1) and perm & ACCESS_WO
                     for i, perm in io.asked)
    # Invalidate the page of transmit buffer 0, then use it again: asked for again.
    page0 = IOVA_BASE + p.buf_off(1, 0)
    inv_ack = iotlb_msg(p, IOTLB_INVALIDATE, page0, PAGE)
    before = len(io.asked)
    p.next_buf[1] = QSIZE  # descriptor 0, buffer 0
    p.send_frame()
    again = io.serve(lambda: p.has_used(1, args.frames + 1))
    reasked = any(i & ~(PAGE - 1) == page0 for i, _ in io.asked[before:])
    # Receive through write-only pages, when a representor is given.
    rx = None
    if args.ifname:
        p.post_rx(8, size=BUF_SIZE)
        io.serve(lambda: False, wait=0.3)  # the rx ring's and buffers' translations
        for _ in range(4):
            inject(args.ifname, 200)
        got = io.serve(lambda: p.has_used(0, 4))
        head, length = p.used_elem(0, 0) if got else (None, None)
        off = p.buf_off(0, head) if got else 0
        rx = got and length == HDR_LEN + 200 and p.mem[off + HDR_LEN + 12:off + HDR_LEN + 14] == b"\x88\xb5"
    status = p.status()
    ok = (sent and again and rings_asked and used_write and inv_ack == 0 and reasked and
          not status & STATUS_NEEDS_RESET and rx is not False)
    return {"ok": ok, "offered": hex(offered), "tx_used": p.used_idx(1), "misses": len(io.asked),
            "rings_asked": rings_asked, "used_ring_write": used_write, "reasked_after_invalidate": reasked,
            "rx": rx, "sent": sent, "again": again, "invalidate_answer": inv_ack, "status": status}


def sc_iommu_bad_uaddr(p, args):
    """An IOTLB update whose front-end address lies outside the memory table: refused,
    the back-end closes this connection."""
    iommu_setup(p, args, queues=())
    try:
        r = iotlb_msg(p, IOTLB_UPDATE, IOVA_BASE, PAGE, UVA_BASE + MEM_SIZE + PAGE, ACCESS_RW)
    except Closed:
        r = None
    return {"ok": r is None or p.closed_by_peer(), "answer": r}


def sc_iommu_bad_msg(p, args):
    """IOTLB messages a front-end must not send: a MISS, a wrap-around range, a bad
    permission (one per connection: each closes it)."""
    iommu_setup(p, args, queues=())
    kind = args.kind
    try:
        if kind == "miss":
            r = iotlb_msg(p, IOTLB_MISS, IOVA_BASE, 0)
        elif kind == "wrap":
            r = iotlb_msg(p, IOTLB_UPDATE, 0xFFFFFFFFFFFFF000, 0x2000, UVA_BASE, ACCESS_RW)
        elif kind == "size0":
            r = iotlb_msg(p, IOTLB_UPDATE, IOVA_BASE, 0, UVA_BASE, ACCESS_RW)
        else:
            r = iotlb_msg(p, IOTLB_UPDATE, IOVA_BASE, PAGE, UVA_BASE, 7)
    except Closed:
        r = None
    return {"ok": r is None or p.closed_by_peer(), "answer": r}


def sc_iommu_unmapped(p, args):
    """A descriptor at an IOVA nobody maps: the back-end asks, the queue waits (no
    NEEDS_RESET, the connection stays); the shell looks at `query` meanwhile (the
    scenario prints a line and waits for one on stdin).  Then the answer maps the
    page write-only for a transmit buffer: that ring stops with NEEDS_RESET."""
    iommu_setup(p, args)
    io = Iommu(p)
    p.send_frame()
    first = io.serve(lambda: p.has_used(1, 1))
    bad = IOVA_BASE + 0x4000000  # past the memory: the "vIOMMU" has no mapping for it
    p.set_desc(1, 1, bad, 64, 0)
    p.publish(1, 1)
    p.do_kick(1)
    io.serve(lambda: bad in io.unanswered, wait=2.0)
    asked = bad in io.unanswered
    still = not p.wait_used(1, 2, 0.3) and not p.status() & STATUS_NEEDS_RESET
    print(json.dumps({"waiting": True, "asked": asked, "still": still}), flush=True)
    sys.stdin.readline()
    # The answer: write-only, for a buffer the device must read.
    ack = iotlb_msg(p, IOTLB_UPDATE, bad, PAGE, UVA_BASE + 0x300000, ACCESS_WO)
    status = p.wait_needs_reset()
    return {"ok": first and asked and still and ack == 0 and bool(status & STATUS_NEEDS_RESET),
            "first": first, "asked": asked, "waited": still, "answer": ack, "status": status}


def sc_iommu_none(p, args):
    """IOMMU_PLATFORM not negotiated: an IOTLB_MSG is refused (connection closed)."""
    p.setup()
    try:
        r = iotlb_msg(p, IOTLB_UPDATE, IOVA_BASE, PAGE, UVA_BASE, ACCESS_RW)
    except Closed:
        r = None
    return {"ok": r is None or p.closed_by_peer(), "answer": r}


SCENARIOS = {
    "good": sc_good, "rx": sc_rx, "irq": sc_irq, "bad-size": sc_bad_size,
    "too-many-fds": sc_too_many_fds, "way-too-many-fds": sc_way_too_many_fds,
    "bad-queue": sc_bad_queue, "big-ring": sc_big_ring, "bad-mtu": sc_bad_mtu,
    "before-owner": sc_before_owner, "unknown": sc_unknown, "bad-features": sc_bad_features,
    "mid-setup": sc_mid_setup, "mid-message": sc_mid_message, "stall": sc_stall, "mem-change": sc_mem_change,
    "guest-loop": sc_guest_loop, "guest-oob": sc_guest_oob,
    "guest-idx-back": sc_guest_idx_back, "hold": sc_hold,
    "second": sc_second, "inflight": sc_inflight, "inflight-geometry": sc_inflight_geometry,
    "log": sc_log, "log-bad": sc_log_bad, "log-update": sc_log_update,
    "stream": sc_stream, "rarp": sc_rarp,
    "iommu": sc_iommu, "iommu-bad-uaddr": sc_iommu_bad_uaddr, "iommu-bad-msg": sc_iommu_bad_msg,
    "iommu-unmapped": sc_iommu_unmapped, "iommu-none": sc_iommu_none,
}


def main():
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("socket")
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--gap-ms", type=float, default=2.0)
    ap.add_argument("--ring", type=int, default=4096)
    ap.add_argument("--mtu", type=int, default=None)
    ap.add_argument("--ifname", default="")
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--rx-buf", type=int, default=256)
    ap.add_argument("--nq", type=int, default=2)
    ap.add_argument("--qs", type=int, default=QSIZE)
    ap.add_argument("--expect", choices=["accept", "refuse"], default="accept")
    ap.add_argument("--mac", default="02:00:00:00:03:01")
    ap.add_argument("--kind", choices=["miss", "wrap", "size0", "perm"], default="perm")
    ap.add_argument("--dir", choices=["tx", "rx"], default="tx")
    ap.add_argument("--log", action="store_true")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--idle-us", type=float, default=0.0)
    args = ap.parse_args()
    try:
        p = Peer(args.socket)
        res = SCENARIOS[args.scenario](p, args)
    except Closed:
        res = {"ok": False, "error": "the back-end closed the connection"}
    except (OSError, RuntimeError, struct.error) as e:
        res = {"ok": False, "error": str(e)}
    if res is None:
        return 0
    print(json.dumps(res))
    return 0 if res.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
