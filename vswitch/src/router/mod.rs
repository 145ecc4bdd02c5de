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
#[cfg(test)]
mod tests;
pub mod validate;

/// The router, as the config manager sees it: its model part (routes, neighbors, VRF
/// subnets), the neighbor tables it learns (per VRF, kept across snapshots), aged by
/// housekeeping.
pub struct Router;

impl crate::feature::Feature for Router {
    type State = crate::forwarding::neighbor::NeighborTables;
    type Tables = table::RouterTables;

    fn validate(model: &crate::model::Model) -> Result<(), crate::model::error::ConfigError> {
        validate::validate(model)
    }

    fn sync(state: &mut Self::State, model: &crate::model::Model) {
        state.sync(&crate::model::vrf_names(model));
    }

    fn build(
        state: &Self::State,
        model: &crate::model::Model,
        built: &crate::feature::Built<'_>,
    ) -> Self::Tables {
        let (vrfs, gateways) = build::build(model, state);
        table::RouterTables {
            vrfs,
            gateways,
            fdbs: built.fdbs.to_vec(),
        }
    }

    fn housekeep(tables: &Self::Tables, now: u32) {
        for vrf in &tables.vrfs {
            vrf.neighbors
                .age(now, crate::forwarding::neighbor::NEIGHBOR_AGING_SECS);
        }
    }
}

crate::drop_reasons! {
    /// Why the router drops a packet to the gateway.
    pub enum RouterDrop {
        /// Malformed IPv6 neighbor discovery (hop limit not 255, checksum, options).
        /// Check: the sender's IPv6 stack.
        BadNd => "bad_nd",
        /// To the gateway MAC but not something it routes (not IP, broadcast/multicast IP).
        /// Check: the host's route (a broadcast or non-IP frame to the gateway MAC).
        NotRoutable => "not_routable",
        /// To a gateway address and not a ping (the gateway runs no services).
        /// Check: what the host expects of the gateway address (only ping, ARP/ND, DHCP answer).
        ForGateway => "for_gateway",
        /// No route in the network's VRF (ICMP net unreachable sent).
        /// Check: `vsctl route show --vrf V`; add a route or a subnet.
        NoRoute => "no_route",
        /// TTL/hop limit ran out (ICMP time exceeded sent).
        /// Check: a routing loop (traceroute ends here on purpose).
        TtlExceeded => "ttl_exceeded",
        /// Next hop not resolved yet (an ARP request for it went out instead).
        /// Check: beyond the first packets, the next hop answers ARP/ND (`vsctl arp show`).
        NeighborMiss => "neighbor_miss",
        /// Over the next hop's MTU with don't-fragment set (ICMP fragmentation needed sent).
        /// Check: the path MTU; the sender should lower its packets (PMTU discovery).
        FragNeeded => "frag_needed",
    }
}
