//! What several features share to forward a packet: where a MAC is (the FDB the bridge learns
//! and the router and VTEP read), the neighbor tables of the gateway and the VTEP, the ARP and
//! neighbor discovery frames they (and NAT) write, and the switch's own gateway addresses. The one module features may import
//! besides the engine, `packet`, `sys` and `model`.

pub mod arp;
pub mod fdb;
pub mod nd;
pub mod neighbor;

use std::net::Ipv6Addr;

use crate::packet::MacAddr;

pub use fdb::Dest;

/// The anycast gateway MAC: the same on every network and every node, so that an endpoint that
/// moves keeps a valid gateway ARP entry (locally administered).
pub const GATEWAY_MAC: MacAddr = MacAddr([0x02, 0x76, 0x73, 0x00, 0x00, 0x01]);

/// The gateway's IPv6 link-local address (EUI-64 of the gateway MAC): the source of its router
/// advertisements and the default router of hosts configured by SLAAC.
pub const GATEWAY_LINK_LOCAL: Ipv6Addr =
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0x0076, 0x73ff, 0xfe00, 0x0001);

crate::drop_reasons! {
    /// Why ARP handling (the gateway's and the VTEP's) drops a frame.
    pub enum NeighborDrop {
        /// Malformed ARP in a routed network.
        /// Check: the sender's ARP (not Ethernet/IPv4, cut short, multicast sender).
        BadArp => "bad_arp",
    }
}
