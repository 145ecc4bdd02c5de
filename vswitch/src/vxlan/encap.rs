//! Frames leaving for a remote VTEP: outer Ethernet, IPv4, UDP and VXLAN headers in front of
//! the inner frame, out of the underlay port.
//!
//! The UDP source port is a hash of the inner flow, so that underlay routers spread flows over
//! their ECMP paths while keeping each flow on one. The UDP checksum is zero, as RFC 7348
//! recommends for IPv4; the outer IPv4 header has don't-fragment set, since a VTEP must not
//! fragment (frames too large for the underlay are dropped and counted before this point).

use std::cell::Cell;
use std::net::Ipv4Addr;

use super::table::VxlanTables;
use super::underlay;
use super::VxlanDrop;
use crate::note;
use crate::packet::{checksum, eth, ethertype, ipproto, ipv4, udp, vxlan, MacAddr};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::drop::EngineDrop;
use crate::pipeline::snapshot::NetIdx;
use crate::pipeline::{Context, Output};

/// Bytes put in front of the inner frame.
pub const HEADERS_LEN: usize = eth::HEADER_LEN + super::table::OVERHEAD;
/// The UDP source ports the flow hash picks from (the dynamic range, RFC 6335).
const SPORT_BASE: u16 = 49152;
const SPORT_MASK: u16 = 0x3fff;
const OUTER_TTL: u8 = 64;

/// Sends `buf`, a frame of network `net` that came in on `in_port`, to remote VTEP `remote`.
/// Failures are counted on the underlay port.
#[inline]
pub fn send<B: PacketBuf, O: Output<B>>(
    ctx: &Context<'_, VxlanTables>,
    tunnel: &Prepared,
    net: NetIdx,
    in_port: u16,
    remote: Ipv4Addr,
    mut buf: B,
    out: &mut O,
) {
    let (Some(vtep), Some(vni)) = (ctx.tables.vtep.as_ref(), ctx.tables.vni(net)) else {
        ctx.counters.port(in_port).drop(EngineDrop::NoEgressPort);
        return;
    };
    let underlay = ctx.counters.port(vtep.port);
    if buf.pkt_len() > vtep.inner_max {
        note!(
            ctx,
            "vxlan",
            "to remote VTEP {remote}: dropped (tunnel_mtu)"
        );
        underlay.drop(VxlanDrop::TunnelMtu);
        return;
    }
    let template = match tunnel.get(remote, vni) {
        Some(t) => t,
        None => {
            let Some(next_hop) = underlay::next_hop_mac(ctx, vtep, remote) else {
                note!(
                    ctx,
                    "vxlan",
                    "remote VTEP {remote} unresolved: ARP for it, frame dropped"
                );
                underlay.drop(VxlanDrop::VtepUnresolved);
                if underlay::ask(vtep, &mut buf, remote).is_ok() {
                    out.send(vtep.port, buf);
                }
                return;
            };
            let t = Template::new(&Outer {
                src_mac: vtep.mac,
                dst_mac: next_hop,
                src: vtep.underlay.ip,
                dst: remote,
                sport: 0,
                dport: vtep.udp_port,
                vni,
            });
            tunnel.set(t);
            t
        }
    };
    let sport = SPORT_BASE | (flow_hash(buf.data()) as u16 & SPORT_MASK);
    let inner_len = buf.pkt_len();
    if buf.prepend(HEADERS_LEN).is_err() {
        underlay.drop(EngineDrop::NoBuffer);
        return;
    }
    let Some(headers) = buf.data_mut().first_chunk_mut::<HEADERS_LEN>() else {
        underlay.drop(EngineDrop::NoBuffer);
        return;
    };
    template.write(headers, inner_len, sport);
    note!(
        ctx,
        "vxlan",
        "VNI {vni} to remote VTEP {remote}, from {} out of port {}",
        vtep.underlay.ip,
        ctx.port_name(vtep.port)
    );
    out.send(vtep.port, buf);
}

/// The outer headers to one remote VTEP, ready to copy in front of frames: what a worker built
/// for the last remote it sent to, kept for one poll (so a next hop the VTEP learns anew is
/// used from the next poll on). Building them (the next hop's lookup, the header checksum) is
/// most of what encapsulation costs.
#[derive(Debug, Default)]
pub struct Prepared(Cell<Option<Template>>);

impl Prepared {
    #[inline]
    fn get(&self, remote: Ipv4Addr, vni: u32) -> Option<Template> {
        self.0.get().filter(|t| t.remote == remote && t.vni == vni)
    }

    #[inline]
    fn set(&self, t: Template) {
        self.0.set(Some(t));
    }
}

#[derive(Debug, Clone, Copy)]
struct Template {
    remote: Ipv4Addr,
    vni: u32,
    /// Every header field but the lengths, the IPv4 checksum and the UDP source port.
    headers: [u8; HEADERS_LEN],
    /// The IPv4 header's one's-complement sum without its total length.
    ip_sum: u32,
}

impl Template {
    fn new(outer: &Outer) -> Template {
        let mut headers = [0u8; HEADERS_LEN];
        outer.write(&mut headers, 0);
        // Lengths and checksum out: they differ per frame.
        headers[16..18].copy_from_slice(&[0, 0]);
        headers[24..26].copy_from_slice(&[0, 0]);
        headers[38..40].copy_from_slice(&[0, 0]);
        Template {
            remote: outer.dst,
            vni: outer.vni,
            headers,
            ip_sum: checksum::sum(&headers[14..34]),
        }
    }

    #[inline]
    fn write(&self, h: &mut [u8; HEADERS_LEN], inner_len: usize, sport: u16) {
        *h = self.headers;
        let (ip_len, udp_len) = lengths(inner_len);
        h[16..18].copy_from_slice(&ip_len.to_be_bytes());
        let sum = checksum::fold(checksum::add(self.ip_sum, u32::from(ip_len)));
        h[24..26].copy_from_slice(&sum.to_be_bytes());
        h[34..36].copy_from_slice(&sport.to_be_bytes());
        h[38..40].copy_from_slice(&udp_len.to_be_bytes());
    }
}

/// The outer IPv4 and UDP lengths of an inner frame of `inner_len` bytes.
#[inline]
fn lengths(inner_len: usize) -> (u16, u16) {
    let udp_len = (inner_len + udp::HEADER_LEN + vxlan::HEADER_LEN) as u16;
    (udp_len + ipv4::HEADER_LEN as u16, udp_len)
}

/// The outer headers of one encapsulated frame (also what generators build VXLAN with).
#[derive(Debug, Clone, Copy)]
pub struct Outer {
    pub src_mac: MacAddr,
    pub dst_mac: MacAddr,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub vni: u32,
}

impl Outer {
    /// Writes the headers in front of an inner frame of `inner_len` bytes.
    #[inline]
    pub fn write(&self, h: &mut [u8; HEADERS_LEN], inner_len: usize) {
        let (ip_len, udp_len) = lengths(inner_len);
        h[0..6].copy_from_slice(&self.dst_mac.0);
        h[6..12].copy_from_slice(&self.src_mac.0);
        h[12..14].copy_from_slice(&ethertype::IPV4.to_be_bytes());
        let ip = &mut h[14..34];
        ip[0] = 0x45;
        ip[1] = 0;
        ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
        // Identification 0 with don't-fragment set (RFC 6864 allows it for atomic datagrams).
        ip[4..8].copy_from_slice(&[0, 0, 0x40, 0]);
        ip[8] = OUTER_TTL;
        ip[9] = ipproto::UDP;
        ip[10..12].copy_from_slice(&[0, 0]);
        ip[12..16].copy_from_slice(&self.src.octets());
        ip[16..20].copy_from_slice(&self.dst.octets());
        let sum = checksum::fold(checksum::sum(ip));
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let udp = &mut h[34..42];
        udp[0..2].copy_from_slice(&self.sport.to_be_bytes());
        udp[2..4].copy_from_slice(&self.dport.to_be_bytes());
        udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
        udp[6..8].copy_from_slice(&[0, 0]);
        let vx = &mut h[42..50];
        vx[0..4].copy_from_slice(&[vxlan::FLAG_I, 0, 0, 0]);
        vx[4..8].copy_from_slice(&(self.vni << 8).to_be_bytes());
    }
}

impl Outer {
    /// `inner` encapsulated: a whole frame.
    pub fn encapsulate(&self, inner: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; HEADERS_LEN + inner.len()];
        f[HEADERS_LEN..].copy_from_slice(inner);
        if let Some(h) = f.first_chunk_mut::<HEADERS_LEN>() {
            self.write(h, inner.len());
        }
        f
    }
}

/// A hash of the inner flow: addresses, protocol and ports of IPv4, or else the MACs.
#[inline]
fn flow_hash(frame: &[u8]) -> u32 {
    let word = |i: usize| {
        frame
            .get(i..i + 4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let is_v4 = frame.get(12..14) == Some(&ethertype::IPV4.to_be_bytes()[..]);
    let mut h = if is_v4 {
        // Source and destination address, protocol, and the ports after a 20-byte header.
        let ports = match frame.get(23) {
            Some(&ipproto::TCP | &ipproto::UDP) if frame.get(14) == Some(&0x45) => word(34),
            _ => 0,
        };
        word(26)
            ^ word(30).rotate_left(11)
            ^ ports.rotate_left(22)
            ^ u32::from(frame.get(23).copied().unwrap_or(0))
    } else {
        word(0) ^ word(6).rotate_left(7) ^ word(2).rotate_left(15) ^ word(8)
    };
    // Murmur3's finaliser: every input bit reaches the low bits the port keeps.
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prepared_template_writes_what_the_headers_say() {
        let outer = Outer {
            src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            dst_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            src: Ipv4Addr::new(203, 0, 113, 1),
            dst: Ipv4Addr::new(203, 0, 113, 2),
            sport: 50000,
            dport: 4789,
            vni: 5000,
        };
        for inner_len in [14, 64, 1464] {
            let mut want = [0u8; HEADERS_LEN];
            outer.write(&mut want, inner_len);
            let mut got = [0xaa; HEADERS_LEN];
            Template::new(&outer).write(&mut got, inner_len, 50000);
            assert_eq!(got, want, "inner frame of {inner_len} bytes");
            assert!(ipv4::Packet::new_unchecked(&got[14..34]).verify_checksum());
        }
    }

    #[test]
    fn flow_hash_is_stable_and_follows_the_ports() {
        let mut f = vec![0u8; 60];
        f[12..14].copy_from_slice(&ethertype::IPV4.to_be_bytes());
        f[14] = 0x45;
        f[23] = ipproto::UDP;
        f[26..30].copy_from_slice(&[198, 51, 100, 1]);
        f[30..34].copy_from_slice(&[203, 0, 113, 1]);
        f[34..38].copy_from_slice(&[0x12, 0x34, 0, 53]);
        let a = flow_hash(&f);
        assert_eq!(a, flow_hash(&f));
        f[35] = 0x35;
        assert_ne!(a, flow_hash(&f), "another source port, another hash");
        // A frame too short for its headers hashes without panicking.
        assert_eq!(flow_hash(&f[..20]), flow_hash(&f[..20]));
    }
}
