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
