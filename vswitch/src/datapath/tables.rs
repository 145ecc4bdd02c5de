//! The features' part of a snapshot: each feature's tables, side by side. The config manager
//! builds them (each feature builds its own); the graph hands each stage its own.

use crate::bridge::table::BridgeTables;
use crate::dhcp::server::DhcpTables;
use crate::firewall::stage::Firewall;
use crate::router::table::RouterTables;
use crate::vxlan::table::VxlanTables;

#[derive(Debug, Default)]
pub struct Tables {
    pub bridge: BridgeTables,
    pub router: RouterTables,
    pub dhcp: DhcpTables,
    pub firewall: Firewall,
    pub vxlan: VxlanTables,
}

/// A snapshot of the whole switch.
pub type Snapshot = crate::pipeline::snapshot::Snapshot<Tables>;
/// Where the current snapshot of the switch is published.
pub type SnapshotCell = crate::pipeline::snapshot::SnapshotCell<Tables>;
