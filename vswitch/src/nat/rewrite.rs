//! A translated packet, rewritten in place: an address (and a port, or the echo identifier of
//! a ping) in the IPv4 header and its TCP, UDP or ICMP header, every checksum they are in
//! updated incrementally (RFC 1624); and the packet an ICMP error quotes, translated back.

use std::net::Ipv4Addr;
use std::ops::Range;

use crate::packet::{checksum, eth, icmp, ipproto, ipv4};

/// An IPv4 header at offset `at` of a frame, as NAT reads it.
#[derive(Debug, Clone, Copy)]
pub struct Ip4 {
    at: usize,
    /// Where its L4 header starts.
    l4: usize,
    /// Where the packet ends (for a quoted one: where the quote does).
    end: usize,
    pub proto: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Not a fragment past the first: its L4 header is there.
    first: bool,
}

/// Which side of a packet to rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Src,
    Dst,
}

/// The IPv4 packet of an (untagged) Ethernet frame.
pub fn parse(frame: &[u8]) -> Option<Ip4> {
    parse_at(frame, eth::HEADER_LEN, false)
}

/// The IPv4 header at `at`; `quoted`: it heads the part of a packet an ICMP error carries, so
/// its total length may reach beyond the frame.
fn parse_at(frame: &[u8], at: usize, quoted: bool) -> Option<Ip4> {
    let l3 = frame.get(at..)?;
    if l3.len() < ipv4::HEADER_LEN {
        return None;
    }
    // Lengths are checked here: a quote is shorter than its total length says.
    let ip = ipv4::Packet::new_unchecked(l3);
    let header = ip.header_len();
    let total = usize::from(ip.total_len());
    if ip.version() != 4 || header < ipv4::HEADER_LEN || total < header || header > l3.len() {
        return None;
    }
    if !quoted && total > l3.len() {
        return None;
    }
    Some(Ip4 {
        at,
        l4: at + header,
        end: at + total.min(l3.len()),
        proto: ip.protocol(),
        src: ip.src_addr(),
        dst: ip.dst_addr(),
        first: ip.frag_offset() == 0,
    })
}

fn word(frame: &[u8], at: usize) -> Option<u16> {
    frame
        .get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn set_word(frame: &mut [u8], at: usize, v: u16) {
    if let Some(b) = frame.get_mut(at..at + 2) {
        b.copy_from_slice(&v.to_be_bytes());
    }
}

/// The packet's ports as NAT binds them: TCP and UDP (source, destination); a ping
/// (identifier, 0), its reply (0, identifier). `None`: no L4 header to translate (a fragment
/// past the first, a short header, another protocol, an ICMP error).
pub fn ports(frame: &[u8], ip: &Ip4) -> Option<(u16, u16)> {
    // The whole L4 header is there, within the packet (not just within the frame's padding).
    let header = match ip.proto {
        ipproto::TCP => 20,
        _ => 8,
    };
    if ip.l4 + header > ip.end.min(frame.len()) {
        return None;
    }
    ports_of(frame, ip)
}

/// The ports of a packet whose first 8 bytes of L4 header are there (what an ICMP error must
/// quote at least).
fn ports_of(frame: &[u8], ip: &Ip4) -> Option<(u16, u16)> {
    if !ip.first || ip.l4 + 8 > frame.len() {
        return None;
    }
    match ip.proto {
        ipproto::TCP | ipproto::UDP => Some((word(frame, ip.l4)?, word(frame, ip.l4 + 2)?)),
        ipproto::ICMP => {
            let id = word(frame, ip.l4 + 4)?;
            match *frame.get(ip.l4)? {
                icmp::v4::ECHO_REQUEST => Some((id, 0)),
                icmp::v4::ECHO_REPLY => Some((0, id)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The TCP flags of a TCP packet (0 for anything else, or a header cut short).
pub fn tcp_flags(frame: &[u8], ip: &Ip4) -> u8 {
    match (ip.proto, ip.first) {
        (ipproto::TCP, true) => frame.get(ip.l4 + 13).copied().unwrap_or(0),
        _ => 0,
    }
}

/// Where a TCP segment (not a later fragment) is in its frame.
pub fn tcp_span(ip: &Ip4) -> Option<Range<usize>> {
    (ip.proto == ipproto::TCP && ip.first).then_some(ip.l4..ip.end)
}

/// Where the port of `side` is, and where the checksum that covers it and the addresses.
fn l4_fields(ip: &Ip4, side: Side) -> Option<(usize, usize, bool)> {
    let port_at = ip.l4 + if side == Side::Src { 0 } else { 2 };
    match ip.proto {
        // (port, checksum, whether the checksum covers the addresses)
        ipproto::TCP => Some((port_at, ip.l4 + 16, true)),
        ipproto::UDP => Some((port_at, ip.l4 + 6, true)),
        ipproto::ICMP => Some((ip.l4 + 4, ip.l4 + 2, false)),
        _ => None,
    }
}

/// Sets the address of `side` to `to`, and its port (the identifier of a ping) to `port`.
pub fn set(frame: &mut [u8], ip: &Ip4, side: Side, to: Ipv4Addr, port: Option<u16>) {
    let addr_at = ip.at + if side == Side::Src { 12 } else { 16 };
    let old = match frame.get(addr_at..addr_at + 4) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => return,
    };
    let new = u32::from(to);
    frame[addr_at..addr_at + 4].copy_from_slice(&to.octets());
    if let Some(sum) = word(frame, ip.at + 10) {
        set_word(frame, ip.at + 10, checksum::update32(sum, old, new));
    }
    if !ip.first {
        return;
    }
    let Some((port_at, sum_at, pseudo)) = l4_fields(ip, side) else {
        return;
    };
    let Some(mut sum) = word(frame, sum_at) else {
        // A quote cut short of its checksum: only the port.
        if let Some(p) = port {
            set_word(frame, port_at, p);
        }
        return;
    };
    // UDP without a checksum stays without one.
    let unchecked = ip.proto == ipproto::UDP && sum == 0;
    if pseudo {
        sum = checksum::update32(sum, old, new);
    }
    if let (Some(p), Some(old_port)) = (port, word(frame, port_at)) {
        set_word(frame, port_at, p);
        sum = checksum::update16(sum, old_port, p);
    }
    if unchecked {
        return;
    }
    if ip.proto == ipproto::UDP && sum == 0 {
        sum = 0xffff;
    }
    set_word(frame, sum_at, sum);
}

/// The packet an ICMP error (unreachable, time exceeded, parameter problem) quotes: its IPv4
/// header and what follows of it.
pub fn quoted(frame: &[u8], ip: &Ip4) -> Option<Ip4> {
    if ip.proto != ipproto::ICMP || !ip.first {
        return None;
    }
    match *frame.get(ip.l4)? {
        icmp::v4::DEST_UNREACHABLE | icmp::v4::TIME_EXCEEDED | icmp::v4::PARAM_PROBLEM => {
            parse_at(&frame[..ip.end], ip.l4 + icmp::HEADER_LEN, true)
        }
        _ => None,
    }
}

/// The ports of a quoted packet (see `ports`).
pub fn quoted_ports(frame: &[u8], outer: &Ip4, q: &Ip4) -> Option<(u16, u16)> {
    ports_of(&frame[..outer.end], q)
}

/// Translates an ICMP error back: the quoted packet's source (our translated endpoint) to
/// `to`, and the error's destination to its address; the ICMP checksum is summed again over
/// the message.
pub fn set_quoted_src(frame: &mut [u8], outer: &Ip4, q: &Ip4, to: (Ipv4Addr, u16)) {
    set_quoted(frame, outer, q, Side::Src, to);
}

/// Translates the `side` of an ICMP error's quoted packet to `to`, and the error's opposite
/// side to its address (a quoted source is the error's destination, a quoted destination its
/// source); the ICMP checksum is summed again over the message.
pub fn set_quoted(frame: &mut [u8], outer: &Ip4, q: &Ip4, side: Side, to: (Ipv4Addr, u16)) {
    set_quoted_only(frame, outer, q, side, to);
    let outer_side = match side {
        Side::Src => Side::Dst,
        Side::Dst => Side::Src,
    };
    set(frame, outer, outer_side, to.0, None);
}

/// Translates the `side` of an ICMP error's quoted packet to `to`, the error's own addresses
/// left as they are; the ICMP checksum is summed again over the message.
pub fn set_quoted_only(frame: &mut [u8], outer: &Ip4, q: &Ip4, side: Side, to: (Ipv4Addr, u16)) {
    {
        let end = outer.end;
        let message = &mut frame[..end];
        let port = ports_of(message, q).map(|_| to.1);
        set(message, q, side, to.0, port);
    }
    let sum_at = outer.l4 + 2;
    set_word(frame, sum_at, 0);
    if let Some(message) = frame.get(outer.l4..outer.end) {
        let sum = checksum::fold(checksum::sum(message));
        set_word(frame, sum_at, sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

    fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .udp(sport, dport);
        let mut out = Vec::new();
        b.write(&mut out, b"hello").unwrap();
        out
    }

    fn checksums_ok(frame: &[u8]) -> bool {
        let p = SlicedPacket::from_ethernet(frame).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
            return false;
        };
        let h = ip.header().to_header();
        let header_ok = h.calc_header_checksum() == h.header_checksum;
        let l4_ok = match p.transport {
            Some(TransportSlice::Udp(u)) => {
                u.checksum() == 0
                    || u.to_header()
                        .calc_checksum_ipv4(&h, u.payload())
                        .is_ok_and(|c| c == u.checksum())
            }
            Some(TransportSlice::Tcp(t)) => t
                .to_header()
                .calc_checksum_ipv4(&h, t.payload())
                .is_ok_and(|c| c == t.checksum()),
            Some(TransportSlice::Icmpv4(i)) => {
                i.header().icmp_type.calc_checksum(i.payload()) == i.checksum()
            }
            _ => true,
        };
        header_ok && l4_ok
    }

    #[test]
    fn source_nat_keeps_every_checksum_right() {
        let mut f = udp([198, 51, 100, 10], [203, 0, 113, 10], 40000, 53);
        let ip = parse(&f).unwrap();
        assert_eq!(ports(&f, &ip), Some((40000, 53)));
        set(
            &mut f,
            &ip,
            Side::Src,
            Ipv4Addr::new(203, 0, 113, 100),
            Some(1024),
        );
        assert!(checksums_ok(&f));
        let ip = parse(&f).unwrap();
        assert_eq!(
            (ip.src, ports(&f, &ip)),
            (Ipv4Addr::new(203, 0, 113, 100), Some((1024, 53)))
        );
    }

    #[test]
    fn udp_without_checksum_stays_without() {
        let mut f = udp([198, 51, 100, 10], [203, 0, 113, 10], 40000, 53);
        let sum_at = eth::HEADER_LEN + 20 + 6;
        f[sum_at..sum_at + 2].copy_from_slice(&[0, 0]);
        let ip = parse(&f).unwrap();
        set(
            &mut f,
            &ip,
            Side::Dst,
            Ipv4Addr::new(198, 51, 100, 20),
            Some(8053),
        );
        assert_eq!(&f[sum_at..sum_at + 2], &[0, 0]);
        assert!(checksums_ok(&f));
    }

    #[test]
    fn tcp_and_ping_identifiers() {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([198, 51, 100, 10], [203, 0, 113, 10], 64)
            .tcp(40000, 22, 7, 1024);
        let mut f = Vec::new();
        b.write(&mut f, b"data").unwrap();
        let ip = parse(&f).unwrap();
        set(
            &mut f,
            &ip,
            Side::Src,
            Ipv4Addr::new(203, 0, 113, 100),
            Some(2000),
        );
        assert!(checksums_ok(&f));
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([198, 51, 100, 10], [203, 0, 113, 10], 64)
            .icmpv4_echo_request(77, 1);
        let mut f = Vec::new();
        b.write(&mut f, b"ping").unwrap();
        let ip = parse(&f).unwrap();
        assert_eq!(ports(&f, &ip), Some((77, 0)));
        set(
            &mut f,
            &ip,
            Side::Src,
            Ipv4Addr::new(203, 0, 113, 100),
            Some(3000),
        );
        assert!(checksums_ok(&f));
        assert_eq!(ports(&f, &parse(&f).unwrap()), Some((3000, 0)));
    }

    #[test]
    fn an_icmp_error_is_translated_back_inside_and_out() {
        // What a router beyond sends about our translated UDP packet: time exceeded.
        let sent = udp([203, 0, 113, 100], [192, 0, 2, 7], 1024, 33434);
        let quote = &sent[eth::HEADER_LEN..eth::HEADER_LEN + 28];
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([203, 0, 113, 1], [203, 0, 113, 100], 64)
            .icmpv4(etherparse::Icmpv4Type::TimeExceeded(
                etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit,
            ));
        let mut f = Vec::new();
        b.write(&mut f, quote).unwrap();
        let ip = parse(&f).unwrap();
        assert_eq!(ports(&f, &ip), None);
        let q = quoted(&f, &ip).unwrap();
        assert_eq!(
            (q.src, quoted_ports(&f, &ip, &q)),
            (Ipv4Addr::new(203, 0, 113, 100), Some((1024, 33434)))
        );
        set_quoted_src(&mut f, &ip, &q, (Ipv4Addr::new(198, 51, 100, 10), 40000));
        assert!(checksums_ok(&f));
        let ip = parse(&f).unwrap();
        assert_eq!(ip.dst, Ipv4Addr::new(198, 51, 100, 10));
        let q = quoted(&f, &ip).unwrap();
        assert_eq!(
            (q.src, quoted_ports(&f, &ip, &q)),
            (Ipv4Addr::new(198, 51, 100, 10), Some((40000, 33434)))
        );
    }
}
