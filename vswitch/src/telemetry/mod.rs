//! What the switch tells the outside on its own: IPFIX flow records of the connection table
//! (`ipfix.rs` encodes them, `export.rs` sends them from the control plane).

pub mod export;
pub mod ipfix;

pub use export::Exporter;
