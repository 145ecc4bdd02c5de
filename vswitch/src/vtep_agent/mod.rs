//! The hardware_vtep agent: joins this switch to a fleet programmed through an OVSDB server
//! serving the `hardware_vtep` schema (vtep(5)), the way a top-of-rack VTEP is driven by
//! `ovn-controller-vtep` or `vtep-ctl`.
//!
//! It registers the node as a `Physical_Switch` with its tunnel IP and its ports, mirrors the
//! database's logical switches, VLAN bindings, remote MACs and flood lists into the model (one
//! transaction per change, owning only what it created), and writes the MACs the switch learns
//! back as `Ucast_Macs_Local`. It runs as a task of vswitchd: it edits the model through the
//! config manager and reads the FDB directly, and keeps forwarding on the last mirrored state
//! while the database is away.

pub mod api;
mod datum;
mod jsonrpc;
mod mirror;
mod replica;
mod session;
mod status;
mod supervisor;
mod target;
#[cfg(test)]
mod tests;
mod tls;
mod writes;

pub use status::{AgentView, Status};
pub use supervisor::Supervisor;
pub use target::Target;

/// The database the schema names.
const DATABASE: &str = "hardware_vtep";
