//! What a snapshot holds of the VTEP: its underlay address and port, the VNI → network map,
//! and the underlay neighbors it learned (kept across snapshots).

use std::net::Ipv4Addr;
use std::sync::Arc;

use hashbrown::HashMap;

use super::validate::{remote_ip, underlay, Underlay};
use crate::forwarding::neighbor::{NeighborTable, DEFAULT_NEIGHBOR_LIMIT};
use crate::model::Model;
use crate::packet::{ipv4, udp, vxlan, MacAddr};
use crate::pipeline::snapshot::{NetIdx, Topology};

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

/// The VXLAN part of a snapshot: the VTEP, and each network's VNI and flood list, indexed
/// like the topology's networks.
#[derive(Debug, Default)]
pub struct VxlanTables {
    pub vtep: Option<VtepEntry>,
    pub nets: Vec<VxlanNet>,
}

#[derive(Debug, Clone, Default)]
pub struct VxlanNet {
    /// Its VXLAN network identifier.
    pub vni: Option<u32>,
    /// Remote VTEPs that get its broadcast, unknown unicast and multicast (head-end
    /// replication).
    pub remotes: Vec<Ipv4Addr>,
}

impl VxlanTables {
    /// The VNI of network `net`.
    #[inline]
    pub fn vni(&self, net: NetIdx) -> Option<u32> {
        self.nets.get(usize::from(net))?.vni
    }

    /// The remote VTEPs a frame flooded in network `net` goes to (none without a VTEP).
    #[inline]
    pub fn flood_list(&self, net: NetIdx) -> &[Ipv4Addr] {
        match (&self.vtep, self.nets.get(usize::from(net))) {
            (Some(_), Some(n)) => &n.remotes,
            _ => &[],
        }
    }
}

/// The VXLAN tables of a validated `model`, given its ports and networks as built.
pub fn build(model: &Model, topo: &Topology, neighbors: &UnderlayNeighbors) -> VxlanTables {
    let mut nets: Vec<VxlanNet> = model
        .networks
        .iter()
        .map(|n| VxlanNet {
            vni: n.vni,
            remotes: Vec::new(),
        })
        .collect();
    let vtep = vtep(model, topo, &mut nets, neighbors);
    VxlanTables { vtep, nets }
}

/// The VTEP of `model`, and each network's flood list of remote VTEPs (filled in `nets`).
fn vtep(
    model: &Model,
    topo: &Topology,
    nets: &mut [VxlanNet],
    neighbors: &UnderlayNeighbors,
) -> Option<VtepEntry> {
    let v = model.vtep.as_ref()?;
    let u = underlay(v).ok()?;
    let port = topo.port_named(&v.port)?;
    let mut vnis = HashMap::new();
    for (i, n) in nets.iter_mut().enumerate() {
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
