#!/usr/bin/env python3
"""Sends malformed VXLAN to a VTEP: whole Ethernet/IPv4/UDP/VXLAN frames on one interface.

    badvxlan.py --iface IF --dst-mac MAC --src IP --dst IP --kind KIND [--vni N] [--port N]
                [--count N]

AF_PACKET/SOCK_RAW in the caller's network namespace. The inner frame is a broadcast from
02:00:5e:00:53:99, so that one wrongly decapsulated would be flooded to every port of the
network. Prints one JSON line: {"kind", "sent"}. Kinds:

  unknown_vni   a valid header with a VNI (--vni) no network has
  bad_flags     flags 0x0c (an extension bit besides I)
  no_i_flag     flags 0x00 (the VNI is not valid)
  truncated     the inner frame cut to 10 bytes
  udp_len_lie   the UDP length 40 bytes longer than the datagram
  valid         a well-formed packet (with --src of a VTEP not in the flood list, the
                unknown-sender case)
"""
import argparse
import json
import socket
import struct


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(args, kind):
    inner = b"\xff" * 6 + bytes.fromhex("02005e005399") + struct.pack("!H", 0x88B5) + bytes(46)
    flags = {"bad_flags": 0x0C, "no_i_flag": 0x00}.get(kind, 0x08)
    if kind == "truncated":
        inner = inner[:10]
    vxlan = struct.pack("!B3xI", flags, args.vni << 8) + inner
    udp_len = 8 + len(vxlan) + (40 if kind == "udp_len_lie" else 0)
    udp = struct.pack("!HHHH", 50000, args.port, udp_len, 0) + vxlan
    src = socket.inet_aton(args.src)
    dst = socket.inet_aton(args.dst)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    src_mac = bytes.fromhex(args.src_mac.replace(":", ""))
    dst_mac = bytes.fromhex(args.dst_mac.replace(":", ""))
    return dst_mac + src_mac + struct.pack("!H", 0x0800) + ip + udp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src-mac", default="02:00:5e:00:53:01")
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--kind", required=True,
                    choices=["unknown_vni", "bad_flags", "no_i_flag", "truncated", "udp_len_lie",
                             "valid"])
    ap.add_argument("--vni", type=int, default=5000)
    ap.add_argument("--port", type=int, default=4789)
    ap.add_argument("--count", type=int, default=10)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.bind((args.iface, 0))
    data = frame(args, args.kind)
    for _ in range(args.count):
        sock.send(data)
    print(json.dumps({"kind": args.kind, "sent": args.count}))


if __name__ == "__main__":
    main()
