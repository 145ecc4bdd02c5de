#!/usr/bin/env python3
"""Sends a bounded number of raw (mostly malformed) Ethernet frames on one interface.

    sendraw.py --iface IF --kind KIND [--count N] [--size BYTES] [--vlan VID] [--seed S]
               [--pps RATE]

AF_PACKET/SOCK_RAW in the caller's network namespace; the frames are written as given (no
padding by this tool). Prints one JSON line: {"kind", "sent", "refused", "errors"} where
`refused` counts frames the kernel would not send (e.g. EINVAL for frames shorter than an
Ethernet header). Kinds:

  runt          1..13 bytes (shorter than an Ethernet header)
  vlan_trunc    14..17 bytes: ethertype 802.1Q, the tag cut short
  mcast_src     multicast source MAC (01:00:5e:..)
  bcast_src     broadcast source MAC
  zero_src      all-zero source MAC
  oversize      --size bytes in all (default 1600): larger than a 1500 MTU
  fits_mtu      14 + 1500 bytes: exactly a 1500 MTU (not malformed)
  tagged        802.1Q tag (--vlan, default 100) with a full payload
  vid4095       802.1Q tag with the reserved VLAN id 4095
  qinq          802.1ad (0x88a8) outer tag
  garbage       random bytes, 14..300 long (seeded)
  mixed         round-robin over every malformed kind above (not fits_mtu)

Source MACs are locally administered unicast (02:00:5e:00:53:xx) unless the kind is about the
source; destinations are broadcast, so a frame that were (wrongly) switched would be flooded.
"""
import argparse
import errno
import json
import random
import socket
import struct
import sys
import time

BCAST = b"\xff" * 6
SRC = bytes.fromhex("02005e005301")
ETH_EXP = 0x88B5  # IEEE 802 local experimental ethertype
PAYLOAD = bytes(range(46))


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def frames(kind, args, rng):
    """Yields frames of KIND forever."""
    i = 0
    while True:
        i += 1
        if kind == "runt":
            yield (BCAST + SRC)[: 1 + i % 13]
        elif kind == "vlan_trunc":
            yield (BCAST + SRC + struct.pack("!HHH", 0x8100, args.vlan, ETH_EXP))[: 14 + i % 4]
        elif kind == "mcast_src":
            yield eth(BCAST, bytes.fromhex("01005e000001"), ETH_EXP, PAYLOAD)
        elif kind == "bcast_src":
            yield eth(BCAST, BCAST, ETH_EXP, PAYLOAD)
        elif kind == "zero_src":
            yield eth(BCAST, bytes(6), ETH_EXP, PAYLOAD)
        elif kind == "oversize":
            yield eth(BCAST, SRC, ETH_EXP, bytes(args.size - 14))
        elif kind == "fits_mtu":
            yield eth(BCAST, SRC, ETH_EXP, bytes(1500))
        elif kind == "tagged":
            yield eth(BCAST, SRC, 0x8100, struct.pack("!HH", args.vlan, ETH_EXP) + PAYLOAD)
        elif kind == "vid4095":
            yield eth(BCAST, SRC, 0x8100, struct.pack("!HH", 4095, ETH_EXP) + PAYLOAD)
        elif kind == "qinq":
            yield eth(BCAST, SRC, 0x88A8, struct.pack("!HHHH", 10, 0x8100, args.vlan, ETH_EXP) + PAYLOAD)
        elif kind == "garbage":
            yield bytes(rng.getrandbits(8) for _ in range(rng.randint(14, 300)))
        else:
            raise ValueError(kind)


MIXED = ["runt", "vlan_trunc", "mcast_src", "bcast_src", "zero_src", "oversize", "tagged",
         "vid4095", "qinq", "garbage"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iface", required=True)
    ap.add_argument("--kind", required=True, choices=MIXED + ["fits_mtu", "mixed"])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--size", type=int, default=1600)
    ap.add_argument("--vlan", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pps", type=float, default=0, help="rate limit (0: as fast as possible)")
    args = ap.parse_args()
    if not 0 < args.count <= 1_000_000:
        sys.exit("sendraw: --count must be 1..1000000")

    rng = random.Random(args.seed)
    kinds = MIXED if args.kind == "mixed" else [args.kind]
    gens = [frames(k, args, rng) for k in kinds]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.bind((args.iface, 0))
    sent = refused = 0
    errors = {}
    start = time.monotonic()
    for n in range(args.count):
        frame = next(gens[n % len(gens)])
        try:
            sock.send(frame)
            sent += 1
        except OSError as e:
            if e.errno in (errno.ENOBUFS, errno.EAGAIN):
                time.sleep(0.001)  # queue full: back off, count as refused
            refused += 1
            name = errno.errorcode.get(e.errno, str(e.errno))
            errors[name] = errors.get(name, 0) + 1
        if args.pps:
            delay = start + (n + 1) / args.pps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    print(json.dumps({"kind": args.kind, "sent": sent, "refused": refused, "errors": errors}))


if __name__ == "__main__":
    main()
