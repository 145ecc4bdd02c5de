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

crate::drop_reasons! {
    /// Why the DHCP server drops a request.
    pub enum DhcpDrop {
        /// Malformed DHCP to the network's server.
        BadDhcp => "bad_dhcp",
        /// The DHCP lease table was busy (the client retries).
        DhcpBusy => "dhcp_busy",
        /// No free address left in the DHCP range.
        DhcpPoolFull => "dhcp_pool_full",
    }
}
