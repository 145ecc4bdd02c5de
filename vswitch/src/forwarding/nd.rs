//! IPv6 neighbor discovery messages (RFC 4861) as the switch reads and writes them: the
//! solicitations and advertisements the gateway answers and sends (`router`) and that NAT
//! answers for its IPv6 addresses, the counterpart of `arp`.

use std::net::Ipv6Addr;

use crate::forwarding::GATEWAY_MAC;
use crate::packet::eth::set_macs;
use crate::packet::{eth, ethertype, icmp, ipproto, ipv6, MacAddr};
use crate::pipeline::buf::{reshape, PacketBuf};
use crate::pipeline::drop::DropReason;

/// ND messages carry hop limit 255: proof they were not routed (RFC 4861 7.1.1).
pub const ND_HOP_LIMIT: u8 = 255;
/// The all-nodes group (ff02::1) and its Ethernet address.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
pub const ALL_NODES_MAC: MacAddr = MacAddr([0x33, 0x33, 0, 0, 0, 1]);
/// NS/NA body after the ICMPv6 header (whose last 4 bytes hold the NA flags): the target.
pub const BODY_LEN: usize = 16;
/// Option types: source / target link-layer address.
pub const OPT_SOURCE_LLADDR: u8 = 1;
pub const OPT_TARGET_LLADDR: u8 = 2;
/// NA flags: router, solicited, override.
pub const FLAG_ROUTER: u8 = 0x80;
pub const FLAG_SOLICITED: u8 = 0x40;
pub const FLAG_OVERRIDE: u8 = 0x20;
/// An NS or NA with one link-layer address option, as the switch sends them.
const FRAME_LEN: usize = eth::HEADER_LEN + ipv6::HEADER_LEN + icmp::HEADER_LEN + BODY_LEN + 8;

/// An NS or NA the frame carries, checked.
pub struct Message {
    pub kind: u8,
    pub src: Ipv6Addr,
    pub target: Ipv6Addr,
    /// The link-layer address option (source for NS, target for NA).
    pub lladdr: Option<MacAddr>,
}

/// ND that does not check out (hop limit, code, length, checksum, options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// The ND message of an IPv6 frame; `Ok(None)` when it is other IPv6 (left to the bridge or
/// the router); `Err` when it is ND and malformed.
pub fn parse(frame: &[u8]) -> Result<Option<Message>, Malformed> {
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
    let msg = icmp::Packet::new_checked(body).map_err(|_| Malformed)?;
    if ip.hop_limit() != ND_HOP_LIMIT
        || msg.msg_code() != 0
        || body.len() < icmp::HEADER_LEN + BODY_LEN
        || !msg.verify_checksum_v6(ip.src_addr(), ip.dst_addr())
    {
        return Err(Malformed);
    }
    let target: [u8; 16] = body[8..24].try_into().map_err(|_| Malformed)?;
    // Options: type, length in units of 8 bytes (never 0), value.
    let mut lladdr = None;
    let mut opts = &body[24..];
    while !opts.is_empty() {
        let len = usize::from(*opts.get(1).ok_or(Malformed)?) * 8;
        if len == 0 || len > opts.len() {
            return Err(Malformed);
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

    /// The advertisement answering `msg` (received from `src_mac`) for its target, at `mac`,
    /// with `flags` besides solicited and override (router).
    pub fn advert(msg: &Message, src_mac: MacAddr, mac: MacAddr, flags: u8) -> Self {
        // To the soliciting address, or to all nodes for duplicate address detection.
        let (to_ip, to_mac, solicited) = match msg.src.is_unspecified() {
            true => (ALL_NODES, ALL_NODES_MAC, 0),
            false => (msg.src, msg.lladdr.unwrap_or(src_mac), FLAG_SOLICITED),
        };
        NdFrame {
            kind: icmp::v6::NEIGHBOR_ADVERT,
            flags: flags | solicited | FLAG_OVERRIDE,
            eth: (to_mac, mac),
            ip: (msg.target, to_ip),
            target: msg.target,
            option: (OPT_TARGET_LLADDR, mac),
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
