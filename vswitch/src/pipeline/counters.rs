//! Per-worker counters. Each worker is the only writer of its own counters (a relaxed load and
//! store, no locked instruction); the control thread sums them across workers.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

use super::drop::{DropReason, MAX_DROP_REASONS};

/// Most DPDK ports (`RTE_MAX_ETHPORTS` of the system DPDK).
pub const MAX_PORTS: usize = 32;

/// A single-writer counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`; only the owning worker calls this, so load+store is race-free and lock-free.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One port's counters as seen by one worker.
#[derive(Debug)]
pub struct PortCounters {
    pub rx_packets: Counter,
    pub rx_bytes: Counter,
    pub tx_packets: Counter,
    pub tx_bytes: Counter,
    pub drops: [Counter; MAX_DROP_REASONS],
}

// Arrays longer than 32 have no derived `Default`.
impl Default for PortCounters {
    fn default() -> Self {
        PortCounters {
            rx_packets: Counter::default(),
            rx_bytes: Counter::default(),
            tx_packets: Counter::default(),
            tx_bytes: Counter::default(),
            drops: std::array::from_fn(|_| Counter::default()),
        }
    }
}

impl PortCounters {
    #[inline]
    pub fn drop(&self, reason: impl Into<DropReason>) {
        self.drops[reason.into().index()].add(1);
    }

    /// Counts `n` packets dropped for `reason`.
    #[inline]
    pub fn drop_n(&self, reason: impl Into<DropReason>, n: u64) {
        self.drops[reason.into().index()].add(n);
    }
}

/// A plain copy of port counters for reporting and arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortTotals {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub drops: [u64; MAX_DROP_REASONS],
}

impl Default for PortTotals {
    fn default() -> Self {
        PortTotals {
            rx_packets: 0,
            rx_bytes: 0,
            tx_packets: 0,
            tx_bytes: 0,
            drops: [0; MAX_DROP_REASONS],
        }
    }
}

impl PortTotals {
    pub fn accumulate(&mut self, c: &PortCounters) {
        self.rx_packets += c.rx_packets.get();
        self.rx_bytes += c.rx_bytes.get();
        self.tx_packets += c.tx_packets.get();
        self.tx_bytes += c.tx_bytes.get();
        for (t, d) in self.drops.iter_mut().zip(c.drops.iter()) {
            *t += d.get();
        }
    }

    /// `self - base`, for counters of a port id that an earlier port also used.
    pub fn since(&self, base: &PortTotals) -> PortTotals {
        let mut out = PortTotals {
            rx_packets: self.rx_packets.wrapping_sub(base.rx_packets),
            rx_bytes: self.rx_bytes.wrapping_sub(base.rx_bytes),
            tx_packets: self.tx_packets.wrapping_sub(base.tx_packets),
            tx_bytes: self.tx_bytes.wrapping_sub(base.tx_bytes),
            drops: [0; MAX_DROP_REASONS],
        };
        for (i, d) in out.drops.iter_mut().enumerate() {
            *d = self.drops[i].wrapping_sub(base.drops[i]);
        }
        out
    }
}

/// Everything one worker counts; shared read-only with the control thread.
#[derive(Debug)]
pub struct WorkerCounters {
    pub ports: Box<[CachePadded<PortCounters>]>,
    pub busy_polls: CachePadded<Counter>,
    pub idle_polls: Counter,
    /// TSC cycles in busy / idle polls, and packets received.
    pub busy_cycles: Counter,
    pub idle_cycles: Counter,
    pub rx_packets: Counter,
    /// The snapshot generation this worker last finished a burst with (its quiescent point).
    pub seen_generation: CachePadded<AtomicU64>,
}

impl Default for WorkerCounters {
    fn default() -> Self {
        WorkerCounters {
            ports: (0..MAX_PORTS).map(|_| CachePadded::default()).collect(),
            busy_polls: CachePadded::default(),
            idle_polls: Counter::default(),
            busy_cycles: Counter::default(),
            idle_cycles: Counter::default(),
            rx_packets: Counter::default(),
            seen_generation: CachePadded::new(AtomicU64::new(0)),
        }
    }
}

impl WorkerCounters {
    /// Counters of `port`; ids come from DPDK and are always below `MAX_PORTS`.
    #[inline]
    pub fn port(&self, port: u16) -> &PortCounters {
        &self.ports[usize::from(port) % MAX_PORTS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::drop::EngineDrop;

    #[test]
    fn totals_accumulate_and_subtract() {
        let c = PortCounters::default();
        c.rx_packets.add(5);
        c.drop(EngineDrop::Mtu);
        let mut t = PortTotals::default();
        t.accumulate(&c);
        t.accumulate(&c);
        assert_eq!(t.rx_packets, 10);
        assert_eq!(t.drops[DropReason::from(EngineDrop::Mtu).index()], 2);
        let base = PortTotals {
            rx_packets: 4,
            ..Default::default()
        };
        assert_eq!(t.since(&base).rx_packets, 6);
    }
}
