//! What the stages learn about each packet of a burst, kept beside the burst (not in the buffer).

use crate::config::snapshot::NetIdx;
use crate::packet::MacAddr;
use crate::pipeline::counters::DropReason;

/// Packets per RX burst.
pub const BURST: usize = 32;

/// Where a packet goes after the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    #[default]
    Pending,
    Unicast(u16),
    Flood,
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
    pub net: NetIdx,
    pub verdict: Verdict,
}
