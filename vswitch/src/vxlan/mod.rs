//! The tunnel gateway: a VXLAN tunnel endpoint (RFC 7348) that joins the switch's networks to
//! an overlay of other VTEPs over an IPv4 underlay.
//!
//! - `validate`: the VTEP's part of a model check;
//! - `table`: what a snapshot holds of the VTEP, built from the model;
//! - `underlay`: the VTEP's own ARP on its underlay port, and its next hops;
//! - `decap`: frames arriving on the underlay port (ARP, VXLAN to the VTEP);
//! - `encap`: frames leaving for a remote VTEP, and head-end replication;
//! - `api`: the control handlers (`vsctl vtep`).

pub mod api;
pub mod decap;
pub mod encap;
pub mod table;
pub mod underlay;
pub mod validate;
