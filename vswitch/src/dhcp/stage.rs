//! The DHCP server in the datapath: a client's DISCOVER, REQUEST or RELEASE in a network with
//! `--dhcp` is answered in its own buffer, back out of the port it came in on.

use std::net::Ipv4Addr;

use super::server::{unix_now, DhcpServer, DhcpTables, LEASE_SECS};
use super::wire::{self, Kind, Reply};
use super::DhcpDrop;
use crate::forwarding::GATEWAY_MAC;
use crate::note;
use crate::packet::eth::set_macs;
use crate::packet::{eth, ethertype, ipproto, ipv4, udp, MacAddr};
use crate::pipeline::buf::reshape;
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::DropReason;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::Context;

/// BOOTP's broadcast flag (RFC 2131 2): the client cannot receive unicast before it has its
/// address.
const BROADCAST_FLAG: u16 = 0x8000;

/// The DHCP message of an IPv4 frame to the server port, if it is one.
fn message(frame: &[u8]) -> Option<&[u8]> {
    let l3 = frame.get(eth::HEADER_LEN..)?;
    let ip = ipv4::Packet::new_checked(l3).ok()?;
    if ip.protocol() != ipproto::UDP || ip.is_fragment() {
        return None;
    }
    let payload = ip.into_payload();
    let udp = udp::Packet::new_checked(payload).ok()?;
    if udp.dst_port() != wire::SERVER_PORT || udp.src_port() != wire::CLIENT_PORT {
        return None;
    }
    payload.get(udp::HEADER_LEN..usize::from(udp.len()))
}

/// Whether a frame the gateway takes is the DHCP server's to look at first: IPv4 broadcast (a
/// client without an address). What it leaves goes on to the bridge.
#[inline]
pub fn wants(meta: &Meta) -> bool {
    meta.ethertype == ethertype::IPV4 && meta.dst != GATEWAY_MAC
}

/// Answers a DHCP message to network `meta.net`'s server; `None` when the frame is not one
/// (it goes on as before).
pub fn handle<B: PacketBuf>(
    ctx: &Context<'_, DhcpTables>,
    in_port: u16,
    buf: &mut B,
    meta: &Meta,
) -> Option<Verdict> {
    let srv = ctx.tables.server(meta.net)?;
    let msg = message(buf.data())?;
    let req = match wire::parse(msg) {
        Ok(r) => r,
        Err(wire::Malformed) => return Some(Verdict::Drop(DhcpDrop::BadDhcp.into())),
    };
    if req.server_id.is_some_and(|s| s != srv.server) {
        // For another server on the segment: the bridge carries it there.
        return Some(meta.verdict);
    }
    // A described packet (a simulated trace) is answered but binds and releases nothing.
    let keeps = !ctx.dry_run();
    let Some(mut leases) = srv.leases.try_lock() else {
        return Some(Verdict::Drop(DhcpDrop::DhcpBusy.into()));
    };
    let now = unix_now();
    let (kind, ip) = match req.kind {
        Kind::Discover => match leases.pick(srv, req.chaddr, req.requested, now) {
            Some(ip) => (Kind::Offer, ip),
            None => return Some(Verdict::Drop(DhcpDrop::DhcpPoolFull.into())),
        },
        Kind::Request => {
            let asked = req.requested.unwrap_or(req.ciaddr);
            if leases.pick(srv, req.chaddr, Some(asked), now) == Some(asked) {
                if keeps {
                    leases.bind(req.chaddr, asked, now);
                }
                (Kind::Ack, asked)
            } else {
                (Kind::Nak, Ipv4Addr::UNSPECIFIED)
            }
        }
        Kind::Release => {
            if keeps {
                leases.release(req.chaddr, req.ciaddr);
            }
            note!(ctx, "dhcp", "release of {}: taken", req.ciaddr);
            return Some(Verdict::Consumed);
        }
        _ => return Some(Verdict::Consumed),
    };
    drop(leases);
    note!(
        ctx,
        "dhcp",
        "{:?} from {}: {kind:?} {ip}",
        req.kind,
        req.chaddr
    );
    let reply = Reply {
        kind,
        to: &req,
        yiaddr: ip,
        server: srv.server,
        lease_secs: LEASE_SECS,
        mask: srv.mask,
        router: srv.server,
        dns: &srv.dns,
    };
    Some(match write_reply(buf, srv, &reply) {
        Ok(()) => Verdict::Unicast(in_port),
        Err(reason) => Verdict::Drop(reason),
    })
}

/// Replaces the request in `buf` with the reply, addressed as RFC 2131 4.1 says: to a renewing
/// client's address, else broadcast when the client asks for it (and for a NAK), else to the
/// offered address at the client's MAC.
fn write_reply<B: PacketBuf>(
    buf: &mut B,
    srv: &DhcpServer,
    reply: &Reply<'_>,
) -> Result<(), DropReason> {
    let req = reply.to;
    let broadcast = req.flags & BROADCAST_FLAG != 0 || reply.kind == Kind::Nak;
    let (dst_ip, dst_mac) = if !req.ciaddr.is_unspecified() && reply.kind != Kind::Nak {
        (req.ciaddr, req.chaddr)
    } else if broadcast {
        (Ipv4Addr::BROADCAST, MacAddr::BROADCAST)
    } else {
        (reply.yiaddr, req.chaddr)
    };
    let udp_len = udp::HEADER_LEN + reply.len();
    let len = eth::HEADER_LEN + ipv4::HEADER_LEN + udp_len;
    reshape(buf, len)?;
    let frame = &mut buf.data_mut()[..len];
    set_macs(frame, dst_mac, GATEWAY_MAC);
    frame[12..14].copy_from_slice(&ethertype::IPV4.to_be_bytes());
    let (ip, l4) = frame[eth::HEADER_LEN..].split_at_mut(ipv4::HEADER_LEN);
    let mut ip = ipv4::Packet::new_unchecked(ip);
    ip.set_version(4);
    ip.set_header_len(ipv4::HEADER_LEN);
    ip.set_dscp(0);
    ip.set_ecn(0);
    ip.set_total_len((ipv4::HEADER_LEN + udp_len) as u16);
    ip.set_ident(0);
    ip.set_dont_frag(false);
    ip.set_more_frags(false);
    ip.set_frag_offset(0);
    ip.set_ttl(64);
    ip.set_protocol(ipproto::UDP);
    ip.set_src_addr(srv.server);
    ip.set_dst_addr(dst_ip);
    ip.fill_checksum();
    reply.write(&mut l4[udp::HEADER_LEN..]);
    let mut u = udp::Packet::new_unchecked(l4);
    u.set_src_port(wire::SERVER_PORT);
    u.set_dst_port(wire::CLIENT_PORT);
    u.set_len(udp_len as u16);
    u.fill_checksum_v4(srv.server, dst_ip);
    Ok(())
}
