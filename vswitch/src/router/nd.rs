//! IPv6 neighbor discovery at the gateway (RFC 4861), the counterpart of `arp`: learns
//! neighbors from solicitations and advertisements, answers solicitations for the gateway
//! address (and, proxy, for neighbors it knows in the same network), and solicits next hops it
//! does not know.

use super::table::RouterTables;
use std::net::{IpAddr, Ipv6Addr};

pub use crate::forwarding::nd::NdFrame;
use crate::forwarding::nd::{parse, Malformed, FLAG_ROUTER};
use crate::forwarding::neighbor::Neighbor;
use crate::forwarding::{GATEWAY_LINK_LOCAL, GATEWAY_MAC};
use crate::packet::{icmp, MacAddr};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::Context;
use crate::router::RouterDrop;

pub fn handle<B: PacketBuf>(
    ctx: &Context<'_, RouterTables>,
    in_port: u16,
    buf: &mut B,
    meta: &Meta,
) -> Option<Verdict> {
    let gw = ctx.tables.gateway(meta.net)?;
    let msg = match parse(buf.data()) {
        Ok(Some(m)) => m,
        Ok(None) => return None,
        Err(Malformed) => return Some(Verdict::Drop(RouterDrop::BadNd.into())),
    };
    let neighbors = &ctx.tables.vrfs[usize::from(gw.vrf)].neighbors;
    let learn = |ip: Ipv6Addr, mac: MacAddr| {
        let usable = mac.is_unicast() && !mac.is_zero() && !ctx.dry_run();
        if gw.on_link(IpAddr::V6(ip)) && Some(ip) != gw.v6 && usable {
            neighbors.learn(IpAddr::V6(ip), Neighbor { mac, net: meta.net }, ctx.now);
        }
    };
    if msg.kind == icmp::v6::NEIGHBOR_ADVERT {
        learn(msg.target, msg.lladdr.unwrap_or(meta.src));
        return Some(if meta.dst == GATEWAY_MAC {
            Verdict::Consumed
        } else {
            meta.verdict
        });
    }
    // A solicitation from an address (not duplicate address detection) tells where it is.
    let dad = msg.src.is_unspecified();
    if !dad {
        if let Some(mac) = msg.lladdr {
            learn(msg.src, mac);
        }
    }
    let for_gateway =
        gw.v6.is_some() && (Some(msg.target) == gw.v6 || msg.target == GATEWAY_LINK_LOCAL);
    let answer = if for_gateway {
        Some((GATEWAY_MAC, FLAG_ROUTER))
    } else if dad {
        None
    } else {
        neighbors
            .lookup(IpAddr::V6(msg.target))
            .filter(|n| n.net == meta.net && n.mac != meta.src)
            .map(|n| (n.mac, 0))
    };
    let Some((mac, router)) = answer else {
        return Some(meta.verdict);
    };
    let na = NdFrame::advert(&msg, meta.src, mac, router);
    Some(match na.write(buf) {
        Ok(()) => Verdict::Unicast(in_port),
        Err(reason) => Verdict::Drop(reason),
    })
}
