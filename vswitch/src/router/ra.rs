//! Router advertisements (RFC 4861 6, SLAAC per RFC 4862): a host's router solicitation in a
//! network with `--dhcp` and an IPv6 /64 gets an advertisement of the gateway (from its
//! link-local address) with the /64 prefixes to configure addresses from.

use super::table::RouterTables;
use crate::forwarding::nd::{ALL_NODES, ALL_NODES_MAC, ND_HOP_LIMIT, OPT_SOURCE_LLADDR};
use crate::forwarding::{GATEWAY_LINK_LOCAL, GATEWAY_MAC};
use crate::packet::eth::set_macs;
use crate::packet::{eth, ethertype, icmp, ipproto, ipv6};
use crate::pipeline::buf::reshape;
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::Context;
use crate::router::RouterDrop;

/// The RA header after the ICMPv6 header: reachable time and retransmit timer.
const RA_BODY: usize = 8;
const OPT_PREFIX: u8 = 3;
/// Prefix option: on-link and autonomous (addresses may be formed from it).
const PREFIX_ON_LINK_AUTO: u8 = 0xc0;
const PREFIX_OPT_LEN: usize = 32;
/// Seconds hosts keep the gateway as default router, and the prefixes valid / preferred.
const ROUTER_LIFETIME: u16 = 1800;
const VALID_LIFETIME: u32 = 86_400;
const PREFERRED_LIFETIME: u32 = 14_400;

/// Answers a router solicitation; `None` when the frame is not one.
pub fn handle<B: PacketBuf>(
    ctx: &Context<'_, RouterTables>,
    in_port: u16,
    buf: &mut B,
    meta: &Meta,
) -> Option<Verdict> {
    let gw = ctx.tables.gateway(meta.net)?;
    let l3 = buf.data().get(eth::HEADER_LEN..)?;
    let ip = ipv6::Packet::new_checked(l3).ok()?;
    let body = ip.payload();
    if ip.next_header() != ipproto::ICMPV6 || body.first() != Some(&icmp::v6::ROUTER_SOLICIT) {
        return None;
    }
    let msg = icmp::Packet::new_checked(body).ok();
    let valid = msg
        .is_some_and(|m| m.msg_code() == 0 && m.verify_checksum_v6(ip.src_addr(), ip.dst_addr()));
    if ip.hop_limit() != ND_HOP_LIMIT || !valid {
        return Some(Verdict::Drop(RouterDrop::BadNd.into()));
    }
    if gw.slaac.is_empty() {
        return Some(meta.verdict);
    }
    let src = ip.src_addr();
    let (to_ip, to_mac) = if src.is_unspecified() {
        (ALL_NODES, ALL_NODES_MAC)
    } else {
        (src, meta.src)
    };
    let prefixes: Vec<[u8; 16]> = gw
        .slaac
        .iter()
        .filter_map(|p| match p.addr() {
            std::net::IpAddr::V6(a) => Some(a.octets()),
            std::net::IpAddr::V4(_) => None,
        })
        .collect();
    let icmp_len = icmp::HEADER_LEN + RA_BODY + 8 + PREFIX_OPT_LEN * prefixes.len();
    let len = eth::HEADER_LEN + ipv6::HEADER_LEN + icmp_len;
    if let Err(reason) = reshape(buf, len) {
        return Some(Verdict::Drop(reason));
    }
    let frame = &mut buf.data_mut()[..len];
    set_macs(frame, to_mac, GATEWAY_MAC);
    frame[12..14].copy_from_slice(&ethertype::IPV6.to_be_bytes());
    let (ip, msg) = frame[eth::HEADER_LEN..].split_at_mut(ipv6::HEADER_LEN);
    let header = ipv6::Repr {
        src_addr: GATEWAY_LINK_LOCAL,
        dst_addr: to_ip,
        next_header: ipproto::ICMPV6,
        payload_len: icmp_len,
        hop_limit: ND_HOP_LIMIT,
    };
    header.emit(&mut ipv6::Packet::new_unchecked(ip));
    msg.fill(0);
    msg[0] = icmp::v6::ROUTER_ADVERT;
    msg[4] = 64; // the hop limit hosts should use
    msg[6..8].copy_from_slice(&ROUTER_LIFETIME.to_be_bytes());
    let mut at = icmp::HEADER_LEN + RA_BODY;
    msg[at..at + 2].copy_from_slice(&[OPT_SOURCE_LLADDR, 1]);
    msg[at + 2..at + 8].copy_from_slice(&GATEWAY_MAC.0);
    at += 8;
    for p in &prefixes {
        let o = &mut msg[at..at + PREFIX_OPT_LEN];
        o[0..4].copy_from_slice(&[OPT_PREFIX, 4, 64, PREFIX_ON_LINK_AUTO]);
        o[4..8].copy_from_slice(&VALID_LIFETIME.to_be_bytes());
        o[8..12].copy_from_slice(&PREFERRED_LIFETIME.to_be_bytes());
        o[16..32].copy_from_slice(p);
        at += PREFIX_OPT_LEN;
    }
    icmp::Packet::new_unchecked(msg).fill_checksum_v6(GATEWAY_LINK_LOCAL, to_ip);
    Some(Verdict::Unicast(in_port))
}
