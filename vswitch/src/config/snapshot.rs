//! The immutable view of the configuration that workers forward with. The config manager builds
//! a whole new one per change and publishes it atomically; a worker picks it up between bursts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::firewall::stage::Firewall;
use crate::forwarding::fdb::FdbTable;
use crate::pipeline::counters::{WorkerCounters, MAX_PORTS};
use crate::router::table::{Gateway, Vrf};

/// Index of a network in `Snapshot::networks`.
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
    /// The rules of its security groups, if it has any.
    pub security: Option<Arc<crate::firewall::security::PortSecurity>>,
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
    pub fdb: Arc<FdbTable>,
    pub aging_secs: u32,
    /// The network's anycast gateway, when it has a subnet.
    pub gateway: Option<Gateway>,
    /// The network's DHCP server (`--dhcp`).
    pub dhcp: Option<Arc<crate::dhcp::server::DhcpServer>>,
    /// `--isolated`: IP between its endpoints passes only where a policy allows it.
    pub isolated: bool,
    /// The connection-table quota of the connections its endpoints open.
    pub conn_quota: u16,
    /// Its VXLAN network identifier.
    pub vni: Option<u32>,
    /// Remote VTEPs that get its broadcast, unknown unicast and multicast (head-end
    /// replication).
    pub remotes: Vec<std::net::Ipv4Addr>,
}

/// One RX queue a worker polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxQueue {
    pub port: u16,
    pub queue: u16,
}

#[derive(Debug)]
pub struct Snapshot {
    pub generation: u64,
    /// Indexed by DPDK port id.
    pub ports: Vec<Option<PortEntry>>,
    pub networks: Vec<NetworkEntry>,
    pub vrfs: Vec<Vrf>,
    /// Compiled policies and the connection table.
    pub firewall: Firewall,
    /// RX queues per worker.
    pub workers: Vec<Vec<RxQueue>>,
    /// The VXLAN tunnel endpoint, when the switch has one.
    pub vtep: Option<crate::vxlan::table::VtepEntry>,
}

impl Snapshot {
    pub fn empty(workers: usize) -> Self {
        Snapshot {
            generation: 0,
            ports: vec![None; MAX_PORTS],
            networks: Vec::new(),
            vrfs: Vec::new(),
            firewall: Firewall::default(),
            workers: vec![Vec::new(); workers],
            vtep: None,
        }
    }

    #[inline]
    pub fn port(&self, id: u16) -> Option<&PortEntry> {
        self.ports.get(usize::from(id)).and_then(Option::as_ref)
    }

    /// The anycast gateway of network `net`, when it routes.
    #[inline]
    pub fn gateway(&self, net: NetIdx) -> Option<&Gateway> {
        self.networks.get(usize::from(net))?.gateway.as_ref()
    }
}

/// Where the current snapshot lives. Workers check `generation` once per poll loop (one load)
/// and re-load the snapshot only when it moved.
pub struct SnapshotCell {
    current: ArcSwap<Snapshot>,
    generation: AtomicU64,
}

impl SnapshotCell {
    pub fn new(initial: Snapshot) -> Self {
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

    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    pub fn publish(&self, snap: Snapshot) {
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
