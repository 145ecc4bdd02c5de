//! What the switch tells the outside: IPFIX flow records of the connection table and of the
//! bridged flows (`ipfix.rs` encodes them, `export.rs` sends them from the control plane,
//! `bridged.rs` sums the bridged ones), and the packets an operator describes for a trace
//! (`packet_spec.rs`).

pub mod bridged;
pub mod export;
pub mod ipfix;
pub mod packet_spec;
pub mod pcapng;
#[cfg(test)]
mod trace_tests;

pub use export::Exporter;
