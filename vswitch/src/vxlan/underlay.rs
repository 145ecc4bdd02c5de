//! The VTEP's own neighbor resolution on the underlay port: it answers ARP for its address,
//! learns the on-link senders of ARP, and asks for the next hops it does not know.

use std::net::{IpAddr, Ipv4Addr};

use super::table::{VtepEntry, VxlanTables};
use crate::forwarding::arp::ArpFrame;
use crate::forwarding::neighbor::Neighbor;
use crate::forwarding::NeighborDrop;
use crate::packet::{arp, eth, ethertype, MacAddr};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::DropReason;
use crate::pipeline::Context;

/// What an ARP frame on the underlay port came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOutcome {
    /// `buf` now holds the answer, to send back out of the underlay port.
    Answer,
    /// Learned from (or not for the VTEP); nothing to send.
    Consumed,
}

/// Handles an ARP frame that arrived on the underlay port.
pub fn arp<B: PacketBuf>(
    ctx: &Context<'_, VxlanTables>,
    vtep: &VtepEntry,
    buf: &mut B,
) -> Result<ArpOutcome, DropReason> {
    let pkt = buf
        .data()
        .get(eth::HEADER_LEN..)
        .and_then(|l3| arp::Packet::new_checked(l3).ok())
        .ok_or(NeighborDrop::BadArp)?;
    if pkt.hardware_type() != arp::HTYPE_ETHERNET
        || pkt.protocol_type() != ethertype::IPV4
        || pkt.hardware_len() != 6
        || pkt.protocol_len() != 4
    {
        return Err(NeighborDrop::BadArp.into());
    }
    let (op, sender_mac, sender_ip, target_ip) = (
        pkt.operation(),
        pkt.sender_hardware_addr(),
        pkt.sender_protocol_addr(),
        pkt.target_protocol_addr(),
    );
    if sender_mac.is_multicast() || sender_mac.is_zero() {
        return Err(NeighborDrop::BadArp.into());
    }
    let me = vtep.underlay.ip;
    if !sender_ip.is_unspecified() && sender_ip != me && vtep.underlay.on_link(sender_ip) {
        let n = Neighbor {
            mac: sender_mac,
            net: 0,
        };
        vtep.neighbors.learn(IpAddr::V4(sender_ip), n, ctx.now);
    }
    if op != arp::Operation::REQUEST || target_ip != me || sender_ip == me {
        return Ok(ArpOutcome::Consumed);
    }
    ArpFrame {
        op: arp::Operation::REPLY,
        dst: sender_mac,
        sender: (vtep.mac, me),
        target: (sender_mac, sender_ip),
    }
    .write(buf)?;
    Ok(ArpOutcome::Answer)
}

/// The MAC of the underlay next hop towards remote VTEP `remote`, when known.
#[inline]
pub fn next_hop_mac(
    ctx: &Context<'_, VxlanTables>,
    vtep: &VtepEntry,
    remote: Ipv4Addr,
) -> Option<MacAddr> {
    let hop = vtep.next_hop(remote);
    vtep.neighbors
        .lookup_in_use(IpAddr::V4(hop), ctx.now)
        .map(|n| n.mac)
}

/// Turns `buf` into an ARP request for the next hop towards `remote`, broadcast on the
/// underlay: the frame it held is lost (its sender retries) and the answer teaches the VTEP.
pub fn ask<B: PacketBuf>(
    vtep: &VtepEntry,
    buf: &mut B,
    remote: Ipv4Addr,
) -> Result<(), DropReason> {
    ArpFrame {
        op: arp::Operation::REQUEST,
        dst: MacAddr::BROADCAST,
        sender: (vtep.mac, vtep.underlay.ip),
        target: (MacAddr([0; 6]), vtep.next_hop(remote)),
    }
    .write(buf)
}
