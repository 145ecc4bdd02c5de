"""The benchmark harness's pure logic: parsing tool output, medians, ratios, the report.

Kept free of I/O so that `test_harness.py` can check it without DPDK.
"""
import re
import statistics

LINE = re.compile(r"(?P<key>[a-z_]+)=(?P<val>[-0-9.]+|[a-z-]+)")


def parse_testpmd_rates(text):
    """Per-sample sums of Rx-pps from interactive `show port stats all` output.

    Each sample starts with the block of port 0; the loop's throughput is the sum of the RX
    rates of all ports in one sample.
    """
    out = []
    for block in re.split(r"NIC statistics for port 0 ", text)[1:]:
        rates = [int(m) for m in re.findall(r"Rx-pps:\s+(\d+)", block)]
        if rates:
            out.append(sum(rates))
    return out


def parse_loopgen_samples(text):
    """(rx_pps, full) per `sample rx_pps=N tx_pps=N full=F` line of loop-gen's output.

    rx_pps is what the switch delivered back to the generator in that second; full is the
    share of the generator's TX bursts that found the switch's ring full.
    """
    out = []
    for line in text.splitlines():
        if line.startswith("sample "):
            fields = parse_result_line(line)
            if isinstance(fields.get("rx_pps"), int):
                out.append((fields["rx_pps"], fields.get("full")))
    return out


def vswitchd_switch_cpp(begin, end):
    """Busy cycles per packet of worker 0 between two `vsctl --json status` outputs."""
    import json

    b, e = (json.loads(t)["workers"][0] for t in (begin, end))
    packets = int(e.get("rx_packets", 0)) - int(b.get("rx_packets", 0))
    if packets <= 0:
        return None
    return round((int(e.get("busy_cycles", 0)) - int(b.get("busy_cycles", 0))) / packets, 1)


def ovs_switch_cpp(text):
    """`avg processing cycles per packet` of the first PMD in `pmd-stats-show` output."""
    m = re.search(r"avg processing cycles per packet:\s*([0-9.]+)", text)
    return float(m.group(1)) if m else None


def testpmd_switch_cpp(text):
    """The last `CPU cycles/packet=` testpmd printed (with --record-core-cycles)."""
    found = re.findall(r"CPU cycles/packet=([0-9.]+)", text)
    return float(found[-1]) if found else None


IPERF3_UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def iperf3_gbps(text, side="receiver"):
    """Throughput of an iperf3 TCP test in Gbit/s, from the client's output.

    JSON (`iperf3 -J`): `end.sum_received.bits_per_second` (side="receiver", what arrived at
    the server) or `end.sum_sent.bits_per_second` (side="sender"). Plain text: the summary line
    that ends in `receiver` / `sender`. ValueError when the test failed (iperf3's JSON `error`)
    or the output holds no such figure.
    """
    import json

    if side not in ("receiver", "sender"):
        raise ValueError(f"side must be receiver or sender, not {side!r}")
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError as e:
            raise ValueError(f"iperf3 JSON does not parse: {e}") from None
        if doc.get("error"):
            raise ValueError(f"iperf3: {doc['error']}")
        key = "sum_received" if side == "receiver" else "sum_sent"
        try:
            bps = float(doc["end"][key]["bits_per_second"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"iperf3 JSON has no end.{key}.bits_per_second") from None
        return bps / 1e9
    found = re.findall(r"([0-9.]+)\s+([KMGT]?)bits/sec\b.*\b" + side + r"\s*$", text, re.M)
    if not found:
        raise ValueError(f"no iperf3 {side} summary line")
    val, unit = found[-1]
    return float(val) * IPERF3_UNITS[unit] / 1e9


def parse_result_line(line):
    """`label key=value ...` -> dict with numbers converted (label under "case")."""
    parts = line.strip().split(None, 1)
    if not parts:
        raise ValueError("empty result line")
    out = {"case": parts[0]}
    for m in LINE.finditer(parts[1] if len(parts) > 1 else ""):
        val = m.group("val")
        try:
            out[m.group("key")] = float(val) if "." in val else int(val)
        except ValueError:
            out[m.group("key")] = val
    return out


def median(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values)


def ratio(a, b):
    """a / b rounded to 2 places, None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def cycles_per_packet(mpps, cpu_hz):
    """Cycles one saturated core spends per packet at `mpps`."""
    if not mpps or not cpu_hz:
        return None
    return round(cpu_hz / (mpps * 1e6), 1)


def fmt(v, width, digits=2):
    if v is None:
        return "-".rjust(width)
    if isinstance(v, float):
        return f"{v:.{digits}f}".rjust(width)
    return str(v).rjust(width)


def loop_table(results, cpu_hz):
    """Rows for the vhost-user loop.

    `results` maps case -> {"mpps": loop rate, "switch_cpp": the switch's own busy cycles per
    packet}. Ratios of rates are "x times as fast"; the cycle ratio is "x times as efficient"
    (other / this), which holds even when the generator, not the switch, limits the loop.
    """
    def get(case, key):
        return (results.get(case) or {}).get(key)

    rows = []
    for case, r in results.items():
        cpp = r.get("switch_cpp")
        rows.append({
            "case": case,
            "mpps": r.get("mpps"),
            "cycles_per_packet": cycles_per_packet(r.get("mpps"), cpu_hz),
            "switch_cpp": cpp,
            "ratio_testpmd": ratio(r.get("mpps"), get("testpmd", "mpps")),
            "ratio_ovs": ratio(r.get("mpps"), get("ovs", "mpps")),
            "efficiency_testpmd": ratio(get("testpmd", "switch_cpp"), cpp),
            "efficiency_ovs": ratio(get("ovs", "switch_cpp"), cpp),
            "gen_full": r.get("gen_full"),
            "mpps_rounds": r.get("mpps_rounds") or [],
        })
    return rows


def render(rows, columns):
    """A plain text table; `columns` is [(key, title, width)]."""
    head = " ".join(title.rjust(w) if i else title.ljust(w)
                    for i, (_, title, w) in enumerate(columns))
    lines = [head]
    for r in rows:
        cells = []
        for i, (key, _, w) in enumerate(columns):
            v = r.get(key)
            cells.append(str(v).ljust(w) if i == 0 else fmt(v, w))
        lines.append(" ".join(cells))
    return "\n".join(lines)


# The loop targets: (name, report key, x testpmd io-forward, x OVS-DPDK). OVS-DPDK does the same
# job: NORMAL bridge, dec_ttl + MAC rewrite flows, its conntrack firewall, its tunnel port, its
# conntrack source NAT.
LOOP_TARGETS = [
    ("L2 loop", "loop", 0.90, 1.40),
    ("routed loop", "loop_routed", 0.85, 1.50),
    ("stateful firewall loop (10K connections)", "loop_firewall", 0.75, 3.00),
    ("VXLAN encap+decap loop", "loop_vxlan", 0.90, 1.50),
    ("SNAT loop (10K connections)", "loop_snat", 0.60, 2.00),
    ("VIP DNAT loop (10K connections)", "loop_vip", 0.60, 2.00),
]


def check_targets(report):
    """The issue's targets as (name, value, target, ok) tuples; missing values are not ok."""
    def at_least(v, t):
        return v is not None and v >= t

    checks = []
    # Every loop in both generator profiles: vswitchd's rate against testpmd io-forward and
    # against OVS-DPDK doing the same job, in the same run.
    for profile, suffix in (("", ""), (", generator as vhost-user server", "_server")):
        for name, key, vs_testpmd, vs_ovs in LOOP_TARGETS:
            rows = {r["case"]: r for r in report.get(key + suffix, [])}
            vs = rows.get("vswitchd", {})
            checks.append((f"{name}{profile} vs testpmd io-forward (Mpps)",
                           vs.get("ratio_testpmd"), f">= {vs_testpmd:.2f}",
                           at_least(vs.get("ratio_testpmd"), vs_testpmd)))
            checks.append((f"{name}{profile} vs OVS-DPDK (Mpps)", vs.get("ratio_ovs"),
                           f">= {vs_ovs:.2f}", at_least(vs.get("ratio_ovs"), vs_ovs)))
    for key, name, target in (("l2_metrics", "L2 loop, metrics scraped, vs not", 0.98),
                              ("firewall_metrics", "firewall loop, metrics scraped, vs not", 0.98),
                              ("firewall_1m_ipfix", "firewall loop, 1M connections, IPFIX export "
                               "vs none", 0.95)):
        r = report.get("observed", {}).get(key, {}).get("ratio")
        checks.append((name, r, f">= {target:.2f}", at_least(r, target)))
    scale = report.get("scaling", {})
    s = ratio(scale.get("2"), scale.get("1"))
    checks.append(("pipeline 2 workers vs 1", s, ">= 1.80", s is not None and s >= 1.80))
    pairs = {r["pairs"]: r["mpps"] for r in report.get("pairs_sweep", [])}
    if pairs.get(1) and pairs.get(100000) is not None:
        loss = round(1 - pairs[100000] / pairs[1], 3)
        checks.append(("loss 1 -> 100K MAC pairs", loss, "<= 0.10", loss <= 0.10))
    else:
        checks.append(("loss 1 -> 100K MAC pairs", None, "<= 0.10", False))
    vtep = report.get("vtep_scale", {})
    sync, med, p99 = (vtep.get(k) for k in ("full_sync_s", "new_mac_median_ms", "new_mac_p99_ms"))
    checks.append(("vtep agent: 4K switches, 100K MACs from a fresh connection (s)", sync, "< 5",
                   sync is not None and sync < 5))
    for name, v in (("median", med), ("p99", p99)):
        checks.append((f"vtep agent: a new remote MAC forwarding, {name} (ms)", v, "<= 50",
                       v is not None and v <= 50))
    routed = report.get("routed_stages", {})
    small, large = routed.get("routes_10"), routed.get("routes_1m")
    loss = round(1 - small / large, 3) if small and large else None
    checks.append(("routed cycles/packet, 10 -> 1M routes (1K flows), loss", loss, "<= 0.10",
                   loss is not None and loss <= 0.10))
    publish = routed.get("fw_publish_100k_s")
    checks.append(("publish of 100K policies (s)", publish, "< 2.0",
                   publish is not None and publish < 2.0))
    first = ratio(routed.get("fw_classify_100k"), routed.get("fw_classify_100"))
    checks.append(("first-packet classification, 100K rules vs 100 (cycles)", first, "<= 2.0",
                   first is not None and first <= 2.0))
    flows = ratio(routed.get("fw_flows_1m"), routed.get("fw_flows_1k"))
    loss = round(flows - 1, 3) if flows is not None else None
    checks.append(("established flows 1K -> 1M, cycles/packet loss", loss, "<= 0.20",
                   loss is not None and loss <= 0.20))
    checks.append(("new connections per core (M/s)", routed.get("fw_new_conn_mps"), ">= 1.0",
                   at_least(routed.get("fw_new_conn_mps"), 1.0)))
    checks.append(("new NAT connections per core (M/s)", routed.get("nat_new_conn_mps"), ">= 1.0",
                   at_least(routed.get("nat_new_conn_mps"), 1.0)))
    checks.append(("new VIP connections per core (M/s)", routed.get("vip_new_conn_mps"), ">= 1.0",
                   at_least(routed.get("vip_new_conn_mps"), 1.0)))
    build = routed.get("maglev_1000_ms")
    checks.append(("Maglev table for 1000 backends (ms)", build, "< 50",
                   build is not None and build < 50))
    cost = routed.get("vxlan_ratio")
    checks.append(("VXLAN encap+decap cycles vs the L2 bridge", cost, "<= 2.0",
                   cost is not None and cost <= 2.0))
    return checks


def _main(argv):
    """`harness.py loop-rate --skip N --label L < testpmd.log`: one result line.

    `harness.py iperf-gbps --label L [--side receiver|sender] < iperf3-output`: `L gbps=X`.
    """
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="harness.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    lr = sub.add_parser("loop-rate")
    lr.add_argument("--skip", type=int, default=3)
    lr.add_argument("--label", default="case")
    lr.add_argument("--switch-cpp", default="")
    lr.add_argument("--format", choices=["testpmd", "loopgen"], default="testpmd")
    sc = sub.add_parser("switch-cpp")
    sc.add_argument("case", choices=["vswitchd", "ovs", "testpmd"])
    sc.add_argument("files", nargs="+")
    ip = sub.add_parser("iperf-gbps")
    ip.add_argument("--label", default="case")
    ip.add_argument("--side", choices=["receiver", "sender"], default="receiver")
    args = ap.parse_args(argv)
    if args.cmd == "iperf-gbps":
        try:
            gbps = iperf3_gbps(sys.stdin.read(), args.side)
        except ValueError as e:
            print(f"harness.py iperf-gbps: {e}", file=sys.stderr)
            print(f"{args.label} gbps=0 error=iperf3")
            return 1
        print(f"{args.label} gbps={gbps:.4f}")
        return 0
    if args.cmd == "switch-cpp":
        try:
            texts = [open(f).read() for f in args.files]
            cpp = {"vswitchd": lambda: vswitchd_switch_cpp(*texts[:2]),
                   "ovs": lambda: ovs_switch_cpp(texts[0]),
                   "testpmd": lambda: testpmd_switch_cpp(texts[0])}[args.case]()
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            cpp = None
        print("" if cpp is None else cpp)
        return 0
    text = sys.stdin.read()
    extra = ""
    if args.format == "loopgen":
        gen = parse_loopgen_samples(text)[args.skip:]
        samples = [rate for rate, _ in gen]
        full = median([f for _, f in gen])
        if full is not None:
            extra = f" gen_full={full:.3f}"
    else:
        samples = parse_testpmd_rates(text)[args.skip:]
    if not samples:
        print(f"{args.label} mpps=0 error=no-samples")
        return 1
    cpp = f" switch_cpp={float(args.switch_cpp):.1f}" if args.switch_cpp else ""
    print(f"{args.label} mpps={median(samples) / 1e6:.2f} samples={len(samples)}{cpp}{extra}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
