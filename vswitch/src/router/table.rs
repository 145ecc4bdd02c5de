//! The router's part of a snapshot: VRFs with their route tables and neighbor tables, and each
//! network's gateway.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::lpm::Lpm;
use super::neighbor::NeighborTable;
use super::prefix::Prefix;
use crate::config::snapshot::NetIdx;
use crate::packet::MacAddr;

/// Index of a VRF in `Snapshot::vrfs`.
pub type VrfIdx = u16;

/// The anycast gateway MAC: the same on every network and every node, so that an endpoint that
/// moves keeps a valid gateway ARP entry (locally administered).
pub const GATEWAY_MAC: MacAddr = MacAddr([0x02, 0x76, 0x73, 0x00, 0x00, 0x01]);

/// What a route leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A subnet of this network: the destination itself is the next hop.
    Connected(NetIdx),
}

#[derive(Debug)]
pub struct Vrf {
    pub name: Arc<str>,
    pub v4: Lpm<Route>,
    pub v6: Lpm<Route>,
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
}

impl Gateway {
    #[inline]
    pub fn on_link(&self, ip: std::net::IpAddr) -> bool {
        self.subnets.iter().any(|p| p.contains(ip))
    }
}
