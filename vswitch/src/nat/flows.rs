//! A connection's translation as flow records report it (RFC 8158's post-NAT fields): the
//! addresses and ports its first packet arrived with and those it left with. Read from the
//! snapshot's NAT tables and state without changing them (no idle timer is refreshed).

use std::net::IpAddr;

use super::table::NatTables;
use crate::pipeline::snapshot::NetIdx;

pub type Ep = (IpAddr, u16);

/// A first packet's source and destination as it arrived and as it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub arrived: (Ep, Ep),
    pub left: (Ep, Ep),
}

/// The translation of the connection the firewall tracks as `src` → `dst` (the addresses it
/// saw: a VIP before its backend, a floating IP's endpoint after it) from network `from` to
/// network `to`; `None` when NAT changed nothing.
pub fn translation(
    t: &NatTables,
    (from, to): (NetIdx, NetIdx),
    proto: u8,
    src: Ep,
    dst: Ep,
) -> Option<Translation> {
    if t.is_empty() {
        return None;
    }
    let vrf = t.vrf(from);
    let arrived = (src, dst);
    if t.services.is_vip(dst.0) {
        let backend = to_backend(t, vrf, proto, src, dst)?;
        return Some(Translation {
            arrived,
            left: (src, backend),
        });
    }
    match (t.external(from), t.external(to)) {
        // Into a floating IP: it arrived for the floating IP, the firewall saw its endpoint.
        (true, false) => {
            let floating = match dst.0 {
                IpAddr::V4(ip) => IpAddr::V4(t.floating_ip(to, ip)?),
                IpAddr::V6(ip) => IpAddr::V6(t.floating_ip6(to, ip)?),
            };
            Some(Translation {
                arrived: (src, (floating, dst.1)),
                left: arrived,
            })
        }
        (false, true) => {
            let outside = from_inside(t, from, vrf, proto, src, dst)?;
            Some(Translation {
                arrived,
                left: (outside, dst),
            })
        }
        _ => None,
    }
}

fn to_backend(t: &NatTables, vrf: u16, proto: u8, client: Ep, vip: Ep) -> Option<Ep> {
    match (client.0, vip.0) {
        (IpAddr::V4(c), IpAddr::V4(v)) => t
            .sessions
            .peek_backend(vrf, proto, (c, client.1), (v, vip.1))
            .map(|(ip, port)| (IpAddr::V4(ip), port)),
        (IpAddr::V6(c), IpAddr::V6(v)) => t
            .sessions6
            .peek_backend(vrf, proto, (c, client.1), (v, vip.1))
            .map(|(ip, port)| (IpAddr::V6(ip), port)),
        _ => None,
    }
}

/// Where an inside endpoint's connection leaves from: its floating IP, or its SNAT binding.
fn from_inside(t: &NatTables, net: NetIdx, vrf: u16, proto: u8, src: Ep, dst: Ep) -> Option<Ep> {
    match (src.0, dst.0) {
        (IpAddr::V4(s), IpAddr::V4(d)) => match t.floating_ip(net, s) {
            Some(floating) => Some((IpAddr::V4(floating), src.1)),
            None => t
                .bindings
                .bound(vrf, proto, (s, src.1), (d, dst.1))
                .map(|(ip, port)| (IpAddr::V4(ip), port)),
        },
        (IpAddr::V6(s), IpAddr::V6(_)) => t.floating_ip6(net, s).map(|f| (IpAddr::V6(f), src.1)),
        _ => None,
    }
}
