//! The built-in DHCPv4 server of a routed network: addresses from a range of its subnet or
//! fixed per MAC, the gateway as router, DNS servers, leases that survive restarts.
//!
//! - `wire`: the DHCP message (RFC 2131/2132) view and the reply builder;
//! - `server`: a network's settings and its lease table (persisted by housekeeping);
//! - `stage`: the datapath side, answering in the request's own buffer;
//! - `api`: listing the leases.

pub mod api;
pub mod server;
pub mod stage;
#[cfg(test)]
mod tests;
pub mod validate;
pub mod wire;

/// The DHCP servers, as the config manager sees them: their model part, the lease tables
/// (kept across snapshots and restarts, in `LEASE_FILE`).
pub struct Dhcp;

impl crate::feature::Feature for Dhcp {
    type State = server::LeaseTables;
    type Tables = server::DhcpTables;
    const STATE_FILE: Option<&'static str> = Some(server::LEASE_FILE);

    fn validate(model: &crate::model::Model) -> Result<(), crate::model::error::ConfigError> {
        validate::validate(model)
    }

    fn sync(state: &mut Self::State, model: &crate::model::Model) {
        state.sync(model);
    }

    fn build(
        state: &Self::State,
        model: &crate::model::Model,
        _: &crate::feature::Built<'_>,
    ) -> Self::Tables {
        server::DhcpTables {
            servers: model
                .networks
                .iter()
                .map(|n| server::settings(n, state.get(&n.name)?.clone()).map(std::sync::Arc::new))
                .collect(),
        }
    }

    fn restore(state: &mut Self::State, saved: &str) -> Result<(), String> {
        state.load(saved)
    }

    fn changes(state: &mut Self::State) -> Option<String> {
        state.take_changes()
    }
}

crate::drop_reasons! {
    /// Why the DHCP server drops a request.
    pub enum DhcpDrop {
        /// Malformed DHCP to the network's server.
        /// Check: the client's DHCP implementation.
        BadDhcp => "bad_dhcp",
        /// The DHCP lease table was busy (the client retries).
        /// Check: nothing, unless it keeps growing.
        DhcpBusy => "dhcp_busy",
        /// No free address left in the DHCP range.
        /// Check: the network's --dhcp range and its leases.
        DhcpPoolFull => "dhcp_pool_full",
    }
}
