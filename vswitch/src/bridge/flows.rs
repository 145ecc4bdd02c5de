//! Flow accounting of bridged frames, for the IPFIX export: while an export is set, each worker
//! counts the frames the bridge forwards within a network by (network, source MAC, destination
//! MAC, EtherType) in a small table of its own, and hands its entries to the exporter through
//! a bounded queue once a second, or when another flow needs the slot. A full queue loses the
//! entry (counted), never a packet; nothing is counted while no export is set.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;

use crate::packet::MacAddr;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::snapshot::NetIdx;

/// Flows a worker counts at once (a power of two: a slot is the key's hash, masked).
const SLOTS: usize = 1024;
/// Entries waiting for the exporter, from every worker.
const QUEUE: usize = 65_536;

/// What a bridged flow is told apart by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct L2Key {
    pub net: NetIdx,
    pub ethertype: u16,
    pub src: MacAddr,
    pub dst: MacAddr,
}

/// A bridged flow's counts since it was last handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Count {
    pub key: L2Key,
    pub in_port: u16,
    /// The port it left by; `None` when flooded or sent to a remote VTEP.
    pub out_port: Option<u16>,
    pub packets: u64,
    /// Octets after the Ethernet header (and VLAN tag): an IP packet's length, as IPFIX counts.
    pub octets: u64,
    /// Pipeline-clock seconds of its first and last frame.
    pub first: u32,
    pub last: u32,
}

/// The queue from the workers to the exporter (shared across snapshots).
#[derive(Debug)]
pub struct Handoff {
    queue: ArrayQueue<L2Count>,
    /// Entries a full queue refused.
    pub lost: AtomicU64,
}

impl Default for Handoff {
    fn default() -> Self {
        Handoff {
            queue: ArrayQueue::new(QUEUE),
            lost: AtomicU64::new(0),
        }
    }
}

impl Handoff {
    fn hand(&self, c: L2Count) {
        if self.queue.push(c).is_err() {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The entries handed over since the last call (the exporter's).
    pub fn take(&self, mut f: impl FnMut(L2Count)) {
        while let Some(c) = self.queue.pop() {
            f(c);
        }
    }
}

/// One worker's counting table.
pub struct L2Flows {
    slots: Box<[Option<L2Count>]>,
    /// The second it last handed everything over.
    flushed_at: u32,
}

impl Default for L2Flows {
    fn default() -> Self {
        L2Flows {
            slots: vec![None; SLOTS].into_boxed_slice(),
            flushed_at: 0,
        }
    }
}

impl L2Flows {
    /// Counts a bridged frame of `octets` bytes past its Ethernet header.
    #[inline]
    pub fn count(&mut self, to: &Handoff, in_port: u16, meta: &Meta, octets: usize, now: u32) {
        let key = L2Key {
            net: meta.net,
            ethertype: meta.ethertype,
            src: meta.src,
            dst: meta.dst,
        };
        let out_port = match meta.verdict {
            Verdict::Unicast(p) => Some(p),
            _ => None,
        };
        let slot = &mut self.slots[slot_of(&key)];
        match slot {
            Some(c) if c.key == key && c.in_port == in_port && c.out_port == out_port => {
                c.packets += 1;
                c.octets += octets as u64;
                c.last = now;
            }
            _ => {
                let fresh = L2Count {
                    key,
                    in_port,
                    out_port,
                    packets: 1,
                    octets: octets as u64,
                    first: now,
                    last: now,
                };
                if let Some(old) = slot.replace(fresh) {
                    to.hand(old);
                }
            }
        }
    }

    /// Hands every entry over once a second (a poll's check).
    #[inline]
    pub fn tick(&mut self, to: &Handoff, now: u32) {
        if now == self.flushed_at {
            return;
        }
        self.flushed_at = now;
        for slot in self.slots.iter_mut() {
            if let Some(c) = slot.take() {
                to.hand(c);
            }
        }
    }
}

#[inline]
fn slot_of(key: &L2Key) -> usize {
    let mac = |m: MacAddr| {
        let b = m.0;
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], 0, 0])
    };
    let h = mac(key.src) ^ mac(key.dst).rotate_left(24) ^ u64::from(key.net) << 48;
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize & (SLOTS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(src: u8, dst: u8) -> Meta {
        Meta {
            src: MacAddr([2, 0, 0, 0, 0, src]),
            dst: MacAddr([2, 0, 0, 0, 0, dst]),
            ethertype: 0x0800,
            verdict: Verdict::Unicast(2),
            ..Meta::default()
        }
    }

    fn taken(h: &Handoff) -> Vec<L2Count> {
        let mut out = Vec::new();
        h.take(|c| out.push(c));
        out
    }

    #[test]
    fn frames_of_one_flow_add_up_and_go_once_a_second() {
        let (h, mut flows) = (Handoff::default(), L2Flows::default());
        flows.tick(&h, 10);
        for _ in 0..3 {
            flows.count(&h, 1, &meta(1, 2), 100, 10);
        }
        flows.count(&h, 1, &meta(2, 1), 40, 10);
        flows.tick(&h, 10);
        assert!(taken(&h).is_empty(), "nothing before the second is over");
        flows.tick(&h, 11);
        let mut got = taken(&h);
        got.sort_by_key(|c| c.packets);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[1].packets, got[1].octets, got[1].out_port),
            (3, 300, Some(2))
        );
        assert_eq!((got[0].packets, got[0].octets), (1, 40));
        flows.tick(&h, 12);
        assert!(taken(&h).is_empty(), "handed over once");
    }

    #[test]
    fn a_full_queue_loses_entries_and_counts_them() {
        let (h, mut flows) = (Handoff::default(), L2Flows::default());
        let mut now = 1;
        while h.lost.load(Ordering::Relaxed) == 0 && now < 1000 {
            for src in 0..=255 {
                flows.count(&h, 1, &meta(src, 1), 60, now);
            }
            now += 1;
            flows.tick(&h, now);
        }
        assert!(h.lost.load(Ordering::Relaxed) > 0);
        assert_eq!(taken(&h).len(), QUEUE);
    }
}
