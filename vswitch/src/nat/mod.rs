//! NAT: at the edge of the external networks, source NAT of connections leaving internal
//! networks and floating IPs (1:1 both ways); on every network, service VIPs whose new
//! connections are balanced over backends (DNAT).
//!
//! - `pool`: a SNAT rule's addresses and ports;
//! - `bindings`: the translated connections, found from either side, and the port allocator;
//! - `service`, `maglev`: the services' VIPs and backends, and the consistent hash that picks
//!   a new connection's backend;
//! - `sessions`: the connections to VIPs, found from either side;
//! - `rewrite6`, `ip`: IPv6 packets to and from VIPs, and what both families share;
//! - `health`: the backends' TCP and HTTP probes;
//! - `table`: NAT's part of a snapshot;
//! - `rewrite`: addresses, ports and checksums rewritten in place;
//! - `stage`: the datapath side (inbound before routing, outbound after the firewall, ARP);
//! - `validate`, `api`: the model's side.

pub mod api;
pub mod bindings;
pub mod flows;
pub mod health;
pub mod ip;
pub mod maglev;
pub mod pool;
pub mod rewrite;
pub mod rewrite6;
pub mod service;
#[cfg(test)]
mod service_tests;
pub mod sessions;
pub mod stage;
pub mod table;
#[cfg(test)]
mod tests;
pub mod validate;

/// NAT as the config manager sees it: the bindings live on across snapshots.
pub struct Nat;

impl crate::feature::Feature for Nat {
    type State = table::NatState;
    type Tables = table::NatTables;

    fn validate(model: &crate::model::Model) -> Result<(), crate::model::error::ConfigError> {
        validate::validate(model)
    }

    fn build(
        state: &Self::State,
        model: &crate::model::Model,
        _: &crate::feature::Built<'_>,
    ) -> Self::Tables {
        table::NatTables::build(state, model)
    }

    fn housekeep(tables: &Self::Tables, now: u32) {
        tables.bindings.expire(now, |ip| tables.in_a_pool(ip));
        let services = &tables.services;
        tables
            .bindings6
            .expire(now, |ip| services.leaves_hairpin_from(ip.into()));
        tables.sessions.expire(now, |vrf, proto, vip, backend| {
            services.has(vrf, proto, any(vip), any(backend))
        });
        tables.sessions6.expire(now, |vrf, proto, vip, backend| {
            services.has(vrf, proto, any(vip), any(backend))
        });
        tables.health.tick(services, now);
    }

    fn stale(tables: &Self::Tables) -> bool {
        tables.health.take_stale()
    }
}

/// An endpoint of either family as an `IpAddr` one.
fn any<A: Into<std::net::IpAddr>>(a: (A, u16)) -> (std::net::IpAddr, u16) {
    (a.0.into(), a.1)
}

crate::drop_reasons! {
    /// Why NAT drops a packet.
    pub enum NatDrop {
        /// To a SNAT address, and no translated connection it belongs to.
        /// Check: the connection's age (bindings idle out) or traffic not started inside.
        NoBinding => "nat_no_binding",
        /// A new connection found every address and port of its SNAT rule in use.
        /// Check: `vsctl snat list`; widen --to or --port-range.
        PortsExhausted => "nat_ports_exhausted",
        /// Nothing to translate it by (a fragment past the first, a protocol without ports,
        /// an ICMP error leaving, a header cut short).
        /// Check: fragments or non-TCP/UDP/ICMP traffic through NAT.
        Untranslatable => "nat_untranslatable",
        /// A new connection to a service VIP, and no backend takes new connections (all
        /// drained or failing their health checks): refused with a reset or an ICMP error.
        /// Check: `vsctl service show NAME`: every backend drained or down.
        NoBackend => "nat_no_backend",
    }
}
