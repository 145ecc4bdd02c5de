//! What the stages learn about each packet of a burst, kept beside the burst (not in the buffer).

use std::net::Ipv4Addr;

use super::drop::DropReason;
use super::snapshot::NetIdx;
use crate::packet::MacAddr;

/// Packets per RX burst.
pub const BURST: usize = 32;

/// Where a packet goes after the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    #[default]
    Pending,
    Unicast(u16),
    /// To a remote VTEP, through the tunnel.
    Remote(Ipv4Addr),
    /// To every port of the network but the one it came in on.
    Flood,
    /// To every port of the network, the ingress port included (the router's own frames, such
    /// as an ARP request into another network, which a trunk may carry too).
    FloodAll,
    /// Handled by the switch itself (an ARP reply to the gateway): freed, not a drop.
    Consumed,
    Drop(DropReason),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Meta {
    pub dst: MacAddr,
    pub src: MacAddr,
    /// The 802.1Q VLAN id the frame arrived with (None = untagged or priority-tagged).
    pub vlan: Option<u16>,
    /// The frame carries an 802.1Q header (a priority tag included).
    pub tagged: bool,
    /// The ethertype after any VLAN tag.
    pub ethertype: u16,
    /// The network's gateway decides what happens to the frame (it is addressed to the gateway
    /// MAC, or is ARP or neighbor discovery the gateway answers).
    pub to_router: bool,
    pub net: NetIdx,
    /// The remote VTEP a decapsulated frame came from (None: from a local port).
    pub remote: Option<Ipv4Addr>,
    pub verdict: Verdict,
    /// The packet is traced: the stages note their decisions about it.
    pub traced: bool,
}
