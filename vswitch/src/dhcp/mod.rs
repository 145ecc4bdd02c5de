//! The built-in DHCPv4 server of a routed network: addresses from a range of its subnet or
//! fixed per MAC, the gateway as router, DNS servers, leases that survive restarts.
//!
//! - `wire`: the DHCP message (RFC 2131/2132) view and the reply builder;
//! - `server`: a network's settings and its lease table (persisted by housekeeping);
//! - `stage`: the datapath side, answering in the request's own buffer;
//! - `api`: listing the leases.

pub mod api;
pub mod server;
pub mod stage;
pub mod wire;
