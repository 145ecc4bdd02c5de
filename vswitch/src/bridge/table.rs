//! The bridge's part of a snapshot: each network's FDB (kept across snapshots) and how long
//! its learned MACs live.

use std::sync::Arc;

use crate::forwarding::fdb::FdbTable;
use crate::pipeline::snapshot::NetIdx;

#[derive(Debug, Clone)]
pub struct BridgeNet {
    pub fdb: Arc<FdbTable>,
    pub aging_secs: u32,
}

/// Indexed like the topology's networks.
#[derive(Debug, Default)]
pub struct BridgeTables {
    pub nets: Vec<BridgeNet>,
}

impl BridgeTables {
    #[inline]
    pub fn net(&self, net: NetIdx) -> Option<&BridgeNet> {
        self.nets.get(usize::from(net))
    }
}
