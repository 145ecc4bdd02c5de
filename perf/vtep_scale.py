#!/usr/bin/env python3
"""How fast the hardware_vtep agent mirrors a large database, against a real ovsdb-server.

Fills a fresh vtep database with LS logical switches (tunnel keys 10000+), one VLAN binding
each on a trunk port (VLANs 1..LS) and MACS remote MACs spread over them behind 16 remote
VTEPs; then starts the agent on it and times (1) the fresh connection until vswitchd holds
all of it, (2) for ROUNDS single new remote MACs, the time from the transaction's reply to the
MAC's static FDB entry (median and p99). Needs root, ovsdb-server (openvswitch-vtep) and a
built vswitchd/vsctl.

    perf/vtep_scale.py [--ls 4000] [--macs 100000] [--rounds 1000] [--json FILE]
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VSWITCHD = os.path.join(REPO, "target/release/vswitchd")
VSCTL = os.path.join(REPO, "target/release/vsctl")
SCHEMA = "/usr/share/openvswitch/vtep.ovsschema"
REMOTES = 16


class Ovsdb:
    """A JSON-RPC client of the database, enough to transact."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.dec = json.JSONDecoder()
        self.buf = ""
        self.next_id = 0

    def transact(self, ops):
        self.next_id += 1
        msg = {"method": "transact", "params": ["hardware_vtep"] + ops, "id": self.next_id}
        self.sock.sendall(json.dumps(msg).encode())
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                errors = [r for r in reply["result"] if isinstance(r, dict) and "error" in r]
                if reply.get("error") or errors:
                    raise RuntimeError(f"transaction failed: {reply.get('error') or errors[0]}")
                return reply["result"]

    def _read(self):
        while True:
            text = self.buf.lstrip()
            if text:
                try:
                    value, end = self.dec.raw_decode(text)
                    self.buf = text[end:]
                    return value
                except json.JSONDecodeError:
                    pass
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("ovsdb-server closed the connection")
            self.buf += chunk.decode()


def vsctl(sock, *args):
    out = subprocess.run([VSCTL, "--socket", sock, *args], check=True, capture_output=True, text=True)
    return out.stdout


def mac(i):
    return "02:%02x:%02x:%02x:%02x:%02x" % (0x10 + (i >> 32 & 0xFF), i >> 24 & 0xFF, i >> 16 & 0xFF, i >> 8 & 0xFF, i & 0xFF)


def fill(db, n_ls, n_macs):
    """The logical switches, the trunk's bindings and the remote MACs, in a few transactions."""
    ops = [{"op": "insert", "table": "Physical_Locator", "uuid-name": f"loc{r}",
            "row": {"dst_ip": f"203.0.113.{10 + r}", "encapsulation_type": "vxlan_over_ipv4"}}
           for r in range(REMOTES)]
    ops += [{"op": "insert", "table": "Logical_Switch", "uuid-name": f"ls{i}",
             "row": {"name": f"ls{i}", "tunnel_key": 10000 + i}} for i in range(n_ls)]
    bindings = ["map", [[i + 1, ["named-uuid", f"ls{i}"]] for i in range(n_ls)]]
    ops.append({"op": "insert", "table": "Physical_Port", "uuid-name": "trunk",
                "row": {"name": "trunk", "vlan_bindings": bindings}})
    ops.append({"op": "insert", "table": "Physical_Switch", "uuid-name": "ps",
                "row": {"name": "gw1", "ports": ["set", [["named-uuid", "trunk"]]]}})
    ops.append({"op": "insert", "table": "Global", "row": {"switches": ["set", [["named-uuid", "ps"]]]}})
    ops += [{"op": "insert", "table": "Physical_Locator_Set", "uuid-name": f"set{r}",
             "row": {"locators": ["named-uuid", f"loc{r}"]}} for r in range(REMOTES)]
    ops += [{"op": "insert", "table": "Mcast_Macs_Remote",
             "row": {"MAC": "unknown-dst", "logical_switch": ["named-uuid", f"ls{i}"],
                     "locator_set": ["named-uuid", f"set{i % REMOTES}"]}} for i in range(n_ls)]
    ops += [{"op": "insert", "table": "Ucast_Macs_Remote",
             "row": {"MAC": mac(m), "logical_switch": ["named-uuid", f"ls{m % n_ls}"],
                     "locator": ["named-uuid", f"loc{m % REMOTES}"]}} for m in range(n_macs)]
    result = db.transact(ops)
    ls0 = result[REMOTES]["uuid"]
    loc0 = result[0]["uuid"]
    return ls0, loc0


def agent(sock):
    out = subprocess.run([VSCTL, "--socket", sock, "--json", "vtep", "agent", "show"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(f"  (vtep agent show: {out.stderr.strip()})")
        return {}
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ls", type=int, default=4000)
    ap.add_argument("--macs", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("vtep_scale: needs root (vswitchd attaches a TAP port)")
    work = tempfile.mkdtemp(prefix="vs-vtep-scale.")
    procs = []
    sock = os.path.join(work, "vswitchd.sock")
    try:
        dbfile, dbsock = os.path.join(work, "vtep.db"), os.path.join(work, "vtep.sock")
        subprocess.run(["ovsdb-tool", "create", dbfile, SCHEMA], check=True)
        procs.append(subprocess.Popen(["ovsdb-server", f"--remote=punix:{dbsock}",
                                       f"--unixctl={work}/ovsdb.ctl", dbfile],
                                      stderr=subprocess.DEVNULL))
        for _ in range(100):
            if os.path.exists(dbsock):
                break
            time.sleep(0.05)
        db = Ovsdb(dbsock)
        t = time.monotonic()
        ls0, loc0 = fill(db, args.ls, args.macs)
        print(f"database filled: {args.ls} logical switches and bindings, {args.macs} remote MACs "
              f"({time.monotonic() - t:.1f} s)")

        subprocess.run([VSWITCHD, "--socket", sock, "--state-dir", os.path.join(work, "state"),
                        "--no-huge"], check=True)
        vsctl(sock, "port", "add", "up", "--type", "tap", "--iface", "vsscaleu0")
        vsctl(sock, "port", "add", "trunk", "--type", "tap", "--iface", "vsscalet0")
        vsctl(sock, "vtep", "set", "--local-ip", "203.0.113.1/24", "--port", "up")

        t0 = time.monotonic()
        vsctl(sock, "vtep", "agent", "set", "--db", f"unix:{dbsock}", "--name", "gw1")
        while True:
            a = agent(sock)
            if a.get("remote_macs", 0) == args.macs and a.get("bindings", 0) == args.ls:
                break
            if time.monotonic() - t0 > 300:
                sys.exit(f"vtep_scale: not mirrored after 300 s: {a}")
            time.sleep(0.02)
        full_sync = time.monotonic() - t0
        print(f"fresh connection to all mirrored: {full_sync:.2f} s (target < 5 s); errors: {a.get('errors', [])}")

        latencies = []
        for r in range(args.rounds):
            m = mac((1 << 33) + r)
            db.transact([{"op": "insert", "table": "Ucast_Macs_Remote",
                          "row": {"MAC": m, "logical_switch": ls0, "locator": loc0}}])
            t = time.monotonic()
            while m not in vsctl(sock, "fdb", "show", "--network", "ls0"):
                if time.monotonic() - t > 10:
                    sys.exit(f"vtep_scale: remote MAC {m} not in the FDB after 10 s")
            latencies.append(time.monotonic() - t)
        latencies.sort()
        med = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0
        print(f"one new remote MAC to its FDB entry, {args.rounds} rounds: median {med:.1f} ms, "
              f"p99 {p99:.1f} ms (target 50 ms)")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"logical_switches": args.ls, "remote_macs": args.macs,
                           "full_sync_s": full_sync, "new_mac_median_ms": med,
                           "new_mac_p99_ms": p99}, f, indent=1)
    finally:
        if os.path.exists(sock):
            subprocess.run([VSCTL, "--socket", sock, "vtep", "agent", "del", "--missing-ok"],
                           capture_output=True)
            pid = open(os.path.join(work, "state", "vswitchd.pid")).read().strip()
            subprocess.run(["kill", pid])
            for _ in range(100):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.1)
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
