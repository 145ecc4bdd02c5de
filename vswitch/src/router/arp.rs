//! ARP at the gateway: learns neighbors from every ARP frame of a routed network, answers
//! requests for the gateway address and (proxy, so requests are not flooded) for neighbors it
//! knows in the same network, and asks for next hops it does not know.

use super::table::RouterTables;
use std::net::IpAddr;

use crate::forwarding::arp::ArpFrame;
use crate::forwarding::neighbor::Neighbor;
use crate::forwarding::NeighborDrop;
use crate::forwarding::GATEWAY_MAC;
use crate::note;
use crate::packet::{arp, eth, ethertype};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::Context;

pub fn handle<B: PacketBuf>(
    ctx: &Context<'_, RouterTables>,
    in_port: u16,
    buf: &mut B,
    meta: &Meta,
) -> Verdict {
    let Some(gw) = ctx.tables.gateway(meta.net) else {
        return meta.verdict;
    };
    let Ok(pkt) = arp::Packet::new_checked(&buf.data()[eth::HEADER_LEN.min(buf.data().len())..])
    else {
        return Verdict::Drop(NeighborDrop::BadArp.into());
    };
    if pkt.hardware_type() != arp::HTYPE_ETHERNET
        || pkt.protocol_type() != ethertype::IPV4
        || pkt.hardware_len() != 6
        || pkt.protocol_len() != 4
    {
        return Verdict::Drop(NeighborDrop::BadArp.into());
    }
    let (op, sender_mac, sender_ip, target_ip) = (
        pkt.operation(),
        pkt.sender_hardware_addr(),
        pkt.sender_protocol_addr(),
        pkt.target_protocol_addr(),
    );
    if sender_mac.is_multicast() || sender_mac.is_zero() || sender_ip.is_broadcast() {
        return Verdict::Drop(NeighborDrop::BadArp.into());
    }
    let neighbors = &ctx.tables.vrfs[usize::from(gw.vrf)].neighbors;
    // Requests, replies and gratuitous ARP all tell where their sender is (a probe, from
    // 0.0.0.0, does not). A sender claiming the gateway's address is not learned.
    // A described frame (a simulated trace) teaches nothing.
    let learns = !sender_ip.is_unspecified() && !ctx.dry_run();
    if learns && gw.on_link(IpAddr::V4(sender_ip)) && Some(sender_ip) != gw.v4 {
        let n = Neighbor {
            mac: sender_mac,
            net: meta.net,
        };
        neighbors.learn(IpAddr::V4(sender_ip), n, ctx.now);
    }
    if op == arp::Operation::REPLY {
        return if meta.dst == GATEWAY_MAC {
            Verdict::Consumed
        } else {
            meta.verdict
        };
    }
    if op != arp::Operation::REQUEST || target_ip == sender_ip {
        return meta.verdict;
    }
    let answer = if Some(target_ip) == gw.v4 {
        Some(GATEWAY_MAC)
    } else {
        neighbors
            .lookup(IpAddr::V4(target_ip))
            .filter(|n| n.net == meta.net && n.mac != sender_mac)
            .map(|n| n.mac)
    };
    match answer {
        Some(mac) => {
            note!(ctx, "router", "ARP: who has {target_ip}? {mac}: answered");
            let reply = ArpFrame {
                op: arp::Operation::REPLY,
                dst: sender_mac,
                sender: (mac, target_ip),
                target: (sender_mac, sender_ip),
            };
            match reply.write(buf) {
                Ok(()) => Verdict::Unicast(in_port),
                Err(reason) => Verdict::Drop(reason),
            }
        }
        None => meta.verdict,
    }
}
