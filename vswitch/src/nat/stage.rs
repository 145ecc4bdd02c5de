//! NAT in the datapath. Inbound, before routing: a packet on an external network to a NAT
//! address goes on to the inside endpoint it stands for (an ICMP error about a translated
//! connection too, its quote translated back), a backend's answer leaves from its VIP. To a
//! VIP, after the firewall read the packet and before routing: on to a backend. Outbound,
//! after the firewall: a packet the router moved from an internal network into an external
//! one leaves from its endpoint's floating IP, or from an address and port of its source's
//! SNAT rule. The NAT addresses answer ARP on their external networks, and the answers to
//! the backends' health probes are taken.

use std::net::IpAddr;

use super::bindings::Mark;
use super::health::{self, Reply};
use super::ip::ServicePacket;
use super::rewrite::{self, Ip4, Side};
use super::rewrite6::{self, Ip6};
use super::table::{Address, NatTables};
use super::NatDrop;
use crate::forwarding::arp::ArpFrame;
use crate::forwarding::nd;
use crate::forwarding::GATEWAY_MAC;
use crate::note;
use crate::packet::{arp, eth, ethertype, icmp, ipproto};
use crate::pipeline::buf::{reshape, PacketBuf};
use crate::pipeline::drop::DropReason;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::snapshot::NetIdx;
use crate::pipeline::Context;

/// Inbound translation of a frame the gateway takes (`meta.to_router`): to a NAT address, on
/// to the inside endpoint it stands for; from a service's backend, back from its VIP.
#[inline]
pub fn arrive<B: PacketBuf>(
    ctx: &Context<'_, NatTables>,
    buf: &mut B,
    meta: &Meta,
) -> Result<(), DropReason> {
    let t = ctx.tables;
    if t.is_empty() || meta.dst != GATEWAY_MAC {
        return Ok(());
    }
    let frame = buf.data_mut();
    match meta.ethertype {
        ethertype::IPV4 => {
            // Malformed IP is the router's to count.
            let Some(ip) = rewrite::parse(frame) else {
                return Ok(());
            };
            if let Some(address) = t.address(meta.net, ip.dst) {
                translate_in(ctx, frame, &ip, address)?;
            }
            if !t.services.is_empty() && !error_from_backend(ctx, frame, &ip, meta.net) {
                from_backend::<Ip4>(ctx, frame, meta.net);
            }
        }
        ethertype::IPV6 => {
            if t.has_floating6() {
                floating_in6(ctx, frame, meta.net);
            }
            if !t.services.is_empty() {
                hairpin_back6(ctx, frame, meta.net);
                from_backend::<Ip6>(ctx, frame, meta.net);
            }
        }
        _ => {}
    }
    Ok(())
}

fn translate_in(
    ctx: &Context<'_, NatTables>,
    frame: &mut [u8],
    ip: &Ip4,
    address: Address,
) -> Result<(), DropReason> {
    let t = ctx.tables;
    // The inside endpoint of a SNAT or hairpin binding; without one, a packet to a gateway
    // address is the gateway's own.
    let bound = |proto, outside, remote, mark| match t
        .bindings
        .inside(proto, outside, remote, ctx.now, mark)
    {
        Some(inside) => Ok(Some(inside)),
        None if address == Address::Hairpin => Ok(None),
        None => Err(DropReason::from(NatDrop::NoBinding)),
    };
    // An ICMP error about a connection we translated: to whoever sent what it quotes.
    if let Some(q) = rewrite::quoted(frame, ip) {
        let (sport, dport) = rewrite::quoted_ports(frame, ip, &q).unwrap_or((0, 0));
        let inside = match address {
            Address::Floating(endpoint) => Some((endpoint, sport)),
            Address::Snat | Address::Hairpin => {
                bound(q.proto, (q.src, sport), (q.dst, dport), Mark::None)?
            }
        };
        if let Some(inside) = inside {
            rewrite::set_quoted_src(frame, ip, &q, inside);
        }
        return Ok(());
    }
    match address {
        Address::Floating(endpoint) => {
            note!(ctx, "nat", "floating IP {}: on to {endpoint}", ip.dst);
            rewrite::set(frame, ip, Side::Dst, endpoint, None)
        }
        Address::Snat | Address::Hairpin => {
            let Some((sport, dport)) = rewrite::ports(frame, ip) else {
                return match address {
                    Address::Hairpin => Ok(()),
                    _ => Err(NatDrop::Untranslatable.into()),
                };
            };
            let mark = Mark::of_tcp(rewrite::tcp_flags(frame, ip));
            if let Some(inside) = bound(ip.proto, (ip.dst, dport), (ip.src, sport), mark)? {
                note!(
                    ctx,
                    "nat",
                    "SNAT binding {}:{dport}: on to {}:{}",
                    ip.dst,
                    inside.0,
                    inside.1
                );
                rewrite::set(frame, ip, Side::Dst, inside.0, Some(inside.1));
            }
        }
    }
    Ok(())
}

/// A backend's answer to a client of its service leaves from the VIP the client called.
fn from_backend<P: ServicePacket>(ctx: &Context<'_, NatTables>, frame: &mut [u8], net: NetIdx) {
    let t = ctx.tables;
    if !t.services.has_backends(net) {
        return;
    }
    let Some(ip) = P::parse(frame) else {
        return;
    };
    let vrf = t.vrf(net);
    if t.services.backend(vrf, ip.src().into()).is_none() {
        return;
    }
    let Some((sport, dport)) = ip.ports(frame) else {
        return;
    };
    let mark = Mark::of_tcp(ip.tcp_flags(frame));
    let (backend, client) = ((ip.src(), sport), (ip.dst(), dport));
    let session = P::sessions(t).vip(vrf, ip.proto(), backend, client, ctx.now, mark);
    if let Some(vip) = session {
        note!(
            ctx,
            "nat",
            "a backend's answer: leaves from VIP {}",
            Endpoint((vip.0.into(), vip.1))
        );
        ip.set(frame, Side::Src, vip);
    }
}

/// An address and port as a trace shows it.
struct Endpoint((IpAddr, u16));

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            (IpAddr::V4(a), p) => write!(f, "{a}:{p}"),
            (IpAddr::V6(a), p) => write!(f, "[{a}]:{p}"),
        }
    }
}

/// An ICMP error from a backend's network about a packet of a VIP connection (a UDP service's
/// port unreachable, a PMTU error): the quoted destination and the error's source become the
/// VIP again, so that the client matches it to its socket. `false`: not one.
fn error_from_backend(
    ctx: &Context<'_, NatTables>,
    frame: &mut [u8],
    ip: &Ip4,
    net: NetIdx,
) -> bool {
    let t = ctx.tables;
    if !t.services.has_backends(net) {
        return false;
    }
    let Some(q) = rewrite::quoted(frame, ip) else {
        return false;
    };
    let Some((sport, dport)) = rewrite::quoted_ports(frame, ip, &q) else {
        return true;
    };
    let (backend, client) = ((q.dst, dport), (q.src, sport));
    let vip = t
        .sessions
        .vip(t.vrf(net), q.proto, backend, client, ctx.now, Mark::None);
    if let Some(vip) = vip {
        rewrite::set_quoted(frame, ip, &q, Side::Dst, vip);
    }
    true
}

/// A frame to a service VIP goes on to the backend of its connection: the one it has, or one
/// the service's Maglev table picks for a new connection. A client in the backend's own
/// network also leaves from the gateway's address there (hairpin), so that the answer comes
/// back through the switch. Runs after the firewall read the flow (policies see the VIP)
/// and before the router (which routes to the backend). `Ok(true)`: sent on to a backend.
#[inline]
pub fn to_service<B: PacketBuf>(
    ctx: &Context<'_, NatTables>,
    buf: &mut B,
    meta: &Meta,
) -> Result<bool, DropReason> {
    let t = ctx.tables;
    if t.services.is_empty() || meta.dst != GATEWAY_MAC {
        return Ok(false);
    }
    match meta.ethertype {
        ethertype::IPV4 => to_service_in::<Ip4>(ctx, buf.data_mut(), meta.net),
        ethertype::IPV6 => to_service_in::<Ip6>(ctx, buf.data_mut(), meta.net),
        _ => Ok(false),
    }
}

fn to_service_in<P: ServicePacket>(
    ctx: &Context<'_, NatTables>,
    frame: &mut [u8],
    net: NetIdx,
) -> Result<bool, DropReason> {
    let t = ctx.tables;
    let Some(ip) = P::parse(frame).filter(|ip| t.services.is_vip(ip.dst().into())) else {
        return Ok(false);
    };
    let Some((sport, dport)) = ip.ports(frame) else {
        return match ip.proto() {
            ipproto::TCP | ipproto::UDP => Err(NatDrop::Untranslatable.into()),
            _ => Ok(false),
        };
    };
    let vrf = t.vrf(net);
    let (client, vip) = ((ip.src(), sport), (ip.dst(), dport));
    let any = |a: (P::Addr, u16)| (a.0.into(), a.1);
    let Some(svc) = t.services.lookup(vrf, ip.proto(), any(vip)) else {
        return Ok(false);
    };
    // A described packet (a simulated trace) marks no session and opens none.
    let dry_run = ctx.dry_run();
    let mark = match dry_run {
        false => Mark::of_tcp(ip.tcp_flags(frame)),
        true => Mark::None,
    };
    let sessions = P::sessions(t);
    let shown = |a: (P::Addr, u16)| Endpoint(any(a));
    let found = match dry_run {
        false => sessions.backend(vrf, ip.proto(), client, vip, ctx.now, mark),
        // A described packet leaves the session's idle timer as it is.
        true => sessions.peek_backend(vrf, ip.proto(), client, vip),
    };
    let backend = match found {
        Some(backend) => {
            note!(
                ctx,
                "nat",
                "VIP {}: the connection's backend {}",
                shown(vip),
                shown(backend)
            );
            backend
        }
        None => {
            let Some(pick) = svc.pick(any(client)) else {
                note!(ctx, "nat", "VIP {}: no backend is up", shown(vip));
                return Err(NatDrop::NoBackend.into());
            };
            let addr = P::of(pick.addr.0).ok_or(NatDrop::NoBackend)?;
            let picked = (addr, pick.addr.1);
            note!(
                ctx,
                "nat",
                "VIP {}: new connection, backend {} (Maglev)",
                shown(vip),
                shown(picked)
            );
            match dry_run {
                true => picked,
                false => sessions
                    .open(vrf, ip.proto(), (client, vip), picked, ctx.now)
                    .ok_or(NatDrop::NoBackend)?,
            }
        }
    };
    ip.set(frame, Side::Dst, backend);
    if dry_run {
        return Ok(true);
    }
    hairpin(ctx, frame, net, (any(client), any(backend)), mark)?;
    Ok(true)
}

/// The router answered a packet `to_service` had sent on to a backend with an ICMP error of
/// its own (time exceeded, fragmentation needed): its quote names the backend, the client
/// knows the VIP. The quote's destination becomes the VIP again; the error stays the
/// gateway's (IPv4; a hairpin connection's quote keeps the gateway's source).
pub fn error_to_client<B: PacketBuf>(ctx: &Context<'_, NatTables>, buf: &mut B, meta: &Meta) {
    let t = ctx.tables;
    let frame = buf.data_mut();
    let Some(ip) = rewrite::parse(frame) else {
        return;
    };
    let Some(q) = rewrite::quoted(frame, &ip) else {
        return;
    };
    let Some((sport, dport)) = rewrite::quoted_ports(frame, &ip, &q) else {
        return;
    };
    let (backend, client) = ((q.dst, dport), (q.src, sport));
    let vrf = t.vrf(meta.net);
    if let Some(vip) = t
        .sessions
        .vip(vrf, q.proto, backend, client, ctx.now, Mark::None)
    {
        rewrite::set_quoted_only(frame, &ip, &q, Side::Dst, vip);
    }
}

/// A client in the backend's own network leaves from the gateway's address there, so that
/// the backend answers through the switch (the bindings of the family hand out the port).
fn hairpin(
    ctx: &Context<'_, NatTables>,
    frame: &mut [u8],
    net: NetIdx,
    (client, backend): ((IpAddr, u16), (IpAddr, u16)),
    mark: Mark,
) -> Result<(), DropReason> {
    let t = ctx.tables;
    if !t.services.has_backends(net) {
        return Ok(());
    }
    let vrf = t.vrf(net);
    let Some(h) = t.services.backend(vrf, backend.0).filter(|h| h.net == net) else {
        return Ok(());
    };
    let exhausted = || DropReason::from(NatDrop::PortsExhausted);
    match (client.0, backend.0, &h.pool, &h.pool6) {
        (IpAddr::V4(c), IpAddr::V4(b), Some(pool), _) => {
            let Some(ip) = rewrite::parse(frame) else {
                return Ok(());
            };
            let (inside, remote) = ((c, client.1), (b, backend.1));
            let outside = t
                .bindings
                .outside(vrf, ip.proto, inside, remote, pool, ctx.now, mark)
                .ok_or_else(exhausted)?;
            rewrite::set(frame, &ip, Side::Src, outside.0, Some(outside.1));
        }
        (IpAddr::V6(c), IpAddr::V6(b), _, Some(pool)) => {
            let Some(ip) = rewrite6::parse(frame) else {
                return Ok(());
            };
            let (inside, remote) = ((c, client.1), (b, backend.1));
            let outside = t
                .bindings6
                .outside(vrf, ip.proto, inside, remote, pool, ctx.now, mark)
                .ok_or_else(exhausted)?;
            rewrite6::set(frame, &ip, Side::Src, outside.0, outside.1);
        }
        _ => {}
    }
    Ok(())
}

/// To an IPv6 floating IP on its external network: on to its endpoint.
fn floating_in6(ctx: &Context<'_, NatTables>, frame: &mut [u8], net: NetIdx) {
    let Some(ip) = rewrite6::parse(frame) else {
        return;
    };
    if let Some(endpoint) = ctx.tables.endpoint6(net, ip.dst) {
        rewrite6::set_addr(frame, &ip, Side::Dst, endpoint);
    }
}

/// A backend's answer to a hairpin connection, to the gateway's IPv6 address: on to the
/// client (the IPv4 one is a NAT address, see `translate_in`).
fn hairpin_back6(ctx: &Context<'_, NatTables>, frame: &mut [u8], net: NetIdx) {
    let t = ctx.tables;
    let Some(ip) = rewrite6::parse(frame) else {
        return;
    };
    if !t.services.is_hairpin_address(net, ip.dst.into()) {
        return;
    }
    let Some((sport, dport)) = rewrite6::ports(frame, &ip) else {
        return;
    };
    let mark = Mark::of_tcp(rewrite6::tcp_flags(frame, &ip));
    let (outside, remote) = ((ip.dst, dport), (ip.src, sport));
    if let Some(inside) = t.bindings6.inside(ip.proto, outside, remote, ctx.now, mark) {
        rewrite6::set(frame, &ip, Side::Dst, inside.0, inside.1);
    }
}

/// A segment to the gateway that answers a backend's health probe: recorded, and answered
/// in place — a TCP probe's SYN-ACK with the reset that ends its connection, an HTTP probe's
/// with its request, and the status line with a reset. `None`: not one.
pub fn probe_answer<B: PacketBuf>(
    ctx: &Context<'_, NatTables>,
    in_port: u16,
    buf: &mut B,
    meta: &Meta,
) -> Option<Verdict> {
    let t = ctx.tables;
    if t.services.is_empty() {
        return None;
    }
    let frame = buf.data();
    let seg = match meta.ethertype {
        ethertype::IPV4 => ProbeSegment::parse::<Ip4>(frame)?,
        ethertype::IPV6 => ProbeSegment::parse::<Ip6>(frame)?,
        _ => return None,
    };
    let (us, them) = ((seg.to, seg.dport), (seg.from, seg.sport));
    let reply = t
        .health
        .answer(them, seg.dport, seg.flags, &frame[seg.payload.clone()]);
    let payload: &[u8] = match &reply {
        Reply::NotProbe => return None,
        Reply::Quiet => return Some(Verdict::Consumed),
        Reply::Reset => &[],
        Reply::Request(request) => request,
    };
    let len = health::segment_len(seg.to) + payload.len();
    if reshape(buf, len).is_err() {
        return Some(Verdict::Consumed);
    }
    let frame = &mut buf.data_mut()[..len];
    match &reply {
        Reply::Request(_) => {
            health::request_for(frame, meta.src, us, them, (seg.seq, seg.ack), payload)
        }
        _ => health::reset_for(frame, meta.src, us, them, seg.ack),
    }
    Some(Verdict::Unicast(in_port))
}

/// A TCP segment to the gateway, as a probe's answer is read.
struct ProbeSegment {
    from: IpAddr,
    to: IpAddr,
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    /// Where its payload is in the frame.
    payload: std::ops::Range<usize>,
}

impl ProbeSegment {
    fn parse<P: ServicePacket>(frame: &[u8]) -> Option<ProbeSegment> {
        let ip = P::parse(frame).filter(|ip| ip.proto() == ipproto::TCP)?;
        let (sport, dport) = ip.ports(frame)?;
        let span = ip.tcp_span()?;
        let tcp = frame.get(span.clone())?;
        let word = |at: usize| Some(u32::from_be_bytes(tcp.get(at..at + 4)?.try_into().ok()?));
        let data_at = usize::from(*tcp.get(12)? >> 4) * 4;
        (20..=tcp.len()).contains(&data_at).then_some(())?;
        Some(ProbeSegment {
            from: ip.src().into(),
            to: ip.dst().into(),
            sport,
            dport,
            flags: ip.tcp_flags(frame),
            seq: word(4)?,
            ack: word(8)?,
            payload: span.start + data_at..span.end,
        })
    }
}

/// Sends the health probes waiting (once a poll, from one worker): each is handed to `send`
/// with the network its backend is in.
#[inline]
pub fn originate(ctx: &Context<'_, NatTables>, send: impl FnMut(&health::Probe)) {
    ctx.tables.health.take_probes(send);
}

/// Outbound translation of a frame the router moved from `from_net` into `meta.net`, once the
/// firewall let it pass (`verdict`).
#[inline]
pub fn depart<B: PacketBuf>(
    ctx: &Context<'_, NatTables>,
    from_net: NetIdx,
    buf: &mut B,
    meta: &Meta,
    verdict: Verdict,
) -> Verdict {
    let t = ctx.tables;
    let leaving = matches!(
        verdict,
        Verdict::Unicast(_) | Verdict::Remote(_) | Verdict::Flood | Verdict::FloodAll
    );
    if t.is_empty() || !leaving || !t.external(meta.net) || t.external(from_net) {
        return verdict;
    }
    if meta.ethertype == ethertype::IPV6 {
        let frame = buf.data_mut();
        if let Some(ip) = rewrite6::parse(frame) {
            let leaves_from = (!t.services.is_vip(ip.src.into()))
                .then(|| t.floating_ip6(from_net, ip.src))
                .flatten();
            if let Some(floating) = leaves_from {
                rewrite6::set_addr(frame, &ip, Side::Src, floating);
            }
        }
        return verdict;
    }
    match translate_out(ctx, buf.data_mut(), from_net) {
        Ok(()) => verdict,
        Err(reason) => Verdict::Drop(reason),
    }
}

fn translate_out(
    ctx: &Context<'_, NatTables>,
    frame: &mut [u8],
    from_net: NetIdx,
) -> Result<(), DropReason> {
    let t = ctx.tables;
    let Some(ip) = rewrite::parse(frame) else {
        return Ok(());
    };
    // A backend's answer leaves from its VIP already.
    if t.services.is_vip(ip.src.into()) {
        return Ok(());
    }
    if let Some(floating) = t.floating_ip(from_net, ip.src) {
        note!(
            ctx,
            "nat",
            "floating IP: source {} becomes {floating}",
            ip.src
        );
        rewrite::set(frame, &ip, Side::Src, floating, None);
        return Ok(());
    }
    // Without a rule for its source, a packet is routed as it is.
    let Some(rule) = t.snat_rule(from_net, ip.src) else {
        return Ok(());
    };
    let (sport, dport) = rewrite::ports(frame, &ip).ok_or(NatDrop::Untranslatable)?;
    let mark = Mark::of_tcp(rewrite::tcp_flags(frame, &ip));
    let vrf = t.vrf(from_net);
    if ctx.dry_run() {
        // A described packet takes no port: it shows the binding its connection has, if any.
        let inside = (ip.src, sport);
        match t.bindings.bound(vrf, ip.proto, inside, (ip.dst, dport)) {
            Some(out) => {
                note!(
                    ctx,
                    "nat",
                    "SNAT: {}:{sport} is bound to {}:{}",
                    ip.src,
                    out.0,
                    out.1
                );
                rewrite::set(frame, &ip, Side::Src, out.0, Some(out.1));
            }
            None => note!(
                ctx,
                "nat",
                "SNAT: {}:{sport} would take an address and port of its pool",
                ip.src
            ),
        }
        return Ok(());
    }
    let outside = t
        .bindings
        .outside(
            vrf,
            ip.proto,
            (ip.src, sport),
            (ip.dst, dport),
            &rule.pool,
            ctx.now,
            mark,
        )
        .ok_or(NatDrop::PortsExhausted)?;
    note!(
        ctx,
        "nat",
        "SNAT: source {}:{sport} becomes {}:{}",
        ip.src,
        outside.0,
        outside.1
    );
    rewrite::set(frame, &ip, Side::Src, outside.0, Some(outside.1));
    Ok(())
}

/// Answers a neighbor solicitation on an external network for one of its IPv6 floating IPs
/// with the gateway's MAC. `None`: not one.
pub fn answer_nd<B: PacketBuf>(
    ctx: &Context<'_, NatTables>,
    in_port: u16,
    buf: &mut B,
    meta: &Meta,
) -> Option<Verdict> {
    let t = ctx.tables;
    if !t.has_floating6() || meta.ethertype != ethertype::IPV6 || !t.external(meta.net) {
        return None;
    }
    let msg = nd::parse(buf.data()).ok().flatten()?;
    if msg.kind != icmp::v6::NEIGHBOR_SOLICIT || msg.src.is_unspecified() {
        return None;
    }
    t.endpoint6(meta.net, msg.target)?;
    let na = nd::NdFrame::advert(&msg, meta.src, GATEWAY_MAC, 0);
    Some(match na.write(buf) {
        Ok(()) => Verdict::Unicast(in_port),
        Err(reason) => Verdict::Drop(reason),
    })
}

/// Answers an ARP request on an external network for one of its NAT addresses with the
/// gateway's MAC (what comes to it the gateway translates and routes). `None`: not one.
pub fn answer_arp<B: PacketBuf>(
    ctx: &Context<'_, NatTables>,
    in_port: u16,
    buf: &mut B,
    meta: &Meta,
) -> Option<Verdict> {
    let t = ctx.tables;
    if t.is_empty() || !t.external(meta.net) {
        return None;
    }
    let pkt = arp::Packet::new_checked(buf.data().get(eth::HEADER_LEN..)?).ok()?;
    let (sender_mac, sender_ip, target_ip) = (
        pkt.sender_hardware_addr(),
        pkt.sender_protocol_addr(),
        pkt.target_protocol_addr(),
    );
    if pkt.operation() != arp::Operation::REQUEST || sender_mac.is_multicast() {
        return None;
    }
    t.address(meta.net, target_ip)?;
    let reply = ArpFrame {
        op: arp::Operation::REPLY,
        dst: sender_mac,
        sender: (GATEWAY_MAC, target_ip),
        target: (sender_mac, sender_ip),
    };
    Some(match reply.write(buf) {
        Ok(()) => Verdict::Unicast(in_port),
        Err(reason) => Verdict::Drop(reason),
    })
}
