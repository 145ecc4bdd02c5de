//! The router's datapath entry: which frames the gateway takes, and where each kind goes.

use super::icmp_error::{self, Icmp6Error, IcmpError, IcmpLimiter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::next_hop::{self, BurstMemo, Found};
use super::table::RouterTables;
use super::{arp, forward4, forward6, nd, ra};
use crate::forwarding::GATEWAY_MAC;
use crate::packet::eth::set_macs;
use crate::packet::prefix::bits;
use crate::packet::{eth, ethertype, MacAddr};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::{DropReason, EngineDrop};
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::Context;
use crate::router::RouterDrop;

/// The frame is the gateway's to handle: it is addressed to the gateway MAC, or it is ARP or
/// IPv6 multicast (neighbor discovery), in a network with a gateway. Everything else stays on
/// the bridge's fast path.
#[inline]
pub fn wants(tables: &RouterTables, meta: &Meta) -> bool {
    (meta.dst == GATEWAY_MAC
        || meta.ethertype == ethertype::ARP
        || meta.ethertype == ethertype::IPV6 && meta.dst.is_multicast()
        || meta.ethertype == ethertype::IPV4 && meta.dst == MacAddr::BROADCAST)
        && tables.gateway(meta.net).is_some()
}

/// The IPv4 trie of the frame's VRF and its destination, for a frame to be routed by a trie
/// large enough to be worth prefetching.
#[inline]
fn lpm_target<'s, B: PacketBuf>(
    tables: &'s RouterTables,
    buf: &B,
    meta: &Meta,
) -> Option<(&'s super::lpm::Lpm4<super::table::Route>, u32)> {
    if !meta.to_router || meta.dst != GATEWAY_MAC || meta.ethertype != ethertype::IPV4 {
        return None;
    }
    let vrf = tables.gateway(meta.net)?.vrf;
    let lpm = &tables.vrfs.get(usize::from(vrf))?.v4;
    let dst = buf.data().get(eth::HEADER_LEN + 16..eth::HEADER_LEN + 20)?;
    let dst = u32::from_be_bytes(dst.try_into().ok()?);
    lpm.worth_prefetching().then_some((lpm, dst))
}

/// Route lookups of a burst in a large table, prefetched in two steps like the FDB's: the
/// top-level slots while the burst is classified, the chunk slots after the bridge, so that
/// the lookups find both in cache instead of waiting on each miss in turn.
#[inline]
pub fn prefetch_lpm_top<B: PacketBuf>(tables: &RouterTables, buf: &B, meta: &Meta) {
    if let Some((lpm, dst)) = lpm_target(tables, buf, meta) {
        lpm.prefetch_top(dst);
    }
}

/// Step two of [`prefetch_lpm_top`].
#[inline]
pub fn prefetch_lpm_chunks<B: PacketBuf>(tables: &RouterTables, pkts: &[B], metas: &[Meta]) {
    for (buf, meta) in pkts.iter().zip(metas) {
        if let Some((lpm, dst)) = lpm_target(tables, buf, meta) {
            lpm.prefetch_chunk(dst);
        }
    }
}

/// A worker's router state between packets: its ICMP error budget and the burst's memo.
#[derive(Debug, Default)]
pub struct RouterScratch {
    pub icmp: IcmpLimiter,
    pub memo: BurstMemo,
}

impl RouterScratch {
    /// Called before every burst.
    #[inline]
    pub fn start_burst(&mut self) {
        self.memo.clear();
    }
}

/// Handles a frame `wants` took, after the bridge learned its source and decided where it
/// would go (`meta.verdict`, used for what the gateway leaves to the bridge). May rewrite the
/// frame and move it to another network (`meta.net`).
/// IP to a gateway address that is not a ping comes back unchanged, as a drop for
/// `RouterDrop::ForGateway`: the graph offers it to the switch's local services (DHCP) first.
#[inline(always)]
pub fn handle<B: PacketBuf>(
    ctx: &Context<'_, RouterTables>,
    rs: &mut RouterScratch,
    in_port: u16,
    buf: &mut B,
    meta: &mut Meta,
) -> Verdict {
    match meta.ethertype {
        ethertype::ARP => arp::handle(ctx, in_port, buf, meta),
        ethertype::IPV4 if meta.dst == GATEWAY_MAC => forward4::route(ctx, rs, in_port, buf, meta),
        // IPv4 broadcast: not the gateway's (DHCP is the graph's to offer); the bridge's.
        ethertype::IPV4 => meta.verdict,
        ethertype::IPV6 => match nd::handle(ctx, in_port, buf, meta)
            .or_else(|| ra::handle(ctx, in_port, buf, meta))
        {
            Some(verdict) => verdict,
            None if meta.dst == GATEWAY_MAC => forward6::route(ctx, rs, in_port, buf, meta),
            None => meta.verdict,
        },
        _ => Verdict::Drop(RouterDrop::NotRoutable.into()),
    }
}

/// Sends an IP packet the switch originates from its gateway in network `meta.net`: the
/// route and next hop of its destination, the MACs written (its TTL is its own); an unknown
/// next hop is asked for instead (the packet is lost, its sender tries again).
pub fn originate<B: PacketBuf>(
    ctx: &Context<'_, RouterTables>,
    rs: &mut RouterScratch,
    buf: &mut B,
    meta: &mut Meta,
) -> Verdict {
    let Some(gw) = ctx.tables.gateway(meta.net) else {
        return Verdict::Drop(RouterDrop::NotRoutable.into());
    };
    let vrf = &ctx.tables.vrfs[usize::from(gw.vrf)];
    let frame = buf.data();
    let l3 = frame.get(eth::HEADER_LEN..).unwrap_or_default();
    let (dst, route) = match (l3.first().map(|b| b >> 4), l3.len()) {
        (Some(4), 20..) => {
            let ip = Ipv4Addr::from([l3[16], l3[17], l3[18], l3[19]]);
            (IpAddr::V4(ip), vrf.v4.lookup(u32::from(ip)))
        }
        (Some(6), 40..) => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&l3[24..40]);
            let ip = IpAddr::V6(Ipv6Addr::from(octets));
            (ip, vrf.v6.lookup(bits(ip)))
        }
        _ => return Verdict::Drop(EngineDrop::BadIp.into()),
    };
    match next_hop::find(ctx, &mut rs.memo, gw.vrf, route, dst, || 0) {
        Found::Out(net, out) => {
            set_macs(buf.data_mut(), out.mac, GATEWAY_MAC);
            next_hop::hand_off(meta, net, &out)
        }
        Found::NoRoute => Verdict::Drop(RouterDrop::NoRoute.into()),
        Found::Unresolved(net, hop) => next_hop::ask(ctx, buf, meta, net, hop),
    }
}

/// Answers a packet a firewall rule rejected with ICMP "administratively prohibited" from the
/// gateway of network `net` (where it came from) to `dst_mac`, within the error budget.
pub fn prohibit<B: PacketBuf>(
    ctx: &Context<'_, RouterTables>,
    rs: &mut RouterScratch,
    buf: &mut B,
    net: crate::pipeline::snapshot::NetIdx,
    dst_mac: MacAddr,
    reason: DropReason,
) -> Verdict {
    let gw = ctx.tables.gateway(net);
    let from4 = gw.and_then(|g| g.v4);
    let from6 = gw.and_then(|g| g.v6);
    match buf.data().get(eth::HEADER_LEN).map(|b| b >> 4) {
        Some(4) => icmp_error::reply_with(
            ctx,
            &mut rs.icmp,
            buf,
            from4,
            dst_mac,
            IcmpError::ADMIN_PROHIBITED,
            reason,
        ),
        Some(6) => icmp_error::reply_with(
            ctx,
            &mut rs.icmp,
            buf,
            from6,
            dst_mac,
            Icmp6Error::ADMIN_PROHIBITED,
            reason,
        ),
        _ => Verdict::Drop(reason),
    }
}
