#!/usr/bin/env python3
"""make bench: every benchmark in one run, on this box, reported as ratios.

  bench.py [--repeats N] [--seconds N] [--smoke]

1. The vhost-user loop (vhost_loop.sh): testpmd io-forward (the ceiling), OVS-DPDK NORMAL
   bridge, vswitchd L2 bridge; median of --repeats runs each; then the same with the generator
   as the vhost-user server (PROFILE=server: mrg_rxbuf=0, in_order=1, the switch connects);
   then the same with 2 queue pairs per port (median of 3); then, in both generator profiles,
   routed (MODE=routed, generator loop-gen): testpmd io-forward,
   OVS-DPDK dec_ttl + MAC rewrite flows, vswitchd routing between two networks; then the
   stateful firewall (MODE=firewall, 10K connections and their replies): testpmd io-forward,
   OVS-DPDK's conntrack firewall (ct(commit)), vswitchd with a stateful policy; then the tunnel
   gateway (MODE=vxlan: encap one way, decap the other): testpmd io-forward, OVS-DPDK's
   userspace VXLAN tunnel port, vswitchd's VTEP; then source NAT (MODE=snat, 10K connections
   into an external network and their replies to the SNAT address): testpmd io-forward,
   OVS-DPDK's ct(nat), vswitchd's SNAT rule; then a service VIP (MODE=vip, 10K connections to
   the VIP, DNAT to one backend, and its replies): OVS-DPDK's ct(commit,nat(dst=...)),
   vswitchd's service.
2. Pipeline-only (pipeline_only.sh): net_pcap replay -> vswitchd, 1 and 2 workers; MAC-pair
   sweep (1, 1K, 100K) and frame-size sweep (64, 512, 1518).
3. Micro-benchmarks: stage-bench cycles/packet per stage, and its instruction count under
   callgrind.
4. Guest to guest (guest_iperf.sh): iperf3 TCP between two QEMU guests through vswitchd and
   through OVS-DPDK; QEMU runs under TCG here, so only the ratio means anything.
Prints the tables and the targets, writes perf/results/bench-TIME.json and a PNG chart.
--smoke runs one 5-second loop of testpmd and vswitchd only (for `make test`): it checks that
the harness still works, not how fast anything is.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import sys
import time

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")


def run(cmd, timeout, env=None):
    """Runs a benchmark script; returns its last stdout line parsed, or None on failure."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                           env=env)
    except subprocess.TimeoutExpired:
        print(f"bench: {' '.join(cmd)} timed out", file=sys.stderr)
        return None
    lines = [l for l in p.stdout.splitlines() if "=" in l]
    if p.returncode != 0 or not lines:
        print(f"bench: {' '.join(cmd)} failed: {p.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return harness.parse_result_line(lines[-1])


def free_hugepages():
    """Free 2 MB hugepages (the loop needs a few hundred)."""
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"HugePages_Free:\s*(\d+)", f.read())
        return int(m.group(1)) >= 512 if m else False
    except OSError:
        return False


def cpu_hz():
    """The switch core's clock, from /proc/cpuinfo (cycles/packet = Hz / pps)."""
    try:
        with open("/proc/cpuinfo") as f:
            mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([0-9.]+)", f.read())]
        return max(mhz) * 1e6 if mhz else None
    except OSError:
        return None


def loop(cases, repeats, seconds, queues=1, mode="l2", profile="client"):
    """Runs the cases interleaved (so drift of a shared machine hits all alike); per case the
    median rate and median switch cycles/packet. `profile` "server": the generator serves the
    vhost-user sockets (mrg_rxbuf=0, in_order=1) and the switch connects."""
    runs = {c: [] for c in cases}
    env = dict(os.environ, QUEUES=str(queues), MODE=mode, PROFILE=profile)
    for _ in range(repeats):
        for case in cases:
            r = run(["bash", os.path.join(HERE, "vhost_loop.sh"), case, str(seconds)],
                    timeout=seconds + 90, env=env)
            runs[case].append(r or {})
            print(f"  {case}: {r}", file=sys.stderr)
    return {c: {"mpps": harness.median([r.get("mpps") or None for r in rs]),
                "mpps_rounds": [r.get("mpps") for r in rs if r.get("mpps")],
                "switch_cpp": harness.median([r.get("switch_cpp") for r in rs]),
                "gen_full": harness.median([r.get("gen_full") for r in rs])}
            for c, rs in runs.items()}


def observed(repeats, seconds):
    """vswitchd's loops watched and not, interleaved: L2 and firewall with the metrics
    endpoint scraped once a second; the firewall over 1M connections with every connection's
    counts exported as IPFIX (active timeout 60 s: 2M records in a 70 s round). Per pair the
    median rates and their ratio."""
    pairs = [("l2_metrics", "l2", "metrics", {}, seconds),
             ("firewall_metrics", "firewall", "metrics", {}, seconds),
             ("firewall_1m_ipfix", "firewall", "ipfix", {"FLOWS": "1000000"}, 70)]
    out = {}
    for name, mode, watch, extra, secs in pairs:
        runs = {"plain": [], "watched": []}
        for _ in range(repeats):
            for which, observe in (("plain", ""), ("watched", watch)):
                env = dict(os.environ, MODE=mode, OBSERVE=observe, **extra)
                r = run(["bash", os.path.join(HERE, "vhost_loop.sh"), "vswitchd", str(secs)],
                        timeout=secs + 120, env=env)
                runs[which].append(r or {})
                print(f"  {name} {which}: {r}", file=sys.stderr)
        plain, watched = (harness.median([r.get("mpps") or None for r in runs[w]])
                          for w in ("plain", "watched"))
        out[name] = {"plain_mpps": plain, "watched_mpps": watched,
                     "ratio": harness.ratio(watched, plain),
                     "ipfix_records": harness.median([r.get("ipfix_records")
                                                      for r in runs["watched"]]),
                     "ipfix_lost": max([r.get("ipfix_lost") or 0 for r in runs["watched"]],
                                       default=0),
                     "seconds": secs}
    return out


def pipeline(workers, pairs, size, seconds, frames=None):
    cmd = ["bash", os.path.join(HERE, "pipeline_only.sh"), str(workers), str(pairs), str(size),
           str(seconds)]
    if frames:
        cmd.append(str(frames))
    return run(cmd, timeout=seconds + 180)


def stage_bench():
    """Per-stage L2 cycles/packet rows, and the routed, firewall and NAT figures (see
    perf/src/routed.rs, firewall.rs, nat.rs; the firewall and NAT ones go into `routed`)."""
    exe = os.path.join(ROOT, "target", "release", "stage-bench")
    p = subprocess.run([exe], capture_output=True, text=True, timeout=600, check=False)
    return parse_stage_bench(p.stdout)


def parse_stage_bench(text):
    """`stage_bench`'s figures from stage-bench's output."""
    rows = []
    routed = {}
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) == 5 and f[0].isdigit():
            rows.append({"pairs": int(f[0]), "classify": float(f[1]), "ingress": float(f[2]),
                         "forward": float(f[3]), "pipeline": float(f[4])})
        m = re.search(r"1 host pair\): pipeline ([\d.]+)", line)
        if m:
            routed["host_pair"] = float(m.group(1))
        m = re.search(r"10 routes ([\d.]+), 1000000 routes ([\d.]+).*64K flows over 1000000 routes ([\d.]+)", line)
        if m:
            routed.update({"routes_10": float(m.group(1)), "routes_1m": float(m.group(2)),
                           "routes_1m_64k_flows": float(m.group(3))})
        for key, pattern in FIREWALL_LINES:
            m = re.search(pattern, line)
            if m:
                routed.update({k: float(v) for k, v in zip(key, m.groups())})
    return rows, routed


# stage-bench's firewall, NAT and VXLAN lines: the figures each gives, and how to read them.
FIREWALL_LINES = [
    (("fw_publish_100k_s",), r"publish of 100000 policies ([\d.]+) s"),
    (("fw_classify_100", "fw_classify_100k"),
     r"classification: 100 rules ([\d.]+), 100000 rules ([\d.]+)"),
    (("fw_flows_1k", "fw_flows_1m"), r"established flows: 1000 flows ([\d.]+), 1000000 flows ([\d.]+)"),
    (("fw_new_conn_mps",), r"^firewall new connections: [\d.]+ cycles each, ([\d.]+) M/s"),
    (("nat_established", "nat_fw_established"),
     r"^nat snat, established flows: \d+ flows ([\d.]+) cycles/packet; the firewall alone ([\d.]+)"),
    (("nat_new_conn_mps", "nat_binding_bytes"),
     r"^nat new connections: [\d.]+ cycles each, ([\d.]+) M/s on one core; (\d+) bytes"),
    (("vip_established",), r"^nat vip, established flows: \d+ flows ([\d.]+) cycles/packet"),
    (("vip_new_conn_mps",), r"^nat vip new connections: [\d.]+ cycles each, ([\d.]+) M/s"),
    (("maglev_1000_ms",), r"^nat maglev table: 1000 backends, \d+ slots, built in ([\d.]+) ms"),
    (("vxlan_encap", "vxlan_decap", "vxlan_both", "vxlan_ratio", "vxlan_l2"),
     r"vxlan pipeline cycles/packet: encap ([\d.]+), decap ([\d.]+), both ways ([\d.]+); "
     r"([\d.]+) x the L2 pipeline \(([\d.]+)\)"),
]


def callgrind():
    """Instructions per packet of the whole pipeline (1000 bursts of 32, 1 MAC pair)."""
    if not shutil.which("valgrind"):
        return None
    exe = os.path.join(ROOT, "target", "release", "stage-bench")
    out = "/tmp/vs-callgrind.out"
    p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        "--toggle-collect=*process_burst*", exe, "--pairs", "1", "--bursts",
                        "1000", "--rounds", "1"], capture_output=True, text=True, timeout=600,
                       check=False)
    m = re.search(r"Collected\s*:\s*(\d+)", p.stderr)
    if os.path.exists(out):
        os.remove(out)
    if not m:
        return None
    # process_burst runs for warm-up + one round of the full pipeline: 2 x 1000 x 32 packets.
    return round(int(m.group(1)) / (2 * 1000 * 32), 1)


def vtep_scale():
    """perf/vtep_scale.py's figures: 4 000 logical switches, 100 000 remote MACs, 1 000 rounds."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        try:
            subprocess.run([sys.executable, os.path.join(HERE, "vtep_scale.py"), "--json", out.name],
                           check=True, timeout=1800)
            return json.load(open(out.name))
        except (subprocess.SubprocessError, ValueError, OSError) as e:
            print(f"  vtep_scale: {e}", file=sys.stderr)
            return {}


def chart(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: matplotlib missing, no chart", file=sys.stderr)
        return False
    fig, axes = plt.subplots(1, 3, figsize=(20, 4.5), gridspec_kw={"width_ratios": [3.5, 1, 1]})
    # Every loop case for every switch: the median, and the spread of the rounds as a bar.
    cases = [("L2", "loop"), ("L2 (s)", "loop_server"), ("L2, 2 queues", "loop_2_queues"),
             ("routed", "loop_routed"), ("routed (s)", "loop_routed_server"),
             ("firewall", "loop_firewall"), ("firewall (s)", "loop_firewall_server"),
             ("VXLAN", "loop_vxlan"), ("VXLAN (s)", "loop_vxlan_server"),
             ("SNAT", "loop_snat"), ("SNAT (s)", "loop_snat_server"),
             ("VIP", "loop_vip"), ("VIP (s)", "loop_vip_server")]
    switches = ["testpmd", "ovs", "vswitchd"]
    width = 0.27
    for k, sw in enumerate(switches):
        med, low, high = [], [], []
        for _, key in cases:
            row = next((r for r in report.get(key, []) if r["case"] == sw), {})
            m = row.get("mpps") or 0
            rounds = row.get("mpps_rounds") or [m]
            med.append(m)
            low.append(m - min(rounds))
            high.append(max(rounds) - m)
        xs = [i + (k - 1) * width for i in range(len(cases))]
        axes[0].bar(xs, med, width, yerr=[low, high], capsize=3, label=sw)
    axes[0].set_xticks(range(len(cases)))
    axes[0].set_xticklabels([name for name, _ in cases])
    axes[0].legend()
    axes[0].set_title("vhost-user loops, 64 B, one switch core (Mpps: median, spread of rounds; "
                      "(s): generator as server)", fontsize=10)
    ps = report["pairs_sweep"]
    axes[1].plot([str(r["pairs"]) for r in ps], [r["mpps"] for r in ps], marker="o")
    axes[1].set_title("pipeline-only: MAC pairs (Mpps)")
    ss = report["size_sweep"]
    ax = axes[2]
    ax.plot([str(r["size"]) for r in ss], [r["mpps"] for r in ss], marker="o", label="Mpps")
    ax2 = ax.twinx()
    ax2.plot([str(r["size"]) for r in ss], [r["gbps"] for r in ss], marker="s", color="tab:red",
             label="Gbps")
    ax.set_title("pipeline-only: frame size")
    ax.set_ylabel("Mpps")
    ax2.set_ylabel("Gbps")
    for a in axes[:2]:
        a.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path)
    return True


WATCHED_COLUMNS = [("case", "CASE", 18), ("plain_mpps", "PLAIN", 7),
                   ("watched_mpps", "WATCHED", 8), ("ratio", "RATIO", 6),
                   ("ipfix_records", "IPFIX-RECORDS", 14), ("ipfix_lost", "LOST", 5)]


def observed_only(args, hz):
    """`--observed`: the L2 and firewall loops of every switch, then vswitchd watched and not,
    in one run."""
    t0 = time.time()
    columns = [("case", "CASE", 10), ("mpps", "MPPS", 8), ("ratio_testpmd", "VS-TESTPMD", 11),
               ("ratio_ovs", "VS-OVS", 8), ("switch_cpp", "SWITCH-CYC/PKT", 15)]
    for mode in ("l2", "firewall"):
        rows = harness.loop_table(loop(["testpmd", "ovs", "vswitchd"], args.repeats,
                                       args.seconds, mode=mode), hz)
        print(f"\n{mode} loop (median of {args.repeats} x {args.seconds}s)")
        print(harness.render(rows, columns))
    watched = observed(args.repeats, args.seconds)
    print("\nvswitchd watched and not (interleaved): metrics scraped once a second; IPFIX of "
          "1M connections (active timeout 60 s, 70 s rounds)")
    print(harness.render([dict(case=k, **v) for k, v in watched.items()], WATCHED_COLUMNS))
    print(f"took {time.time() - t0:.0f}s")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--observed", action="store_true",
                    help="only the L2 and firewall loops (testpmd, OVS-DPDK, vswitchd) and "
                         "vswitchd watched and not")
    args = ap.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    hz = cpu_hz()

    if args.smoke:
        if not free_hugepages():
            print("smoke: SKIPPED: no free hugepages (virtio_user needs shared hugepage memory; "
                  "run make deps as root)")
            return 0
        res = loop(["testpmd", "vswitchd"], 1, 5)
        rows = harness.loop_table(res, hz)
        print(harness.render(rows, [("case", "CASE", 10), ("mpps", "MPPS", 8)]))
        ok = all(r["mpps"] for r in rows)
        print("smoke: " + ("the loop ran for every case" if ok else "a case produced no rate"))
        return 0 if ok else 1

    if args.observed:
        return observed_only(args, hz)

    t0 = time.time()
    print("vhost-user loop ...", file=sys.stderr)
    rows = harness.loop_table(loop(["testpmd", "ovs", "vswitchd"], args.repeats, args.seconds),
                              hz)
    print("vhost-user loop, generator as vhost-user server ...", file=sys.stderr)
    rows_server = harness.loop_table(loop(["testpmd", "ovs", "vswitchd"], args.repeats,
                                          args.seconds, profile="server"), hz)
    print("vhost-user loop, 2 queues per port ...", file=sys.stderr)
    rows_mq = harness.loop_table(loop(["testpmd", "ovs", "vswitchd"], 3, args.seconds, queues=2),
                                 hz)
    routed_rows, server_rows = {}, {}
    for mode in ("routed", "firewall", "vxlan", "snat", "vip"):
        for profile, into in (("client", routed_rows), ("server", server_rows)):
            print(f"vhost-user loop, {mode}, generator as vhost-user {profile} ...",
                  file=sys.stderr)
            into[mode] = harness.loop_table(loop(["testpmd", "ovs", "vswitchd"], args.repeats,
                                                 args.seconds, mode=mode, profile=profile), hz)
    rows_routed, rows_fw, rows_vxlan = (routed_rows[m] for m in ("routed", "firewall", "vxlan"))
    print("vhost-user loop, watched (metrics scraped, IPFIX export) and not ...", file=sys.stderr)
    watched = observed(3, args.seconds)
    print("pipeline-only ...", file=sys.stderr)
    scaling = {}
    for w in (1, 2):
        r = pipeline(w, 1024, 64, args.seconds)
        scaling[str(w)] = r["mpps"] if r else None
    pairs_sweep = []
    for pairs in (1, 1000, 100000):
        # The same capture size for every point: only the number of MAC pairs changes.
        r = pipeline(1, pairs, 64, args.seconds, frames=131072)
        pairs_sweep.append({"pairs": pairs, "mpps": r["mpps"] if r else None})
    size_sweep = []
    for size in (64, 512, 1518):
        r = pipeline(1, 1024, size, args.seconds)
        size_sweep.append({"size": size, "mpps": r["mpps"] if r else None,
                           "gbps": r["gbps"] if r else None})
    print("guest to guest (iperf3, QEMU) ...", file=sys.stderr)
    guests = {}
    for case in ("vswitchd", "ovs"):
        r = run(["bash", os.path.join(HERE, "guest_iperf.sh"), case, "10"], timeout=300)
        guests[case] = r.get("gbps") if r else None
        print(f"  {case}: {r}", file=sys.stderr)
    print("micro-benchmarks ...", file=sys.stderr)
    stages, routed_stages = stage_bench()
    instr = callgrind()
    print("the vtep agent at scale (ovsdb-server) ...", file=sys.stderr)
    vtep = vtep_scale()

    report = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpu_hz": hz,
              "loop": rows, "loop_server": rows_server, "loop_2_queues": rows_mq,
              "loop_routed": rows_routed, "loop_firewall": rows_fw, "loop_vxlan": rows_vxlan,
              "loop_routed_server": server_rows["routed"],
              "loop_firewall_server": server_rows["firewall"],
              "loop_vxlan_server": server_rows["vxlan"],
              "loop_snat": routed_rows["snat"], "loop_snat_server": server_rows["snat"],
              "loop_vip": routed_rows["vip"], "loop_vip_server": server_rows["vip"],
              "observed": watched,
              "scaling": scaling, "pairs_sweep": pairs_sweep,
              "size_sweep": size_sweep, "stages": stages, "routed_stages": routed_stages, "guest_iperf_gbps": guests,
              "pipeline_instructions_per_packet": instr, "vtep_scale": vtep}
    report["targets"] = [{"name": n, "value": v, "target": t, "ok": ok}
                         for n, v, t, ok in harness.check_targets(report)]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = os.path.join(RESULTS, f"bench-{stamp}.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    png = os.path.join(RESULTS, f"bench-{stamp}.png")
    have_chart = chart(report, png)

    print("\nvhost-user loop, 64-byte frames, one switch core (median of "
          f"{args.repeats} x {args.seconds}s)")
    loop_columns = [("case", "CASE", 10), ("mpps", "MPPS", 8),
                    ("ratio_testpmd", "VS-TESTPMD", 11), ("ratio_ovs", "VS-OVS", 8),
                    ("switch_cpp", "SWITCH-CYC/PKT", 15),
                    ("efficiency_testpmd", "EFF-TESTPMD", 12), ("efficiency_ovs", "EFF-OVS", 8)]
    print(harness.render(rows, loop_columns))
    print("  MPPS: the loop's rate; SWITCH-CYC/PKT: busy cycles per packet the switch core "
          "reports\n  (vsctl status, ovs-appctl pmd-stats-show, testpmd --record-core-cycles); "
          "EFF-X = X's cycles / this case's.")
    print(f"\nthe same loop, the other generator profile: the generator serves the vhost-user "
          f"sockets (virtio_user server=1, mrg_rxbuf=0, in_order=1) and the switch connects "
          f"(median of {args.repeats} x {args.seconds}s)")
    print(harness.render(rows_server, loop_columns))
    print(f"\nthe same loop with 2 queue pairs per port, still one core each side "
          f"(median of 3 x {args.seconds}s)")
    print(harness.render(rows_mq, loop_columns))
    print(f"\nrouted IPv4, 64 B, generator loop-gen (fresh frames, TTL 64), one switch core "
          f"(median of {args.repeats} x {args.seconds}s)")
    print(harness.render(rows_routed, loop_columns + [("gen_full", "GEN-FULL", 9)]))
    print("  testpmd: io-forward; OVS-DPDK: OpenFlow dec_ttl + MAC rewrite; vswitchd: two "
          "networks of one VRF.\n  GEN-FULL: share of loop-gen's TX bursts that found the "
          "switch's ring full; well under 1, the\n  generator limited that case, and "
          "EFF-TESTPMD (cycles) is the fairer comparison.")
    print(f"\nstateful firewall, routed, 10K UDP connections from port 0 and their replies from "
          f"port 1 (median of {args.repeats} x {args.seconds}s)")
    print(harness.render(rows_fw, loop_columns + [("gen_full", "GEN-FULL", 9)]))
    print("  OVS-DPDK: ct(table=1), ct(commit) for new from port 0, +est both ways; vswitchd: one "
          "stateful allow policy, replies by conntrack.")
    print(f"\nVXLAN tunnel gateway, 64-byte inner frames: encapsulated from port 0, decapsulated "
          f"from port 1 (median of {args.repeats} x {args.seconds}s)")
    print(harness.render(rows_vxlan, loop_columns + [("gen_full", "GEN-FULL", 9)]))
    print("  OVS-DPDK: userspace tunnel port (tnl_push/tnl_pop), br0 + br-phy; vswitchd: a VTEP "
          "on port 1.")
    print(f"\nsource NAT, routed into an external network, 10K UDP connections from port 0 and "
          f"their replies to the SNAT address (median of {args.repeats} x {args.seconds}s)")
    print(harness.render(routed_rows["snat"], loop_columns + [("gen_full", "GEN-FULL", 9)]))
    print("  OVS-DPDK: ct(nat) both ways, ct(commit,nat(src=...)) for new from port 0; vswitchd: "
          "a stateful policy and a SNAT rule.")
    print(f"\nservice VIP, routed, 10K UDP connections from port 0 to the VIP and the backend's "
          f"replies (median of {args.repeats} x {args.seconds}s)")
    print(harness.render(routed_rows["vip"], loop_columns + [("gen_full", "GEN-FULL", 9)]))
    print("  OVS-DPDK: ct(nat) both ways, ct(commit,nat(dst=backend)) for new from port 0; "
          "vswitchd: a stateful policy to the VIP and a service.")
    for mode, title in (("routed", "routed"), ("firewall", "stateful firewall"),
                        ("vxlan", "VXLAN"), ("snat", "source NAT"), ("vip", "service VIP")):
        print(f"\n{title}, the generator as vhost-user server (mrg_rxbuf=0, in_order=1; the "
              f"switch connects)")
        print(harness.render(server_rows[mode], loop_columns + [("gen_full", "GEN-FULL", 9)]))
    print("\nvswitchd watched and not (median of 3 rounds each, interleaved): L2 and firewall "
          "loops with the metrics\nendpoint scraped once a second; the firewall loop over 1M "
          "connections exporting both directions'\ncounts of every one as IPFIX to nfcapd (active "
          "timeout 60 s, 70 s rounds: 2M records each)")
    print(harness.render([dict(case=k, **v) for k, v in watched.items()], WATCHED_COLUMNS))
    print("\npipeline-only (net_pcap replay -> vswitchd), 64 B, 1024 pairs")
    print(f"  1 worker {scaling['1']} Mpps, 2 workers {scaling['2']} Mpps, "
          f"scaling {harness.ratio(scaling['2'], scaling['1'])}x")
    print(harness.render(pairs_sweep, [("pairs", "MAC-PAIRS", 10), ("mpps", "MPPS", 8)]))
    print(harness.render(size_sweep, [("size", "FRAME", 10), ("mpps", "MPPS", 8),
                                      ("gbps", "GBPS", 8)]))
    print("\nguest to guest, iperf3 TCP 10 s, QEMU under TCG (only the ratio means anything)")
    print(f"  vswitchd {guests['vswitchd']} Gbps, OVS-DPDK {guests['ovs']} Gbps, "
          f"ratio {harness.ratio(guests['vswitchd'], guests['ovs'])}x")
    print("\nper-stage TSC cycles/packet (synthetic bursts, no I/O)")
    print(harness.render(stages, [("pairs", "MAC-PAIRS", 10), ("classify", "CLASSIFY", 9),
                                  ("ingress", "INGRESS", 9), ("forward", "FORWARD", 9),
                                  ("pipeline", "PIPELINE", 9)]))
    print(f"pipeline instructions/packet (callgrind, 1 pair): {instr}")
    print("routed IPv4 pipeline cycles/packet: 1 host pair {host_pair}; 1K flows over 10 routes "
          "{routes_10}, over 1M routes {routes_1m}; 64K flows over 1M routes "
          "{routes_1m_64k_flows}".format(**{k: routed_stages.get(k) for k in
                                             ("host_pair", "routes_10", "routes_1m",
                                              "routes_1m_64k_flows")}))
    print("firewall: publish of 100K policies {fw_publish_100k_s} s; first-packet classification "
          "100 rules {fw_classify_100}, 100K rules {fw_classify_100k} cycles; established flows "
          "1K {fw_flows_1k}, 1M {fw_flows_1m} cycles/packet; new connections {fw_new_conn_mps} M/s "
          "per core".format(**{k: routed_stages.get(k) for keys, _ in FIREWALL_LINES for k in keys}))
    print("nat: established SNAT flows {nat_established} cycles/packet (the firewall alone "
          "{nat_fw_established}); new connections {nat_new_conn_mps} M/s per core; "
          "{nat_binding_bytes} bytes per binding".format(
              **{k: routed_stages.get(k) for k in ("nat_established", "nat_fw_established",
                                                   "nat_new_conn_mps", "nat_binding_bytes")}))
    print("vxlan: encap {vxlan_encap}, decap {vxlan_decap}, both ways {vxlan_both} cycles/packet; "
          "L2 pipeline {vxlan_l2}; {vxlan_ratio} x".format(
              **{k: routed_stages.get(k) for k in ("vxlan_encap", "vxlan_decap", "vxlan_both",
                                                   "vxlan_l2", "vxlan_ratio")}))
    print("vtep agent: 4 000 logical switches, 100 000 remote MACs mirrored in {full_sync_s} s; "
          "a new remote MAC in its FDB after {new_mac_median_ms} ms (median), {new_mac_p99_ms} "
          "ms (p99)".format(**{k: vtep.get(k) for k in ("full_sync_s", "new_mac_median_ms",
                                                        "new_mac_p99_ms")}))
    print("\ntargets")
    for t in report["targets"]:
        print(f"  {'ok  ' if t['ok'] else 'MISS'} {t['name']}: {t['value']} (target {t['target']})")
    print(f"\nresults: {path}" + (f"\nchart:   {png}" if have_chart else ""))
    print(f"took {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
