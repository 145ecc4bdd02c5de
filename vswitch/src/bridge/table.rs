//! The bridge's part of a snapshot: each network's FDB (kept across snapshots) and how long
//! its learned MACs live; whether bridged flows are counted for the flow export, and the queue
//! their counts go by.

use std::sync::Arc;

use super::flows::Handoff;
use crate::forwarding::fdb::{FdbTable, DEFAULT_AGING_SECS};
use crate::model::Model;
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
    /// An IPFIX export is set: the workers count bridged flows.
    pub accounting: bool,
    pub handoff: Arc<Handoff>,
}

impl BridgeTables {
    #[inline]
    pub fn net(&self, net: NetIdx) -> Option<&BridgeNet> {
        self.nets.get(usize::from(net))
    }
}

/// The bridge tables of `model`, over each network's FDB (in model order).
pub fn build(model: &Model, fdbs: &[Arc<FdbTable>], handoff: &Arc<Handoff>) -> BridgeTables {
    BridgeTables {
        accounting: model.ipfix.is_some(),
        handoff: handoff.clone(),
        nets: model
            .networks
            .iter()
            .zip(fdbs)
            .map(|(n, fdb)| BridgeNet {
                fdb: fdb.clone(),
                aging_secs: n.fdb_aging_secs.unwrap_or(DEFAULT_AGING_SECS),
            })
            .collect(),
    }
}
