#!/usr/bin/env python3
"""soak.py - N concurrent JSON-RPC clients issuing mixed requests (list, query,
modify, stats, hotplug + unplug) to a running controller for a bounded time,
while its RSS, heap (`health`: in use and kept free by malloc) and open fds
are sampled.  Used by bench/soak.sh.

    soak.py SOCKET PID SECONDS CLIENTS SF_BASE

Each client owns one SF number (SF_BASE + i) for its hotplug/unplug cycle and
picks other devices at random.  Prints one JSON object: per-method request
counts and latency percentiles (ms), unexpected errors (with the first few),
RSS, heap and fd samples (first, last, max).
"""
import json
import os
import random
import socket
import sys
import threading
import time


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return round(v[min(len(v) - 1, int(len(v) * p / 100))] * 1000, 3)


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.id = 0

    def call(self, method, params=None):
        self.id += 1
        req = {"jsonrpc": "2.0", "id": self.id, "method": method}
        if params is not None:
            req["params"] = params
        self.s.sendall(json.dumps(req).encode() + b"\n")
        return json.loads(self.f.readline())


SAMPLED = ("rss_kib", "heap_in_use_kib", "heap_free_kib", "fds")


def sample(pid, client):
    """One sample: the controller's own memory figures (health) and its open fds."""
    mem = client.call("health")["result"]["memory"]
    return (mem["rss_kib"], mem["heap_in_use_kib"], mem["heap_free_kib"],
            len(os.listdir(f"/proc/{pid}/fd")))


def main():
    path, pid, secs, nclients, sf_base = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    vuids = [d["vuid"] for d in Client(path).call("list")["result"]["devices"]]
    lat = {}
    errors = []
    lock = threading.Lock()
    stop = time.monotonic() + secs

    def worker(i):
        c = Client(path)
        rnd = random.Random(i)
        mine = None
        while time.monotonic() < stop:
            op = rnd.choice(["list", "query", "query", "stats", "stats", "modify", "plug"])
            if op == "list":
                m, p = "list", None
            elif op == "query":
                m, p = "query", {"vuid": rnd.choice(vuids), "brief": True}
            elif op == "stats":
                m, p = "stats", {"vuid": rnd.choice(vuids)}
            elif op == "modify":
                m, p = "modify", {"vuid": rnd.choice(vuids), "target": "queue",
                                  "event_mode": rnd.choice(["event", "adaptive"]),
                                  "period": rnd.randint(0, 100), "max_count": rnd.randint(0, 64)}
            elif mine is None:
                m, p = "hotplug", {"ib_device": "mlx5_0", "mac": "02:00:00:5a:%02x:01" % i,
                                   "mtu": 1500, "max_queues": 2, "max_queue_size": 256,
                                   "sf_num": sf_base + i}
            else:
                m, p = "unplug", {"vuid": mine}
            t0 = time.monotonic()
            r = c.call(m, p)
            dt = time.monotonic() - t0
            with lock:
                lat.setdefault(m, []).append(dt)
                if "error" in r:
                    errors.append({"method": m, "params": p, "error": r["error"]})
            if "result" in r and m == "hotplug":
                mine = r["result"]["vuid"]
            elif "result" in r and m == "unplug":
                mine = None
        if mine:
            c.call("unplug", {"vuid": mine})

    sampler = Client(path)
    samples = [sample(pid, sampler)]
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(nclients)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        samples.append(sample(pid, sampler))
    for t in threads:
        t.join()
    samples.append(sample(pid, sampler))
    out = {
        "seconds": secs, "clients": nclients, "devices": len(vuids),
        "requests": {m: len(v) for m, v in sorted(lat.items())},
        "p50_ms": {m: pct(v, 50) for m, v in sorted(lat.items())},
        "p99_ms": {m: pct(v, 99) for m, v in sorted(lat.items())},
        "unexpected_errors": len(errors), "first_errors": errors[:5],
    }
    for k, name in enumerate(SAMPLED):
        out[name] = {"first": samples[0][k], "last": samples[-1][k],
                     "max": max(s[k] for s in samples)}
    print(json.dumps(out, indent=2))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
