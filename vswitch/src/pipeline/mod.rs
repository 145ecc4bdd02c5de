//! The engine: the buffer trait, per-core counters, and the stage order a burst goes through.
//!
//! [underlay port: VXLAN decap, VTEP ARP] → classify (parse L2) → bridge ingress (port policy:
//! VLAN → network, pop tag; or the VNI's network for a decapsulated frame) → bridge forward
//! (learn, FDB lookup) → router (frames for the gateway: ARP, IPv4 routing into another network)
//! → firewall → output (flood copies, push tag, MTU; VXLAN encap to remote VTEPs) → the
//! caller's `Output`.

pub mod buf;
pub mod classify;
pub mod clock;
pub mod counters;
pub mod meta;
pub mod worker;

use crate::bridge::stage::{self as bridge, Overlay};
use crate::config::snapshot::{NetIdx, Snapshot};
use crate::firewall::conntrack::Path;
use crate::firewall::flow::{self as flow_reader, Flow};
use crate::firewall::stage::{self as firewall, Decision, Route};
use crate::forwarding::Dest;
use crate::forwarding::GATEWAY_MAC;
use crate::packet::{eth, ethertype, MacAddr};
use crate::router::stage as router;
use crate::vxlan::decap::{self, Inner};
use crate::vxlan::encap;
use buf::PacketBuf;
use counters::{DropReason, WorkerCounters};
use meta::{Meta, Verdict, BURST};

/// Where the pipeline hands finished packets: the worker's TX batcher, or a test's collector.
pub trait Output<B> {
    /// Queues `buf` for `port`; the output owns it from here (and counts what it cannot send).
    fn send(&mut self, port: u16, buf: B);
}

/// A worker's scratch space, allocated once.
pub struct Scratch {
    meta: [Meta; BURST],
    /// What the firewall read of each routed packet, read once per burst.
    flows: [Option<Flow>; BURST],
    /// Where each decapsulated frame of an underlay burst came from.
    inner: [Inner; BURST],
    router: router::RouterScratch,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            meta: [Meta::default(); BURST],
            flows: [None; BURST],
            inner: [Inner::default(); BURST],
            router: router::RouterScratch::default(),
        }
    }
}

/// Everything a burst needs from its worker.
pub struct Context<'a> {
    pub snap: &'a Snapshot,
    pub counters: &'a WorkerCounters,
    pub now: u32,
    /// The outer headers last used to reach a remote VTEP, kept for one poll.
    pub(crate) tunnel: encap::Prepared,
}

impl<'a> Context<'a> {
    pub fn new(snap: &'a Snapshot, counters: &'a WorkerCounters, now: u32) -> Context<'a> {
        Context {
            snap,
            counters,
            now,
            tunnel: encap::Prepared::default(),
        }
    }
}

/// Runs one burst received on `in_port` (at most `BURST` packets) through every stage.
/// `pkts` is left empty: each packet was sent or dropped (and counted).
pub fn process_burst<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_>,
    scratch: &mut Scratch,
    in_port: u16,
    pkts: &mut Vec<B>,
    out: &mut O,
) {
    let port_counters = ctx.counters.port(in_port);
    let Some(port) = ctx.snap.port(in_port) else {
        port_counters.drops[DropReason::UnknownNetwork as usize].add(pkts.len() as u64);
        pkts.clear();
        return;
    };
    pkts.truncate(BURST);
    scratch.router.start_burst();
    // The VTEP's underlay port carries VXLAN: what goes on are the inner frames.
    let underlay = ctx.snap.vtep.as_ref().filter(|v| v.port == in_port);
    if let Some(vtep) = underlay {
        decap::receive_burst(ctx, vtep, in_port, pkts, &mut scratch.inner, out);
    }

    // classify + ingress policy; survivors are compacted to the front with their metas.
    let mut n = 0;
    let mut prefetch = bridge::FdbPrefetch::default();
    for i in 0..pkts.len() {
        let meta = &mut scratch.meta[n];
        let buf = &mut pkts[i];
        let admitted = classify::classify(buf, meta).and_then(|()| match underlay {
            None => bridge::ingress(port, buf, meta),
            Some(_) => decap::admit(meta, scratch.inner[i]),
        });
        match admitted {
            Ok(()) => {
                meta.to_router = router::wants(ctx.snap, meta);
                prefetch.frame(ctx.snap, meta);
                router::prefetch_lpm_top(ctx.snap, buf, meta);
                pkts.swap(n, i);
                n += 1;
            }
            Err(reason) => port_counters.drop(reason),
        }
    }
    // Dropping the rejected tail frees its buffers.
    pkts.truncate(n);

    let (metas, flows) = (&mut scratch.meta[..n], &mut scratch.flows[..n]);
    bridge::forward_burst(ctx.snap, in_port, metas, ctx.now);
    router::prefetch_lpm_chunks(ctx.snap, pkts, metas);
    read_flows(ctx.snap, pkts, metas, flows);

    for (i, (mut buf, meta)) in pkts.drain(..).zip(metas.iter_mut()).enumerate() {
        if let Some(h) = flows
            .get(i + SLOT_AHEAD)
            .and_then(|f| f.as_ref()?.conn.as_ref())
        {
            ctx.snap.firewall.conntrack.prefetch_near(h);
        }
        let flow = &mut flows[i];
        let (from_net, src_mac) = (meta.net, meta.src);
        let unicast = !meta.dst.is_multicast();
        let mut verdict = if meta.to_router {
            router::handle(ctx, &mut scratch.router, in_port, &mut buf, meta)
        } else {
            meta.verdict
        };
        let within_isolated = !meta.to_router && isolated_unicast(ctx.snap, meta, &verdict);
        let policed = meta.net != from_net || within_isolated;
        let secured = unicast && secured(ctx.snap, in_port, &verdict);
        if (policed || secured) && crosses(&verdict, buf.data()) {
            let path = Path {
                in_port,
                out_port: match verdict {
                    Verdict::Unicast(to) => Some(to),
                    _ => None,
                },
                policed,
            };
            let from = Origin {
                net: from_net,
                mac: src_mac,
                path,
            };
            verdict = filter(
                ctx,
                &mut scratch.router,
                &mut buf,
                meta,
                flow,
                from,
                verdict,
            );
        }
        let overlay = Overlay::from(meta.remote);
        match verdict {
            // An answer to a frame from a remote VTEP (ARP, ICMP, DHCP) goes back through the
            // tunnel.
            Verdict::Unicast(to) if to == in_port && meta.remote.is_some() => {
                let back = meta.remote.map_or(Dest::Port(to), Dest::Remote);
                deliver(ctx, meta.net, in_port, back, buf, out)
            }
            Verdict::Unicast(to) => bridge::egress(ctx, meta.net, in_port, to, buf, out),
            Verdict::Remote(ip) => encap::send(ctx, meta.net, in_port, ip, buf, out),
            Verdict::Flood if unicast && ctx.snap.firewall.secured_ports => {
                flood_guarded(ctx, meta.net, in_port, overlay, flow, buf, out)
            }
            Verdict::Flood => {
                bridge::flood(ctx, meta.net, in_port, Some(in_port), overlay, buf, out)
            }
            Verdict::FloodAll => {
                bridge::flood(ctx, meta.net, in_port, None, Overlay::Replicate, buf, out)
            }
            Verdict::Consumed => {}
            Verdict::Drop(reason) => port_counters.drop(reason),
            Verdict::Pending => port_counters.drop(DropReason::UnknownNetwork),
        }
    }
}

/// Sends a frame of network `net` to where its destination is: out of a local port, or through
/// the tunnel to a remote VTEP.
#[inline]
pub fn deliver<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_>,
    net: NetIdx,
    in_port: u16,
    dest: Dest,
    buf: B,
    out: &mut O,
) {
    match dest {
        Dest::Port(to) => bridge::egress(ctx, net, in_port, to, buf, out),
        Dest::Remote(ip) => encap::send(ctx, net, in_port, ip, buf, out),
    }
}

/// How many packets ahead the connection slot a packet's lookup reads moves on from L2 to L1.
const SLOT_AHEAD: usize = 2;

/// What the firewall needs of the packets to the gateway, read while their routes are looked
/// up, and their connection-table slots prefetched (when there are connections).
#[inline]
fn read_flows<B: PacketBuf>(
    snap: &Snapshot,
    pkts: &[B],
    metas: &[Meta],
    flows: &mut [Option<Flow>],
) {
    let fw = &snap.firewall;
    let tracking = !fw.conntrack.is_empty();
    for ((buf, meta), flow) in pkts.iter().zip(metas).zip(flows.iter_mut()) {
        // Without connections, a packet is read only if the firewall needs it (see filter).
        let routed = tracking && meta.to_router && meta.dst == GATEWAY_MAC;
        match routed.then(|| snap.gateway(meta.net)).flatten() {
            Some(g) => {
                read_flow(buf.data(), flow);
                if let Some(f) = flow.as_mut() {
                    firewall::key_flow(f, g.vrf);
                }
            }
            None => *flow = None,
        }
    }
    // Back to back: a prefetch into a large table may wait on a page walk, and only the
    // prefetches the CPU has in view at once walk in parallel.
    for h in flows.iter().flatten().filter_map(|f| f.conn.as_ref()) {
        fw.conntrack.prefetch(h);
    }
}

/// A frame the bridge forwards between two endpoints of an isolated network (not flooded
/// broadcast or multicast, which ARP and neighbor discovery need).
#[inline]
fn isolated_unicast(snap: &Snapshot, meta: &Meta, verdict: &Verdict) -> bool {
    !meta.dst.is_multicast()
        && matches!(
            verdict,
            Verdict::Unicast(_) | Verdict::Remote(_) | Verdict::Flood
        )
        && snap
            .networks
            .get(usize::from(meta.net))
            .is_some_and(|n| n.isolated)
}

/// Floods a unicast frame to an unknown MAC; when it is IP, a port with security groups gets a
/// copy only if their ingress rules (or a tracked connection) admit it.
fn flood_guarded<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_>,
    net: NetIdx,
    in_port: u16,
    overlay: Overlay,
    flow: &mut Option<Flow>,
    buf: B,
    out: &mut O,
) {
    let Some(f) = flow_of(flow, &buf) else {
        return bridge::flood(ctx, net, in_port, Some(in_port), overlay, buf, out);
    };
    let zone = firewall::zone(ctx.snap, net);
    let send_to = |p: u16| {
        if p == in_port {
            return false;
        }
        let admitted = firewall::flood_admits(ctx, f, zone, net, p);
        if !admitted {
            ctx.counters.port(in_port).drop(DropReason::SecurityGroup);
        }
        admitted
    };
    bridge::flood_where(ctx, net, in_port, send_to, overlay, buf, out);
}

/// The flow `read_flows` read of the packet, or else (read now, into the same place) the
/// packet's own, if it is IP.
fn flow_of<'f, B: PacketBuf>(flow: &'f mut Option<Flow>, buf: &B) -> Option<&'f Flow> {
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

/// Where a packet the firewall checks came from, and the ports it crosses.
struct Origin {
    net: NetIdx,
    mac: MacAddr,
    path: Path,
}

/// Whether the port a unicast packet comes in on, or the one it goes out of, has security
/// groups.
#[inline]
fn secured(snap: &Snapshot, in_port: u16, verdict: &Verdict) -> bool {
    let has = |p: u16| snap.port(p).is_some_and(|p| p.security.is_some());
    snap.firewall.secured_ports
        && (has(in_port) || matches!(verdict, Verdict::Unicast(to) if has(*to)))
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

/// The firewall's decision on a packet the router moved from `from_net` into `meta.net`; a
/// rejected one turns into the refusal back to its sender (`src_mac`) in `from_net`.
fn filter<B: PacketBuf>(
    ctx: &Context<'_>,
    rs: &mut router::RouterScratch,
    buf: &mut B,
    meta: &mut Meta,
    flow: &mut Option<Flow>,
    from: Origin,
    verdict: Verdict,
) -> Verdict {
    let Origin {
        net: from_net,
        mac: src_mac,
        path,
    } = from;
    let fw = &ctx.snap.firewall;
    let no_groups = !fw.secured_ports;
    if path.policed && no_groups && fw.classifier.pair_is_open(from_net, meta.net) {
        return verdict;
    }
    let Some(flow) = flow_of(flow, buf) else {
        return Verdict::Drop(DropReason::BadIp);
    };
    let route = Route {
        zone: firewall::zone(ctx.snap, from_net),
        from_net,
        to_net: meta.net,
        path,
    };
    match firewall::check(ctx, flow, &route) {
        Decision::Pass => verdict,
        Decision::Drop(reason) => Verdict::Drop(reason),
        Decision::Reject(reason) => {
            meta.net = from_net;
            if flow.tcp.is_none() {
                return router::prohibit(ctx, rs, buf, from_net, src_mac, reason);
            }
            match crate::firewall::reject::tcp_reset(buf, flow, src_mac, GATEWAY_MAC) {
                Ok(()) => {
                    ctx.counters.port(buf.in_port()).drop(reason);
                    Verdict::Unicast(buf.in_port())
                }
                Err(r) => Verdict::Drop(r),
            }
        }
    }
}
