#!/usr/bin/env python3
r"""rpc_raw.py - send raw bytes to the controller's JSON-RPC socket.

usage: rpc_raw.py SOCKET [--no-reply] [--expect-close] [--partial] [--repeat N] TEXT

Prints the first reply line (or "<closed>" when the server closes without
one, "<timeout>" when nothing comes in 5 s).  TEXT may hold any bytes (passed
through the shell as $'\xff'); bytes of the reply that are not UTF-8 are
printed as \xNN.  --partial sends TEXT and closes
at once without reading (a client that disconnects mid-request).
--expect-close: after the reply, waits for the server to close (prints
"<closed>" on a second line if it does).
"""
import socket
import sys


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    no_reply = expect_close = partial = False
    repeat = 1
    while args and args[0].startswith('--'):
        opt = args.pop(0)
        if opt == '--no-reply':
            no_reply = True
        elif opt == '--expect-close':
            expect_close = True
        elif opt == '--partial':
            partial = True
        elif opt == '--repeat':
            repeat = int(args.pop(0))
    text = args[0].encode('utf-8', 'surrogateescape') if args else sys.stdin.buffer.read()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    try:
        for _ in range(repeat):
            s.sendall(text)
    except (BrokenPipeError, ConnectionResetError):
        pass
    if partial:
        s.close()
        return 0
    if no_reply:
        s.settimeout(0.5)
    buf = b''
    try:
        while b'\n' not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        print('<timeout>')
        return 0
    except ConnectionResetError:
        pass
    if not buf:
        print('<closed>')
        return 0
    line, _, rest = buf.partition(b'\n')
    print(line.decode('utf-8', 'backslashreplace'))
    if expect_close:
        s.settimeout(5)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    print('<closed>')
                    break
        except socket.timeout:
            print('<open>')
        except ConnectionResetError:
            print('<closed>')
    return 0


if __name__ == '__main__':
    sys.exit(main())
