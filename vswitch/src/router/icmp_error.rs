//! ICMP errors the gateway sends about a packet it cannot forward (TTL / hop limit exceeded, no
//! route, fragmentation needed / packet too big), built in the packet's own buffer, echo
//! replies from the gateway, and the errors' rate limit.

use super::table::RouterTables;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::forwarding::GATEWAY_MAC;
use crate::packet::eth::set_macs;
use crate::packet::{checksum, eth, ethertype, icmp, ipproto, ipv4, ipv6, MacAddr};
use crate::pipeline::buf::reshape;
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::DropReason;
use crate::pipeline::drop::EngineDrop;
use crate::pipeline::meta::Verdict;
use crate::pipeline::Context;

/// ICMP errors one worker sends per second at most (as Linux's `icmp_ratelimit` shapes them).
pub const ERRORS_PER_SECOND: u32 = 1000;
/// Bytes of the offending packet an error quotes at most: the whole error fits in 576 bytes
/// (RFC 1812 4.3.2.3).
const MAX_QUOTE: usize = 576 - ipv4::HEADER_LEN - icmp::HEADER_LEN;
/// TTL of the errors the gateway originates.
const TTL: u8 = 64;

/// An ICMP or ICMPv6 error that can replace the packet it is about.
pub trait ErrorMessage {
    /// The gateway address family the error is sent from.
    type Addr: Copy;
    fn write_into<B: PacketBuf>(
        &self,
        buf: &mut B,
        from: Self::Addr,
        dst_mac: MacAddr,
        reason: DropReason,
    ) -> Result<(), DropReason>;
}

/// Sends error `e` from the gateway address `from` back where the packet in `buf` came from
/// (to `dst_mac`), within the worker's budget. The packet it replaces still counts as dropped
/// for `reason`; without a gateway address of its family or budget it is just dropped.
pub fn reply_with<B: PacketBuf, E: ErrorMessage>(
    ctx: &Context<'_, RouterTables>,
    limiter: &mut IcmpLimiter,
    buf: &mut B,
    from: Option<E::Addr>,
    dst_mac: MacAddr,
    e: E,
    reason: DropReason,
) -> Verdict {
    let Some(from) = from else {
        return Verdict::Drop(reason);
    };
    if !limiter.allow(ctx.now) {
        return Verdict::Drop(reason);
    }
    let in_port = buf.in_port();
    match e.write_into(buf, from, dst_mac, reason) {
        Ok(()) => {
            ctx.counters.port(in_port).drop(reason);
            Verdict::Unicast(in_port)
        }
        Err(reason) => Verdict::Drop(reason),
    }
}

impl ErrorMessage for IcmpError {
    type Addr = Ipv4Addr;

    /// Turns the IPv4 packet in `buf` (Ethernet, no tag) into this error from `from` to the
    /// packet's source, sent to `dst_mac` from the gateway MAC. Errors about ICMP errors are
    /// never sent (RFC 1122 3.2.2): `Err(reason)` then, as for a packet too short to quote.
    fn write_into<B: PacketBuf>(
        &self,
        buf: &mut B,
        from: Ipv4Addr,
        dst_mac: MacAddr,
        reason: DropReason,
    ) -> Result<(), DropReason> {
        let data = buf.data();
        let Some(orig) = data.get(eth::HEADER_LEN..) else {
            return Err(reason);
        };
        let quoted = ipv4::Packet::new_unchecked(orig);
        if orig.len() < ipv4::HEADER_LEN || quoted.is_fragment() && quoted.frag_offset() != 0 {
            return Err(reason);
        }
        let header = quoted.header_len();
        if quoted.protocol() == ipproto::ICMP {
            let t = orig
                .get(header)
                .copied()
                .unwrap_or(icmp::v4::DEST_UNREACHABLE);
            if !matches!(t, icmp::v4::ECHO_REQUEST | icmp::v4::ECHO_REPLY) {
                return Err(reason);
            }
        }
        let to = quoted.src_addr();
        if to.is_broadcast() || to.is_multicast() || to.is_unspecified() {
            return Err(reason);
        }
        let quote = usize::from(quoted.total_len())
            .min(orig.len())
            .min(MAX_QUOTE)
            .max(header.min(orig.len()));
        // New headers go in front of the original IP header, which stays where it is.
        let grow = ipv4::HEADER_LEN + icmp::HEADER_LEN;
        let len = eth::HEADER_LEN + grow + quote;
        buf.prepend(grow).map_err(|_| EngineDrop::NoBuffer)?;
        reshape(buf, len)?;
        let frame = &mut buf.data_mut()[..len];
        set_macs(frame, dst_mac, GATEWAY_MAC);
        frame[12..14].copy_from_slice(&ethertype::IPV4.to_be_bytes());
        let (ip, msg) = frame[eth::HEADER_LEN..].split_at_mut(ipv4::HEADER_LEN);
        let mut ip = ipv4::Packet::new_unchecked(ip);
        ip.set_version(4);
        ip.set_header_len(ipv4::HEADER_LEN);
        ip.set_dscp(0x30); // CS6, network control
        ip.set_ecn(0);
        ip.set_total_len((grow + quote) as u16);
        ip.set_ident(0);
        ip.set_dont_frag(false);
        ip.set_more_frags(false);
        ip.set_frag_offset(0);
        ip.set_ttl(TTL);
        ip.set_protocol(ipproto::ICMP);
        ip.set_src_addr(from);
        ip.set_dst_addr(to);
        ip.fill_checksum();
        let mut m = icmp::Packet::new_unchecked(msg);
        m.set_msg_type(self.msg_type);
        m.set_msg_code(self.code);
        m.set_rest_of_header(self.rest);
        m.fill_checksum_v4();
        Ok(())
    }
}

impl ErrorMessage for Icmp6Error {
    type Addr = Ipv6Addr;

    /// Turns the IPv6 packet in `buf` into this error from `from` to the packet's source (RFC
    /// 4443 2.4: never about an ICMPv6 error, or to a multicast or unspecified source).
    fn write_into<B: PacketBuf>(
        &self,
        buf: &mut B,
        from: Ipv6Addr,
        dst_mac: MacAddr,
        reason: DropReason,
    ) -> Result<(), DropReason> {
        let data = buf.data();
        let Some(orig) = data.get(eth::HEADER_LEN..) else {
            return Err(reason);
        };
        if orig.len() < ipv6::HEADER_LEN {
            return Err(reason);
        }
        let quoted = ipv6::Packet::new_unchecked(orig);
        let to = quoted.src_addr();
        let is_error = quoted.next_header() == ipproto::ICMPV6
            && orig.get(ipv6::HEADER_LEN).is_none_or(|t| *t < 128);
        if is_error || to.is_multicast() || to.is_unspecified() {
            return Err(reason);
        }
        let quote = (ipv6::HEADER_LEN + usize::from(quoted.payload_len()))
            .min(orig.len())
            .min(MAX_QUOTE_V6);
        let grow = ipv6::HEADER_LEN + icmp::HEADER_LEN;
        let len = eth::HEADER_LEN + grow + quote;
        buf.prepend(grow).map_err(|_| EngineDrop::NoBuffer)?;
        reshape(buf, len)?;
        let frame = &mut buf.data_mut()[..len];
        set_macs(frame, dst_mac, GATEWAY_MAC);
        frame[12..14].copy_from_slice(&ethertype::IPV6.to_be_bytes());
        let (ip, msg) = frame[eth::HEADER_LEN..].split_at_mut(ipv6::HEADER_LEN);
        let header = ipv6::Repr {
            src_addr: from,
            dst_addr: to,
            next_header: ipproto::ICMPV6,
            payload_len: icmp::HEADER_LEN + quote,
            hop_limit: TTL,
        };
        header.emit(&mut ipv6::Packet::new_unchecked(ip));
        let mut m = icmp::Packet::new_unchecked(msg);
        m.set_msg_type(self.msg_type);
        m.set_msg_code(self.code);
        m.set_rest_of_header(self.rest);
        m.fill_checksum_v6(from, to);
        Ok(())
    }
}

/// One worker's error budget for the current second.
#[derive(Debug, Default)]
pub struct IcmpLimiter {
    second: u32,
    sent: u32,
}

impl IcmpLimiter {
    /// True when one more error may go out at time `now` (seconds).
    #[inline]
    pub fn allow(&mut self, now: u32) -> bool {
        if self.second != now {
            self.second = now;
            self.sent = 0;
        }
        self.sent += 1;
        self.sent <= ERRORS_PER_SECOND
    }
}

/// An error to send back to the source of the packet in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct IcmpError {
    pub msg_type: u8,
    pub code: u8,
    /// The 32 bits after the checksum (the next-hop MTU for fragmentation needed).
    pub rest: u32,
}

impl IcmpError {
    pub const TTL_EXCEEDED: IcmpError = IcmpError {
        msg_type: icmp::v4::TIME_EXCEEDED,
        code: icmp::v4::CODE_TTL_EXCEEDED,
        rest: 0,
    };
    pub const ADMIN_PROHIBITED: IcmpError = IcmpError {
        msg_type: icmp::v4::DEST_UNREACHABLE,
        code: icmp::v4::CODE_ADMIN_PROHIBITED,
        rest: 0,
    };
    pub const NET_UNREACHABLE: IcmpError = IcmpError {
        msg_type: icmp::v4::DEST_UNREACHABLE,
        code: icmp::v4::CODE_NET_UNREACHABLE,
        rest: 0,
    };

    pub fn frag_needed(mtu: u16) -> IcmpError {
        IcmpError {
            msg_type: icmp::v4::DEST_UNREACHABLE,
            code: icmp::v4::CODE_FRAG_NEEDED,
            rest: u32::from(mtu),
        }
    }
}

/// Turns the ICMP echo request in `buf` into its reply from the gateway, in place.
pub fn echo_reply<B: PacketBuf>(buf: &mut B, dst_mac: MacAddr) -> Result<(), DropReason> {
    let frame = buf.data_mut();
    let Some(l3) = frame.get_mut(eth::HEADER_LEN..) else {
        return Err(EngineDrop::BadIp.into());
    };
    let mut ip = ipv4::Packet::new_unchecked(&mut *l3);
    let header = ip.header_len();
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    ip.set_src_addr(dst);
    ip.set_dst_addr(src);
    ip.set_ttl(TTL);
    ip.fill_checksum();
    let Some(msg) = l3.get_mut(header..header + icmp::HEADER_LEN) else {
        return Err(EngineDrop::BadIp.into());
    };
    let mut m = icmp::Packet::new_unchecked(msg);
    let old = u16::from_be_bytes([m.msg_type(), m.msg_code()]);
    m.set_msg_type(icmp::v4::ECHO_REPLY);
    let new = u16::from_be_bytes([m.msg_type(), m.msg_code()]);
    m.set_checksum(checksum::update16(m.checksum(), old, new));
    set_macs(frame, dst_mac, GATEWAY_MAC);
    Ok(())
}

/// ICMPv6 errors quote the offending packet so that the error fits the IPv6 minimum MTU.
const MAX_QUOTE_V6: usize = 1280 - ipv6::HEADER_LEN - icmp::HEADER_LEN;

/// An ICMPv6 error to send back to the source of the IPv6 packet in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct Icmp6Error {
    pub msg_type: u8,
    pub code: u8,
    /// The 32 bits after the checksum (the MTU for packet too big).
    pub rest: u32,
}

impl Icmp6Error {
    pub const HOP_LIMIT_EXCEEDED: Icmp6Error = Icmp6Error {
        msg_type: icmp::v6::TIME_EXCEEDED,
        code: icmp::v6::CODE_HOP_LIMIT_EXCEEDED,
        rest: 0,
    };
    pub const NO_ROUTE: Icmp6Error = Icmp6Error {
        msg_type: icmp::v6::DEST_UNREACHABLE,
        code: icmp::v6::CODE_NO_ROUTE,
        rest: 0,
    };
    pub const ADMIN_PROHIBITED: Icmp6Error = Icmp6Error {
        msg_type: icmp::v6::DEST_UNREACHABLE,
        code: icmp::v6::CODE_ADMIN_PROHIBITED,
        rest: 0,
    };

    pub fn packet_too_big(mtu: u16) -> Icmp6Error {
        Icmp6Error {
            msg_type: icmp::v6::PACKET_TOO_BIG,
            code: 0,
            rest: u32::from(mtu),
        }
    }
}

/// Turns the ICMPv6 echo request in `buf` into its reply from the gateway, in place (the
/// pseudo-header keeps its sum when the addresses swap, so the checksum changes only by the
/// type).
pub fn echo_reply_v6<B: PacketBuf>(buf: &mut B, dst_mac: MacAddr) -> Result<(), DropReason> {
    let frame = buf.data_mut();
    let Some(l3) = frame.get_mut(eth::HEADER_LEN..) else {
        return Err(EngineDrop::BadIp.into());
    };
    let mut ip = ipv6::Packet::new_unchecked(&mut *l3);
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    ip.set_src_addr(dst);
    ip.set_dst_addr(src);
    ip.set_hop_limit(TTL);
    let Some(msg) = l3.get_mut(ipv6::HEADER_LEN..ipv6::HEADER_LEN + icmp::HEADER_LEN) else {
        return Err(EngineDrop::BadIp.into());
    };
    let mut m = icmp::Packet::new_unchecked(msg);
    let old = u16::from_be_bytes([m.msg_type(), m.msg_code()]);
    m.set_msg_type(icmp::v6::ECHO_REPLY);
    let new = u16::from_be_bytes([m.msg_type(), m.msg_code()]);
    m.set_checksum(checksum::update16(m.checksum(), old, new));
    set_macs(frame, dst_mac, GATEWAY_MAC);
    Ok(())
}
