#!/usr/bin/env python3
"""A service VIP's backends and clients, over HTTP/1.1.

    vip.py serve NAME PORT [SICK]     an HTTP server whose every answer is NAME (keep-alive),
                                      on IPv4 and IPv6; GET /healthz answers 503 while the
                                      file SICK exists
    vip.py spread HOST PORT N         N new connections (32 at a time), one GET each; prints
                                      {"counts": {NAME: n}, "failed": k}
    vip.py sources HOST PORT IP...    one GET from each source address; prints {IP: NAME}
    vip.py hold HOST PORT K SECS      K connections kept open for SECS, a GET on each every
                                      0.3 s; prints [{"first": NAME, "names": [...],
                                      "failures": n}] per connection

Every connection has a 3 s timeout; a failure is counted, never retried.
"""
import http.client
import http.server
import json
import os
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def serve(name, port, sick=None):
    body = name.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            unwell = self.path == "/healthz" and sick and os.path.exists(sick)
            self.send_response(503 if unwell else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        # Both families: an IPv6 socket that takes IPv4 too.
        address_family = socket.AF_INET6
        allow_reuse_address = True

        def handle_error(self, request, client_address):
            # A health probe resets its connection once it read the status line.
            pass

    server = Server(("::", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def get(conn):
    conn.request("GET", "/")
    return conn.getresponse().read().decode()


def once(host, port, source=None):
    conn = http.client.HTTPConnection(
        host, port, timeout=3, source_address=(source, 0) if source else None
    )
    try:
        return get(conn)
    except OSError:
        return None
    finally:
        conn.close()


def spread(host, port, n):
    counts, failed = {}, 0
    with ThreadPoolExecutor(32) as pool:
        for name in pool.map(lambda _: once(host, port), range(n)):
            if name is None:
                failed += 1
            else:
                counts[name] = counts.get(name, 0) + 1
    print(json.dumps({"counts": counts, "failed": failed}))


def sources(host, port, ips):
    with ThreadPoolExecutor(16) as pool:
        names = list(pool.map(lambda ip: once(host, port, ip), ips))
    print(json.dumps(dict(zip(ips, names))))


def hold(host, port, k, secs):
    results = [None] * k

    def run(i):
        conn = http.client.HTTPConnection(host, port, timeout=3)
        names, failures, end = [], 0, time.time() + secs
        while time.time() < end:
            try:
                names.append(get(conn))
            except (OSError, http.client.HTTPException):
                failures += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=3)
            time.sleep(0.3)
        conn.close()
        results[i] = {
            "first": names[0] if names else None,
            "names": sorted(set(names)),
            "failures": failures,
        }

    threads = [threading.Thread(target=run, args=(i,)) for i in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(results))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    socket.setdefaulttimeout(3)
    if cmd == "serve":
        serve(args[0], int(args[1]), args[2] if len(args) > 2 else None)
    elif cmd == "spread":
        spread(args[0], int(args[1]), int(args[2]))
    elif cmd == "sources":
        sources(args[0], int(args[1]), args[2:])
    elif cmd == "hold":
        hold(args[0], int(args[1]), int(args[2]), float(args[3]))
    else:
        sys.exit(f"vip.py: unknown command {cmd!r}")


if __name__ == "__main__":
    main()
