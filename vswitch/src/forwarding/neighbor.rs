//! A VRF's neighbor table: IP → (MAC, network) of the endpoints and next hops the gateway has
//! heard from (ARP, neighbor discovery, IP traffic), aged by housekeeping.
//!
//! Open addressing over a fixed array. An IPv6 key does not fit one atomic word, so each slot is
//! a sequence lock: readers retry when a writer changed the slot under them and never block;
//! writers (new neighbors, moves, aging: rare) take a mutex, which a worker only ever tries.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::packet::MacAddr;
use crate::pipeline::snapshot::NetIdx;

/// Neighbors one VRF holds at most.
pub const DEFAULT_NEIGHBOR_LIMIT: u32 = 16_384;
/// Seconds a neighbor lives without being heard from.
pub const NEIGHBOR_AGING_SECS: u32 = 300;

const EMPTY: u64 = 0;
const TOMBSTONE: u64 = u64::MAX;
const MAC_MASK: u64 = (1 << 48) - 1;
/// Slots probed from a key's home slot before giving up.
const MAX_PROBE: usize = 16;
/// The `seen` of a static neighbor: never older than any aging time.
pub const STATIC_SEEN: u32 = u32::MAX;
/// Reads retried while writers keep changing a slot, before reporting a miss.
const READ_RETRIES: usize = 4;

#[derive(Debug, Default)]
struct Slot {
    /// Odd while a writer changes the slot.
    seq: AtomicU32,
    seen: AtomicU32,
    hi: AtomicU64,
    lo: AtomicU64,
    /// MAC | network << 48; `EMPTY` never used, `TOMBSTONE` removed.
    value: AtomicU64,
}

/// A resolved neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbor {
    pub mac: MacAddr,
    pub net: NetIdx,
}

/// One entry, for listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborEntry {
    pub ip: IpAddr,
    pub mac: MacAddr,
    pub net: NetIdx,
    pub seen: u32,
}

/// What learning a neighbor did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    Refreshed,
    Added,
    /// Known with another MAC or network; now updated.
    Moved,
    /// The writer lock was busy; the next packet will do.
    Deferred,
    /// The table is full.
    Full,
}

/// The 128-bit key of an address: IPv4 as its IPv4-mapped IPv6 form.
#[inline]
fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn ip_of(key: u128) -> IpAddr {
    let v6 = std::net::Ipv6Addr::from(key);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

#[inline]
fn home(key: u128, mask: usize) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

#[inline]
fn pack(n: Neighbor) -> u64 {
    n.mac.to_u64() | u64::from(n.net) << 48
}

#[inline]
fn unpack(value: u64) -> Neighbor {
    Neighbor {
        mac: MacAddr::from_u64(value & MAC_MASK),
        net: (value >> 48) as NetIdx,
    }
}

impl Slot {
    /// The slot's key and value as one consistent read; `None` while a writer keeps it busy.
    #[inline]
    fn read(&self) -> Option<(u128, u64)> {
        for _ in 0..READ_RETRIES {
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let hi = self.hi.load(Ordering::Relaxed);
            let lo = self.lo.load(Ordering::Relaxed);
            let value = self.value.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return Some((u128::from(hi) << 64 | u128::from(lo), value));
            }
        }
        None
    }

    /// Rewrites the slot (writer lock held).
    fn write(&self, key: u128, value: u64, now: u32) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.hi.store((key >> 64) as u64, Ordering::Relaxed);
        self.lo.store(key as u64, Ordering::Relaxed);
        self.value.store(value, Ordering::Relaxed);
        self.seen.store(now, Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }
}

#[derive(Debug)]
pub struct NeighborTable {
    slots: Box<[Slot]>,
    mask: usize,
    limit: u32,
    count: AtomicU32,
    writer: Mutex<()>,
}

impl NeighborTable {
    pub fn new(limit: u32) -> Self {
        let limit = limit.max(1);
        let slots = (limit as usize * 2).next_power_of_two().max(64);
        NeighborTable {
            slots: (0..slots).map(|_| Slot::default()).collect(),
            mask: slots - 1,
            limit,
            count: AtomicU32::new(0),
            writer: Mutex::new(()),
        }
    }

    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot holding `key`, with its value. Lock-free.
    #[inline]
    fn find(&self, key: u128) -> Option<(&Slot, u64)> {
        let mut i = home(key, self.mask);
        for _ in 0..MAX_PROBE {
            let slot = &self.slots[i];
            let (k, value) = slot.read()?;
            if value == EMPTY {
                return None;
            }
            if value != TOMBSTONE && k == key {
                return Some((slot, value));
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Where `ip` is. Lock-free.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> Option<Neighbor> {
        self.find(key(ip)).map(|(_, value)| unpack(value))
    }

    /// Where `ip` is, noting that it is in use at `now` (a relaxed store, once a second), so
    /// that a neighbor traffic goes to does not age out.
    #[inline(always)]
    pub fn lookup_in_use(&self, ip: IpAddr, now: u32) -> Option<Neighbor> {
        let (slot, value) = self.find(key(ip))?;
        let seen = slot.seen.load(Ordering::Relaxed);
        if seen != now && seen != STATIC_SEEN {
            slot.seen.store(now, Ordering::Relaxed);
        }
        Some(unpack(value))
    }

    /// Pins `ip` to `n` (a static neighbor): it never ages and traffic does not move it.
    pub fn add_static(&self, ip: IpAddr, n: Neighbor) -> Learned {
        let _guard = self.writer.lock();
        self.insert_locked(key(ip), pack(n), STATIC_SEEN)
    }

    /// Removes the static neighbors not in `keep` (their table is rebuilt from the model).
    pub fn retain_static(&self, keep: &[IpAddr]) {
        self.remove_where(|e| e.seen == STATIC_SEEN && !keep.contains(&e.ip));
    }

    /// Records that `ip` is `n` at time `now` (seconds).
    #[inline]
    pub fn learn(&self, ip: IpAddr, n: Neighbor, now: u32) -> Learned {
        let key = key(ip);
        if let Some((slot, value)) = self.find(key) {
            if slot.seen.load(Ordering::Relaxed) == STATIC_SEEN {
                return Learned::Refreshed;
            }
            if value == pack(n) {
                if slot.seen.load(Ordering::Relaxed) != now {
                    slot.seen.store(now, Ordering::Relaxed);
                }
                return Learned::Refreshed;
            }
        }
        let Some(_guard) = self.writer.try_lock() else {
            return Learned::Deferred;
        };
        self.insert_locked(key, pack(n), now)
    }

    fn insert_locked(&self, key: u128, value: u64, now: u32) -> Learned {
        let mut free = None;
        let mut i = home(key, self.mask);
        for _ in 0..MAX_PROBE {
            let slot = &self.slots[i];
            let k = u128::from(slot.hi.load(Ordering::Relaxed)) << 64
                | u128::from(slot.lo.load(Ordering::Relaxed));
            let v = slot.value.load(Ordering::Relaxed);
            if v != EMPTY && v != TOMBSTONE && k == key {
                slot.write(key, value, now);
                return Learned::Moved;
            }
            if (v == EMPTY || v == TOMBSTONE) && free.is_none() {
                free = Some(slot);
            }
            if v == EMPTY {
                break;
            }
            i = (i + 1) & self.mask;
        }
        match free {
            Some(slot) if self.count.load(Ordering::Relaxed) < self.limit => {
                slot.write(key, value, now);
                self.count.fetch_add(1, Ordering::Relaxed);
                Learned::Added
            }
            _ => Learned::Full,
        }
    }

    fn remove_where(&self, mut pred: impl FnMut(&NeighborEntry) -> bool) -> usize {
        let _guard = self.writer.lock();
        let mut removed = 0;
        for slot in self.slots.iter() {
            let Some(e) = Self::entry(slot) else { continue };
            if pred(&e) {
                slot.write(0, TOMBSTONE, 0);
                self.count.fetch_sub(1, Ordering::Relaxed);
                removed += 1;
            }
        }
        removed
    }

    fn entry(slot: &Slot) -> Option<NeighborEntry> {
        let (k, value) = slot.read()?;
        (value != EMPTY && value != TOMBSTONE).then(|| {
            let n = unpack(value);
            NeighborEntry {
                ip: ip_of(k),
                mac: n.mac,
                net: n.net,
                seen: slot.seen.load(Ordering::Relaxed),
            }
        })
    }

    /// Removes neighbors not heard from for more than `aging` seconds. Returns how many.
    pub fn age(&self, now: u32, aging: u32) -> usize {
        self.remove_where(|e| now.saturating_sub(e.seen) > aging)
    }

    /// Removes every neighbor (all, or those of one network).
    pub fn flush(&self, net: Option<NetIdx>) -> usize {
        self.remove_where(|e| net.is_none_or(|n| n == e.net))
    }

    /// Every neighbor (control plane).
    pub fn entries(&self) -> Vec<NeighborEntry> {
        self.slots.iter().filter_map(Self::entry).collect()
    }
}

/// The neighbor tables that outlive snapshots, one per VRF name.
#[derive(Debug, Default)]
pub struct NeighborTables {
    tables: HashMap<String, Arc<NeighborTable>>,
}

impl NeighborTables {
    pub fn get(&self, vrf: &str) -> Option<&Arc<NeighborTable>> {
        self.tables.get(vrf)
    }

    /// Tables for exactly these VRFs: kept (with their neighbors), created or dropped.
    pub fn sync(&mut self, vrfs: &[String]) {
        self.tables.retain(|name, _| vrfs.contains(name));
        for name in vrfs {
            self.tables
                .entry(name.clone())
                .or_insert_with(|| Arc::new(NeighborTable::new(DEFAULT_NEIGHBOR_LIMIT)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(mac: u64, net: NetIdx) -> Neighbor {
        Neighbor {
            mac: MacAddr::from_u64(0x0200_0000_0000 | mac),
            net,
        }
    }

    fn v4(last: u8) -> IpAddr {
        IpAddr::from([198, 51, 100, last])
    }

    #[test]
    fn learns_moves_ages_and_keeps_families_apart() {
        let t = NeighborTable::new(8);
        assert_eq!(t.lookup(v4(1)), None);
        assert_eq!(t.learn(v4(1), n(1, 0), 10), Learned::Added);
        assert_eq!(t.learn(v4(1), n(1, 0), 11), Learned::Refreshed);
        assert_eq!(t.learn(v4(1), n(2, 3), 12), Learned::Moved);
        assert_eq!(t.lookup(v4(1)), Some(n(2, 3)));
        // ::c633:6401 is not 198.51.100.1 (the mapped form is ::ffff:c633:6401).
        let v6: IpAddr = "::c633:6401".parse().unwrap();
        assert_eq!(t.lookup(v6), None);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(t.learn(v6, n(9, 1), 12), Learned::Added);
        assert_eq!(t.len(), 2);
        let mut e = t.entries();
        e.sort_by_key(|e| e.ip);
        assert_eq!(e[0].ip, v4(1));
        assert_eq!(e[1].ip, v6);
        assert_eq!(t.age(400, 300), 2);
        assert!(t.is_empty());
        assert_eq!(t.lookup(v6), None);
    }

    #[test]
    fn full_table_refuses_new_neighbors_but_updates_known_ones() {
        let t = NeighborTable::new(2);
        assert_eq!(t.learn(v4(1), n(1, 0), 1), Learned::Added);
        assert_eq!(t.learn(v4(2), n(2, 0), 1), Learned::Added);
        assert_eq!(t.learn(v4(3), n(3, 0), 1), Learned::Full);
        assert_eq!(t.learn(v4(2), n(4, 0), 1), Learned::Moved);
        assert_eq!(t.flush(Some(0)), 2);
        assert_eq!(t.learn(v4(3), n(3, 0), 1), Learned::Added);
    }

    proptest! {
        #[test]
        fn agrees_with_a_map(ops in proptest::collection::vec((0u8..40, 0u64..4, any::<bool>()), 0..200)) {
            let t = NeighborTable::new(64);
            let mut model = HashMap::new();
            for (ip, mac, remove) in ops {
                if remove {
                    let gone = t.remove_where(|e| e.ip == v4(ip));
                    prop_assert_eq!(gone, usize::from(model.remove(&ip).is_some()));
                } else {
                    let r = t.learn(v4(ip), n(mac, 1), 1);
                    prop_assert_ne!(r, Learned::Full);
                    model.insert(ip, n(mac, 1));
                }
            }
            for ip in 0..40 {
                prop_assert_eq!(t.lookup(v4(ip)), model.get(&ip).copied());
            }
            prop_assert_eq!(t.len(), model.len());
        }
    }
}
