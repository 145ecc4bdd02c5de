//! IPv4 forwarding at the gateway: validate, answer pings to the gateway, TTL, longest-prefix
//! match in the network's VRF, next hop from the neighbor table (or an ARP request for it),
//! egress MTU, then the MAC rewrite and TTL decrement, and the frame moves to the next hop's
//! network.

use super::table::RouterTables;
use std::net::{IpAddr, Ipv4Addr};

use super::ecmp;
use super::icmp_error::{self, echo_reply, IcmpError};
use super::next_hop::{self, Found};
use super::stage::RouterScratch;
use super::table::Route;
use crate::forwarding::GATEWAY_MAC;
use crate::note;
use crate::packet::{checksum, eth, icmp, ipproto, ipv4};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::DropReason;
use crate::pipeline::drop::EngineDrop;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::Context;
use crate::router::RouterDrop;

/// Offset of the TTL and protocol word, and of the checksum, in the IPv4 header.
const TTL_AT: usize = 8;
const CHECKSUM_AT: usize = 10;

/// The header fields forwarding needs, from a header that passed the checks.
struct Header {
    dst: Ipv4Addr,
    ttl: u8,
    total_len: usize,
    dont_frag: bool,
    is_echo_request: bool,
}

/// Checks the IPv4 header in the first segment (version, lengths against the packet, header
/// checksum) and reads what forwarding needs.
#[inline(always)]
fn parse<B: PacketBuf>(buf: &B) -> Result<Header, DropReason> {
    let l3 = buf.data().get(eth::HEADER_LEN..).ok_or(EngineDrop::BadIp)?;
    if l3.len() < ipv4::HEADER_LEN {
        return Err(EngineDrop::BadIp.into());
    }
    let ip = ipv4::Packet::new_unchecked(l3);
    let header = ip.header_len();
    let total_len = usize::from(ip.total_len());
    if ip.version() != 4
        || header < ipv4::HEADER_LEN
        || header > l3.len()
        || total_len < header
        || total_len > buf.pkt_len() - eth::HEADER_LEN
        || !header_checksum_ok(&l3[..header])
    {
        return Err(EngineDrop::BadIp.into());
    }
    let is_echo_request = ip.protocol() == ipproto::ICMP
        && !ip.is_fragment()
        && l3.get(header) == Some(&icmp::v4::ECHO_REQUEST);
    Ok(Header {
        dst: ip.dst_addr(),
        ttl: ip.ttl(),
        total_len,
        dont_frag: ip.dont_frag(),
        is_echo_request,
    })
}

/// The IPv4 header checksum verifies; the usual 20-byte header as five 32-bit words.
#[inline]
fn header_checksum_ok(header: &[u8]) -> bool {
    match header.first_chunk::<{ ipv4::HEADER_LEN }>() {
        Some(h) if header.len() == ipv4::HEADER_LEN => {
            let word =
                |i: usize| u64::from(u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
            let sum = word(0) + word(4) + word(8) + word(12) + word(16);
            checksum::fold(checksum::add(sum as u32, (sum >> 32) as u32)) == 0
        }
        _ => checksum::fold(checksum::sum(header)) == 0,
    }
}

#[inline]
pub fn route<B: PacketBuf>(
    ctx: &Context<'_, RouterTables>,
    rs: &mut RouterScratch,
    in_port: u16,
    buf: &mut B,
    meta: &mut Meta,
) -> Verdict {
    let Some(gw) = ctx.tables.gateway(meta.net) else {
        return Verdict::Drop(RouterDrop::NotRoutable.into());
    };
    let h = match parse(buf) {
        Ok(h) => h,
        Err(reason) => return Verdict::Drop(reason),
    };
    let vrf = &ctx.tables.vrfs[usize::from(gw.vrf)];
    if h.dst.is_broadcast() || h.dst.is_multicast() {
        return Verdict::Drop(RouterDrop::NotRoutable.into());
    }
    let dst = IpAddr::V4(h.dst);
    // The destination the burst resolved last needs no route lookup.
    let route = if ctx.trace.is_none() && rs.memo.knows(gw.vrf, dst) {
        None
    } else {
        vrf.v4.lookup(u32::from(h.dst))
    };
    if route == Some(Route::Local) {
        // Anything but a ping is for the switch's local services (the graph offers it to the
        // DHCP server: a client renewing its lease talks to the gateway's address).
        if !h.is_echo_request {
            return Verdict::Drop(RouterDrop::ForGateway.into());
        }
        note!(
            ctx,
            "router",
            "echo request to the gateway {}: answered",
            h.dst
        );
        return match echo_reply(buf, meta.src) {
            Ok(()) => Verdict::Unicast(in_port),
            Err(reason) => Verdict::Drop(reason),
        };
    }
    let error = |rs: &mut RouterScratch, buf: &mut B, e: IcmpError, reason: DropReason| {
        icmp_error::reply_with(ctx, &mut rs.icmp, buf, gw.v4, meta.src, e, reason)
    };
    if h.ttl <= 1 {
        note!(
            ctx,
            "router",
            "TTL {}: ICMP time exceeded to the sender",
            h.ttl
        );
        return error(
            rs,
            buf,
            IcmpError::TTL_EXCEEDED,
            RouterDrop::TtlExceeded.into(),
        );
    }
    let flow = || ecmp::flow_hash_v4(&buf.data()[eth::HEADER_LEN..]);
    let (to_net, out) = match next_hop::find(ctx, &mut rs.memo, gw.vrf, route, dst, flow) {
        Found::Out(net, out) => (net, out),
        Found::NoRoute => {
            note!(ctx, "router", "ICMP network unreachable to the sender");
            return error(
                rs,
                buf,
                IcmpError::NET_UNREACHABLE,
                RouterDrop::NoRoute.into(),
            );
        }
        Found::Unresolved(net, hop) => return next_hop::ask(ctx, buf, meta, net, hop),
    };
    if h.total_len > usize::from(out.mtu) {
        return if h.dont_frag {
            let e = IcmpError::frag_needed(out.mtu);
            error(rs, buf, e, RouterDrop::FragNeeded.into())
        } else {
            Verdict::Drop(EngineDrop::Mtu.into())
        };
    }
    rewrite(buf, out.mac);
    next_hop::hand_off(meta, to_net, &out)
}
/// The frame, to the next hop from the gateway, one hop older: MACs rewritten, TTL decremented
/// and the header checksum updated for it (RFC 1624), in place. The header was checked whole
/// (`header`), so the fixed-size view never fails and needs no bounds checks.
#[inline(always)]
fn rewrite<B: PacketBuf>(buf: &mut B, next_hop: crate::packet::MacAddr) {
    const TTL: usize = eth::HEADER_LEN + TTL_AT;
    const SUM: usize = eth::HEADER_LEN + CHECKSUM_AT;
    let Some(f) = buf
        .data_mut()
        .first_chunk_mut::<{ eth::HEADER_LEN + ipv4::HEADER_LEN }>()
    else {
        return;
    };
    f[..6].copy_from_slice(&next_hop.0);
    f[6..12].copy_from_slice(&GATEWAY_MAC.0);
    let old = u16::from_be_bytes([f[TTL], f[TTL + 1]]);
    f[TTL] = f[TTL].wrapping_sub(1);
    let new = u16::from_be_bytes([f[TTL], f[TTL + 1]]);
    let sum = u16::from_be_bytes([f[SUM], f[SUM + 1]]);
    f[SUM..SUM + 2].copy_from_slice(&checksum::update16(sum, old, new).to_be_bytes());
}
