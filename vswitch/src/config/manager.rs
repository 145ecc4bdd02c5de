//! Applies changes to the model all-or-nothing: validate the whole new model, persist it, make
//! the runtime changes (ports created or destroyed), publish a snapshot, wait until no worker
//! uses the old one, then release what it referenced. Any failure restores the old model.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::build::{self, LearnedTables, PortDevice};
use super::persist::StateDir;
use super::validate::validate;
use crate::datapath::SnapshotCell;
use crate::forwarding::fdb::FdbTable;
use crate::forwarding::Dest;
use crate::model::error::{ConfigError, DeviceError, Result};
use crate::model::{Model, Port};
use crate::packet::MacAddr;
use crate::pipeline::clock;
use crate::pipeline::counters::{PortTotals, WorkerCounters};

const QUIESCE_TIMEOUT: Duration = Duration::from_secs(2);

/// Creates and destroys port devices: DPDK in the daemon, a fake in tests.
pub trait PortBackend: Send {
    /// Creates and starts `port`'s device; on error nothing is left behind.
    fn create(&mut self, port: &Port) -> std::result::Result<PortDevice, DeviceError>;
    /// Stops and removes a device no worker polls any more.
    fn destroy(&mut self, name: &str, dev: PortDevice);
    /// Gives `port`'s running device `dev` the port's MTU.
    fn set_mtu(&mut self, port: &Port, dev: PortDevice) -> std::result::Result<(), DeviceError>;
}

struct State {
    model: Model,
    generation: u64,
    devices: HashMap<String, PortDevice>,
    learned: LearnedTables,
    /// Counter values a port id had when its current port was created.
    baselines: HashMap<u16, PortTotals>,
    backend: Box<dyn PortBackend>,
    /// Static MACs programmed beside the model (see `programmed.rs`).
    programmed: programmed::Programmed,
}

pub struct ConfigManager {
    state: Mutex<State>,
    cell: Arc<SnapshotCell>,
    workers: Vec<Arc<WorkerCounters>>,
    store: Option<StateDir>,
}

impl ConfigManager {
    pub fn new(
        backend: Box<dyn PortBackend>,
        cell: Arc<SnapshotCell>,
        workers: Vec<Arc<WorkerCounters>>,
        store: Option<StateDir>,
    ) -> Self {
        ConfigManager {
            state: Mutex::new(State {
                model: Model::default(),
                generation: cell.generation(),
                devices: HashMap::new(),
                learned: LearnedTables::default(),
                baselines: HashMap::new(),
                backend,
                programmed: Default::default(),
            }),
            cell,
            workers,
            store,
        }
    }

    /// Restores the persisted model (daemon start). Ports that fail to come back are dropped from
    /// the model with an error logged, so one vanished device does not keep the switch down.
    pub fn restore(&self) -> std::result::Result<(), String> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let saved = store.load()?;
        self.state
            .lock()
            .learned
            .features
            .restore(|file| store.read(file).map_err(String::from))?;
        let mut model = saved.clone();
        loop {
            match self.replace(model.clone()) {
                Ok(_) => break,
                Err(e) => {
                    let failed = match &e {
                        ConfigError::Device(d) => model.ports.iter().position(|p| p.name == d.port),
                        _ => None,
                    };
                    let Some(i) = failed else {
                        return Err(format!("cannot restore the saved model: {e}"));
                    };
                    tracing::error!(
                        "restore: {e}; the port stays in the state file and is retried at the next start"
                    );
                    let name = model.ports[i].name.clone();
                    model
                        .delete_port(&name, false)
                        .map_err(|e| format!("cannot restore the saved model: {e}"))?;
                }
            }
        }
        if model != saved {
            // Keep what could not come back for the next start instead of forgetting it.
            store.save(&saved)?;
        }
        Ok(())
    }

    pub fn model(&self) -> (Model, u64) {
        let st = self.state.lock();
        (st.model.clone(), st.generation)
    }

    /// What `f` reads of the model, without copying it (under the lock transactions take).
    pub fn read<R>(&self, f: impl FnOnce(&Model) -> R) -> R {
        f(&self.state.lock().model)
    }

    pub fn devices(&self) -> HashMap<String, PortDevice> {
        self.state.lock().devices.clone()
    }

    pub fn worker_counters(&self) -> &[Arc<WorkerCounters>] {
        &self.workers
    }

    pub fn snapshot_cell(&self) -> &Arc<SnapshotCell> {
        &self.cell
    }

    /// The port's counters since it was created, summed over workers.
    pub fn port_totals(&self, id: u16) -> PortTotals {
        let t = self.totals(id);
        let st = self.state.lock();
        st.baselines.get(&id).map_or(t, |b| t.since(b))
    }

    /// FDB tables by network name.
    pub fn fdb_tables(&self) -> Vec<(String, Arc<FdbTable>)> {
        let st = self.state.lock();
        st.model
            .networks
            .iter()
            .filter_map(|n| {
                st.learned
                    .fdbs
                    .get(&n.name)
                    .map(|t| (n.name.clone(), t.clone()))
            })
            .collect()
    }

    /// Replaces the whole model (`vsctl apply -f`).
    pub fn replace(&self, model: Model) -> Result<u64> {
        self.apply(|m| {
            *m = model;
            Ok(())
        })
    }

    /// Edits a copy of the model and applies it as one transaction.
    pub fn apply(&self, edit: impl FnOnce(&mut Model) -> Result<()>) -> Result<u64> {
        let mut st = self.state.lock();
        let mut new = st.model.clone();
        edit(&mut new)?;
        validate(&new)?;
        if new == st.model {
            return Ok(st.generation);
        }
        if let Some(store) = &self.store {
            store
                .save(&new)
                .map_err(|e| ConfigError::Runtime(e.to_string()))?;
        }
        let result = self.transition(&mut st, &new);
        match result {
            Ok(()) => {
                st.model = new;
                Ok(st.generation)
            }
            Err(e) => {
                if let Some(store) = &self.store {
                    if let Err(pe) = store.save(&st.model) {
                        tracing::error!("rollback: {pe}");
                    }
                }
                Err(e)
            }
        }
    }

    fn totals(&self, id: u16) -> PortTotals {
        let mut t = PortTotals::default();
        for w in &self.workers {
            t.accumulate(w.port(id));
        }
        t
    }

    /// Publishes the snapshot for `model` with the devices in `st` and waits for the workers.
    fn publish(&self, st: &mut State, model: &Model) {
        st.learned.sync(model);
        programmed::keep_existing(st);
        st.generation += 1;
        let snap = build::build(
            model,
            &st.devices,
            &st.learned,
            self.workers.len(),
            st.generation,
        );
        self.cell.publish(snap);
        if !self
            .cell
            .wait_quiescent(&self.workers, st.generation, QUIESCE_TIMEOUT)
        {
            tracing::error!(
                "a worker did not pass generation {} within {:?}",
                st.generation,
                QUIESCE_TIMEOUT
            );
        }
    }

    /// Moves the runtime from `st.model` to `new`; on error the runtime is back where it was.
    fn transition(&self, st: &mut State, new: &Model) -> Result<()> {
        let old = st.model.clone();
        let replaced: Vec<&Port> = new
            .ports
            .iter()
            .filter(|p| old.port(&p.name).is_some_and(|o| o.device_differs(p)))
            .collect();
        let added: Vec<&Port> = new
            .ports
            .iter()
            .filter(|p| old.port(&p.name).is_none())
            .collect();
        let removed: Vec<String> = old
            .ports
            .iter()
            .filter(|p| new.port(&p.name).is_none())
            .map(|p| p.name.clone())
            .collect();

        // 1. New ports first: a failure here has touched nothing else.
        let mut created: Vec<String> = Vec::new();
        for p in &added {
            match st.backend.create(p) {
                Ok(dev) => {
                    st.baselines.insert(dev.id, self.totals(dev.id));
                    st.devices.insert(p.name.clone(), dev);
                    created.push(p.name.clone());
                }
                Err(e) => {
                    self.undo_created(st, &created);
                    return Err(e.into());
                }
            }
        }
        // 2. MTU changes on ports that stay.
        for p in &new.ports {
            if let (Some(o), Some(dev)) = (old.port(&p.name), st.devices.get(&p.name).copied()) {
                if o.mtu() != p.mtu() && !o.device_differs(p) {
                    if let Err(e) = st.backend.set_mtu(p, dev) {
                        self.undo_created(st, &created);
                        return Err(e.into());
                    }
                }
            }
        }
        // 3. Ports whose device changed: take the old device out of service, then re-create.
        if !replaced.is_empty() {
            let mut interim = old.clone();
            interim
                .ports
                .retain(|p| !replaced.iter().any(|r| r.name == p.name));
            self.publish(st, &interim);
            for p in &replaced {
                if let Some(dev) = st.devices.remove(&p.name) {
                    st.backend.destroy(&p.name, dev);
                    self.flush_port_everywhere(st, dev.id);
                }
            }
            for (i, p) in replaced.iter().enumerate() {
                match st.backend.create(p) {
                    Ok(dev) => {
                        st.baselines.insert(dev.id, self.totals(dev.id));
                        st.devices.insert(p.name.clone(), dev);
                    }
                    Err(e) => {
                        // Put back the old devices of every replaced port.
                        for r in &replaced[..i] {
                            if let Some(dev) = st.devices.remove(&r.name) {
                                st.backend.destroy(&r.name, dev);
                            }
                        }
                        for r in &replaced {
                            if let Some(o) = old.port(&r.name) {
                                match st.backend.create(o) {
                                    Ok(dev) => {
                                        st.devices.insert(o.name.clone(), dev);
                                    }
                                    Err(e2) => tracing::error!("rollback of port {}: {e2}", o.name),
                                }
                            }
                        }
                        self.undo_created(st, &created);
                        self.publish(st, &old);
                        return Err(e.into());
                    }
                }
            }
        }
        // 4. The new snapshot; after it no worker touches removed ports.
        let gone: Vec<(String, PortDevice)> = removed
            .iter()
            .filter_map(|name| st.devices.remove(name).map(|d| (name.clone(), d)))
            .collect();
        self.publish(st, new);
        for (name, dev) in gone {
            st.backend.destroy(&name, dev);
            self.flush_port_everywhere(st, dev.id);
        }
        // 5. Learned state that the change made wrong: entries of ports that left a network.
        for p in &new.ports {
            if let (Some(o), Some(dev)) = (old.port(&p.name), st.devices.get(&p.name)) {
                let before: Vec<&str> = old
                    .port_networks(o)
                    .iter()
                    .map(|(n, _)| n.name.as_str())
                    .collect();
                let after: Vec<&str> = new
                    .port_networks(p)
                    .iter()
                    .map(|(n, _)| n.name.as_str())
                    .collect();
                for (name, table) in st.learned.fdbs.iter() {
                    if before.contains(&name.as_str()) && !after.contains(&name.as_str()) {
                        table.flush_dest(Dest::Port(dev.id));
                    }
                }
            }
        }
        self.sync_static(st, new);
        Ok(())
    }

    fn undo_created(&self, st: &mut State, created: &[String]) {
        for name in created {
            if let Some(dev) = st.devices.remove(name) {
                st.backend.destroy(name, dev);
            }
        }
    }

    fn flush_port_everywhere(&self, st: &State, id: u16) {
        for (_, table) in st.learned.fdbs.iter() {
            table.flush_dest(Dest::Port(id));
        }
    }

    /// Makes each table's static entries exactly the model's. A table that already holds
    /// them (the common case: a change elsewhere) is checked by lookups, not by a walk over
    /// its slots.
    fn sync_static(&self, st: &State, model: &Model) {
        let now = clock::now_secs();
        let mut wanted: HashMap<&str, Vec<(MacAddr, Dest)>> = HashMap::new();
        for (network, macs) in &st.programmed {
            let entries = wanted.entry(network.as_str()).or_default();
            entries.extend(macs.iter().map(|(m, d)| (*m, *d)));
        }
        for e in &model.fdb {
            let Ok(mac) = e.mac.parse() else { continue };
            let dest = match &e.remote {
                Some(ip) => ip.parse().ok().map(Dest::Remote),
                None => st.devices.get(&e.port).map(|d| Dest::Port(d.id)),
            };
            if let Some(dest) = dest {
                wanted
                    .entry(e.network.as_str())
                    .or_default()
                    .push((mac, dest));
            }
        }
        for (name, table) in st.learned.fdbs.iter() {
            let wanted = wanted.remove(name.as_str()).unwrap_or_default();
            let holds_them = table.statics() == wanted.len()
                && wanted
                    .iter()
                    .all(|(mac, dest)| table.static_dest(*mac) == Some(*dest));
            if holds_them {
                continue;
            }
            let keep: HashSet<(MacAddr, Dest)> = wanted.iter().copied().collect();
            for entry in table.entries() {
                if entry.is_static && !keep.contains(&(entry.mac, entry.dest)) {
                    table.remove(entry.mac);
                }
            }
            for (mac, dest) in wanted {
                if let Err(e) = table.add_static(mac, dest, now) {
                    tracing::error!("network {name}: static entry {mac}: {e}");
                }
            }
        }
    }

    /// Destroys every port (daemon shutdown); the model stays persisted.
    pub fn shutdown(&self) {
        let mut st = self.state.lock();
        let devices: Vec<(String, PortDevice)> = st.devices.drain().collect();
        let empty = Model::default();
        self.publish(&mut st, &empty);
        for (name, dev) in devices {
            st.backend.destroy(&name, dev);
        }
    }

    /// Writes the features' learned state that changed (DHCP leases) to the state dir
    /// (housekeeping).
    pub fn save_learned(&self) {
        let Some(store) = &self.store else {
            return;
        };
        let changes = self.state.lock().learned.features.changes();
        for (file, text) in changes {
            if let Err(e) = store.write(file, text.as_bytes()) {
                tracing::error!("{e}");
            }
        }
    }

    /// The features' periodic work on the published tables: aging learned MACs and neighbors,
    /// expiring idle connections (housekeeping).
    /// When what a feature learned changes its tables (a backend's health), they are built
    /// again from the same model and published.
    pub fn housekeep(&self, now: u32) {
        let snap = self.cell.load();
        snap.tables.housekeep(now);
        if snap.tables.stale() {
            drop(snap);
            let mut st = self.state.lock();
            let model = st.model.clone();
            self.publish(&mut st, &model);
        }
    }
}

#[cfg(test)]
mod tests;

mod programmed;
pub use programmed::{MacChange, Programmed};
