//! Frames arriving on the underlay port: ARP for the VTEP, and VXLAN to it. A VXLAN packet is
//! checked whole (outer IPv4, UDP port and length, flags, VNI, sender) before its inner frame
//! goes on into the network of its VNI; everything else is dropped and counted.

use std::net::Ipv4Addr;

use super::table::VtepEntry;
use super::table::VxlanTables;
use super::underlay::{self, ArpOutcome};
use super::VxlanDrop;
use crate::packet::{eth, ethertype, ipproto, ipv4, udp, vxlan};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::DropReason;
use crate::pipeline::drop::EngineDrop;
use crate::pipeline::meta::{Meta, BURST};
use crate::pipeline::snapshot::NetIdx;
use crate::pipeline::{Context, Output};

/// The VXLAN flags word of a valid header: the I flag, nothing else.
const FLAGS_WORD: u32 = (vxlan::FLAG_I as u32) << 24;

/// Where a decapsulated frame came from: its network and remote VTEP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inner {
    pub net: NetIdx,
    pub remote: Ipv4Addr,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            net: 0,
            remote: Ipv4Addr::UNSPECIFIED,
        }
    }
}

/// What one underlay frame came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Received {
    /// `buf` now holds the inner frame.
    Inner(Inner),
    /// `buf` now holds an answer to send back out of the underlay port.
    Answer,
    /// Taken by the VTEP (ARP it learned from); nothing to send.
    Consumed,
}

/// Runs a burst of the underlay port: answers ARP and decapsulates VXLAN. What is left in
/// `pkts` are the inner frames in arrival order, `inner[i]` telling where frame `i` came from.
pub fn receive_burst<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_, VxlanTables>,
    vtep: &VtepEntry,
    in_port: u16,
    pkts: &mut Vec<B>,
    inner: &mut [Inner; BURST],
    out: &mut O,
) {
    let counters = ctx.counters.port(in_port);
    // Frames kept move to the front; `answers` marks (by position) those of the rest that go
    // back out, and follows them as they are swapped.
    let (mut kept, mut answers) = (0usize, 0u32);
    let mut vnis = VniMemo::default();
    for i in 0..pkts.len().min(BURST) {
        match receive(ctx, vtep, &mut vnis, &mut pkts[i]) {
            Ok(Received::Inner(from)) => {
                inner[kept] = from;
                if kept != i {
                    pkts.swap(kept, i);
                    if answers & (1 << kept) != 0 {
                        answers = answers & !(1 << kept) | 1 << i;
                    }
                }
                kept += 1;
            }
            Ok(Received::Answer) => answers |= 1 << i,
            Ok(Received::Consumed) => {}
            Err(reason) => counters.drop(reason),
        }
    }
    for (j, buf) in pkts.drain(kept..).enumerate() {
        if answers & (1 << (kept + j)) != 0 {
            out.send(in_port, buf);
        }
    }
}

/// The network of the VNI the burst's previous VXLAN packet carried: packets of a burst mostly
/// share one.
#[derive(Default)]
struct VniMemo(Option<(u32, NetIdx)>);

impl VniMemo {
    #[inline]
    fn network(&mut self, vtep: &VtepEntry, vni: u32) -> Option<NetIdx> {
        match self.0 {
            Some((v, net)) if v == vni => Some(net),
            _ => {
                let net = vtep.network(vni)?;
                self.0 = Some((vni, net));
                Some(net)
            }
        }
    }
}

fn receive<B: PacketBuf>(
    ctx: &Context<'_, VxlanTables>,
    vtep: &VtepEntry,
    vnis: &mut VniMemo,
    buf: &mut B,
) -> Result<Received, DropReason> {
    let data = buf.data();
    let Some(hdr) = data.first_chunk::<{ eth::HEADER_LEN }>() else {
        return Err(EngineDrop::Runt.into());
    };
    match u16::from_be_bytes([hdr[12], hdr[13]]) {
        ethertype::ARP => match underlay::arp(ctx, vtep, buf)? {
            ArpOutcome::Answer => Ok(Received::Answer),
            ArpOutcome::Consumed => Ok(Received::Consumed),
        },
        ethertype::IPV4 => {
            let (from, start, len) = check(ctx.tables, vtep, vnis, &data[eth::HEADER_LEN..])?;
            let start = eth::HEADER_LEN + start;
            buf.trim_front(start)
                .map_err(|_| VxlanDrop::VxlanTruncated)?;
            buf.truncate(len).map_err(|_| VxlanDrop::VxlanTruncated)?;
            Ok(Received::Inner(from))
        }
        _ => Err(VxlanDrop::NotForVtep.into()),
    }
}

/// Checks the outer IPv4 packet `l3` as VXLAN to this VTEP: where its inner frame starts (in
/// `l3`), how long it is, and where it came from.
fn check(
    tables: &VxlanTables,
    vtep: &VtepEntry,
    vnis: &mut VniMemo,
    l3: &[u8],
) -> Result<(Inner, usize, usize), DropReason> {
    let ip = ipv4::Packet::new_checked(l3).map_err(|_| EngineDrop::BadIp)?;
    let header = ip.header_len();
    let total = usize::from(ip.total_len());
    if ip.version() != 4 || header < ipv4::HEADER_LEN || total < header || total > l3.len() {
        return Err(EngineDrop::BadIp.into());
    }
    if !ip.verify_checksum() {
        return Err(EngineDrop::BadIp.into());
    }
    if ip.dst_addr() != vtep.underlay.ip || ip.protocol() != ipproto::UDP || ip.is_fragment() {
        return Err(VxlanDrop::NotForVtep.into());
    }
    let l4 = &l3[header..total];
    let u = udp::Packet::new_checked(l4).map_err(|_| VxlanDrop::VxlanTruncated)?;
    if u.dst_port() != vtep.udp_port {
        return Err(VxlanDrop::NotForVtep.into());
    }
    // The UDP length must say what the IP length says.
    if usize::from(u.len()) != l4.len() {
        return Err(VxlanDrop::VxlanTruncated.into());
    }
    let payload = &l4[udp::HEADER_LEN..];
    if payload.len() < vxlan::HEADER_LEN + eth::HEADER_LEN {
        return Err(VxlanDrop::VxlanTruncated.into());
    }
    let word =
        |i: usize| u32::from_be_bytes([payload[i], payload[i + 1], payload[i + 2], payload[i + 3]]);
    let (flags, vni_word) = (word(0), word(4));
    // Reserved bits must be zero (as the Linux VTEP requires): a frame with others set is
    // from an extension we do not speak.
    if flags != FLAGS_WORD || vni_word & 0xff != 0 {
        return Err(VxlanDrop::VxlanBadHeader.into());
    }
    let net = vnis
        .network(vtep, vni_word >> 8)
        .ok_or(VxlanDrop::VxlanUnknownVni)?;
    let remote = ip.src_addr();
    let listed = || tables.flood_list(net).contains(&remote);
    if remote == vtep.underlay.ip || !super::validate::is_vtep_address(remote) {
        return Err(VxlanDrop::VxlanUnknownVtep.into());
    }
    if !vtep.learning && !listed() {
        return Err(VxlanDrop::VxlanUnknownVtep.into());
    }
    let start = header + udp::HEADER_LEN + vxlan::HEADER_LEN;
    Ok((Inner { net, remote }, start, total - start))
}

/// The ingress policy of an inner frame, in place of a port's: its network is its VNI's, and
/// it carries no VLAN tag.
#[inline]
pub fn admit(meta: &mut Meta, from: Inner) -> Result<(), DropReason> {
    if meta.tagged {
        return Err(EngineDrop::BadVlan.into());
    }
    meta.net = from.net;
    meta.remote = Some(from.remote);
    Ok(())
}
