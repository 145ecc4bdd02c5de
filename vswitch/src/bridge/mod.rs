//! The L2 learning bridge: networks as bridge domains, access and trunk ports, a learning FDB
//! per network.

pub mod api;
pub mod stage;
