//! What IPv4 and IPv6 forwarding share after the route lookup: the next hop out of the route
//! (ECMP), its MAC and port from the neighbor and MAC tables, the MTU on the way out, and the
//! hand-off of the rewritten frame to its new network.

use super::table::RouterTables;
use std::net::IpAddr;

use super::ecmp;
use super::nd::NdFrame;
use super::table::{Route, Vrf};
use crate::forwarding::arp::ArpFrame;
use crate::forwarding::Dest;
use crate::forwarding::GATEWAY_MAC;
use crate::note;
use crate::packet::MacAddr;
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::snapshot::NetIdx;
use crate::pipeline::Context;
use crate::router::RouterDrop;

/// The network and next-hop address of a packet to `dst` by `route` (a connected subnet: the
/// destination itself; a static route: one hop of its group, by the flow's hash). `None` for
/// no route (or a local one, which the caller handles first).
#[inline]
pub fn select(
    vrf: &Vrf,
    route: Option<Route>,
    dst: IpAddr,
    flow_hash: impl FnOnce() -> u32,
) -> Option<(NetIdx, IpAddr)> {
    match route? {
        Route::Connected(net) => Some((net, dst)),
        Route::Via(group) => {
            let hops = vrf.groups.get(usize::from(group))?;
            let hop = match hops.len() {
                0 => return None,
                1 => hops[0],
                n => hops[ecmp::pick(flow_hash(), n)],
            };
            (hop.ip.is_ipv4() == dst.is_ipv4()).then_some((hop.net, hop.ip))
        }
        Route::Local => None,
    }
}

/// What forwarding found for a destination after its route.
pub enum Found {
    /// Leave by this network toward this resolved next hop.
    Out(NetIdx, Egress),
    /// No usable route (none, or a next hop of the other family).
    NoRoute,
    /// The route's next hop in this network has no known MAC yet.
    Unresolved(NetIdx, IpAddr),
}

/// The last destination a burst resolved, so that the packets after it to the same address
/// skip next-hop selection and the neighbor and MAC lookups (a burst is mostly a few flows).
/// Cleared for every burst: within one the snapshot is the same and neighbor changes are seen
/// from the next. Destinations of multi-hop ECMP routes are never kept (the hop is per flow).
#[derive(Debug, Default)]
pub struct BurstMemo {
    last: Option<(u16, IpAddr, NetIdx, Egress)>,
}

impl BurstMemo {
    pub fn clear(&mut self) {
        self.last = None;
    }

    /// Where the previous packet to `dst` in VRF `vrf_idx` went, if it was the last one
    /// resolved.
    #[inline]
    fn get(&self, vrf_idx: u16, dst: IpAddr) -> Option<(NetIdx, Egress)> {
        match self.last {
            Some((v, ip, net, out)) if v == vrf_idx && ip == dst => Some((net, out)),
            _ => None,
        }
    }

    /// Whether `dst` in VRF `vrf_idx` is the destination the burst resolved last: it is no
    /// address of the gateway, and [`find`] needs no route for it.
    #[inline]
    pub fn knows(&self, vrf_idx: u16, dst: IpAddr) -> bool {
        self.get(vrf_idx, dst).is_some()
    }
}

/// The next hop of a packet to `dst` in VRF `vrf_idx` by `route`, from the burst's memo when
/// the previous packet went to the same destination.
#[inline(always)]
pub fn find(
    ctx: &Context<'_, RouterTables>,
    memo: &mut BurstMemo,
    vrf_idx: u16,
    route: Option<Route>,
    dst: IpAddr,
    flow_hash: impl FnOnce() -> u32,
) -> Found {
    // A traced packet's path is worked out whole, to be told.
    if let Some((net, out)) = memo.get(vrf_idx, dst).filter(|_| ctx.trace.is_none()) {
        return Found::Out(net, out);
    }
    let vrf = &ctx.tables.vrfs[usize::from(vrf_idx)];
    let Some((net, hop)) = select(vrf, route, dst, flow_hash) else {
        note!(ctx, "router", "{dst}: no route");
        return Found::NoRoute;
    };
    let resolved = resolve(ctx, vrf, net, hop);
    if ctx.trace.is_some() {
        note_route(ctx, vrf, route, dst, (net, hop), resolved.as_ref());
    }
    let Some(out) = resolved else {
        return Found::Unresolved(net, hop);
    };
    let per_flow = match route {
        Some(Route::Via(group)) => vrf.groups.get(usize::from(group)).map_or(0, Vec::len) > 1,
        _ => false,
    };
    if !per_flow {
        memo.last = Some((vrf_idx, dst, net, out));
    }
    Found::Out(net, out)
}

/// The route a traced packet to `dst` took: to its own subnet, or through a next hop (one of
/// several, by the flow's hash); and the next hop's MAC, when it is known.
#[cold]
#[inline(never)]
fn note_route(
    ctx: &Context<'_, RouterTables>,
    vrf: &Vrf,
    route: Option<Route>,
    dst: IpAddr,
    (net, hop): (NetIdx, IpAddr),
    resolved: Option<&Egress>,
) {
    let net_name = ctx.net_name(net);
    match route {
        Some(Route::Via(group)) => {
            let hops = vrf.groups.get(usize::from(group)).map_or(0, Vec::len);
            match hops {
                2.. => note!(ctx, "router", "{dst}: route via {hop} in network {net_name} (ECMP: one of {hops}, by the flow's hash)"),
                _ => note!(ctx, "router", "{dst}: route via {hop} in network {net_name}"),
            }
        }
        _ => note!(ctx, "router", "{dst}: connected, network {net_name}"),
    }
    if let Some(out) = resolved {
        note!(ctx, "router", "neighbor {hop} is {}", out.mac);
    }
}

/// Where the frame leaves for a resolved next hop.
#[derive(Debug, Clone, Copy)]
pub struct Egress {
    pub mac: MacAddr,
    /// Where the next hop's MAC was learned (flooded in its network when unknown).
    pub dest: Option<Dest>,
    pub mtu: u16,
}

/// The next hop's MAC, port and MTU; `None` when the neighbor is not known in `net`.
#[inline]
pub fn resolve(
    ctx: &Context<'_, RouterTables>,
    vrf: &Vrf,
    net: NetIdx,
    next_hop: IpAddr,
) -> Option<Egress> {
    // Traffic to a neighbor keeps its entry alive; ARP/ND from it keeps its MAC current.
    let n = vrf
        .neighbors
        .lookup_in_use(next_hop, ctx.now)
        .filter(|n| n.net == net)?;
    let dest = ctx.tables.fdbs.get(usize::from(net))?.lookup(n.mac);
    let mtu = match dest {
        Some(Dest::Port(p)) => ctx
            .topo
            .port(p)
            .map_or_else(|| network_mtu(ctx, net), |p| p.mtu),
        Some(Dest::Remote(_)) => ctx
            .topo
            .overlay_mtu
            .unwrap_or_else(|| network_mtu(ctx, net)),
        None => network_mtu(ctx, net),
    };
    Some(Egress {
        mac: n.mac,
        dest,
        mtu,
    })
}

/// The MTU toward network `net` when the next hop's port is not known yet.
fn network_mtu(ctx: &Context<'_, RouterTables>, net: NetIdx) -> u16 {
    ctx.topo
        .network(net)
        .map_or(crate::model::DEFAULT_MTU, |n| n.mtu)
}

/// The next hop is not known: the packet becomes an ARP request (IPv4) or a neighbor
/// solicitation (IPv6) for it from the gateway of its network, flooded there. The sender
/// retries; the answer teaches the gateway where the next hop is.
pub fn ask<B: PacketBuf>(
    ctx: &Context<'_, RouterTables>,
    buf: &mut B,
    meta: &mut Meta,
    net: NetIdx,
    next_hop: IpAddr,
) -> Verdict {
    let gw = ctx.tables.gateway(net);
    let written = match (next_hop, gw.and_then(|g| g.v4), gw.and_then(|g| g.v6)) {
        (IpAddr::V4(ip), Some(from), _) => ArpFrame::request(from, ip).write(buf),
        (IpAddr::V6(ip), _, Some(from)) => NdFrame::solicit(from, ip).write(buf),
        _ => return Verdict::Drop(RouterDrop::NeighborMiss.into()),
    };
    ctx.counters
        .port(buf.in_port())
        .drop(RouterDrop::NeighborMiss);
    note!(
        ctx,
        "router",
        "neighbor {next_hop} unknown in network {}: asked for it (ARP/ND), packet dropped",
        ctx.net_name(net)
    );
    match written {
        Ok(()) => {
            meta.net = net;
            Verdict::FloodAll
        }
        Err(reason) => Verdict::Drop(reason),
    }
}

/// The rewritten frame now belongs to the next hop's network.
#[inline]
pub fn hand_off(meta: &mut Meta, net: NetIdx, e: &Egress) -> Verdict {
    meta.net = net;
    meta.dst = e.mac;
    meta.src = GATEWAY_MAC;
    match e.dest {
        Some(Dest::Port(p)) => Verdict::Unicast(p),
        Some(Dest::Remote(ip)) => Verdict::Remote(ip),
        None => Verdict::FloodAll,
    }
}
