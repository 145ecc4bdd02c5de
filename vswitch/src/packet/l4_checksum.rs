//! Completing a TCP or UDP checksum that a sender left partial.
//!
//! A virtio guest with checksum offload sends TCP/UDP segments whose checksum field holds only
//! the pseudo-header sum, trusting the host to finish it. The switch finishes it before the
//! frame goes anywhere, so that every port (another guest, a TAP, a NIC) gets a valid frame.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{eth, ethertype, ipproto, ipv4, ipv6, tcp, udp, vlan};

/// Why a frame's L4 checksum could not be completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incomplete {
    /// Not IPv4/IPv6 carrying TCP or UDP (nothing to complete), or headers cut short.
    NotTcpUdp,
    /// An IPv4 fragment: the checksum covers bytes this frame does not hold.
    Fragment,
}

/// Rewrites the TCP or UDP checksum of `frame` (Ethernet, at most one 802.1Q tag) over the
/// whole segment.
pub fn complete(frame: &mut [u8]) -> Result<(), Incomplete> {
    let eth = eth::Frame::new_checked(&*frame).map_err(|_| Incomplete::NotTcpUdp)?;
    let mut l3 = eth::HEADER_LEN;
    let mut kind = eth.ethertype();
    if kind == ethertype::VLAN {
        let tag = vlan::Tag::new_checked(&frame[l3..]).map_err(|_| Incomplete::NotTcpUdp)?;
        kind = tag.ethertype();
        l3 += vlan::HEADER_LEN;
    }
    let ip = &mut frame[l3..];
    match kind {
        ethertype::IPV4 => {
            let mut pkt = ipv4::Packet::new_checked(ip).map_err(|_| Incomplete::NotTcpUdp)?;
            if pkt.is_fragment() {
                return Err(Incomplete::Fragment);
            }
            let pseudo = Pseudo::V4(pkt.src_addr(), pkt.dst_addr());
            let proto = pkt.protocol();
            fill(proto, pkt.payload_mut(), pseudo)
        }
        ethertype::IPV6 => {
            let mut pkt = ipv6::Packet::new_checked(ip).map_err(|_| Incomplete::NotTcpUdp)?;
            let pseudo = Pseudo::V6(pkt.src_addr(), pkt.dst_addr());
            let next = pkt.next_header();
            fill(next, pkt.payload_mut(), pseudo)
        }
        _ => Err(Incomplete::NotTcpUdp),
    }
}

/// The addresses of the IP pseudo-header.
#[derive(Clone, Copy)]
enum Pseudo {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

/// Fills the checksum of the TCP or UDP segment `l4` (IP protocol `proto`).
fn fill(proto: u8, l4: &mut [u8], pseudo: Pseudo) -> Result<(), Incomplete> {
    match (proto, pseudo) {
        (ipproto::TCP, Pseudo::V4(s, d)) => tcp_packet(l4)?.fill_checksum_v4(s, d),
        (ipproto::TCP, Pseudo::V6(s, d)) => tcp_packet(l4)?.fill_checksum_v6(s, d),
        (ipproto::UDP, Pseudo::V4(s, d)) => udp_packet(l4)?.fill_checksum_v4(s, d),
        (ipproto::UDP, Pseudo::V6(s, d)) => udp_packet(l4)?.fill_checksum_v6(s, d),
        _ => return Err(Incomplete::NotTcpUdp),
    }
    Ok(())
}

fn tcp_packet(l4: &mut [u8]) -> Result<tcp::Packet<&mut [u8]>, Incomplete> {
    tcp::Packet::new_checked(l4).map_err(|_| Incomplete::NotTcpUdp)
}

fn udp_packet(l4: &mut [u8]) -> Result<udp::Packet<&mut [u8]>, Incomplete> {
    udp::Packet::new_checked(l4).map_err(|_| Incomplete::NotTcpUdp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    /// `good` with the two checksum bytes at `at` replaced by garbage.
    fn corrupt(good: &[u8], at: usize) -> Vec<u8> {
        let mut bad = good.to_vec();
        bad[at] ^= 0x5a;
        bad[at + 1] ^= 0xa5;
        assert_ne!(bad, good);
        bad
    }

    #[test]
    fn completes_tcp_over_ipv4_behind_a_vlan_tag() {
        let mut good = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .single_vlan(10u16.try_into().unwrap())
            .ipv4([198, 51, 100, 1], [198, 51, 100, 2], 64)
            .tcp(40000, 80, 1, 65535)
            .write(&mut good, b"hello, checksum")
            .unwrap();
        // Ethernet 14 + tag 4 + IPv4 20, TCP checksum at 16.
        let mut bad = corrupt(&good, 14 + 4 + 20 + 16);
        complete(&mut bad).unwrap();
        assert_eq!(good, bad);
    }

    #[test]
    fn completes_udp_over_ipv6() {
        let mut good = Vec::new();
        let a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let mut b = a;
        b[15] = 2;
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv6(a, b, 64)
            .udp(5000, 6000)
            .write(&mut good, &[7u8; 33])
            .unwrap();
        let mut bad = corrupt(&good, 14 + 40 + 6);
        complete(&mut bad).unwrap();
        assert_eq!(good, bad);
    }

    #[test]
    fn ignores_trailing_padding_and_refuses_fragments_and_junk() {
        let mut good = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([198, 51, 100, 1], [198, 51, 100, 2], 64)
            .udp(1, 2)
            .write(&mut good, b"x")
            .unwrap();
        good.resize(60, 0);
        let mut bad = corrupt(&good, 14 + 20 + 6);
        complete(&mut bad).unwrap();
        assert_eq!(good, bad);

        let mut frag = good.clone();
        frag[14 + 6] = 0x20; // more fragments
        assert_eq!(complete(&mut frag), Err(Incomplete::Fragment));
        let mut arp = good.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(complete(&mut arp), Err(Incomplete::NotTcpUdp));
        assert_eq!(complete(&mut [0u8; 5]), Err(Incomplete::NotTcpUdp));
    }
}
