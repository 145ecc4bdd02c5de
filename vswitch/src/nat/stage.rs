//! NAT in the datapath. Inbound, before routing: a packet on an external network to a NAT
//! address goes on to the inside endpoint it stands for (an ICMP error about a translated
//! connection too, its quote translated back). Outbound, after the firewall: a packet the
//! router moved from an internal network into an external one leaves from its endpoint's
//! floating IP, or from an address and port of its source's SNAT rule. And the NAT addresses
//! answer ARP on their external networks.

use super::bindings::Mark;
use super::rewrite::{self, Side};
use super::table::{Address, NatTables};
use super::NatDrop;
use crate::forwarding::arp::ArpFrame;
use crate::forwarding::GATEWAY_MAC;
use crate::packet::{arp, eth, ethertype};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::DropReason;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::snapshot::NetIdx;
use crate::pipeline::Context;

/// Inbound translation of a frame the gateway takes (`meta.to_router`).
#[inline]
pub fn arrive<B: PacketBuf>(
    ctx: &Context<'_, NatTables>,
    buf: &mut B,
    meta: &Meta,
) -> Result<(), DropReason> {
    let t = ctx.tables;
    if t.is_empty()
        || meta.ethertype != ethertype::IPV4
        || meta.dst != GATEWAY_MAC
        || !t.external(meta.net)
    {
        return Ok(());
    }
    translate_in(ctx, buf.data_mut(), meta.net)
}

fn translate_in(
    ctx: &Context<'_, NatTables>,
    frame: &mut [u8],
    net: NetIdx,
) -> Result<(), DropReason> {
    let t = ctx.tables;
    // Malformed IP is the router's to count.
    let Some(ip) = rewrite::parse(frame) else {
        return Ok(());
    };
    let Some(address) = t.address(net, ip.dst) else {
        return Ok(());
    };
    // An ICMP error about a connection we translated: to whoever sent what it quotes.
    if let Some(q) = rewrite::quoted(frame, &ip) {
        let (sport, dport) = rewrite::quoted_ports(frame, &ip, &q).unwrap_or((0, 0));
        let inside = match address {
            Address::Floating(endpoint) => (endpoint, sport),
            Address::Snat => t
                .bindings
                .inside(q.proto, (q.src, sport), (q.dst, dport), ctx.now, Mark::None)
                .ok_or(NatDrop::NoBinding)?,
        };
        rewrite::set_quoted_src(frame, &ip, &q, inside);
        return Ok(());
    }
    match address {
        Address::Floating(endpoint) => rewrite::set(frame, &ip, Side::Dst, endpoint, None),
        Address::Snat => {
            let (sport, dport) = rewrite::ports(frame, &ip).ok_or(NatDrop::Untranslatable)?;
            let mark = Mark::of_tcp(rewrite::tcp_flags(frame, &ip));
            let inside = t
                .bindings
                .inside(ip.proto, (ip.dst, dport), (ip.src, sport), ctx.now, mark)
                .ok_or(NatDrop::NoBinding)?;
            rewrite::set(frame, &ip, Side::Dst, inside.0, Some(inside.1));
        }
    }
    Ok(())
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
    if let Some(floating) = t.floating_ip(from_net, ip.src) {
        rewrite::set(frame, &ip, Side::Src, floating, None);
        return Ok(());
    }
    // Without a rule for its source, a packet is routed as it is.
    let Some(rule) = t.snat_rule(from_net, ip.src) else {
        return Ok(());
    };
    let (sport, dport) = rewrite::ports(frame, &ip).ok_or(NatDrop::Untranslatable)?;
    let mark = Mark::of_tcp(rewrite::tcp_flags(frame, &ip));
    let outside = t
        .bindings
        .outside(
            t.vrf(from_net),
            ip.proto,
            (ip.src, sport),
            (ip.dst, dport),
            &rule.pool,
            ctx.now,
            mark,
        )
        .ok_or(NatDrop::PortsExhausted)?;
    rewrite::set(frame, &ip, Side::Src, outside.0, Some(outside.1));
    Ok(())
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
