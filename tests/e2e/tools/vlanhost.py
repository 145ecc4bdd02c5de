#!/usr/bin/env python3
"""802.1Q sub-interfaces in user space, for kernels built without 8021q (CONFIG_VLAN_8021Q).

    vlanhost.py --parent IF --vlan 100:t100 [--vlan 200:t200 ...]

creates one TAP interface per VLAN (t100, ...) in the current network namespace and bridges
them to IF: a frame the kernel sends on TAP tNNN leaves IF tagged with VLAN NNN; a frame that
arrives on IF tagged NNN is delivered untagged to TAP tNNN; other frames are ignored. The TAP
interfaces behave like `ip link add link IF name tNNN type vlan id NNN` (own MAC, no offloads)
and may be moved to other namespaces. Runs until killed; the TAPs disappear with it.
"""
import argparse
import fcntl
import os
import select
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
ETH_P_ALL = 0x0003
ETH_P_8021Q = 0x8100
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4
AUXDATA = struct.Struct("IIIHHHH")  # struct tpacket_auxdata


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def vlan_of(data, ancdata):
    """(vid, untagged frame) of a received frame; vid None when untagged."""
    for level, kind, blob in ancdata:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(blob) >= AUXDATA.size:
            status, _, _, _, _, tci, _ = AUXDATA.unpack_from(blob)
            if status & TP_STATUS_VLAN_VALID:
                return tci & 0x0FFF, data
    if len(data) >= 18 and struct.unpack_from("!H", data, 12)[0] == ETH_P_8021Q:
        return struct.unpack_from("!H", data, 14)[0] & 0x0FFF, data[:12] + data[16:]
    return None, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parent", required=True, help="the trunk interface")
    ap.add_argument("--vlan", action="append", required=True, metavar="VID:NAME")
    args = ap.parse_args()

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    sock.bind((args.parent, ETH_P_ALL))
    by_vid, by_fd = {}, {}
    for spec in args.vlan:
        vid, name = spec.split(":", 1)
        vid = int(vid)
        if not 1 <= vid <= 4094:
            sys.exit("vlanhost: VLAN id %d out of range" % vid)
        fd = open_tap(name)
        by_vid[vid] = fd
        by_fd[fd] = vid
    print("vlanhost: ready", flush=True)

    while True:
        ready, _, _ = select.select([sock] + list(by_fd), [], [])
        for r in ready:
            if r is sock:
                data, anc, _, addr = sock.recvmsg(65535, socket.CMSG_SPACE(AUXDATA.size))
                if addr[2] == PACKET_OUTGOING:
                    continue
                vid, frame = vlan_of(data, anc)
                fd = by_vid.get(vid)
                if fd is not None:
                    try:
                        os.write(fd, frame)
                    except OSError:
                        pass  # TAP down: dropped, like a real interface
            else:
                frame = os.read(r, 65535)
                if len(frame) < 14:
                    continue
                tag = struct.pack("!HH", ETH_P_8021Q, by_fd[r])
                try:
                    sock.send(frame[:12] + tag + frame[12:])
                except OSError:
                    pass


if __name__ == "__main__":
    main()
