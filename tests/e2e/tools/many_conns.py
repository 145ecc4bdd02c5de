#!/usr/bin/env python3
"""Many concurrent TCP connections, for NAT's port allocation.

    many_conns.py serve PORT SECONDS        accept and hold connections for SECONDS
    many_conns.py open IP PORT N SECONDS    open N connections at once, print how many were
                                            established, hold them for SECONDS, close
"""
import resource
import selectors
import socket
import sys
import time


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n + 100), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def serve(port, seconds):
    raise_fd_limit(20000)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(8192)
    s.settimeout(0.5)
    held = []
    end = time.time() + seconds
    while time.time() < end:
        try:
            c, _ = s.accept()
            held.append(c)
        except socket.timeout:
            pass
    print(f"accepted {len(held)}")


def open_many(ip, port, n, seconds):
    raise_fd_limit(n)
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex((ip, port))
        sel.register(c, selectors.EVENT_WRITE)
        socks.append(c)
    up = 0
    deadline = time.time() + 30
    while time.time() < deadline and sel.get_map():
        for key, _ in sel.select(timeout=1):
            sel.unregister(key.fileobj)
            if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                up += 1
    print(f"established {up}", flush=True)
    time.sleep(seconds)
    for c in socks:
        c.close()


def main(argv):
    if argv[:1] == ["serve"]:
        serve(int(argv[1]), float(argv[2]))
    elif argv[:1] == ["open"]:
        open_many(argv[1], int(argv[2]), int(argv[3]), float(argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
