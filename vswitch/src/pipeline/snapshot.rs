//! The immutable view of the configuration that workers forward with: the ports and networks
//! the engine itself needs (its topology), which workers poll which queues, and the features'
//! tables, a type the graph composes. The config manager builds a whole new one per change and
//! publishes it atomically; a worker picks it up between polls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use super::counters::{WorkerCounters, MAX_PORTS};
use super::Context;

/// Index of a network in `Topology::networks`.
pub type NetIdx = u16;
/// Marks a VLAN a trunk does not carry.
pub const NO_NET: NetIdx = NetIdx::MAX;

#[derive(Debug, Clone)]
pub enum PortMode {
    /// The switch's own port: in no network.
    Switch,
    /// Untagged member of one network.
    Access(NetIdx),
    /// Tagged: VLAN id → network (`NO_NET` where the trunk does not carry the VLAN).
    Trunk(Arc<[NetIdx; 4096]>),
}

#[derive(Debug, Clone)]
pub struct PortEntry {
    pub id: u16,
    pub name: Arc<str>,
    pub mode: PortMode,
    /// Largest L2 payload (after the Ethernet header and any VLAN tag).
    pub mtu: u16,
    /// TX queues; worker `w` sends on queue `w % tx_queues`.
    pub tx_queues: u16,
}

impl PortEntry {
    /// The VLAN tag this port puts on frames of network `net` (None = untagged).
    #[inline]
    pub fn egress_tag(&self, net: &NetworkEntry) -> Option<u16> {
        match self.mode {
            PortMode::Trunk(_) => net.vlan,
            _ => None,
        }
    }

    #[inline]
    pub fn carries(&self, net: NetIdx, vlan: Option<u16>) -> bool {
        match &self.mode {
            PortMode::Switch => false,
            PortMode::Access(n) => *n == net,
            PortMode::Trunk(map) => vlan.is_some_and(|v| map[usize::from(v) & 0xfff] == net),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NetworkEntry {
    pub name: Arc<str>,
    pub vlan: Option<u16>,
    /// Ports that carry this network (the flood list).
    pub ports: Vec<u16>,
    /// The smallest MTU of its ports (and of the overlay, when it reaches remote VTEPs).
    pub mtu: u16,
}

/// The ports and networks: what every stage may read.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Indexed by DPDK port id.
    pub ports: Vec<Option<PortEntry>>,
    pub networks: Vec<NetworkEntry>,
    /// The largest L2 payload a frame to a remote VTEP may have (the underlay's MTU less the
    /// tunnel headers), when the switch has a VTEP.
    pub overlay_mtu: Option<u16>,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            ports: vec![None; MAX_PORTS],
            networks: Vec::new(),
            overlay_mtu: None,
        }
    }
}

impl Topology {
    #[inline]
    pub fn port(&self, id: u16) -> Option<&PortEntry> {
        self.ports.get(usize::from(id)).and_then(Option::as_ref)
    }

    /// The port the operator named `name`.
    pub fn port_named(&self, name: &str) -> Option<&PortEntry> {
        self.ports.iter().flatten().find(|p| &*p.name == name)
    }

    #[inline]
    pub fn network(&self, net: NetIdx) -> Option<&NetworkEntry> {
        self.networks.get(usize::from(net))
    }
}

/// One RX queue a worker polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxQueue {
    pub port: u16,
    pub queue: u16,
}

/// A published configuration: the topology and queues the engine reads, and the features'
/// tables `T` (composed by the graph).
#[derive(Debug)]
pub struct Snapshot<T> {
    pub generation: u64,
    pub topology: Topology,
    /// RX queues per worker.
    pub workers: Vec<Vec<RxQueue>>,
    pub tables: T,
}

impl<T: Default> Snapshot<T> {
    pub fn empty(workers: usize) -> Self {
        Snapshot {
            generation: 0,
            topology: Topology::default(),
            workers: vec![Vec::new(); workers],
            tables: T::default(),
        }
    }
}

impl<T> Snapshot<T> {
    #[inline]
    pub fn port(&self, id: u16) -> Option<&PortEntry> {
        self.topology.port(id)
    }

    /// The context a burst runs in on this snapshot, with a worker's counters, at `now`.
    #[inline]
    pub fn context<'a>(&'a self, counters: &'a WorkerCounters, now: u32) -> Context<'a, T> {
        Context::new(&self.topology, &self.tables, counters, now)
    }
}

/// Where the current snapshot lives. Workers check `generation` once per poll loop (one load)
/// and re-load the snapshot only when it moved.
pub struct SnapshotCell<T> {
    current: ArcSwap<Snapshot<T>>,
    generation: AtomicU64,
}

impl<T> SnapshotCell<T> {
    pub fn new(initial: Snapshot<T>) -> Self {
        let generation = AtomicU64::new(initial.generation);
        SnapshotCell {
            current: ArcSwap::from_pointee(initial),
            generation,
        }
    }

    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn load(&self) -> Arc<Snapshot<T>> {
        self.current.load_full()
    }

    pub fn publish(&self, snap: Snapshot<T>) {
        let generation = snap.generation;
        self.current.store(Arc::new(snap));
        self.generation.store(generation, Ordering::Release);
    }

    /// Waits until every worker has finished a burst with `generation` or later, so nothing
    /// still uses what the previous snapshot referenced. False on timeout (a stuck worker).
    pub fn wait_quiescent(
        &self,
        workers: &[Arc<WorkerCounters>],
        generation: u64,
        timeout: Duration,
    ) -> bool {
        let start = Instant::now();
        loop {
            if workers
                .iter()
                .all(|w| w.seen_generation.load(Ordering::Acquire) >= generation)
            {
                return true;
            }
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}
