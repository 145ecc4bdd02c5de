//! The firewall log: the latest decisions of the rules that ask for it (`--log`), one per new
//! connection (or per packet for stateless and refusing rules). A worker never waits for it:
//! when the control plane is reading, the entry is counted as lost instead.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::flow::FiveTuple;
use super::rule::Action;
use crate::pipeline::snapshot::NetIdx;

/// Entries kept; older ones make room.
pub const CAPACITY: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Seconds on the pipeline clock.
    pub at: u32,
    pub rule: Arc<str>,
    pub action: Action,
    pub tuple: FiveTuple,
    pub from_net: NetIdx,
    pub to_net: NetIdx,
}

#[derive(Debug)]
pub struct FirewallLog {
    ring: Mutex<VecDeque<LogEntry>>,
    lost: AtomicU64,
}

impl Default for FirewallLog {
    fn default() -> Self {
        FirewallLog {
            ring: Mutex::new(VecDeque::with_capacity(CAPACITY)),
            lost: AtomicU64::new(0),
        }
    }
}

impl FirewallLog {
    /// Records `e` unless someone holds the log (then counts it lost); never allocates.
    pub fn record(&self, e: LogEntry) {
        let Some(mut ring) = self.ring.try_lock() else {
            self.lost.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if ring.len() == CAPACITY {
            ring.pop_front();
        }
        ring.push_back(e);
    }

    /// The newest `max` entries, oldest first, and how many were lost so far.
    pub fn read(&self, max: usize) -> (Vec<LogEntry>, u64) {
        let ring = self.ring.lock();
        let skip = ring.len().saturating_sub(max);
        let entries = ring.iter().skip(skip).cloned().collect();
        (entries, self.lost.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: u32) -> LogEntry {
        LogEntry {
            at,
            rule: "r".into(),
            action: Action::Deny,
            tuple: FiveTuple {
                src: "198.51.100.1".parse().unwrap(),
                dst: "203.0.113.1".parse().unwrap(),
                proto: 6,
                sport: 1,
                dport: 2,
            },
            from_net: 0,
            to_net: 1,
        }
    }

    #[test]
    fn keeps_the_newest_and_counts_what_it_could_not_take() {
        let log = FirewallLog::default();
        for at in 0..(CAPACITY as u32 + 10) {
            log.record(entry(at));
        }
        let (all, lost) = log.read(usize::MAX);
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].at, 10);
        assert_eq!(lost, 0);
        let (last, _) = log.read(2);
        assert_eq!(
            last.iter().map(|e| e.at).collect::<Vec<_>>(),
            [CAPACITY as u32 + 8, CAPACITY as u32 + 9]
        );
        let held = log.ring.lock();
        log.record(entry(0));
        drop(held);
        assert_eq!(log.read(0).1, 1, "a worker never waits for a reader");
    }
}
