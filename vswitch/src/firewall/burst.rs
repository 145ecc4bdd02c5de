//! The firewall over a burst, as the graph calls it: which packets it reads ahead (the routed
//! ones, to prefetch their connections), which it decides (what crossed networks, went between
//! endpoints of an isolated network, or touches a port with security groups), and its verdict.

use super::conntrack::Path;
use super::flow::{self as flow_reader, Flow};
use super::stage::{self as firewall, Decision, Firewall, Route};
use crate::forwarding::GATEWAY_MAC;
use crate::packet::{eth, ethertype, MacAddr};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::{DropReason, EngineDrop};
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::snapshot::NetIdx;
use crate::pipeline::Context;

use super::FirewallDrop;

/// What the firewall makes of a packet it decides.
pub enum Filtered {
    Verdict(Verdict),
    /// Refused by a reject rule, and not TCP: the gateway of the packet's network (it is back
    /// in `meta.net`) answers with ICMP administratively prohibited.
    Prohibit(DropReason),
}

/// Where a packet came from, before the router moved it.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub net: NetIdx,
    /// Its destination MAC was unicast.
    pub unicast: bool,
}

/// What the firewall needs of the packets to the gateway, read while their routes are looked
/// up, and their connection-table slots prefetched (when there are connections). `every`:
/// read them all, connections or not (a later stage rewrites them before the firewall
/// decides, and the firewall judges them as they arrived).
#[inline(always)]
pub fn read_flows<B: PacketBuf>(
    fw: &Firewall,
    pkts: &[B],
    metas: &[Meta],
    flows: &mut [Option<Flow>],
    every: bool,
) {
    let tracking = every || !fw.conntrack.is_empty();
    for ((buf, meta), flow) in pkts.iter().zip(metas).zip(flows.iter_mut()) {
        // Without connections, a packet is read only if the firewall needs it (see filter).
        if tracking && meta.to_router && meta.dst == GATEWAY_MAC {
            read_flow(buf.data(), flow);
            if let Some(f) = flow.as_mut() {
                firewall::key_flow(f, fw.zone(meta.net));
            }
        } else {
            *flow = None;
        }
    }
    // Back to back: a prefetch into a large table may wait on a page walk, and only the
    // prefetches the CPU has in view at once walk in parallel.
    for h in flows.iter().flatten().filter_map(|f| f.conn.as_ref()) {
        fw.conntrack.prefetch(h);
    }
}

/// Whether the firewall has nothing to decide in a burst: no port has security groups, and
/// every frame stays in its network (none is the gateway's) and that network is not isolated.
#[inline]
pub fn passes_bridged(fw: &Firewall, metas: &[Meta]) -> bool {
    !fw.secured_ports && metas.iter().all(|m| !m.to_router && !fw.isolated(m.net))
}

/// Moves the connection slot of a flow a few packets ahead on from L2 to L1.
#[inline]
pub fn prefetch_near(fw: &Firewall, flow: &Option<Flow>) {
    if let Some(h) = flow.as_ref().and_then(|f| f.conn.as_ref()) {
        fw.conntrack.prefetch_near(h);
    }
}

/// Whether the firewall decides this packet, and on which path: an IP packet the router moved
/// into another network, one between endpoints of an isolated network, or a unicast one that
/// a port with security groups sends or receives. A network pair whose first rule allows
/// everything statelessly needs no look at the packet (while no port has security groups).
#[inline]
pub fn applies<B: PacketBuf>(
    ctx: &Context<'_, Firewall>,
    in_port: u16,
    meta: &Meta,
    from: Origin,
    verdict: &Verdict,
    buf: &B,
) -> Option<Path> {
    let fw = ctx.tables;
    let within_isolated = !meta.to_router && isolated_unicast(fw, meta, verdict);
    let policed = meta.net != from.net || within_isolated;
    let secured = from.unicast && secured(fw, in_port, verdict);
    if !((policed || secured) && crosses(verdict, buf.data())) {
        return None;
    }
    if policed && !fw.secured_ports && fw.classifier.pair_is_open(from.net, meta.net) {
        return None;
    }
    Some(Path {
        in_port,
        out_port: match verdict {
            Verdict::Unicast(to) => Some(*to),
            _ => None,
        },
        policed,
    })
}

/// A frame the bridge forwards between two endpoints of an isolated network (not flooded
/// broadcast or multicast, which ARP and neighbor discovery need).
#[inline]
fn isolated_unicast(fw: &Firewall, meta: &Meta, verdict: &Verdict) -> bool {
    !meta.dst.is_multicast()
        && matches!(
            verdict,
            Verdict::Unicast(_) | Verdict::Remote(_) | Verdict::Flood
        )
        && fw.isolated(meta.net)
}

/// Whether the port a unicast packet comes in on, or the one it goes out of, has security
/// groups.
#[inline]
fn secured(fw: &Firewall, in_port: u16, verdict: &Verdict) -> bool {
    fw.secured_ports
        && (fw.has_security(in_port)
            || matches!(verdict, Verdict::Unicast(to) if fw.has_security(*to)))
}

/// An IP packet on its way into another network (not the ARP request or error the gateway
/// wrote in its place), or between endpoints of an isolated one: the firewall's to check.
#[inline]
fn crosses(verdict: &Verdict, frame: &[u8]) -> bool {
    is_ip(frame)
        && matches!(
            verdict,
            Verdict::Unicast(_) | Verdict::Remote(_) | Verdict::Flood | Verdict::FloodAll
        )
}

/// The firewall's decision on a packet the router moved from `from.net` into `meta.net` (or
/// that `applies` picked otherwise); a rejected one turns into the refusal back to its sender
/// (`src_mac`) in `from.net`.
pub fn filter<B: PacketBuf>(
    ctx: &Context<'_, Firewall>,
    buf: &mut B,
    meta: &mut Meta,
    flow: &mut Option<Flow>,
    (from, src_mac): (Origin, MacAddr),
    path: Path,
    verdict: Verdict,
) -> Filtered {
    let fw = ctx.tables;
    let Some(flow) = flow_of(flow, buf) else {
        return Filtered::Verdict(Verdict::Drop(EngineDrop::BadIp.into()));
    };
    let route = Route {
        zone: fw.zone(from.net),
        from_net: from.net,
        to_net: meta.net,
        path,
    };
    match firewall::check(ctx, flow, &route) {
        Decision::Pass => Filtered::Verdict(verdict),
        Decision::Drop(reason) => Filtered::Verdict(Verdict::Drop(reason)),
        Decision::Reject(reason) => {
            meta.net = from.net;
            refuse(ctx, buf, flow, src_mac, reason)
        }
    }
}

/// Refuses the packet read as `flow` for `reason` (counted): a TCP reset back to `src_mac`,
/// or for anything else the ICMP error the router is to send.
pub fn refuse<B: PacketBuf>(
    ctx: &Context<'_, Firewall>,
    buf: &mut B,
    flow: &Flow,
    src_mac: MacAddr,
    reason: DropReason,
) -> Filtered {
    if flow.tcp.is_none() {
        return Filtered::Prohibit(reason);
    }
    Filtered::Verdict(
        match super::reject::tcp_reset(buf, flow, src_mac, GATEWAY_MAC) {
            Ok(()) => {
                ctx.counters.port(buf.in_port()).drop(reason);
                Verdict::Unicast(buf.in_port())
            }
            Err(r) => Verdict::Drop(r),
        },
    )
}

/// Whether a copy of the IP packet read as `f`, flooded in network `net` to an unknown
/// destination MAC, may leave by `port` (see [`firewall::flood_admits`]); a refused copy is
/// counted on `in_port`.
#[inline]
pub fn flood_admits(
    ctx: &Context<'_, Firewall>,
    f: &Flow,
    net: NetIdx,
    in_port: u16,
    port: u16,
) -> bool {
    let admitted = firewall::flood_admits(ctx, f, ctx.tables.zone(net), net, port);
    if !admitted {
        ctx.counters.port(in_port).drop(FirewallDrop::SecurityGroup);
    }
    admitted
}

/// The flow `read_flows` read of the packet, or else (read now, into the same place) the
/// packet's own, if it is IP.
pub fn flow_of<'f, B: PacketBuf>(flow: &'f mut Option<Flow>, buf: &B) -> Option<&'f Flow> {
    if flow.is_none() && is_ip(buf.data()) {
        read_flow(buf.data(), flow);
    }
    flow.as_ref()
}

/// Reads the IP packet of `frame` into `flow`.
#[inline]
fn read_flow(frame: &[u8], flow: &mut Option<Flow>) {
    match frame.get(eth::HEADER_LEN..) {
        Some(l3) => flow_reader::read(l3, flow),
        None => *flow = None,
    }
}

/// Whether the frame carries IPv4 or IPv6.
fn is_ip(frame: &[u8]) -> bool {
    frame.get(12..14).is_some_and(|t| {
        let t = u16::from_be_bytes([t[0], t[1]]);
        t == ethertype::IPV4 || t == ethertype::IPV6
    })
}
