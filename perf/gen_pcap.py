#!/usr/bin/env python3
"""Writes the pcap files the pipeline-only benchmark replays.

  gen_pcap.py OUT_PREFIX PAIRS SIZE [FRAMES]

Writes OUT_PREFIX.a.pcap (frames A_i -> B_i) and OUT_PREFIX.b.pcap (B_i -> A_i): UDP/IPv4
frames of SIZE bytes on the wire (64..1518, FCS included, so the capture holds SIZE - 4 bytes
per frame), cycling over PAIRS MAC pairs, FRAMES frames each (default: max(1024, PAIRS) so
every pair appears).
"""
import struct
import sys


def mac(n, side):
    return bytes([0x02, side]) + struct.pack(">I", n)


def checksum(data):
    s = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, i, size):
    payload_len = size - 4 - 14 - 20 - 8
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + 8 + payload_len, i & 0xFFFF, 0, 64, 17, 0,
                     bytes([198, 51, 100, 1]), bytes([198, 51, 100, 2]))
    ip = ip[:10] + struct.pack(">H", checksum(ip)) + ip[12:]
    udp = struct.pack(">HHHH", 1024 + (i % 1024), 4789 + 1, 8 + payload_len, 0)
    return dst + src + b"\x08\x00" + ip + udp + bytes(payload_len)


def write(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)))
            f.write(fr)


def main():
    prefix, pairs, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    count = int(sys.argv[4]) if len(sys.argv) > 4 else max(1024, pairs)
    if not 64 <= size <= 1518:
        sys.exit("gen_pcap: SIZE must be 64..1518 (an Ethernet frame with its FCS)")
    a, b = [], []
    for i in range(count):
        p = i % pairs
        a.append(frame(mac(p, 0xA), mac(p, 0xB), i, size))
        b.append(frame(mac(p, 0xB), mac(p, 0xA), i, size))
    write(prefix + ".a.pcap", a)
    write(prefix + ".b.pcap", b)


if __name__ == "__main__":
    main()
