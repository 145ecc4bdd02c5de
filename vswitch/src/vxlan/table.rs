//! What a snapshot holds of the VTEP: its underlay address and port, the VNI → network map,
//! and the underlay neighbors it learned (kept across snapshots).

use std::net::Ipv4Addr;
use std::sync::Arc;

use hashbrown::HashMap;

use super::validate::{remote_ip, underlay, Underlay};
use crate::config::snapshot::{NetIdx, NetworkEntry, PortEntry};
use crate::forwarding::neighbor::{NeighborTable, DEFAULT_NEIGHBOR_LIMIT};
use crate::model::Model;
use crate::packet::{ipv4, udp, vxlan, MacAddr};

/// Outer IPv4, UDP and VXLAN headers: what encapsulation adds inside the underlay's MTU.
pub const OVERHEAD: usize = ipv4::HEADER_LEN + udp::HEADER_LEN + vxlan::HEADER_LEN;

#[derive(Debug)]
pub struct VtepEntry {
    /// The underlay port (DPDK id).
    pub port: u16,
    pub underlay: Underlay,
    /// The VTEP's MAC on the underlay: locally administered, made of its address, so that two
    /// switches on one underlay never share one.
    pub mac: MacAddr,
    pub udp_port: u16,
    /// Accept (and learn MACs behind) VTEPs outside a VNI's flood list.
    pub learning: bool,
    /// The largest inner frame (its Ethernet header included) that fits the underlay MTU.
    pub inner_max: usize,
    vnis: HashMap<u32, NetIdx>,
    /// The underlay neighbors (remote VTEPs on link, the gateway), learned from ARP.
    pub neighbors: Arc<NeighborTable>,
}

impl VtepEntry {
    /// The network of `vni`.
    #[inline]
    pub fn network(&self, vni: u32) -> Option<NetIdx> {
        self.vnis.get(&vni).copied()
    }

    /// The underlay next hop towards remote VTEP `ip`.
    #[inline]
    pub fn next_hop(&self, ip: Ipv4Addr) -> Ipv4Addr {
        match self.underlay.gateway {
            Some(g) if !self.underlay.on_link(ip) => g,
            _ => ip,
        }
    }

    /// The largest inner L2 payload (the overlay MTU a guest should use).
    pub fn overlay_mtu(&self) -> usize {
        self.inner_max
            .saturating_sub(crate::packet::eth::HEADER_LEN)
    }
}

/// The MAC of the VTEP at `ip`: 02:00 and the address.
pub fn vtep_mac(ip: Ipv4Addr) -> MacAddr {
    let o = ip.octets();
    MacAddr([0x02, 0x00, o[0], o[1], o[2], o[3]])
}

/// The underlay neighbor table, kept across snapshots.
#[derive(Debug)]
pub struct UnderlayNeighbors(pub Arc<NeighborTable>);

impl Default for UnderlayNeighbors {
    fn default() -> Self {
        UnderlayNeighbors(Arc::new(NeighborTable::new(DEFAULT_NEIGHBOR_LIMIT)))
    }
}

/// The VTEP of a validated `model`, given its ports as built, and each network's flood list
/// of remote VTEPs (filled in `networks`).
pub fn build(
    model: &Model,
    ports: &[Option<PortEntry>],
    networks: &mut [NetworkEntry],
    neighbors: &UnderlayNeighbors,
) -> Option<VtepEntry> {
    for (n, entry) in model.networks.iter().zip(networks.iter_mut()) {
        entry.vni = n.vni;
    }
    let v = model.vtep.as_ref()?;
    let u = underlay(v).ok()?;
    let port = ports.iter().flatten().find(|p| *p.name == *v.port)?;
    let mut vnis = HashMap::new();
    for (i, n) in networks.iter_mut().enumerate() {
        let Some(vni) = n.vni else { continue };
        vnis.insert(vni, i as NetIdx);
        n.remotes = v
            .remotes
            .iter()
            .filter(|r| r.vni == vni)
            .filter_map(|r| remote_ip(&r.ip).ok())
            .collect();
    }
    Some(VtepEntry {
        port: port.id,
        underlay: u,
        mac: vtep_mac(u.ip),
        udp_port: v.udp_port(),
        learning: v.learning(),
        inner_max: usize::from(port.mtu).saturating_sub(OVERHEAD),
        vnis,
        neighbors: neighbors.0.clone(),
    })
}
