//! The distributed stateful firewall: policies between networks (and address ranges),
//! enforced where the router moves a packet from one network to another. Between networks
//! nothing passes unless a policy allows it; replies to an allowed connection pass by
//! connection tracking.
//!
//! - `rule`: a model policy as the datapath matches it (and its validation);
//! - `classifier`: the compiled rules of a snapshot, first match decides, found by
//!   `tuple_space` search over one `shape_table` per rule shape;
//! - `flow`, `tcp`, `conntrack`, `flow_table`: what a packet says, TCP state and window
//!   tracking, and the sharded connection table;
//! - `hash`: the hash of both tables;
//! - `log`: the latest decisions of the rules that log;
//! - `security`: per-port security groups (allow lists on top of the policies);
//! - `stage`: the datapath decision; `reject`: the TCP reset of a `reject` rule; `burst`:
//!   what of a burst the firewall reads and decides, as the graph calls it;
//! - `api`: the control handlers (policies, connections).

pub mod api;
pub mod burst;
pub mod classifier;
pub mod conntrack;
pub mod error;
pub mod flow;
pub mod flow_table;
pub mod hash;
pub mod log;
pub mod open_pairs;
pub mod reject;
pub mod rule;
pub mod security;
pub mod shape_table;
pub mod stage;
pub mod state;
pub mod tcp;
#[cfg(test)]
mod tests;
pub mod tuple_space;

/// The firewall, as the config manager sees it: its model part (policies, address and
/// security groups), what it keeps across snapshots (connections, rule counters), and the
/// connection expiry of housekeeping.
pub struct FirewallFeature;

impl crate::feature::Feature for FirewallFeature {
    type State = state::FirewallState;
    type Tables = stage::Firewall;

    fn validate(model: &crate::model::Model) -> Result<(), crate::model::error::ConfigError> {
        rule::validate(model)?;
        Ok(security::validate(model)?)
    }

    fn sync(state: &mut Self::State, model: &crate::model::Model) {
        state.sync(model);
    }

    fn build(
        state: &Self::State,
        model: &crate::model::Model,
        built: &crate::feature::Built<'_>,
    ) -> Self::Tables {
        state.build(model, built.topo)
    }

    fn housekeep(tables: &Self::Tables, now: u32) {
        tables.conntrack.expire(now);
        tables.conntrack.grow_ahead();
    }
}

crate::drop_reasons! {
    /// Why the firewall drops a packet.
    pub enum FirewallDrop {
        /// Between networks, and no policy allows it (or a deny rule matched).
        /// Check: `vsctl policy list`; add a policy between the two networks.
        PolicyDeny => "policy_deny",
        /// A reject rule matched (a TCP reset or ICMP prohibited went back).
        /// Check: `vsctl policy list` for the reject rule.
        PolicyReject => "policy_reject",
        /// Its connection was cut by a policy change that no longer allows it.
        /// Check: the policy change that ended it.
        PolicyCut => "policy_cut",
        /// Not part of a tracked connection where one is needed (TCP that does not open with a
        /// SYN, a SYN inside a connection).
        /// Check: asymmetric routing, or a connection older than the switch's table.
        CtInvalid => "ct_invalid",
        /// TCP flags no stack sends together (SYN+FIN, null, FIN without ACK, ...).
        /// Check: the sender (a scanner, or a broken stack).
        TcpFlags => "tcp_flags",
        /// TCP sequence or acknowledgement outside the connection's window.
        /// Check: asymmetric routing or a middlebox rewriting sequence numbers.
        TcpWindow => "tcp_window",
        /// The connection table is at its limit; the new connection was refused.
        /// Check: `vsctl conntrack stats`; raise the limit or find the flood of connections.
        CtFull => "ct_full",
        /// A port's security groups have no rule that allows it.
        /// Check: the port's security groups and their rules.
        SecurityGroup => "security_group",
        /// The network that opens the connection is at its connection limit.
        /// Check: the network's --conntrack-limit and who opens so many connections.
        CtNetworkFull => "ct_network_full",
    }
}
