//! IPv6 neighbor discovery at the gateway (RFC 4861), the counterpart of `arp`: learns
//! neighbors from solicitations and advertisements, answers solicitations for the gateway
//! address (and, proxy, for neighbors it knows in the same network), and solicits next hops it
//! does not know.

use super::table::RouterTables;
use std::net::{IpAddr, Ipv6Addr};

use crate::forwarding::neighbor::Neighbor;
use crate::forwarding::{GATEWAY_LINK_LOCAL, GATEWAY_MAC};
use crate::packet::eth::set_macs;
use crate::packet::{eth, ethertype, icmp, ipproto, ipv6, MacAddr};
use crate::pipeline::buf::reshape;
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::DropReason;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::Context;
use crate::router::RouterDrop;

/// ND messages carry hop limit 255: proof they were not routed (RFC 4861 7.1.1).
pub(super) const ND_HOP_LIMIT: u8 = 255;
/// The all-nodes group (ff02::1) and its Ethernet address.
pub(super) const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
pub(super) const ALL_NODES_MAC: MacAddr = MacAddr([0x33, 0x33, 0, 0, 0, 1]);
/// NS/NA body after the ICMPv6 header (whose last 4 bytes hold the NA flags): the target.
const BODY_LEN: usize = 16;
/// Option types: source / target link-layer address.
pub(super) const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;
/// NA flags: router, solicited, override.
const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;
/// An NS or NA with one link-layer address option, as the switch sends them.
const FRAME_LEN: usize = eth::HEADER_LEN + ipv6::HEADER_LEN + icmp::HEADER_LEN + BODY_LEN + 8;

/// An NS or NA the frame carries, checked.
struct Message {
    kind: u8,
    src: Ipv6Addr,
    target: Ipv6Addr,
    /// The link-layer address option (source for NS, target for NA).
    lladdr: Option<MacAddr>,
}

/// The ND message of an IPv6 frame; `Ok(None)` when it is other IPv6 (left to the bridge or
/// the router); `Err` when it is ND and malformed.
fn parse(frame: &[u8]) -> Result<Option<Message>, DropReason> {
    let Some(l3) = frame.get(eth::HEADER_LEN..) else {
        return Ok(None);
    };
    let Ok(ip) = ipv6::Packet::new_checked(l3) else {
        return Ok(None);
    };
    let body = ip.payload();
    let kind = body.first().copied().unwrap_or(0);
    if ip.next_header() != ipproto::ICMPV6
        || !matches!(kind, icmp::v6::NEIGHBOR_SOLICIT | icmp::v6::NEIGHBOR_ADVERT)
    {
        return Ok(None);
    }
    let msg = icmp::Packet::new_checked(body).map_err(|_| RouterDrop::BadNd)?;
    if ip.hop_limit() != ND_HOP_LIMIT
        || msg.msg_code() != 0
        || body.len() < icmp::HEADER_LEN + BODY_LEN
        || !msg.verify_checksum_v6(ip.src_addr(), ip.dst_addr())
    {
        return Err(RouterDrop::BadNd.into());
    }
    let target: [u8; 16] = body[8..24].try_into().map_err(|_| RouterDrop::BadNd)?;
    // Options: type, length in units of 8 bytes (never 0), value.
    let mut lladdr = None;
    let mut opts = &body[24..];
    while !opts.is_empty() {
        let len = usize::from(*opts.get(1).ok_or(RouterDrop::BadNd)?) * 8;
        if len == 0 || len > opts.len() {
            return Err(RouterDrop::BadNd.into());
        }
        let wanted = if kind == icmp::v6::NEIGHBOR_SOLICIT {
            OPT_SOURCE_LLADDR
        } else {
            OPT_TARGET_LLADDR
        };
        if opts[0] == wanted && len == 8 {
            lladdr = MacAddr::from_bytes(&opts[2..8]);
        }
        opts = &opts[len..];
    }
    Ok(Some(Message {
        kind,
        src: ip.src_addr(),
        target: Ipv6Addr::from(target),
        lladdr,
    }))
}

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
        Err(reason) => return Some(Verdict::Drop(reason)),
    };
    let neighbors = &ctx.tables.vrfs[usize::from(gw.vrf)].neighbors;
    let learn = |ip: Ipv6Addr, mac: MacAddr| {
        if gw.on_link(IpAddr::V6(ip)) && Some(ip) != gw.v6 && mac.is_unicast() && !mac.is_zero() {
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
    // Answer to the soliciting address, or to all nodes for duplicate address detection.
    let (to_ip, to_mac, solicited) = if dad {
        (ALL_NODES, ALL_NODES_MAC, 0)
    } else {
        (msg.src, msg.lladdr.unwrap_or(meta.src), FLAG_SOLICITED)
    };
    let na = NdFrame {
        kind: icmp::v6::NEIGHBOR_ADVERT,
        flags: router | solicited | FLAG_OVERRIDE,
        eth: (to_mac, mac),
        ip: (msg.target, to_ip),
        target: msg.target,
        option: (OPT_TARGET_LLADDR, mac),
    };
    Some(match na.write(buf) {
        Ok(()) => Verdict::Unicast(in_port),
        Err(reason) => Verdict::Drop(reason),
    })
}

/// A neighbor solicitation or advertisement the switch sends.
pub struct NdFrame {
    pub kind: u8,
    pub flags: u8,
    /// Ethernet destination and source.
    pub eth: (MacAddr, MacAddr),
    /// IPv6 source and destination.
    pub ip: (Ipv6Addr, Ipv6Addr),
    pub target: Ipv6Addr,
    /// Link-layer address option: type and address.
    pub option: (u8, MacAddr),
}

impl NdFrame {
    /// A solicitation for `target` from the gateway address `from`, to its solicited-node
    /// multicast group.
    pub fn solicit(from: Ipv6Addr, target: Ipv6Addr) -> Self {
        let t = target.octets();
        let group = Ipv6Addr::from([
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15],
        ]);
        NdFrame {
            kind: icmp::v6::NEIGHBOR_SOLICIT,
            flags: 0,
            eth: (
                MacAddr([0x33, 0x33, 0xff, t[13], t[14], t[15]]),
                GATEWAY_MAC,
            ),
            ip: (from, group),
            target,
            option: (OPT_SOURCE_LLADDR, GATEWAY_MAC),
        }
    }

    /// Replaces the contents of `buf` with this frame.
    pub fn write<B: PacketBuf>(&self, buf: &mut B) -> Result<(), DropReason> {
        reshape(buf, FRAME_LEN)?;
        let frame = &mut buf.data_mut()[..FRAME_LEN];
        set_macs(frame, self.eth.0, self.eth.1);
        frame[12..14].copy_from_slice(&ethertype::IPV6.to_be_bytes());
        let (ip, msg) = frame[eth::HEADER_LEN..].split_at_mut(ipv6::HEADER_LEN);
        let header = ipv6::Repr {
            src_addr: self.ip.0,
            dst_addr: self.ip.1,
            next_header: ipproto::ICMPV6,
            payload_len: icmp::HEADER_LEN + BODY_LEN + 8,
            hop_limit: ND_HOP_LIMIT,
        };
        header.emit(&mut ipv6::Packet::new_unchecked(ip));
        msg[0] = self.kind;
        msg[1] = 0;
        msg[4..8].copy_from_slice(&[self.flags, 0, 0, 0]);
        msg[8..24].copy_from_slice(&self.target.octets());
        msg[24] = self.option.0;
        msg[25] = 1;
        msg[26..32].copy_from_slice(&self.option.1 .0);
        icmp::Packet::new_unchecked(msg).fill_checksum_v6(self.ip.0, self.ip.1);
        Ok(())
    }
}
