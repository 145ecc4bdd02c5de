//! The TCP reset a `reject` rule answers a refused connection with (RFC 9293 3.10.7.1: to a
//! segment with ACK, a reset with its acknowledgement as sequence number; otherwise sequence
//! 0 and an acknowledgement of the whole segment).

use std::net::IpAddr;

use super::flow::Flow;
use crate::packet::{eth, ethertype, ipproto, ipv4, ipv6, tcp, MacAddr};
use crate::pipeline::buf::{reshape, PacketBuf};
use crate::pipeline::drop::DropReason;
use crate::pipeline::drop::EngineDrop;

/// Hop limit of the resets the switch originates.
const TTL: u8 = 64;

/// Turns the TCP segment in `buf` (Ethernet, untagged), read as `flow`, into the reset that
/// refuses it, from its destination back to its source, sent to `dst_mac` from `src_mac`.
pub fn tcp_reset<B: PacketBuf>(
    buf: &mut B,
    flow: &Flow,
    dst_mac: MacAddr,
    src_mac: MacAddr,
) -> Result<(), DropReason> {
    let (Some(seg), ipproto::TCP) = (flow.tcp, flow.tuple.proto) else {
        return Err(EngineDrop::BadIp.into());
    };
    let t = flow.tuple;
    let (seq, ack, flags) = if seg.flags & super::tcp::flags::ACK != 0 {
        (seg.ack, 0, super::tcp::flags::RST)
    } else {
        let len = seg.data_len
            + u32::from(seg.flags & super::tcp::flags::SYN != 0)
            + u32::from(seg.flags & super::tcp::flags::FIN != 0);
        (
            0,
            seg.seq.wrapping_add(len),
            super::tcp::flags::RST | super::tcp::flags::ACK,
        )
    };
    let ip_len = match t.src {
        IpAddr::V4(_) => ipv4::HEADER_LEN,
        IpAddr::V6(_) => ipv6::HEADER_LEN,
    };
    let len = eth::HEADER_LEN + ip_len + tcp::HEADER_LEN;
    reshape(buf, len)?;
    let frame = &mut buf.data_mut()[..len];
    frame.fill(0);
    let ethertype = match t.src {
        IpAddr::V4(_) => ethertype::IPV4,
        IpAddr::V6(_) => ethertype::IPV6,
    };
    eth::Repr {
        src: src_mac,
        dst: dst_mac,
        ethertype,
    }
    .emit(&mut eth::Frame::new_unchecked(&mut frame[..]));
    let (l3, l4) = frame[eth::HEADER_LEN..].split_at_mut(ip_len);
    let mut seg_out = tcp::Packet::new_unchecked(&mut l4[..]);
    seg_out.set_src_port(t.dport);
    seg_out.set_dst_port(t.sport);
    seg_out.set_seq_number(seq);
    seg_out.set_ack_number(ack);
    seg_out.set_header_len(tcp::HEADER_LEN);
    seg_out.set_flags(flags);
    match (t.dst, t.src) {
        (IpAddr::V4(from), IpAddr::V4(to)) => {
            ipv4::Repr {
                src_addr: from,
                dst_addr: to,
                next_header: ipproto::TCP,
                payload_len: tcp::HEADER_LEN,
                ttl: TTL,
            }
            .emit(&mut ipv4::Packet::new_unchecked(&mut l3[..]));
            seg_out.fill_checksum_v4(from, to);
        }
        (IpAddr::V6(from), IpAddr::V6(to)) => {
            ipv6::Repr {
                src_addr: from,
                dst_addr: to,
                next_header: ipproto::TCP,
                payload_len: tcp::HEADER_LEN,
                hop_limit: TTL,
            }
            .emit(&mut ipv6::Packet::new_unchecked(&mut l3[..]));
            seg_out.fill_checksum_v6(from, to);
        }
        _ => return Err(EngineDrop::BadIp.into()),
    }
    Ok(())
}
