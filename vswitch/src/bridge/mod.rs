//! The L2 learning bridge: networks as bridge domains, access and trunk ports, a learning FDB
//! per network.

pub mod api;
pub mod stage;
pub mod table;

crate::drop_reasons! {
    /// Why the bridge drops a frame.
    pub enum BridgeDrop {
        /// Larger than the ingress port's MTU allows.
        Oversize => "oversize",
        /// The network's MAC limit is reached and the source MAC is new.
        MacLimit => "mac_limit",
        /// The destination was learned on the port the frame came in on.
        Hairpin => "hairpin",
    }
}
