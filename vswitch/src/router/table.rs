//! The router's part of a snapshot: VRFs with their route tables and neighbor tables, and each
//! network's gateway.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::lpm::{Lpm, Lpm4};
use crate::forwarding::fdb::FdbTable;
use crate::forwarding::neighbor::NeighborTable;
use crate::packet::prefix::Prefix;
use crate::pipeline::snapshot::NetIdx;

/// Index of a VRF in `Snapshot::vrfs`.
pub type VrfIdx = u16;

/// What a route leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// A subnet of this network: the destination itself is the next hop.
    Connected(NetIdx),
    /// A gateway address of the VRF: for the switch itself.
    Local,
    /// A static route: the next-hop group with this index in `Vrf::groups`.
    Via(u16),
}

/// One next hop of a static route, resolved at publish time to the network it is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NextHop {
    pub ip: IpAddr,
    pub net: NetIdx,
}

#[derive(Debug)]
pub struct Vrf {
    pub name: Arc<str>,
    pub v4: Lpm4<Route>,
    pub v6: Lpm<Route>,
    /// Next-hop groups of the static routes; a flow picks one hop by its 5-tuple hash.
    pub groups: Vec<Vec<NextHop>>,
    pub neighbors: Arc<NeighborTable>,
}

/// A network's distributed gateway.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub vrf: VrfIdx,
    pub v4: Option<Ipv4Addr>,
    pub v6: Option<Ipv6Addr>,
    /// The network's subnets: the sources whose neighbors the gateway learns here.
    pub subnets: Vec<Prefix>,
    /// The IPv6 /64 subnets router advertisements offer for SLAAC (networks with `--dhcp`).
    pub slaac: Vec<Prefix>,
}

impl Gateway {
    #[inline]
    pub fn on_link(&self, ip: std::net::IpAddr) -> bool {
        self.subnets.iter().any(|p| p.contains(ip))
    }
}

/// The router's part of a snapshot: the VRFs, each network's gateway, and each network's FDB
/// (where a next hop's MAC is; the bridge learns them), indexed like the topology's networks.
#[derive(Debug, Default)]
pub struct RouterTables {
    pub vrfs: Vec<Vrf>,
    pub gateways: Vec<Option<Gateway>>,
    pub fdbs: Vec<Arc<FdbTable>>,
}

impl RouterTables {
    /// The anycast gateway of network `net`, when it routes.
    #[inline]
    pub fn gateway(&self, net: NetIdx) -> Option<&Gateway> {
        self.gateways.get(usize::from(net))?.as_ref()
    }
}
