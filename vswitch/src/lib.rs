//! vswitch: a DPDK poll-mode virtual switch. The library holds the datapath, the model and the
//! control plane; `vswitchd` (main.rs) wires them into a daemon.

pub mod bridge;
pub mod config;
pub mod control;
pub mod daemon;
pub mod datapath;
pub mod dhcp;
pub mod dpdk;
pub mod feature;
pub mod firewall;
pub mod forwarding;
pub mod model;
pub mod nat;
pub mod packet;
pub mod pipeline;
pub mod router;
pub mod sys;
pub mod telemetry;
pub mod vtep_agent;
pub mod vxlan;
