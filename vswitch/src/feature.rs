//! The contract between the config manager and a feature: check the feature's part of a model,
//! keep its learned state in step with the model, build its part of a snapshot, and look after
//! its tables between changes. Each feature implements it once (in its `mod.rs`); the graph
//! registers the features in `datapath/tables.rs`, and the manager reaches them only through it.

use std::sync::Arc;

use crate::forwarding::fdb::FdbTable;
use crate::model::error::ConfigError;
use crate::model::Model;
use crate::pipeline::snapshot::Topology;

/// What every feature's build may read besides the model: the running ports and networks, and
/// each network's FDB (learned by the bridge, read by the router and the VTEP).
pub struct Built<'a> {
    pub topo: &'a Topology,
    /// Indexed like the topology's networks.
    pub fdbs: &'a [Arc<FdbTable>],
}

pub trait Feature {
    /// What the feature keeps across snapshots (learned tables, counters).
    type State: Default + Send + 'static;
    /// Its part of a snapshot.
    type Tables: Default + Send + Sync + 'static;

    /// Checks the feature's part of `model`, whose networks and ports are already valid; the
    /// error names the object and the fix.
    fn validate(_model: &Model) -> Result<(), ConfigError> {
        Ok(())
    }

    /// Keeps `state` to exactly the model's objects; called before every build.
    fn sync(_state: &mut Self::State, _model: &Model) {}

    /// The feature's tables for `model` (validated, `state` synced).
    fn build(state: &Self::State, model: &Model, built: &Built<'_>) -> Self::Tables;

    /// What the feature's tables tell the topology (the overlay's MTU, for one).
    fn refine(_tables: &Self::Tables, _topo: &mut Topology) {}

    /// Periodic work on the published tables (aging, expiry), from the housekeeping thread.
    fn housekeep(_tables: &Self::Tables, _now: u32) {}

    /// Whether what the feature learned since `tables` were built changes what they should
    /// hold (a backend failed its health checks): the manager then builds and publishes a new
    /// snapshot from the same model. Asked after every `housekeep`.
    fn stale(_tables: &Self::Tables) -> bool {
        false
    }

    /// The file in the state dir that keeps the feature's learned state across restarts.
    const STATE_FILE: Option<&'static str> = None;

    /// Takes back the state saved in `STATE_FILE`.
    fn restore(_state: &mut Self::State, _saved: &str) -> Result<(), String> {
        Ok(())
    }

    /// The state to save in `STATE_FILE`, when it changed since the last call.
    fn changes(_state: &mut Self::State) -> Option<String> {
        None
    }
}
