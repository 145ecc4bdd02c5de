//! Transactions over the model: its validation, snapshots for the datapath, persistence and the
//! manager that applies changes all-or-nothing.

pub mod build;
#[cfg(test)]
pub mod harness;
pub mod manager;
pub mod persist;
pub mod validate;
