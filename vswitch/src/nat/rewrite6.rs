//! An IPv6 packet to or from a service VIP, rewritten in place: an address and a port in the
//! IPv6 header and its TCP or UDP header, the L4 checksum (which covers the addresses through
//! the pseudo-header) updated incrementally (RFC 1624). IPv6 has no header checksum; a packet
//! with extension headers is left alone (no ports to read without walking them).

use std::net::Ipv6Addr;
use std::ops::Range;

use super::rewrite::Side;
use crate::packet::{checksum, eth, ipproto, ipv6};

/// An IPv6 packet of an (untagged) Ethernet frame, as the service path reads it.
#[derive(Debug, Clone, Copy)]
pub struct Ip6 {
    /// Where its L4 header starts, and where the packet ends.
    l4: usize,
    end: usize,
    pub proto: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
}

const AT: usize = eth::HEADER_LEN;

/// The IPv6 packet of a frame; `None` for anything malformed (the router's to count).
pub fn parse(frame: &[u8]) -> Option<Ip6> {
    let l3 = frame.get(AT..)?;
    if l3.len() < ipv6::HEADER_LEN {
        return None;
    }
    let ip = ipv6::Packet::new_unchecked(l3);
    let end = AT + ipv6::HEADER_LEN + usize::from(ip.payload_len());
    if ip.version() != 6 || end > frame.len() {
        return None;
    }
    Some(Ip6 {
        l4: AT + ipv6::HEADER_LEN,
        end,
        proto: ip.next_header(),
        src: ip.src_addr(),
        dst: ip.dst_addr(),
    })
}

fn word(frame: &[u8], at: usize) -> Option<u16> {
    frame
        .get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// TCP or UDP ports (source, destination) of a packet whose whole L4 header is there.
pub fn ports(frame: &[u8], ip: &Ip6) -> Option<(u16, u16)> {
    let header = match ip.proto {
        ipproto::TCP => 20,
        ipproto::UDP => 8,
        _ => return None,
    };
    if ip.l4 + header > ip.end {
        return None;
    }
    Some((word(frame, ip.l4)?, word(frame, ip.l4 + 2)?))
}

/// The TCP flags of a TCP segment (0 for anything else).
pub fn tcp_flags(frame: &[u8], ip: &Ip6) -> u8 {
    match ip.proto {
        ipproto::TCP => frame.get(ip.l4 + 13).copied().unwrap_or(0),
        _ => 0,
    }
}

/// Sets the address of `side` to `to` (a floating IP), and the checksum of a TCP, UDP or
/// ICMPv6 header that covers it.
pub fn set_addr(frame: &mut [u8], ip: &Ip6, side: Side, to: Ipv6Addr) {
    let addr_at = AT + if side == Side::Src { 8 } else { 24 };
    let Some(old) = frame
        .get(addr_at..addr_at + 16)
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
    else {
        return;
    };
    let new = to.octets();
    frame[addr_at..addr_at + 16].copy_from_slice(&new);
    let sum_at = match ip.proto {
        ipproto::TCP => ip.l4 + 16,
        ipproto::UDP => ip.l4 + 6,
        ipproto::ICMPV6 => ip.l4 + 2,
        _ => return,
    };
    if sum_at + 2 > ip.end {
        return;
    }
    if let Some(sum) = word(frame, sum_at) {
        let mut sum = checksum::update_bytes(sum, &old, &new);
        if ip.proto == ipproto::UDP && sum == 0 {
            sum = 0xffff;
        }
        frame[sum_at..sum_at + 2].copy_from_slice(&sum.to_be_bytes());
    }
}

/// Where a TCP segment is in its frame.
pub fn tcp_span(ip: &Ip6) -> Option<Range<usize>> {
    (ip.proto == ipproto::TCP).then_some(ip.l4..ip.end)
}

/// Sets the address of `side` to `to` and its port to `port` (TCP or UDP, checked by
/// `ports`).
pub fn set(frame: &mut [u8], ip: &Ip6, side: Side, to: Ipv6Addr, port: u16) {
    set_addr(frame, ip, side, to);
    let port_at = ip.l4 + if side == Side::Src { 0 } else { 2 };
    let sum_at = match ip.proto {
        ipproto::TCP => ip.l4 + 16,
        ipproto::UDP => ip.l4 + 6,
        _ => return,
    };
    let (Some(old_port), Some(sum)) = (word(frame, port_at), word(frame, sum_at)) else {
        return;
    };
    let mut sum = checksum::update16(sum, old_port, port);
    // A UDP checksum is never 0 over IPv6.
    if ip.proto == ipproto::UDP && sum == 0 {
        sum = 0xffff;
    }
    frame[port_at..port_at + 2].copy_from_slice(&port.to_be_bytes());
    frame[sum_at..sum_at + 2].copy_from_slice(&sum.to_be_bytes());
}
