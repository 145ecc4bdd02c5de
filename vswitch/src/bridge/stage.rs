//! The L2 bridge's datapath: ingress port policy, learning and forwarding, egress tagging.

use crate::config::snapshot::{NetIdx, PortEntry, PortMode, Snapshot, NO_NET};
use crate::forwarding::fdb::{Dest, Learned};
use crate::packet::{eth, ethertype, vlan};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::counters::DropReason;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::{deliver, Context, Output};

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
        (PortMode::Switch, _) => return Err(DropReason::UnknownNetwork),
        (PortMode::Access(net), None) => *net,
        (PortMode::Access(_), Some(_)) => return Err(DropReason::BadVlan),
        (PortMode::Trunk(_), None) => return Err(DropReason::BadVlan),
        (PortMode::Trunk(map), Some(vid)) => match map[usize::from(vid)] {
            NO_NET => return Err(DropReason::BadVlan),
            net => net,
        },
    };
    meta.remote = None;
    let header = eth::HEADER_LEN + if meta.tagged { vlan::HEADER_LEN } else { 0 };
    if buf.pkt_len().saturating_sub(header) > usize::from(port.mtu) {
        return Err(DropReason::Oversize);
    }
    if meta.tagged {
        pop_tag(buf)?;
    }
    Ok(())
}

fn pop_tag<B: PacketBuf>(buf: &mut B) -> Result<(), DropReason> {
    let data = buf.data_mut();
    if data.len() < eth::HEADER_LEN + vlan::HEADER_LEN {
        return Err(DropReason::Runt);
    }
    data.copy_within(0..MACS_LEN, vlan::HEADER_LEN);
    buf.trim_front(vlan::HEADER_LEN)
        .map_err(|_| DropReason::Runt)
}

fn push_tag<B: PacketBuf>(buf: &mut B, vid: u16) -> Result<(), DropReason> {
    buf.prepend(vlan::HEADER_LEN)
        .map_err(|_| DropReason::NoBuffer)?;
    let data = buf.data_mut();
    if data.len() < eth::HEADER_LEN + vlan::HEADER_LEN {
        return Err(DropReason::Runt);
    }
    data.copy_within(vlan::HEADER_LEN..vlan::HEADER_LEN + MACS_LEN, 0);
    data[MACS_LEN..MACS_LEN + 2].copy_from_slice(&ethertype::VLAN.to_be_bytes());
    data[MACS_LEN + 2..MACS_LEN + 4].copy_from_slice(&vlan::tci(0, vid).to_be_bytes());
    Ok(())
}

/// Learns the source (behind its port, or behind the remote VTEP a decapsulated frame came
/// from) and decides where the frame goes.
#[inline]
pub fn forward(snap: &Snapshot, in_port: u16, meta: &Meta, now: u32) -> Verdict {
    let Some(net) = snap.networks.get(usize::from(meta.net)) else {
        return Verdict::Drop(DropReason::UnknownNetwork);
    };
    let from = meta.remote.map_or(Dest::Port(in_port), Dest::Remote);
    if net.fdb.learn_dest(meta.src, from, now) == Learned::LimitReached {
        return Verdict::Drop(DropReason::MacLimit);
    }
    if meta.dst.is_multicast() {
        return Verdict::Flood;
    }
    match net.fdb.lookup(meta.dst) {
        Some(Dest::Port(port)) if port == in_port => Verdict::Drop(DropReason::Hairpin),
        // A stale entry (the port left the network) floods until it ages out or is flushed.
        Some(Dest::Port(port))
            if snap
                .port(port)
                .is_some_and(|p| p.carries(meta.net, net.vlan)) =>
        {
            Verdict::Unicast(port)
        }
        // The overlay is a full mesh: what came from a remote VTEP never goes back into it.
        Some(Dest::Remote(_)) if meta.remote.is_some() => Verdict::Drop(DropReason::Hairpin),
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
    pub fn frame(&mut self, snap: &Snapshot, meta: &Meta) {
        let Some(net) = snap.networks.get(usize::from(meta.net)) else {
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
#[inline]
pub fn forward_burst(snap: &Snapshot, in_port: u16, metas: &mut [Meta], now: u32) {
    for i in 0..metas.len() {
        let same_as_previous = i > 0 && {
            let (p, m) = (&metas[i - 1], &metas[i]);
            p.src == m.src && p.dst == m.dst && p.net == m.net
        };
        metas[i].verdict = if same_as_previous {
            metas[i - 1].verdict
        } else {
            forward(snap, in_port, &metas[i], now)
        };
    }
}

/// Sends one frame of network `net` out of `to`, tagged as that port carries it.
#[inline]
pub fn egress<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_>,
    net: NetIdx,
    in_port: u16,
    to: u16,
    mut buf: B,
    out: &mut O,
) {
    let (Some(port), Some(network)) = (ctx.snap.port(to), ctx.snap.networks.get(usize::from(net)))
    else {
        ctx.counters.port(in_port).drop(DropReason::UnknownNetwork);
        return;
    };
    if buf.pkt_len().saturating_sub(eth::HEADER_LEN) > usize::from(port.mtu) {
        ctx.counters.port(to).drop(DropReason::Mtu);
        return;
    }
    if let Some(vid) = port.egress_tag(network) {
        if let Err(reason) = push_tag(&mut buf, vid) {
            ctx.counters.port(to).drop(reason);
            return;
        }
    }
    out.send(to, buf);
}

/// Where a flooded frame goes besides the network's local ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// To every remote VTEP of the network's flood list (head-end replication).
    Replicate,
    /// Nowhere else: the frame came from a remote VTEP (split horizon).
    Local,
}

impl Overlay {
    /// The overlay a frame that came from `remote` (None: a local port) floods to.
    #[inline]
    pub fn from(remote: Option<std::net::Ipv4Addr>) -> Overlay {
        match remote {
            Some(_) => Overlay::Local,
            None => Overlay::Replicate,
        }
    }
}

/// Floods a frame to every port of its network but `except` (split horizon: the port a bridged
/// frame came in on; none for a frame the switch itself sends), and to the remote VTEPs of
/// its flood list as `overlay` says.
pub fn flood<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_>,
    net: NetIdx,
    in_port: u16,
    except: Option<u16>,
    overlay: Overlay,
    buf: B,
    out: &mut O,
) {
    flood_where(ctx, net, in_port, |p| Some(p) != except, overlay, buf, out);
}

/// Like [`flood`], to the ports of the network that `send_to` picks.
pub fn flood_where<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_>,
    net: NetIdx,
    in_port: u16,
    mut send_to: impl FnMut(u16) -> bool,
    overlay: Overlay,
    buf: B,
    out: &mut O,
) {
    let Some(network) = ctx.snap.networks.get(usize::from(net)) else {
        ctx.counters.port(in_port).drop(DropReason::UnknownNetwork);
        return;
    };
    let remotes = match overlay {
        Overlay::Replicate if ctx.snap.vtep.is_some() => &network.remotes[..],
        _ => &[],
    };
    let local = network.ports.iter().copied().filter(|p| send_to(*p));
    let mut targets = local
        .map(Dest::Port)
        .chain(remotes.iter().copied().map(Dest::Remote));
    let Some(mut current) = targets.next() else {
        ctx.counters.port(in_port).drop(DropReason::NoEgressPort);
        return;
    };
    // Copies for all but the last target, which gets the original.
    for next in targets {
        match buf.duplicate() {
            Some(copy) => deliver(ctx, net, in_port, current, copy, out),
            None => {
                let port = current.port().unwrap_or(in_port);
                ctx.counters.port(port).drop(DropReason::NoBuffer)
            }
        }
        current = next;
    }
    deliver(ctx, net, in_port, current, buf, out);
}
