#!/usr/bin/env python3
"""rpc_flood.py - many JSON-RPC clients that send and never read.

usage: rpc_flood.py SOCKET CLIENTS BATCH HOLD_SECONDS

Connects CLIENTS clients to the controller's socket; each sends one batch of
BATCH `query` requests for all devices (none when BATCH is 0: an idle
connection) and reads nothing.  Prints "ready C" once all are connected and
have sent, then holds the connections until its stdin closes or HOLD_SECONDS
pass.  Then it reads what each connection has (without waiting) and prints
"closed N": how many the controller had closed by then (a refused client is
answered and closed, so it counts too).
"""
import json
import select
import socket
import sys


def main():
    path, nclients, batch, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    req = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "query", "params": {"all": True}}
                      for i in range(batch)]).encode() if batch else b''
    socks = []
    for _ in range(nclients):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)  # blocking: waits while the listen backlog is full
        s.settimeout(5)
        if req:
            try:
                s.sendall(req)
            except (BrokenPipeError, ConnectionResetError):
                pass
        socks.append(s)
    print("ready %d" % len(socks), flush=True)
    select.select([sys.stdin], [], [], hold)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    closed += 1
                    break
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
        s.close()
    print("closed %d" % closed, flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
