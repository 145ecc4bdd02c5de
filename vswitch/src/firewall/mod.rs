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
//! - `stage`: the datapath decision; `reject`: the TCP reset of a `reject` rule;
//! - `api`: the control handlers (policies, connections).

pub mod api;
pub mod classifier;
pub mod conntrack;
pub mod flow;
pub mod flow_table;
pub mod hash;
pub mod log;
pub mod reject;
pub mod rule;
pub mod security;
pub mod shape_table;
pub mod stage;
pub mod state;
pub mod tcp;
pub mod tuple_space;
