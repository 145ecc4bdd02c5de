#!/usr/bin/env python3
"""Where a switch core's cycles go in a loop: `perf report` shares turned into cycles/packet.

    cycle_split.py --mpps X --hz H [--top N] < perf-report.txt

The input is `perf report --stdio --no-children --sort dso,sym -g none -t '|'` of the switch
core (sampled with cpu-clock over the loop's measured window). The core polls all the time, so
its cycles per packet are Hz / pps; each shared object and symbol gets its share of them.
"""
import argparse
import collections
import sys

# Shared objects grouped by what they do for the switch.
GROUPS = (
    ("vhost library", ("librte_vhost",)),
    ("mbuf/mempool", ("librte_mbuf", "librte_mempool", "librte_ring")),
    ("kernel", ("[kernel", "[unknown]")),
)


def parse(text):
    """[(percent, dso, symbol)] from the report's `pct|dso|sym` rows."""
    rows = []
    for line in text.splitlines():
        if line.startswith("#") or "|" not in line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 3 or not parts[0].endswith("%"):
            continue
        try:
            pct = float(parts[0].rstrip("%"))
        except ValueError:
            continue
        rows.append((pct, parts[1], parts[2].removeprefix("[.] ").removeprefix("[k] ")))
    return rows


def group_of(dso):
    for name, prefixes in GROUPS:
        if dso.startswith(prefixes):
            return name
    return "switch's own code"


def breakdown(rows, core_cpp, top):
    """Lines of the report: per group, then the top symbols of the switch's own code."""
    groups = collections.Counter()
    own = collections.Counter()
    for pct, dso, sym in rows:
        g = group_of(dso)
        groups[g] += pct
        if g == "switch's own code":
            own[f"{dso}: {sym}"] += pct
    lines = [f"{'core cycles/packet':<48} {core_cpp:7.1f}"]
    for g, pct in groups.most_common():
        lines.append(f"  {g:<46} {core_cpp * pct / 100:7.1f}  ({pct:4.1f} %)")
    for sym, pct in own.most_common(top):
        lines.append(f"    {sym[:64]:<64} {core_cpp * pct / 100:7.1f}")
    return lines


def main(argv):
    ap = argparse.ArgumentParser(prog="cycle_split.py")
    ap.add_argument("--mpps", type=float, required=True)
    ap.add_argument("--hz", type=float, required=True)
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args(argv)
    if args.mpps <= 0:
        print("cycle_split.py: no packets in the window", file=sys.stderr)
        return 1
    core_cpp = args.hz / (args.mpps * 1e6)
    print("\n".join(breakdown(parse(sys.stdin.read()), core_cpp, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
