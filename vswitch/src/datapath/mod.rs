//! The graph: the one place that lists the stages a burst goes through, in order, and hands
//! each feature its part of the snapshot. Read top-down, `process_burst` is a packet's path
//! from the RX burst to TX:
//!
//! 1. underlay port only: VXLAN decap ([`vxlan::decap`]): the inner frames go on;
//! 2. classify (engine): parse L2;
//! 3. ingress: the port's VLAN policy picks the network ([`bridge::ingress`]), or the VNI's
//!    network for an inner frame ([`vxlan::decap::admit`]); a frame to a NAT address on an
//!    external network goes on to the inside endpoint it stands for, a service backend's
//!    answer leaves from its VIP ([`nat::arrive`]); the router starts its prefetches;
//! 4. bridge forward ([`bridge::forward_burst`]): learn, FDB lookup; while a flow export is
//!    set, the bridged frames are counted ([`bridge::account`]); a burst the firewall has
//!    nothing to decide in and the gateway no frame of ([`firewall::passes_bridged`]) goes
//!    straight to output;
//! 5. the firewall reads the routed packets' flows and prefetches their connections;
//! 6. per packet: a frame to a service VIP goes on to a backend ([`nat::to_service`]; the
//!    firewall read its flow before: policies see the VIP); the gateway's frames go to DHCP
//!    ([`dhcp::stage`]) or the router ([`router::stage`]), which may move them into another
//!    network; ARP for a NAT address is answered ([`nat::answer_arp`]), a health probe's
//!    answer taken ([`nat::probe_answer`]);
//! 7. the firewall ([`firewall::burst::filter`]) decides packets that crossed networks, or
//!    ports with security groups, on their inside addresses; then what leaves an internal
//!    network for an external one is translated ([`nat::depart`]);
//! 8. output: a port ([`bridge::egress`]), a remote VTEP ([`vxlan::encap`]), or a flood to the
//!    network's ports and remote VTEPs ([`bridge::flood_where`]).
//!
//! Once a poll, one worker also sends the frames the switch originates ([`originate`]); every
//! worker hands its bridged flows' counts on once a second (`start_poll`).

pub mod drops;
pub mod tables;
pub mod trace;

use std::net::Ipv4Addr;

use crate::bridge::flows::L2Flows;
use crate::bridge::stage::{self as bridge, FdbPrefetch};
use crate::dhcp::stage as dhcp;
use crate::firewall::burst::{self as firewall, Filtered, Origin};
use crate::firewall::flow::Flow;
use crate::firewall::stage::Firewall;
use crate::forwarding::Dest;
use crate::nat::stage as nat;
use crate::nat::NatDrop;
use crate::packet::ethertype;
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::classify::classify;
use crate::pipeline::drop::{DropReason, EngineDrop};
use crate::pipeline::meta::{Meta, Verdict, BURST};
use crate::pipeline::snapshot::NetIdx;
use crate::pipeline::trace::Trace;
use crate::pipeline::{Context, Datapath, Output};
use crate::router::stage::{self as router, RouterScratch};
use crate::router::RouterDrop;
use crate::vxlan::decap::{self, Inner};
use crate::vxlan::encap::{self, Prepared};
use crate::vxlan::table::VxlanTables;
pub use tables::{Snapshot, SnapshotCell, Tables};

/// The switch's datapath, as the worker runs it.
pub struct Graph;

impl Datapath for Graph {
    type Tables = Tables;
    type Scratch = Scratch;

    #[inline]
    fn start_poll(ctx: &Context<'_, Tables>, scratch: &mut Scratch) {
        scratch.tunnel = Prepared::default();
        // Also once an export stopped: what was counted before goes (and is dropped).
        scratch
            .bridge_flows
            .tick(&ctx.tables.bridge.handoff, ctx.now);
    }

    #[inline]
    fn process_burst<B: PacketBuf, O: Output<B>>(
        ctx: &Context<'_, Tables>,
        scratch: &mut Scratch,
        in_port: u16,
        pkts: &mut Vec<B>,
        out: &mut O,
    ) {
        process_burst(ctx, scratch, in_port, pkts, out);
    }

    #[inline]
    fn originate<B: PacketBuf, O: Output<B>>(
        ctx: &Context<'_, Tables>,
        scratch: &mut Scratch,
        out: &mut O,
    ) {
        originate(ctx, scratch, out);
    }
}

/// A worker's scratch space, allocated once.
pub struct Scratch {
    meta: [Meta; BURST],
    /// What the firewall read of each routed packet, read once per burst.
    flows: [Option<Flow>; BURST],
    /// Where each decapsulated frame of an underlay burst came from.
    inner: [Inner; BURST],
    router: RouterScratch,
    /// The outer headers last used to reach a remote VTEP, kept for one poll.
    tunnel: Prepared,
    /// The bridged flows counted for the flow export.
    bridge_flows: L2Flows,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            meta: [Meta::default(); BURST],
            flows: [None; BURST],
            inner: [Inner::default(); BURST],
            router: RouterScratch::default(),
            tunnel: Prepared::default(),
            bridge_flows: L2Flows::default(),
        }
    }
}

/// How many packets ahead the connection slot a packet's lookup reads moves on from L2 to L1.
const SLOT_AHEAD: usize = 2;

/// Runs one burst received on `in_port` (at most `BURST` packets) through every stage.
/// `pkts` is left empty: each packet was sent or dropped (and counted). A burst with a traced
/// packet (`ctx.trace`) runs a copy of the graph that notes; every other burst, one in which
/// tracing is compiled out.
#[inline]
pub fn process_burst<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_, Tables>,
    scratch: &mut Scratch,
    in_port: u16,
    pkts: &mut Vec<B>,
    out: &mut O,
) {
    match ctx.trace {
        None => run_burst::<false, B, O>(ctx, scratch, in_port, pkts, out),
        Some(_) => run_burst::<true, B, O>(ctx, scratch, in_port, pkts, out),
    }
}

/// `process_burst`, with (`TRACED`) or without tracing. Never inlined into its caller: one call
/// a burst costs nothing, and the burst's code stays the same wherever it runs (the worker, a
/// test, a benchmark).
#[inline(never)]
fn run_burst<const TRACED: bool, B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_, Tables>,
    scratch: &mut Scratch,
    in_port: u16,
    pkts: &mut Vec<B>,
    out: &mut O,
) {
    // A live trace follows one packet of the burst: the stages see it with that packet only.
    // A simulated burst is that one packet.
    let trace = if TRACED { ctx.trace } else { None };
    let traced_at = trace.map(Trace::packet);
    let of = |meta: &Meta| trace.filter(|_| TRACED && meta.traced);
    let burst_ctx;
    let ctx = match TRACED {
        true => {
            burst_ctx = ctx.traced(trace.filter(|t| t.dry_run()));
            &burst_ctx
        }
        false => ctx,
    };
    let t = ctx.tables;
    let (bridge_ctx, router_ctx) = (ctx.with(&t.bridge), ctx.with(&t.router));
    let (dhcp_ctx, fw_ctx, vx_ctx) = (ctx.with(&t.dhcp), ctx.with(&t.firewall), ctx.with(&t.vxlan));
    let nat_ctx = ctx.with(&t.nat);
    let port_counters = ctx.counters.port(in_port);
    let Some(port) = ctx.topo.port(in_port) else {
        port_counters.drop_n(EngineDrop::UnknownNetwork, pkts.len() as u64);
        pkts.clear();
        return;
    };
    pkts.truncate(BURST);
    scratch.router.start_burst();
    // 1. The VTEP's underlay port carries VXLAN: what goes on are the inner frames.
    let underlay = t.vxlan.vtep.as_ref().filter(|v| v.port == in_port);
    if let Some(vtep) = underlay {
        decap::receive_burst(&vx_ctx, vtep, in_port, pkts, &mut scratch.inner, out);
    }

    // 2-3. classify + ingress policy; survivors are compacted to the front with their metas.
    let mut n = 0;
    let mut prefetch = FdbPrefetch::default();
    for i in 0..pkts.len() {
        let meta = &mut scratch.meta[n];
        if TRACED {
            meta.traced = traced_at == Some(i);
        }
        let buf = &mut pkts[i];
        let admitted = classify(buf, meta)
            .and_then(|()| match underlay {
                None => bridge::ingress(port, buf, meta),
                Some(_) => decap::admit(meta, scratch.inner[i]),
            })
            .and_then(|()| {
                meta.to_router = router::wants(&t.router, meta);
                // To a NAT address: on to the inside endpoint, before anything reads it.
                match meta.to_router {
                    true if TRACED => nat::arrive(&nat_ctx.traced(of(meta)), buf, meta),
                    true => nat::arrive(&nat_ctx, buf, meta),
                    false => Ok(()),
                }
            });
        match admitted {
            Ok(()) if TRACED && meta.traced => {
                trace::ingress(&ctx.traced(of(meta)), in_port, meta);
                pkts.swap(n, i);
                n += 1;
            }
            Err(reason) if TRACED && meta.traced => {
                trace::refused(&ctx.traced(trace), in_port, reason);
                out.dropped(&pkts[i], reason);
                port_counters.drop(reason);
            }
            Ok(()) => {
                prefetch.frame(&t.bridge, meta);
                router::prefetch_lpm_top(&t.router, buf, meta);
                pkts.swap(n, i);
                n += 1;
            }
            Err(reason) => {
                out.dropped(&pkts[i], reason);
                port_counters.drop(reason);
            }
        }
    }
    // Dropping the rejected tail frees its buffers.
    pkts.truncate(n);

    // 4-5. Bridge decisions for the whole burst; the routed packets' flows and routes.
    let (metas, flows) = (&mut scratch.meta[..n], &mut scratch.flows[..n]);
    bridge::forward_burst(&bridge_ctx, in_port, metas);
    if t.bridge.accounting && !ctx.dry_run() {
        bridge::account(&bridge_ctx, &mut scratch.bridge_flows, in_port, pkts, metas);
    }
    if let Some(meta) = metas.iter().find(|m| TRACED && m.traced) {
        trace::bridged(&ctx.traced(trace), meta);
    }
    // A burst the bridge alone forwards, with nothing for the firewall to decide, goes
    // straight to output.
    if firewall::passes_bridged(&t.firewall, metas) {
        for (buf, meta) in pkts.drain(..).zip(metas.iter()) {
            let unicast = !meta.dst.is_multicast();
            let traced;
            let ctx = match TRACED {
                true => {
                    traced = ctx.traced(of(meta));
                    &traced
                }
                false => ctx,
            };
            output(
                ctx,
                &scratch.tunnel,
                in_port,
                meta,
                meta.verdict,
                unicast,
                None,
                buf,
                out,
            );
        }
        return;
    }
    router::prefetch_lpm_chunks(&t.router, pkts, metas);
    // With services, the firewall reads every routed flow now, before VIPs are translated.
    let services = !t.nat.services.is_empty();
    firewall::read_flows(&t.firewall, pkts, metas, flows, services);

    for (i, (mut buf, meta)) in pkts.drain(..).zip(metas.iter_mut()).enumerate() {
        if let Some(f) = flows.get(i + SLOT_AHEAD) {
            firewall::prefetch_near(&t.firewall, f);
        }
        let flow = &mut flows[i];
        let tr = of(meta);
        // The packet's own contexts when it is traced; the burst's (no copy) when not.
        let traced;
        let (ctx, nat_ctx, dhcp_ctx, router_ctx, fw_ctx) = match TRACED {
            true => {
                traced = (
                    ctx.traced(tr),
                    nat_ctx.traced(tr),
                    dhcp_ctx.traced(tr),
                    router_ctx.traced(tr),
                    fw_ctx.traced(tr),
                );
                (&traced.0, &traced.1, &traced.2, &traced.3, &traced.4)
            }
            false => (ctx, &nat_ctx, &dhcp_ctx, &router_ctx, &fw_ctx),
        };
        let (from_net, src_mac) = (meta.net, meta.src);
        let unicast = !meta.dst.is_multicast();
        // 6. To a service VIP: on to a backend (the firewall read the flow: it sees the VIP).
        let to_service = match meta.to_router {
            true => nat::to_service(nat_ctx, &mut buf, meta),
            false => Ok(false),
        };
        // The gateway: DHCP, or the router (which may move the frame to another network).
        let mut verdict = if let Err(reason) = to_service {
            refuse(
                ctx,
                &mut scratch.router,
                &mut buf,
                from_net,
                flow,
                src_mac,
                reason,
            )
        } else if !meta.to_router {
            meta.verdict
        } else if dhcp::wants(meta) {
            dhcp::handle(dhcp_ctx, in_port, &mut buf, meta).unwrap_or(meta.verdict)
        } else {
            match router::handle(router_ctx, &mut scratch.router, in_port, &mut buf, meta) {
                // To a gateway address and not a ping: the local services' (a health probe's
                // answer, a DHCP renewal).
                Verdict::Drop(r) if r == DropReason::from(RouterDrop::ForGateway) => {
                    nat::probe_answer(nat_ctx, in_port, &mut buf, meta)
                        .or_else(|| dhcp::handle(dhcp_ctx, in_port, &mut buf, meta))
                        .unwrap_or(Verdict::Drop(r))
                }
                // ARP or ND the router leaves to the bridge may ask for a NAT address.
                v if meta.ethertype == ethertype::ARP => {
                    nat::answer_arp(nat_ctx, in_port, &mut buf, meta).unwrap_or(v)
                }
                v if meta.ethertype == ethertype::IPV6 => {
                    nat::answer_nd(nat_ctx, in_port, &mut buf, meta).unwrap_or(v)
                }
                v => v,
            }
        };
        // The router's own ICMP error about a packet sent on to a backend (TTL, PMTU) quotes
        // the VIP again.
        if to_service == Ok(true) && verdict == Verdict::Unicast(in_port) {
            nat::error_to_client(nat_ctx, &mut buf, meta);
        }
        // 7. The firewall, for what crossed networks or touches a port with security groups.
        let origin = Origin {
            net: from_net,
            unicast,
        };
        if let Some(path) = firewall::applies(fw_ctx, in_port, meta, origin, &verdict, &buf) {
            let from = (origin, src_mac);
            verdict = match firewall::filter(fw_ctx, &mut buf, meta, flow, from, path, verdict) {
                Filtered::Verdict(v) => v,
                Filtered::Prohibit(reason) => {
                    let rs = &mut scratch.router;
                    router::prohibit(router_ctx, rs, &mut buf, from_net, src_mac, reason)
                }
            };
        }
        // 7b. NAT: what leaves an internal network for an external one, from a NAT address.
        if meta.net != from_net {
            verdict = nat::depart(nat_ctx, from_net, &mut buf, meta, verdict);
        }
        // 8. Output.
        if TRACED && tr.is_some() {
            trace::ended(ctx, verdict);
        }
        let fw = Some((fw_ctx, flow));
        output(
            ctx,
            &scratch.tunnel,
            in_port,
            meta,
            verdict,
            unicast,
            fw,
            buf,
            out,
        );
    }
}

/// A new connection to a VIP that no backend takes: refused like a firewall's `reject` (a TCP
/// reset, else an ICMP error); any other NAT drop is counted.
#[inline(never)]
fn refuse<B: PacketBuf>(
    ctx: &Context<'_, Tables>,
    rs: &mut RouterScratch,
    buf: &mut B,
    from_net: NetIdx,
    flow: &mut Option<Flow>,
    src_mac: crate::packet::MacAddr,
    reason: DropReason,
) -> Verdict {
    let t = ctx.tables;
    let flow = firewall::flow_of(flow, buf).copied();
    match flow {
        Some(f) if reason == DropReason::from(NatDrop::NoBackend) => {
            match firewall::refuse(&ctx.with(&t.firewall), buf, &f, src_mac, reason) {
                Filtered::Verdict(v) => v,
                Filtered::Prohibit(reason) => {
                    router::prohibit(&ctx.with(&t.router), rs, buf, from_net, src_mac, reason)
                }
            }
        }
        _ => Verdict::Drop(reason),
    }
}

/// Sends the frames the switch originates (the services' health probes), each from the
/// gateway of its network: the router finds the next hop (or asks for it).
#[inline(never)]
pub fn originate<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_, Tables>,
    scratch: &mut Scratch,
    out: &mut O,
) {
    let t = ctx.tables;
    let (nat_ctx, router_ctx) = (ctx.with(&t.nat), ctx.with(&t.router));
    scratch.router.start_burst();
    nat::originate(&nat_ctx, |probe| {
        let Some(mut buf) = out.alloc(&probe.frame) else {
            ctx.counters.port(LOCAL).drop(EngineDrop::NoBuffer);
            return;
        };
        let mut meta = Meta {
            net: probe.net,
            ..Meta::default()
        };
        let verdict = router::originate(&router_ctx, &mut scratch.router, &mut buf, &mut meta);
        output(
            ctx,
            &scratch.tunnel,
            LOCAL,
            &meta,
            verdict,
            true,
            None,
            buf,
            out,
        );
    });
}

/// The port number the switch's own frames come from: no port's.
const LOCAL: u16 = u16::MAX;

/// Step 8: sends a decided frame where its verdict says (a port, a remote VTEP, a flood) or
/// counts its drop. `fw` is the firewall with the frame's flow, for a flood that ports with
/// security groups must admit (`None`: the burst had nothing for the firewall).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn output<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_, Tables>,
    tunnel: &Prepared,
    in_port: u16,
    meta: &Meta,
    verdict: Verdict,
    unicast: bool,
    fw: Option<(&Context<'_, Firewall>, &mut Option<Flow>)>,
    buf: B,
    out: &mut O,
) {
    let t = ctx.tables;
    let net = meta.net;
    match verdict {
        // An answer to a frame from a remote VTEP (ARP, ICMP, DHCP) goes back through the
        // tunnel.
        Verdict::Unicast(to) if to == in_port && meta.remote.is_some() => {
            let back = meta.remote.map_or(Dest::Port(to), Dest::Remote);
            deliver(ctx, tunnel, net, in_port, back, buf, out)
        }
        Verdict::Unicast(to) => bridge::egress(&ctx.with(&t.bridge), net, in_port, to, buf, out),
        Verdict::Remote(ip) => encap::send(&ctx.with(&t.vxlan), tunnel, net, in_port, ip, buf, out),
        // Split horizon: a bridged frame never goes back out of its port; the switch's own
        // frames (FloodAll) may.
        Verdict::Flood | Verdict::FloodAll => {
            let except = (verdict == Verdict::Flood).then_some(in_port);
            let from = meta.remote.filter(|_| except.is_some());
            let others = |p: u16| Some(p) != except;
            // Unicast IP to an unknown MAC reaches a port with security groups only if they
            // admit it.
            let guarded = except.is_some() && unicast && t.firewall.secured_ports;
            let admitting = fw
                .filter(|_| guarded)
                .and_then(|(fw, flow)| firewall::flow_of(flow, &buf).map(|f| (fw, f)));
            match admitting {
                Some((fw, f)) => {
                    let admits = |p| others(p) && firewall::flood_admits(fw, f, net, in_port, p);
                    flood(ctx, tunnel, net, in_port, from, admits, buf, out)
                }
                None => flood(ctx, tunnel, net, in_port, from, others, buf, out),
            }
        }
        Verdict::Consumed => {}
        Verdict::Drop(reason) => {
            out.dropped(&buf, reason);
            ctx.counters.port(in_port).drop(reason)
        }
        Verdict::Pending => {
            out.dropped(&buf, EngineDrop::UnknownNetwork.into());
            ctx.counters.port(in_port).drop(EngineDrop::UnknownNetwork)
        }
    }
}

/// Sends a frame of network `net` toward `dest`: out of a local port, or through the tunnel to a
/// remote VTEP.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn deliver<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_, Tables>,
    tunnel: &Prepared,
    net: NetIdx,
    in_port: u16,
    dest: Dest,
    buf: B,
    out: &mut O,
) {
    match dest {
        Dest::Port(to) => bridge::egress(&ctx.with(&ctx.tables.bridge), net, in_port, to, buf, out),
        Dest::Remote(ip) => {
            let vx = ctx.with(&ctx.tables.vxlan);
            encap::send(&vx, tunnel, net, in_port, ip, buf, out)
        }
    }
}

/// Floods a frame of network `net` to the ports `send_to` picks and to its remote VTEPs, unless
/// it came from one (`from`); each copy is delivered like a unicast frame.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn flood<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_, Tables>,
    tunnel: &Prepared,
    net: NetIdx,
    in_port: u16,
    from: Option<Ipv4Addr>,
    send_to: impl FnMut(u16) -> bool,
    buf: B,
    out: &mut O,
) {
    let remotes = flood_remotes(&ctx.tables.vxlan, net, from);
    let send = |d: Dest, b: B| deliver(ctx, tunnel, net, in_port, d, b, out);
    let bridge = ctx.with(&ctx.tables.bridge);
    bridge::flood_where(&bridge, net, in_port, send_to, remotes, buf, send);
}

/// The remote VTEPs a frame flooded in network `net` also goes to: its flood list, unless the
/// frame came from a remote VTEP (`from`; the overlay is a full mesh: split horizon).
#[inline]
fn flood_remotes(vx: &VxlanTables, net: NetIdx, from: Option<Ipv4Addr>) -> &[Ipv4Addr] {
    match from {
        None => vx.flood_list(net),
        Some(_) => &[],
    }
}
