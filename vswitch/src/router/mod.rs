//! The distributed router: every network with a subnet has an anycast gateway (the same IP and
//! MAC on every port of every node) that answers ARP, routes between the networks of its VRF
//! by longest-prefix match, and sends ICMP errors.
//!
//! - `prefix`, `lpm`: prefixes and the per-VRF longest-prefix-match tables;
//! - `neighbor`: the learned IP → MAC table of each VRF;
//! - `table`: what a snapshot holds of the router, `build` makes it from the model;
//! - `stage` (dispatch), `arp`, `forward4`, `icmp_error`: the datapath;
//! - `api`: the control handlers (routes, neighbors).

pub mod api;
pub mod arp;
pub mod build;
pub mod ecmp;
pub mod forward4;
pub mod icmp_error;
pub mod lpm;
pub mod neighbor;
pub mod next_hop;
pub mod prefix;
pub mod stage;
pub mod table;
