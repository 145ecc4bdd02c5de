//! The L2 bridge's datapath: ingress port policy, learning and forwarding, egress tagging.

use std::net::Ipv4Addr;

use super::flows::L2Flows;
use super::table::BridgeTables;
use super::BridgeDrop;
use crate::forwarding::fdb::{Dest, Learned};
use crate::note;
use crate::packet::{eth, ethertype, vlan};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::{DropReason, EngineDrop};
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::snapshot::{NetIdx, PortEntry, PortMode, NO_NET};
use crate::pipeline::{Context, Output};

const MACS_LEN: usize = 12;

/// Ingress port policy: picks the frame's network from the port mode and its VLAN tag, checks
/// the port MTU, and pops the tag (frames are untagged inside the switch).
#[inline]
pub fn ingress<B: PacketBuf>(
    port: &PortEntry,
    buf: &mut B,
    meta: &mut Meta,
) -> Result<(), DropReason> {
    meta.net = match (&port.mode, meta.vlan) {
        (PortMode::Switch, _) => return Err(EngineDrop::UnknownNetwork.into()),
        (PortMode::Access(net), None) => *net,
        (PortMode::Access(_), Some(_)) => return Err(EngineDrop::BadVlan.into()),
        (PortMode::Trunk(_), None) => return Err(EngineDrop::BadVlan.into()),
        (PortMode::Trunk(map), Some(vid)) => match map[usize::from(vid)] {
            NO_NET => return Err(EngineDrop::BadVlan.into()),
            net => net,
        },
    };
    meta.remote = None;
    let header = eth::HEADER_LEN + if meta.tagged { vlan::HEADER_LEN } else { 0 };
    if buf.pkt_len().saturating_sub(header) > usize::from(port.mtu) {
        return Err(BridgeDrop::Oversize.into());
    }
    if meta.tagged {
        pop_tag(buf)?;
    }
    Ok(())
}

fn pop_tag<B: PacketBuf>(buf: &mut B) -> Result<(), DropReason> {
    let data = buf.data_mut();
    if data.len() < eth::HEADER_LEN + vlan::HEADER_LEN {
        return Err(EngineDrop::Runt.into());
    }
    data.copy_within(0..MACS_LEN, vlan::HEADER_LEN);
    buf.trim_front(vlan::HEADER_LEN)
        .map_err(|_| EngineDrop::Runt.into())
}

fn push_tag<B: PacketBuf>(buf: &mut B, vid: u16) -> Result<(), DropReason> {
    buf.prepend(vlan::HEADER_LEN)
        .map_err(|_| EngineDrop::NoBuffer)?;
    let data = buf.data_mut();
    if data.len() < eth::HEADER_LEN + vlan::HEADER_LEN {
        return Err(EngineDrop::Runt.into());
    }
    data.copy_within(vlan::HEADER_LEN..vlan::HEADER_LEN + MACS_LEN, 0);
    data[MACS_LEN..MACS_LEN + 2].copy_from_slice(&ethertype::VLAN.to_be_bytes());
    data[MACS_LEN + 2..MACS_LEN + 4].copy_from_slice(&vlan::tci(0, vid).to_be_bytes());
    Ok(())
}

/// Learns the source (behind its port, or behind the remote VTEP a decapsulated frame came
/// from) and decides where the frame goes.
#[inline]
pub fn forward(ctx: &Context<'_, BridgeTables>, in_port: u16, meta: &Meta) -> Verdict {
    let (Some(net), Some(network)) = (ctx.tables.net(meta.net), ctx.topo.network(meta.net)) else {
        return Verdict::Drop(EngineDrop::UnknownNetwork.into());
    };
    let from = meta.remote.map_or(Dest::Port(in_port), Dest::Remote);
    // A described packet (a simulated trace) teaches nothing.
    if !ctx.dry_run() && net.fdb.learn_dest(meta.src, from, ctx.now) == Learned::LimitReached {
        return Verdict::Drop(BridgeDrop::MacLimit.into());
    }
    if meta.dst.is_multicast() {
        return Verdict::Flood;
    }
    match net.fdb.lookup(meta.dst) {
        Some(Dest::Port(port)) if port == in_port => Verdict::Drop(BridgeDrop::Hairpin.into()),
        // A stale entry (the port left the network) floods until it ages out or is flushed.
        Some(Dest::Port(port))
            if ctx
                .topo
                .port(port)
                .is_some_and(|p| p.carries(meta.net, network.vlan)) =>
        {
            Verdict::Unicast(port)
        }
        // The overlay is a full mesh: what came from a remote VTEP never goes back into it.
        Some(Dest::Remote(_)) if meta.remote.is_some() => Verdict::Drop(BridgeDrop::Hairpin.into()),
        Some(Dest::Remote(ip)) => Verdict::Remote(ip),
        _ => Verdict::Flood,
    }
}

/// Starts loading the FDB slots a frame will need as soon as its network is known, so that the
/// misses of a whole burst overlap with the parsing of the rest of it.
#[derive(Default)]
pub struct FdbPrefetch {
    net: Option<NetIdx>,
    on: bool,
}

impl FdbPrefetch {
    #[inline]
    pub fn frame(&mut self, tables: &BridgeTables, meta: &Meta) {
        let Some(net) = tables.net(meta.net) else {
            return;
        };
        // Frames of a burst mostly share a network: decide once per run of one network.
        if self.net != Some(meta.net) {
            self.net = Some(meta.net);
            self.on = net.fdb.worth_prefetching();
        }
        if self.on {
            net.fdb.prefetch(meta.src);
            if !meta.dst.is_multicast() {
                net.fdb.prefetch(meta.dst);
            }
        }
    }
}

/// Forwarding decisions for a whole burst (its FDB slots prefetched by `FdbPrefetch`): learn and
/// look up; a frame with the same MACs as the one before it reuses its decision.
#[inline(always)]
pub fn forward_burst(ctx: &Context<'_, BridgeTables>, in_port: u16, metas: &mut [Meta]) {
    for i in 0..metas.len() {
        let same_as_previous = i > 0 && {
            let (p, m) = (&metas[i - 1], &metas[i]);
            p.src == m.src && p.dst == m.dst && p.net == m.net
        };
        metas[i].verdict = if same_as_previous {
            metas[i - 1].verdict
        } else {
            forward(ctx, in_port, &metas[i])
        };
    }
}

/// Counts the burst's bridged frames (neither to the gateway nor dropped) for the flow export.
#[inline(never)]
pub fn account<B: PacketBuf>(
    ctx: &Context<'_, BridgeTables>,
    flows: &mut L2Flows,
    in_port: u16,
    pkts: &[B],
    metas: &[Meta],
) {
    for (buf, meta) in pkts.iter().zip(metas) {
        let bridged = !meta.to_router
            && !matches!(
                meta.verdict,
                Verdict::Drop(_) | Verdict::Consumed | Verdict::Pending
            );
        if bridged {
            // Frames are untagged inside the switch: past the Ethernet header is the payload.
            let octets = buf.pkt_len().saturating_sub(eth::HEADER_LEN);
            flows.count(&ctx.tables.handoff, in_port, meta, octets, ctx.now);
        }
    }
}

/// Sends one frame of network `net` out of `to`, tagged as that port carries it.
#[inline(always)]
pub fn egress<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_, BridgeTables>,
    net: NetIdx,
    in_port: u16,
    to: u16,
    mut buf: B,
    out: &mut O,
) {
    let (Some(port), Some(network)) = (ctx.topo.port(to), ctx.topo.network(net)) else {
        ctx.counters.port(in_port).drop(EngineDrop::UnknownNetwork);
        return;
    };
    if buf.pkt_len().saturating_sub(eth::HEADER_LEN) > usize::from(port.mtu) {
        note!(
            ctx,
            "output",
            "port {}: dropped (mtu {})",
            port.name,
            port.mtu
        );
        ctx.counters.port(to).drop(EngineDrop::Mtu);
        return;
    }
    if let Some(vid) = port.egress_tag(network) {
        if let Err(reason) = push_tag(&mut buf, vid) {
            ctx.counters.port(to).drop(reason);
            return;
        }
        note!(ctx, "output", "port {}, tagged VLAN {vid}", port.name);
    } else {
        note!(ctx, "output", "port {}", port.name);
    }
    out.send(to, buf);
}

/// Floods a frame of network `net` to the ports of the network that `send_to` picks (split
/// horizon is the caller's: the port a bridged frame came in on), and to the remote VTEPs
/// `remotes`: `deliver` sends each copy toward its destination, the last gets the original.
pub fn flood_where<B: PacketBuf>(
    ctx: &Context<'_, BridgeTables>,
    net: NetIdx,
    in_port: u16,
    mut send_to: impl FnMut(u16) -> bool,
    remotes: &[Ipv4Addr],
    buf: B,
    mut deliver: impl FnMut(Dest, B),
) {
    let Some(network) = ctx.topo.network(net) else {
        ctx.counters.port(in_port).drop(EngineDrop::UnknownNetwork);
        return;
    };
    let local = network.ports.iter().copied().filter(|p| send_to(*p));
    let mut targets = local
        .map(Dest::Port)
        .chain(remotes.iter().copied().map(Dest::Remote));
    let Some(mut current) = targets.next() else {
        ctx.counters.port(in_port).drop(EngineDrop::NoEgressPort);
        return;
    };
    // Copies for all but the last target, which gets the original.
    for next in targets {
        match buf.duplicate() {
            Some(copy) => deliver(current, copy),
            None => {
                let port = current.port().unwrap_or(in_port);
                ctx.counters.port(port).drop(EngineDrop::NoBuffer)
            }
        }
        current = next;
    }
    deliver(current, buf);
}
