//! The L2 learning bridge: networks as bridge domains, access and trunk ports, a learning FDB
//! per network.

pub mod api;
pub mod flows;
pub mod stage;
pub mod table;
#[cfg(test)]
mod tests;

/// The bridge, as the config manager sees it: each network's FDB (shared, see `Built`) and its
/// aging, aged by housekeeping; the queue of bridged flows' counts kept across snapshots.
pub struct Bridge;

impl crate::feature::Feature for Bridge {
    type State = std::sync::Arc<flows::Handoff>;
    type Tables = table::BridgeTables;

    fn build(
        handoff: &Self::State,
        model: &crate::model::Model,
        built: &crate::feature::Built<'_>,
    ) -> Self::Tables {
        table::build(model, built.fdbs, handoff)
    }

    fn housekeep(tables: &Self::Tables, now: u32) {
        for net in &tables.nets {
            net.fdb.age(now, net.aging_secs);
        }
    }
}

crate::drop_reasons! {
    /// Why the bridge drops a frame.
    pub enum BridgeDrop {
        /// Larger than the ingress port's MTU allows.
        /// Check: the ingress port's MTU against the sender's.
        Oversize => "oversize",
        /// The network's MAC limit is reached and the source MAC is new.
        /// Check: the network's --mac-limit, or a host flooding source MACs.
        MacLimit => "mac_limit",
        /// The destination was learned on the port the frame came in on.
        /// Check: a loop, or a host answering for another behind the same port.
        Hairpin => "hairpin",
    }
}
