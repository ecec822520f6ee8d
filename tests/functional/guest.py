#!/usr/bin/env python3
"""guest.py - talk to the test guest booted by scripts/run-guest.sh.

usage:
  guest.py wait-ready SERIAL_SOCK TIMEOUT      wait for VIRTNET-GUEST-READY
  guest.py run SERIAL_SOCK TIMEOUT CMD...      run a shell command, print its
                                               output, exit with its status
  guest.py qmp QMP_SOCK JSON                   one QMP command, print the reply
"""
import json
import socket
import sys
import time


def serial(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(0.2)
    return s


def read_until(s, marker, timeout):
    buf = b''
    end = time.time() + timeout
    while time.time() < end:
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            if marker in buf:
                return buf
        except socket.timeout:
            pass
    raise TimeoutError(buf.decode(errors='replace')[-2000:])


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == 'wait-ready':
        s = serial(path)
        try:
            read_until(s, b'VIRTNET-GUEST-READY', float(sys.argv[3]))
        except TimeoutError as e:
            print('guest not ready; console tail:\n' + str(e), file=sys.stderr)
            return 1
        return 0
    if cmd == 'run':
        timeout = float(sys.argv[3])
        line = ' '.join(sys.argv[4:])
        s = serial(path)
        n = int(time.time() * 1000)
        tag = 'VNDONE%d:' % n
        # The echoed command line reads VNDO''NE: only the output has the tag.
        s.sendall(("%s; echo VNDO''NE%d:$?\n" % (line, n)).encode())
        try:
            buf = read_until(s, tag.encode(), timeout)
            if not buf.split(tag.encode())[-1].count(b'\n'):
                buf += read_until(s, b'\n', 2)
        except TimeoutError as e:
            print('timeout; console tail:\n' + str(e), file=sys.stderr)
            return 124
        text = buf.decode(errors='replace').replace('\r', '')
        out, _, rest = text.rpartition(tag)
        status = int(''.join(ch for ch in rest.split('\n')[0] if ch.isdigit()) or '1')
        body = out.split('\n')
        # Drop everything up to and including our echoed command line.
        for i, l in enumerate(body):
            if "VNDO''NE%d" % n in l:
                body = body[i + 1:]
                break
        print('\n'.join(body).strip('\n'))
        return status
    if cmd == 'qmp':
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
        f = s.makefile('rwb')
        json.loads(f.readline())  # greeting
        f.write(b'{"execute":"qmp_capabilities"}\n')
        f.flush()
        json.loads(f.readline())
        f.write(sys.argv[3].encode() + b'\n')
        f.flush()
        while True:
            msg = json.loads(f.readline())
            if 'event' in msg:
                continue
            print(json.dumps(msg))
            return 0 if 'return' in msg else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
