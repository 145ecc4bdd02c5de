//! NAT at the edge of the external networks: source NAT of connections leaving internal
//! networks, and floating IPs (1:1 both ways).
//!
//! - `pool`: a SNAT rule's addresses and ports;
//! - `bindings`: the translated connections, found from either side, and the port allocator;
//! - `table`: NAT's part of a snapshot;
//! - `rewrite`: addresses, ports and checksums rewritten in place;
//! - `stage`: the datapath side (inbound before routing, outbound after the firewall, ARP);
//! - `validate`, `api`: the model's side.

pub mod api;
pub mod bindings;
pub mod pool;
pub mod rewrite;
pub mod stage;
pub mod table;
#[cfg(test)]
mod tests;
pub mod validate;

use std::sync::Arc;

/// NAT as the config manager sees it: the bindings live on across snapshots.
pub struct Nat;

impl crate::feature::Feature for Nat {
    type State = Arc<bindings::Bindings>;
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
    }
}

crate::drop_reasons! {
    /// Why NAT drops a packet.
    pub enum NatDrop {
        /// To a SNAT address, and no translated connection it belongs to.
        NoBinding => "nat_no_binding",
        /// A new connection found every address and port of its SNAT rule in use.
        PortsExhausted => "nat_ports_exhausted",
        /// Nothing to translate it by (a fragment past the first, a protocol without ports,
        /// an ICMP error leaving).
        Untranslatable => "nat_untranslatable",
    }
}
