//! Builds a snapshot from a validated model and the ports that are running.

use std::collections::HashMap;
use std::sync::Arc;

use crate::datapath::tables::States;
use crate::datapath::{Snapshot, Tables};
use crate::feature::Built;
use crate::forwarding::fdb::{FdbTable, DEFAULT_MAC_LIMIT};
use crate::model::{Model, DEFAULT_MTU};
use crate::pipeline::counters::MAX_PORTS;
use crate::pipeline::snapshot::{NetworkEntry, PortEntry, PortMode, RxQueue, Topology, NO_NET};

/// A network's MTU before any port or feature set it.
const NO_MTU: u16 = u16::MAX;

/// A port's device as it runs: its DPDK id and queue counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortDevice {
    pub id: u16,
    pub rx_queues: u16,
    pub tx_queues: u16,
}

/// The FDB tables that outlive snapshots, one per network name. A network keeps its table (and
/// its learned MACs) across changes unless its MAC limit changes.
#[derive(Debug, Default)]
pub struct FdbTables {
    tables: HashMap<String, Arc<FdbTable>>,
}

impl FdbTables {
    pub fn get(&self, network: &str) -> Option<&Arc<FdbTable>> {
        self.tables.get(network)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Arc<FdbTable>)> {
        self.tables.iter()
    }

    /// Tables for exactly the model's networks: kept, created or dropped.
    pub fn sync(&mut self, model: &Model) {
        let names = model.network_index();
        self.tables
            .retain(|name, _| names.contains_key(name.as_str()));
        for n in &model.networks {
            let limit = n.mac_limit.unwrap_or(DEFAULT_MAC_LIMIT);
            let keep = self.tables.get(&n.name).is_some_and(|t| t.limit() == limit);
            if !keep {
                self.tables
                    .insert(n.name.clone(), Arc::new(FdbTable::new(limit)));
            }
        }
    }
}

/// Spreads every RX queue of every port over the workers, round robin.
pub fn assign_queues(devices: &[PortDevice], workers: usize) -> Vec<Vec<RxQueue>> {
    let mut out = vec![Vec::new(); workers.max(1)];
    let mut next = 0;
    for dev in devices {
        for queue in 0..dev.rx_queues {
            let slots = out.len();
            out[next % slots].push(RxQueue {
                port: dev.id,
                queue,
            });
            next += 1;
        }
    }
    out.truncate(workers);
    out
}

/// What the datapath learns and keeps across snapshots: MACs per network (which several
/// features read), and each feature's own state.
#[derive(Default)]
pub struct LearnedTables {
    pub fdbs: FdbTables,
    pub features: States,
}

impl LearnedTables {
    /// Tables for exactly the model's networks and VRFs.
    pub fn sync(&mut self, model: &Model) {
        self.fdbs.sync(model);
        self.features.sync(model);
    }
}

/// The snapshot for `model`, given the devices of its ports (by port name) and the learned
/// tables (already synced to the model).
pub fn build(
    model: &Model,
    devices: &HashMap<String, PortDevice>,
    learned: &LearnedTables,
    workers: usize,
    generation: u64,
) -> Snapshot {
    let net_index = model.network_index();
    let mut networks: Vec<NetworkEntry> = model
        .networks
        .iter()
        .map(|n| NetworkEntry {
            name: n.name.as_str().into(),
            vlan: n.vlan,
            ports: Vec::new(),
            mtu: NO_MTU,
        })
        .collect();
    let mut ports = vec![None; MAX_PORTS];
    let mut ordered = Vec::new();
    for p in &model.ports {
        let Some(dev) = devices.get(&p.name) else {
            continue;
        };
        let carried = model.port_networks(p);
        let mode = if carried.is_empty() {
            PortMode::Switch
        } else if p.trunk.is_empty() {
            PortMode::Access(net_index[carried[0].0.name.as_str()])
        } else {
            let mut map = [NO_NET; 4096];
            for (n, vlan) in &carried {
                if let Some(v) = vlan {
                    map[usize::from(*v)] = net_index[n.name.as_str()];
                }
            }
            PortMode::Trunk(Arc::new(map))
        };
        for (n, _) in &carried {
            networks[usize::from(net_index[n.name.as_str()])]
                .ports
                .push(dev.id);
        }
        if let Some(slot) = ports.get_mut(usize::from(dev.id)) {
            *slot = Some(PortEntry {
                id: dev.id,
                name: p.name.as_str().into(),
                mode,
                mtu: p.mtu(),
                tx_queues: dev.tx_queues.max(1),
            });
        }
        ordered.push(*dev);
    }
    // A network's MTU: the smallest of its ports' (the features may lower it; none at all
    // leaves the default).
    for n in networks.iter_mut() {
        let port_mtu = |p: &u16| {
            ports
                .get(usize::from(*p))?
                .as_ref()
                .map(|p: &PortEntry| p.mtu)
        };
        n.mtu = n.ports.iter().filter_map(port_mtu).min().unwrap_or(NO_MTU);
    }
    let mut topology = Topology {
        ports,
        networks,
        overlay_mtu: None,
    };
    let fdbs: Vec<Arc<FdbTable>> = model
        .networks
        .iter()
        .map(|n| {
            learned
                .fdbs
                .get(&n.name)
                .cloned()
                .unwrap_or_else(|| Arc::new(FdbTable::new(DEFAULT_MAC_LIMIT)))
        })
        .collect();
    let built = Built {
        topo: &topology,
        fdbs: &fdbs,
    };
    let tables = Tables::build(&learned.features, model, &built);
    tables.refine(&mut topology);
    for n in topology.networks.iter_mut().filter(|n| n.mtu == NO_MTU) {
        n.mtu = DEFAULT_MTU;
    }
    Snapshot {
        generation,
        topology,
        workers: assign_queues(&ordered, workers),
        tables,
    }
}

/// The snapshot of `model` as if its ports were DPDK ports 0, 1, ... in model order, one RX and
/// one TX queue each, with fresh FDB tables: what pipeline tests and micro-benchmarks run on.
pub fn offline_snapshot(model: &Model, workers: usize) -> Snapshot {
    let mut learned = LearnedTables::default();
    offline_republish(model, &mut learned, workers, 1)
}

/// The next snapshot of an offline switch whose learned state (MACs, neighbors, connections)
/// carries over, as the config manager publishes one on every change.
pub fn offline_republish(
    model: &Model,
    learned: &mut LearnedTables,
    workers: usize,
    generation: u64,
) -> Snapshot {
    let devices = model
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let dev = PortDevice {
                id: i as u16,
                rx_queues: 1,
                tx_queues: 1,
            };
            (p.name.clone(), dev)
        })
        .collect();
    learned.sync(model);
    build(model, &devices, learned, workers, generation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_spread_round_robin() {
        let devs = [
            PortDevice {
                id: 0,
                rx_queues: 2,
                tx_queues: 2,
            },
            PortDevice {
                id: 1,
                rx_queues: 1,
                tx_queues: 2,
            },
        ];
        let w = assign_queues(&devs, 2);
        assert_eq!(
            w[0],
            vec![RxQueue { port: 0, queue: 0 }, RxQueue { port: 1, queue: 0 }]
        );
        assert_eq!(w[1], vec![RxQueue { port: 0, queue: 1 }]);
        assert_eq!(assign_queues(&devs, 0).len(), 0);
    }

    #[test]
    fn fdb_tables_survive_unless_the_limit_changes() {
        let mut m = Model::parse("json", r#"{"networks":[{"name":"a"},{"name":"b"}]}"#).unwrap();
        let mut t = FdbTables::default();
        t.sync(&m);
        let a = t.get("a").unwrap().clone();
        let b = t.get("b").unwrap().clone();
        m.networks[1].mac_limit = Some(10);
        m.networks.retain(|n| n.name != "zzz");
        t.sync(&m);
        assert!(Arc::ptr_eq(&a, t.get("a").unwrap()));
        assert!(!Arc::ptr_eq(&b, t.get("b").unwrap()));
        m.networks.remove(0);
        t.sync(&m);
        assert!(t.get("a").is_none());
    }
}
