//! IPv6 forwarding at the gateway: validate, answer pings to the gateway, hop limit,
//! longest-prefix match in the network's VRF, next hop from the neighbor table (or a neighbor
//! solicitation for it), packet too big (routers never fragment IPv6), then the MAC rewrite and
//! hop limit decrement (IPv6 has no header checksum).

use super::table::RouterTables;
use std::net::{IpAddr, Ipv6Addr};

use super::ecmp;
use super::icmp_error::{self, echo_reply_v6, Icmp6Error};
use super::next_hop::{self, Found};
use super::stage::RouterScratch;
use super::table::Route;
use crate::forwarding::GATEWAY_MAC;
use crate::packet::eth::set_macs;
use crate::packet::prefix::bits;
use crate::packet::{eth, icmp, ipproto, ipv6, MacAddr};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::DropReason;
use crate::pipeline::drop::EngineDrop;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::Context;
use crate::router::RouterDrop;

/// Offset of the hop limit in the IPv6 header.
const HOP_LIMIT_AT: usize = 7;

struct Header {
    dst: Ipv6Addr,
    hop_limit: u8,
    len: usize,
    is_echo_request: bool,
}

fn parse<B: PacketBuf>(buf: &B) -> Result<Header, DropReason> {
    let l3 = buf.data().get(eth::HEADER_LEN..).ok_or(EngineDrop::BadIp)?;
    if l3.len() < ipv6::HEADER_LEN {
        return Err(EngineDrop::BadIp.into());
    }
    let ip = ipv6::Packet::new_unchecked(l3);
    let len = ipv6::HEADER_LEN + usize::from(ip.payload_len());
    if ip.version() != 6 || len > buf.pkt_len() - eth::HEADER_LEN {
        return Err(EngineDrop::BadIp.into());
    }
    Ok(Header {
        dst: ip.dst_addr(),
        hop_limit: ip.hop_limit(),
        len,
        is_echo_request: ip.next_header() == ipproto::ICMPV6
            && l3.get(ipv6::HEADER_LEN) == Some(&icmp::v6::ECHO_REQUEST),
    })
}

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
    if h.dst.is_multicast() || h.dst.is_unspecified() {
        return Verdict::Drop(RouterDrop::NotRoutable.into());
    }
    let vrf = &ctx.tables.vrfs[usize::from(gw.vrf)];
    let dst = IpAddr::V6(h.dst);
    // The destination the burst resolved last needs no route lookup.
    let route = if ctx.trace.is_none() && rs.memo.knows(gw.vrf, dst) {
        None
    } else {
        vrf.v6.lookup(bits(dst))
    };
    if route == Some(Route::Local) {
        if !h.is_echo_request {
            return Verdict::Drop(RouterDrop::ForGateway.into());
        }
        return match echo_reply_v6(buf, meta.src) {
            Ok(()) => Verdict::Unicast(in_port),
            Err(reason) => Verdict::Drop(reason),
        };
    }
    let error = |rs: &mut RouterScratch, buf: &mut B, e: Icmp6Error, reason: DropReason| {
        icmp_error::reply_with(ctx, &mut rs.icmp, buf, gw.v6, meta.src, e, reason)
    };
    if h.hop_limit <= 1 {
        return error(
            rs,
            buf,
            Icmp6Error::HOP_LIMIT_EXCEEDED,
            RouterDrop::TtlExceeded.into(),
        );
    }
    let flow = || ecmp::flow_hash_v6(&buf.data()[eth::HEADER_LEN..]);
    let (to_net, out) = match next_hop::find(ctx, &mut rs.memo, gw.vrf, route, dst, flow) {
        Found::Out(net, out) => (net, out),
        Found::NoRoute => return error(rs, buf, Icmp6Error::NO_ROUTE, RouterDrop::NoRoute.into()),
        Found::Unresolved(net, hop) => return next_hop::ask(ctx, buf, meta, net, hop),
    };
    if h.len > usize::from(out.mtu) {
        let e = Icmp6Error::packet_too_big(out.mtu);
        return error(rs, buf, e, RouterDrop::FragNeeded.into());
    }
    rewrite(buf, out.mac);
    next_hop::hand_off(meta, to_net, &out)
}

#[inline]
fn rewrite<B: PacketBuf>(buf: &mut B, next_hop: MacAddr) {
    let frame = buf.data_mut();
    set_macs(frame, next_hop, GATEWAY_MAC);
    frame[eth::HEADER_LEN + HOP_LIMIT_AT] -= 1;
}
