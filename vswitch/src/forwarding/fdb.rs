//! A network's forwarding database: MAC → port (or remote VTEP), learned by the datapath, aged
//! by housekeeping.
//!
//! Open addressing over a fixed array of slots made of atomics, so that lookups never lock and
//! refreshing an entry is a relaxed store. Inserting a new MAC (rare) takes a mutex with
//! `try_lock`: a worker never waits on it; when housekeeping holds it the packet is forwarded
//! and the MAC learned from the next one.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::packet::MacAddr;

const VALID: u64 = 1 << 63;
const STATIC: u64 = 1 << 62;
const TOMBSTONE: u64 = 1 << 61;
const MAC_MASK: u64 = (1 << 48) - 1;
/// Slots probed from a MAC's home slot before giving up.
const MAX_PROBE: usize = 16;

/// Tables holding more MACs than this get their lookups prefetched.
const PREFETCH_MIN_ENTRIES: u32 = 4096;

/// Default limit of learned + static MACs in one network.
pub const DEFAULT_MAC_LIMIT: u32 = 65_536;
/// Default seconds a learned MAC lives without traffic.
pub const DEFAULT_AGING_SECS: u32 = 300;

#[derive(Debug, Default)]
struct Slot {
    key: AtomicU64,
    /// A [`Dest`], encoded.
    dest: AtomicU32,
    seen: AtomicU32,
}

/// Where a MAC is: behind a local port, or behind a remote VTEP of the overlay (its underlay
/// address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dest {
    Port(u16),
    Remote(Ipv4Addr),
}

impl Dest {
    /// Ports are below 2^16; a remote VTEP's address never is (its first octet is not 0).
    #[inline]
    fn encode(self) -> u32 {
        match self {
            Dest::Port(p) => u32::from(p),
            Dest::Remote(ip) => u32::from(ip),
        }
    }

    #[inline]
    fn decode(v: u32) -> Dest {
        match u16::try_from(v) {
            Ok(p) => Dest::Port(p),
            Err(_) => Dest::Remote(Ipv4Addr::from(v)),
        }
    }

    /// The local port, if the MAC is behind one.
    #[inline]
    pub fn port(self) -> Option<u16> {
        match self {
            Dest::Port(p) => Some(p),
            Dest::Remote(_) => None,
        }
    }
}

impl From<u16> for Dest {
    fn from(p: u16) -> Dest {
        Dest::Port(p)
    }
}

/// What learning a source MAC did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// Known on this port; its timestamp refreshed.
    Refreshed,
    /// New entry.
    Added,
    /// The MAC moved here from another port.
    Moved,
    /// A static entry for another port; left alone.
    StaticConflict,
    /// The table's lock was busy; try again with the next frame.
    Deferred,
    /// The network's MAC limit is reached.
    LimitReached,
}

/// One entry, for listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdbEntry {
    pub mac: MacAddr,
    pub dest: Dest,
    pub is_static: bool,
    pub seen: u32,
}

/// Adding a static entry failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FdbError {
    #[error("the network's MAC table is full")]
    Full,
}

#[derive(Debug)]
pub struct FdbTable {
    slots: Box<[Slot]>,
    mask: usize,
    limit: u32,
    count: AtomicU32,
    /// Static entries among `count`: aging skips a table of static entries only, and a
    /// model's static entries are compared without scanning the slots.
    statics: AtomicU32,
    writer: Mutex<()>,
}

#[inline]
fn home(mac: u64, mask: usize) -> usize {
    // Fibonacci hashing: the high bits of the product mix all 48 MAC bits.
    (mac.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl FdbTable {
    /// A table for at most `limit` MACs (slots: twice that, a power of two).
    pub fn new(limit: u32) -> Self {
        let limit = limit.max(1);
        let slots = (limit as usize * 2).next_power_of_two().max(64);
        let mut table: Vec<Slot> = crate::sys::mem::huge_page_vec(slots);
        table.extend((0..slots).map(|_| Slot::default()));
        FdbTable {
            slots: table.into_boxed_slice(),
            mask: slots - 1,
            limit,
            count: AtomicU32::new(0),
            statics: AtomicU32::new(0),
            writer: Mutex::new(()),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Static entries.
    pub fn statics(&self) -> usize {
        self.statics.load(Ordering::Relaxed) as usize
    }

    /// Where static entry `mac` points, if `mac` is one.
    pub fn static_dest(&self, mac: MacAddr) -> Option<Dest> {
        let slot = self.find(mac.to_u64())?;
        let key = slot.key.load(Ordering::Acquire);
        (key & STATIC != 0).then(|| Dest::decode(slot.dest.load(Ordering::Acquire)))
    }

    /// With many MACs, lookups miss the cache and prefetching overlaps the misses; with a few
    /// their slots stay cached and prefetching only costs instructions.
    #[inline]
    pub fn worth_prefetching(&self) -> bool {
        self.count.load(Ordering::Relaxed) > PREFETCH_MIN_ENTRIES
    }

    /// Starts loading `mac`'s home slot into the cache; a burst prefetches all its MACs before
    /// looking any of them up, so the misses of a large table overlap.
    #[inline]
    pub fn prefetch(&self, mac: MacAddr) {
        crate::sys::cpu::prefetch(&self.slots[home(mac.to_u64(), self.mask)]);
    }

    fn find(&self, mac: u64) -> Option<&Slot> {
        let mut i = home(mac, self.mask);
        for _ in 0..MAX_PROBE {
            let slot = &self.slots[i];
            let key = slot.key.load(Ordering::Acquire);
            if key == 0 {
                return None;
            }
            if key & VALID != 0 && key & MAC_MASK == mac {
                return Some(slot);
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Where `mac` was learned. Lock-free.
    #[inline]
    pub fn lookup(&self, mac: MacAddr) -> Option<Dest> {
        let mac = mac.to_u64();
        let slot = self.find(mac)?;
        let dest = slot.dest.load(Ordering::Acquire);
        // The slot may have been recycled between the key and the port load.
        let key = slot.key.load(Ordering::Acquire);
        (key & VALID != 0 && key & MAC_MASK == mac).then_some(Dest::decode(dest))
    }

    /// The local port `mac` was learned on (None when unknown or behind a remote VTEP).
    pub fn port_of(&self, mac: MacAddr) -> Option<u16> {
        self.lookup(mac).and_then(Dest::port)
    }

    /// Learns that `mac` is behind `port` at time `now` (seconds).
    #[inline]
    pub fn learn(&self, mac: MacAddr, port: u16, now: u32) -> Learned {
        self.learn_dest(mac, Dest::Port(port), now)
    }

    /// Learns that `mac` is behind `dest` at time `now` (seconds).
    #[inline]
    pub fn learn_dest(&self, mac: MacAddr, dest: Dest, now: u32) -> Learned {
        let key = mac.to_u64();
        let value = dest.encode();
        if let Some(slot) = self.find(key) {
            if slot.seen.load(Ordering::Relaxed) != now {
                slot.seen.store(now, Ordering::Relaxed);
            }
            let old = slot.dest.load(Ordering::Relaxed);
            if old == value {
                return Learned::Refreshed;
            }
            if slot.key.load(Ordering::Relaxed) & STATIC != 0 {
                return Learned::StaticConflict;
            }
            slot.dest.store(value, Ordering::Release);
            return Learned::Moved;
        }
        let Some(_guard) = self.writer.try_lock() else {
            return Learned::Deferred;
        };
        self.insert_locked(key, value, now, false)
    }

    /// Inserts under the writer lock (or updates when another writer won the race).
    fn insert_locked(&self, mac: u64, dest: u32, now: u32, is_static: bool) -> Learned {
        let mut free = None;
        let mut i = home(mac, self.mask);
        for _ in 0..MAX_PROBE {
            let slot = &self.slots[i];
            let key = slot.key.load(Ordering::Acquire);
            if key & VALID != 0 && key & MAC_MASK == mac {
                slot.dest.store(dest, Ordering::Release);
                slot.seen.store(now, Ordering::Relaxed);
                let flag = if is_static { STATIC } else { 0 };
                slot.key.store(VALID | flag | mac, Ordering::Release);
                match (key & STATIC != 0, is_static) {
                    (false, true) => self.statics.fetch_add(1, Ordering::Relaxed),
                    (true, false) => self.statics.fetch_sub(1, Ordering::Relaxed),
                    _ => 0,
                };
                return Learned::Moved;
            }
            if key & VALID == 0 && free.is_none() {
                free = Some(slot);
            }
            if key == 0 {
                break;
            }
            i = (i + 1) & self.mask;
        }
        if self.count.load(Ordering::Relaxed) >= self.limit {
            return Learned::LimitReached;
        }
        let Some(slot) = free else {
            return Learned::LimitReached;
        };
        slot.dest.store(dest, Ordering::Relaxed);
        slot.seen.store(now, Ordering::Relaxed);
        let flag = if is_static { STATIC } else { 0 };
        slot.key.store(VALID | flag | mac, Ordering::Release);
        self.count.fetch_add(1, Ordering::Relaxed);
        if is_static {
            self.statics.fetch_add(1, Ordering::Relaxed);
        }
        Learned::Added
    }

    /// Adds or replaces a static entry (control plane).
    pub fn add_static(
        &self,
        mac: MacAddr,
        dest: impl Into<Dest>,
        now: u32,
    ) -> Result<(), FdbError> {
        let _guard = self.writer.lock();
        match self.insert_locked(mac.to_u64(), dest.into().encode(), now, true) {
            Learned::LimitReached => Err(FdbError::Full),
            _ => Ok(()),
        }
    }

    fn remove_where(&self, mut pred: impl FnMut(u64, Dest, u32) -> bool) -> usize {
        let _guard = self.writer.lock();
        let mut removed = 0;
        for slot in self.slots.iter() {
            let key = slot.key.load(Ordering::Acquire);
            if key & VALID == 0 {
                continue;
            }
            let dest = Dest::decode(slot.dest.load(Ordering::Relaxed));
            if pred(key, dest, slot.seen.load(Ordering::Relaxed)) {
                slot.key.store(TOMBSTONE, Ordering::Release);
                self.count.fetch_sub(1, Ordering::Relaxed);
                if key & STATIC != 0 {
                    self.statics.fetch_sub(1, Ordering::Relaxed);
                }
                removed += 1;
            }
        }
        removed
    }

    /// Removes learned entries idle for more than `aging` seconds. Returns how many.
    pub fn age(&self, now: u32, aging: u32) -> usize {
        // Nothing learned: nothing to age (and no slots to walk).
        if self.len() == self.statics() {
            return 0;
        }
        self.remove_where(|key, _, seen| key & STATIC == 0 && now.saturating_sub(seen) > aging)
    }

    /// Removes the learned entries (all of them, or those behind one port or remote VTEP).
    pub fn flush_learned(&self, dest: Option<Dest>) -> usize {
        self.remove_where(|key, d, _| key & STATIC == 0 && dest.is_none_or(|want| want == d))
    }

    /// Removes every entry pointing at `dest`, static ones included (the port left the network,
    /// the remote VTEP left the flood list).
    pub fn flush_dest(&self, dest: Dest) -> usize {
        self.remove_where(|_, d, _| d == dest)
    }

    /// Removes one entry; true when it existed.
    pub fn remove(&self, mac: MacAddr) -> bool {
        let mac = mac.to_u64();
        self.remove_where(|key, _, _| key & MAC_MASK == mac) > 0
    }

    /// Every entry (control plane).
    pub fn entries(&self) -> Vec<FdbEntry> {
        self.slots
            .iter()
            .filter_map(|slot| {
                let key = slot.key.load(Ordering::Acquire);
                (key & VALID != 0).then(|| FdbEntry {
                    mac: MacAddr::from_u64(key & MAC_MASK),
                    dest: Dest::decode(slot.dest.load(Ordering::Relaxed)),
                    is_static: key & STATIC != 0,
                    seen: slot.seen.load(Ordering::Relaxed),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn mac(n: u64) -> MacAddr {
        MacAddr::from_u64(0x0200_0000_0000 | n)
    }

    #[test]
    fn static_entries_are_counted_and_found_without_a_walk() {
        let t = FdbTable::new(16);
        let remote = Dest::Remote("203.0.113.2".parse().unwrap());
        t.add_static(mac(1), remote, 1).unwrap();
        t.learn(mac(2), 3, 1);
        assert_eq!((t.len(), t.statics()), (2, 1));
        assert_eq!(t.static_dest(mac(1)), Some(remote));
        assert_eq!(t.static_dest(mac(2)), None, "learned, not static");
        // A learned MAC made static, then removed.
        t.add_static(mac(2), Dest::Port(4), 1).unwrap();
        assert_eq!(t.statics(), 2);
        assert_eq!(t.age(1000, 300), 0, "static entries never age");
        assert!(t.remove(mac(1)));
        assert_eq!((t.len(), t.statics()), (1, 1));
    }

    #[test]
    fn macs_behind_remote_vteps_are_told_from_ports() {
        let t = FdbTable::new(16);
        let vtep = Dest::Remote(Ipv4Addr::new(198, 51, 100, 2));
        assert_eq!(t.learn_dest(mac(1), vtep, 1), Learned::Added);
        assert_eq!(t.learn(mac(2), u16::MAX, 1), Learned::Added);
        assert_eq!(t.lookup(mac(1)), Some(vtep));
        assert_eq!(t.port_of(mac(1)), None);
        assert_eq!(t.lookup(mac(2)), Some(Dest::Port(u16::MAX)));
        // Moving between a port and a remote VTEP is a move like any other.
        assert_eq!(t.learn(mac(1), 3, 2), Learned::Moved);
        assert_eq!(t.learn_dest(mac(1), vtep, 3), Learned::Moved);
        assert_eq!(t.flush_learned(Some(vtep)), 1);
        assert_eq!(t.lookup(mac(1)), None);
    }

    #[test]
    fn learns_refreshes_and_moves() {
        let t = FdbTable::new(16);
        assert_eq!(t.port_of(mac(1)), None);
        assert_eq!(t.learn(mac(1), 3, 10), Learned::Added);
        assert_eq!(t.learn(mac(1), 3, 11), Learned::Refreshed);
        assert_eq!(t.port_of(mac(1)), Some(3));
        assert_eq!(t.learn(mac(1), 4, 12), Learned::Moved);
        assert_eq!(t.port_of(mac(1)), Some(4));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn ages_out_idle_entries_but_not_static_ones() {
        let t = FdbTable::new(16);
        t.learn(mac(1), 1, 0);
        t.learn(mac(2), 1, 250);
        t.add_static(mac(3), 2, 0).unwrap();
        assert_eq!(t.age(301, 300), 1);
        assert_eq!(t.port_of(mac(1)), None);
        assert_eq!(t.port_of(mac(2)), Some(1));
        assert_eq!(t.port_of(mac(3)), Some(2));
    }

    #[test]
    fn static_entries_do_not_move() {
        let t = FdbTable::new(16);
        t.add_static(mac(9), 2, 0).unwrap();
        assert_eq!(t.learn(mac(9), 5, 1), Learned::StaticConflict);
        assert_eq!(t.port_of(mac(9)), Some(2));
        assert_eq!(t.flush_learned(None), 0);
        assert_eq!(t.flush_dest(Dest::Port(2)), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn limit_is_enforced_and_freed_slots_are_reused() {
        let t = FdbTable::new(4);
        for i in 0..4 {
            assert_eq!(t.learn(mac(i), 1, 0), Learned::Added);
        }
        assert_eq!(t.learn(mac(99), 1, 0), Learned::LimitReached);
        assert!(t.remove(mac(0)));
        assert_eq!(t.learn(mac(99), 1, 0), Learned::Added);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn learning_defers_while_the_writer_lock_is_held() {
        let t = FdbTable::new(4);
        let guard = t.writer.lock();
        assert_eq!(t.learn(mac(1), 1, 0), Learned::Deferred);
        drop(guard);
        assert_eq!(t.learn(mac(1), 1, 0), Learned::Added);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Learn(u8, u8, u8),
        Age(u8),
        FlushPort(u8),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..40, 0u8..4, 0u8..4).prop_map(|(m, p, dt)| Op::Learn(m, p, dt)),
            1 => (0u8..8).prop_map(Op::Age),
            1 => (0u8..4).prop_map(Op::FlushPort),
            1 => (0u8..40).prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// The table agrees with a HashMap model under any sequence of operations.
        #[test]
        fn agrees_with_a_naive_model(ops in proptest::collection::vec(op(), 1..200)) {
            let limit = 24u32;
            let t = FdbTable::new(limit);
            let mut model: HashMap<u8, (u16, u32)> = HashMap::new();
            let mut now = 0u32;
            for op in ops {
                match op {
                    Op::Learn(m, p, dt) => {
                        now += u32::from(dt);
                        let r = t.learn(mac(m.into()), p.into(), now);
                        if model.contains_key(&m) || (model.len() as u32) < limit {
                            model.insert(m, (p.into(), now));
                            prop_assert_ne!(r, Learned::LimitReached);
                        } else {
                            prop_assert_eq!(r, Learned::LimitReached);
                        }
                    }
                    Op::Age(a) => {
                        let aging = u32::from(a);
                        t.age(now, aging);
                        model.retain(|_, (_, seen)| now.saturating_sub(*seen) <= aging);
                    }
                    Op::FlushPort(p) => {
                        t.flush_dest(Dest::Port(p.into()));
                        model.retain(|_, (port, _)| *port != u16::from(p));
                    }
                    Op::Remove(m) => {
                        prop_assert_eq!(t.remove(mac(m.into())), model.remove(&m).is_some());
                    }
                }
                prop_assert_eq!(t.len(), model.len());
            }
            for m in 0u8..40 {
                prop_assert_eq!(t.port_of(mac(m.into())), model.get(&m).map(|(p, _)| *p));
            }
        }
    }
}
