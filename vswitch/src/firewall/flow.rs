//! What the firewall reads of a packet: addresses, protocol, ports (the echo identifier for
//! pings), the TCP segment, and for an ICMP error the connection it is about.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::conntrack::Hashed;
use super::tcp::Segment;
use crate::packet::{icmp, ipproto, ipv4, ipv6, tcp};

/// The addresses, protocol and ports of a packet (or of the packet an ICMP error quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiveTuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub tuple: FiveTuple,
    /// IP total length (what the counters add).
    pub len: u32,
    /// TCP, when the whole header is there.
    pub tcp: Option<Segment>,
    /// ICMP or ICMPv6 type (0 for other protocols).
    pub icmp_type: u8,
    /// For an ICMP error: the connection of the packet it quotes, seen from that packet.
    pub related: Option<FiveTuple>,
    /// Its connection's key in the zone it was read for, once the burst has keyed it.
    pub conn: Option<Hashed>,
}

const WSCALE_OPTION: u8 = 3;

/// The window scale option of a SYN's options.
fn wscale(mut opts: &[u8]) -> Option<u8> {
    while let [kind, rest @ ..] = opts {
        match *kind {
            0 => return None,
            1 => opts = rest,
            _ => {
                let len = usize::from(*rest.first()?);
                if len < 2 || len > opts.len() {
                    return None;
                }
                if *kind == WSCALE_OPTION && len == 3 {
                    return Some(opts[2]);
                }
                opts = &opts[len..];
            }
        }
    }
    None
}

fn segment(l4: &[u8]) -> Option<Segment> {
    let t = tcp::Packet::new_checked(l4).ok()?;
    let header = t.header_len();
    let flags = t.flags();
    Some(Segment {
        flags,
        seq: t.seq_number(),
        ack: t.ack_number(),
        win: t.window(),
        wscale: (flags & super::tcp::flags::SYN != 0)
            .then(|| wscale(t.options()))
            .flatten(),
        data_len: (l4.len().saturating_sub(header)) as u32,
    })
}

/// Ports (or echo identifiers) of an L4 header; zero when there are none or it is cut short.
fn ports(proto: u8, l4: &[u8]) -> (u16, u16) {
    let word = |i: usize| l4.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match proto {
        ipproto::TCP | ipproto::UDP => (word(0).unwrap_or(0), word(2).unwrap_or(0)),
        ipproto::ICMP | ipproto::ICMPV6 => {
            let is_echo = matches!(
                l4.first().copied(),
                Some(icmp::v4::ECHO_REQUEST | icmp::v4::ECHO_REPLY)
            ) && proto == ipproto::ICMP
                || matches!(
                    l4.first().copied(),
                    Some(icmp::v6::ECHO_REQUEST | icmp::v6::ECHO_REPLY)
                ) && proto == ipproto::ICMPV6;
            let id = if is_echo { word(4).unwrap_or(0) } else { 0 };
            (id, id)
        }
        _ => (0, 0),
    }
}

fn is_error(proto: u8, l4: &[u8]) -> bool {
    match (proto, l4.first().copied()) {
        (ipproto::ICMP, Some(t)) => matches!(
            t,
            icmp::v4::DEST_UNREACHABLE | icmp::v4::TIME_EXCEEDED | icmp::v4::PARAM_PROBLEM
        ),
        (ipproto::ICMPV6, Some(t)) => t < 128,
        _ => false,
    }
}

/// The five-tuple of the IPv4 or IPv6 packet at the start of `l3` (possibly cut short, as in
/// an ICMP error's quote), its payload and total length. Always inlined: returned through the
/// stack, the tuple was read back in pieces other than those just stored (a stall per packet).
#[inline(always)]
fn tuple(l3: &[u8]) -> Option<(FiveTuple, &[u8], u32)> {
    let (src, dst, proto, l4, len): (IpAddr, IpAddr, u8, &[u8], usize) = match l3.first()? >> 4 {
        4 => {
            let ip = ipv4::Packet::new_unchecked(l3);
            let header = ip.header_len();
            if l3.len() < ipv4::HEADER_LEN || header < ipv4::HEADER_LEN || header > l3.len() {
                return None;
            }
            let total = usize::from(ip.total_len());
            // Only the first fragment carries the ports.
            let l4 = if ip.frag_offset() == 0 {
                &l3[header..total.clamp(header, l3.len())]
            } else {
                &[][..]
            };
            let (src, dst): (Ipv4Addr, Ipv4Addr) = (ip.src_addr(), ip.dst_addr());
            (src.into(), dst.into(), ip.protocol(), l4, total)
        }
        6 => {
            if l3.len() < ipv6::HEADER_LEN {
                return None;
            }
            let ip = ipv6::Packet::new_unchecked(l3);
            let total = ipv6::HEADER_LEN + usize::from(ip.payload_len());
            let l4 = &l3[ipv6::HEADER_LEN..total.min(l3.len())];
            let (src, dst): (Ipv6Addr, Ipv6Addr) = (ip.src_addr(), ip.dst_addr());
            (src.into(), dst.into(), ip.next_header(), l4, total)
        }
        _ => return None,
    };
    let (sport, dport) = ports(proto, l4);
    let t = FiveTuple {
        src,
        dst,
        proto,
        sport,
        dport,
    };
    Some((t, l4, len as u32))
}

/// Reads the packet at the start of `l3` (after the Ethernet header).
pub fn parse(l3: &[u8]) -> Option<Flow> {
    let mut flow = None;
    read(l3, &mut flow);
    flow
}

/// Reads the packet at the start of `l3` into `into` (`None` when it is not IP or is cut
/// short), in place: where a burst keeps its flows, without a copy of the whole flow per
/// packet on the way.
pub fn read(l3: &[u8], into: &mut Option<Flow>) {
    let Some((t, l4, len)) = tuple(l3) else {
        *into = None;
        return;
    };
    let tcp = (t.proto == ipproto::TCP).then(|| segment(l4)).flatten();
    // An ICMP error quotes the packet that caused it: header + 8 bytes, after its own 8.
    let related = is_error(t.proto, l4)
        .then(|| l4.get(icmp::HEADER_LEN..).and_then(tuple).map(|q| q.0))
        .flatten();
    let icmp_type = match t.proto {
        ipproto::ICMP | ipproto::ICMPV6 => l4.first().copied().unwrap_or(0),
        _ => 0,
    };
    *into = Some(Flow {
        tuple: t,
        len,
        tcp,
        icmp_type,
        related,
        conn: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use proptest::prelude::*;

    #[test]
    fn tcp_syn_with_window_scale() {
        let mut out = Vec::new();
        PacketBuilder::ipv4([198, 51, 100, 10], [203, 0, 113, 20], 64)
            .tcp(40000, 8080, 1000, 65535)
            .syn()
            .options(&[etherparse::TcpOptionElement::WindowScale(7)])
            .unwrap()
            .write(&mut out, &[])
            .unwrap();
        let f = parse(&out).unwrap();
        assert_eq!(f.tuple.proto, ipproto::TCP);
        assert_eq!((f.tuple.sport, f.tuple.dport), (40000, 8080));
        let seg = f.tcp.unwrap();
        assert!(seg.is_open());
        assert_eq!((seg.seq, seg.wscale, seg.data_len), (1000, Some(7), 0));
    }

    #[test]
    fn pings_key_on_their_identifier_and_errors_name_their_flow() {
        let mut ping = Vec::new();
        PacketBuilder::ipv4([198, 51, 100, 10], [203, 0, 113, 20], 64)
            .icmpv4_echo_request(77, 1)
            .write(&mut ping, b"hi")
            .unwrap();
        let f = parse(&ping).unwrap();
        assert_eq!((f.tuple.sport, f.tuple.dport), (77, 77));
        assert_eq!(f.icmp_type, icmp::v4::ECHO_REQUEST);
        let mut err = Vec::new();
        PacketBuilder::ipv4([203, 0, 113, 1], [198, 51, 100, 10], 64)
            .icmpv4(etherparse::Icmpv4Type::TimeExceeded(
                etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit,
            ))
            .write(&mut err, &ping)
            .unwrap();
        let e = parse(&err).unwrap();
        assert_eq!(e.related, Some(f.tuple));
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = parse(&data);
        }
    }
}
