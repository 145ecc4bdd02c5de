#!/usr/bin/env python3
"""Reads testpmd --stats-period output and prints the median total RX rate in Mpps.

Each stats block lists every port with an `Rx-pps:` line; the loop's throughput is the sum over
the ports of one block. The first --skip blocks are warm-up.
"""
import argparse
import re
import statistics
import sys


def samples(text):
    """Per-block sums of Rx-pps, in order."""
    # Interactive `show port stats all` starts each sample with port 0 block.
    blocks = re.split(r"NIC statistics for port 0 ", text)
    out = []
    for block in blocks[1:]:
        rates = [int(m) for m in re.findall(r"Rx-pps:\s+(\d+)", block)]
        if rates:
            out.append(sum(rates))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip", type=int, default=3)
    ap.add_argument("--label", default="case")
    args = ap.parse_args()
    s = samples(sys.stdin.read())[args.skip:]
    if not s:
        print(f"{args.label} mpps=0 error=no-samples")
        sys.exit(1)
    print(f"{args.label} mpps={statistics.median(s) / 1e6:.2f} samples={len(s)}")


if __name__ == "__main__":
    main()
