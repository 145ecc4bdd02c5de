//! The distributed router: every network with a subnet has an anycast gateway (the same IP and
//! MAC on every port of every node) that answers ARP and neighbor discovery, routes IPv4 and
//! IPv6 between the networks of its VRF by longest-prefix match (static routes with ECMP too),
//! and sends ICMP errors.
//!
//! - `prefix`, `lpm`: prefixes and the per-VRF longest-prefix-match tables;
//! - `neighbor`: the learned IP → MAC table of each VRF;
//! - `table`: what a snapshot holds of the router, `build` makes it from the model;
//! - `stage` (dispatch), `arp` and `nd` (neighbors), `ra` (SLAAC), `forward4` and `forward6`,
//!   `next_hop`,
//!   `ecmp`, `icmp_error`: the datapath;
//! - `api`: the control handlers (routes, neighbors).

pub mod api;
pub mod arp;
pub mod build;
pub mod ecmp;
pub mod forward4;
pub mod forward6;
pub mod icmp_error;
pub mod lpm;
pub mod nd;
pub mod next_hop;
pub mod ra;
pub mod stage;
pub mod table;

crate::drop_reasons! {
    /// Why the router drops a packet to the gateway.
    pub enum RouterDrop {
        /// Malformed IPv6 neighbor discovery (hop limit not 255, checksum, options).
        BadNd => "bad_nd",
        /// To the gateway MAC but not something it routes (not IP, broadcast/multicast IP).
        NotRoutable => "not_routable",
        /// To a gateway address and not a ping (the gateway runs no services).
        ForGateway => "for_gateway",
        /// No route in the network's VRF (ICMP net unreachable sent).
        NoRoute => "no_route",
        /// TTL/hop limit ran out (ICMP time exceeded sent).
        TtlExceeded => "ttl_exceeded",
        /// Next hop not resolved yet (an ARP request for it went out instead).
        NeighborMiss => "neighbor_miss",
        /// Over the next hop's MTU with don't-fragment set (ICMP fragmentation needed sent).
        FragNeeded => "frag_needed",
    }
}
