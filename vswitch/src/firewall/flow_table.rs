//! One shard's connections: open addressing with linear probing over a power-of-two array of
//! slots, key and connection side by side. A lookup reads one slot (one run of cache lines,
//! not a control group and then a bucket), and a burst can prefetch the slot of each of its
//! packets before looking any of them up. Housekeeping grows a table past three eighths full;
//! an insert grows it only past three quarters (a burst of new connections within a second).

use super::conntrack::{Conn, ConnKey};

/// Empty, or a key and its connection, on whole cache lines: a packet touches only the first
/// two (see `Conn`), which a burst prefetches. The primitive representation puts the tag in the
/// first byte, beside the key: telling a used slot from an empty one reads no other line (an
/// `Option` would keep its tag in whatever field of the connection has a niche).
#[derive(Debug)]
#[repr(u8, align(64))]
enum Slot {
    Empty,
    Used(ConnKey, Conn),
}

impl Slot {
    fn take(&mut self) -> Slot {
        std::mem::replace(self, Slot::Empty)
    }

    fn is_used(&self) -> bool {
        matches!(self, Slot::Used(..))
    }
}

/// The cache lines of a slot every packet of the connection reads.
pub const HOT_LINES: usize = 2;

/// The slots a burst prefetches for a lookup: the key's home slot and the next (see
/// `grow_ahead` for how often a connection lies further).
pub const PROBED_SLOTS: usize = 2;

/// Bytes from one slot to the next.
pub const SLOT_BYTES: usize = std::mem::size_of::<Slot>();

/// Slots per shard to begin with; the table doubles when three quarters are used.
const INITIAL_SLOTS: usize = 16;

/// `n` empty slots, on transparent huge pages where the table is large enough: a lookup into
/// a table of a million connections then misses the cache, not also the TLB.
fn empty_slots(n: usize) -> Box<[Slot]> {
    let mut slots = crate::sys::mem::huge_page_vec(n);
    slots.resize_with(n, || Slot::Empty);
    slots.into_boxed_slice()
}

#[derive(Debug)]
pub struct FlowTable {
    slots: Box<[Slot]>,
    len: usize,
}

impl Default for FlowTable {
    fn default() -> Self {
        FlowTable::with_slots(INITIAL_SLOTS)
    }
}

impl FlowTable {
    fn with_slots(n: usize) -> FlowTable {
        FlowTable {
            slots: empty_slots(n.next_power_of_two()),
            len: 0,
        }
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the slots are, and the mask of a hash to a slot index: slot `h & mask` is at
    /// `base + (h & mask) * SLOT_BYTES` (for prefetching without the shard's lock).
    pub fn placement(&self) -> (usize, usize) {
        (self.slots.as_ptr() as usize, self.mask())
    }

    #[inline]
    fn find(&self, hash: u64, key: &ConnKey) -> Option<usize> {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            match &self.slots[i] {
                Slot::Empty => return None,
                Slot::Used(k, _) if k == key => return Some(i),
                Slot::Used(..) => i = (i + 1) & mask,
            }
        }
    }

    #[inline]
    pub fn get_mut(&mut self, hash: u64, key: &ConnKey) -> Option<&mut Conn> {
        let i = self.find(hash, key)?;
        match &mut self.slots[i] {
            Slot::Used(_, c) => Some(c),
            Slot::Empty => None,
        }
    }

    /// Adds (or replaces) the connection of `key`; true when it was new.
    pub fn insert(&mut self, hash: u64, key: ConnKey, conn: Conn) -> bool {
        if let Some(i) = self.find(hash, &key) {
            self.slots[i] = Slot::Used(key, conn);
            return false;
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.mask();
        let mut i = hash as usize & mask;
        while self.slots[i].is_used() {
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot::Used(key, conn);
        self.len += 1;
        true
    }

    /// Removes the connection of `key`, closing the gap by moving later entries of the probe
    /// run back (no tombstones, so lookups never walk over dead slots).
    pub fn remove(&mut self, hash: u64, key: &ConnKey) -> Option<Conn> {
        let mask = self.mask();
        let mut hole = self.find(hash, key)?;
        let Slot::Used(_, conn) = self.slots[hole].take() else {
            return None;
        };
        self.len -= 1;
        let mut i = (hole + 1) & mask;
        while let Slot::Used(k, _) = &self.slots[i] {
            let home = k.digest() as usize & mask;
            // The entry may fill the hole when its home is not cyclically in (hole, i].
            let stays = if hole <= i {
                hole < home && home <= i
            } else {
                hole < home || home <= i
            };
            if !stays {
                self.slots[hole] = self.slots[i].take();
                hole = i;
            }
            i = (i + 1) & mask;
        }
        Some(conn)
    }

    /// Doubles the table when it is over three eighths full, so that inserts seldom have to,
    /// and a lookup seldom probes past the two slots a burst prefetches (at a quarter full one
    /// connection in eight sits past its home slot, one in thirty past the next; at half full,
    /// one in four and one in ten: each such probe into a large table is a wait on memory).
    pub fn grow_ahead(&mut self) {
        if self.len * 8 > self.slots.len() * 3 {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, FlowTable::with_slots(self.slots.len() * 2));
        for slot in old.slots.into_vec() {
            if let Slot::Used(k, c) = slot {
                self.insert(k.digest(), k, c);
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ConnKey, &Conn)> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Used(k, c) => Some((k, c)),
            Slot::Empty => None,
        })
    }

    /// Slots in the table, used or not.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Calls `f` on the connections in slots `from..from + n` (up to the table's end); returns
    /// the slot after them.
    pub fn visit(&self, from: usize, n: usize, mut f: impl FnMut(&ConnKey, &Conn)) -> usize {
        let end = from.saturating_add(n).min(self.slots.len());
        for slot in self.slots.get(from..end).unwrap_or_default() {
            if let Slot::Used(k, c) = slot {
                f(k, c);
            }
        }
        end.max(from)
    }

    /// Removes and returns the connections `f` picks.
    pub fn extract(&mut self, mut f: impl FnMut(&ConnKey, &Conn) -> bool) -> Vec<(ConnKey, Conn)> {
        let keys: Vec<ConnKey> = self
            .iter()
            .filter(|(k, c)| f(k, c))
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| self.remove(k.digest(), &k).map(|c| (k, c)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::conntrack::Endpoint;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn key(n: u16) -> ConnKey {
        let a = Endpoint::new("198.51.100.10".parse().unwrap(), n);
        let b = Endpoint::new("203.0.113.20".parse().unwrap(), 80);
        ConnKey::new(0, 6, a, b)
    }

    fn conn(mark: u32) -> Conn {
        crate::firewall::conntrack::tests::conn(
            Endpoint::new("198.51.100.10".parse().unwrap(), 1),
            Endpoint::new("203.0.113.20".parse().unwrap(), 80),
            mark,
        )
    }

    #[test]
    fn housekeeping_grows_a_table_past_half_full_and_keeps_every_entry() {
        let mut t = FlowTable::default();
        for n in 0..9 {
            assert!(t.insert(key(n).digest(), key(n), conn(u32::from(n))));
        }
        assert_eq!(
            t.slots.len(),
            INITIAL_SLOTS,
            "an insert grows only past 3/4"
        );
        t.grow_ahead();
        assert_eq!(t.slots.len(), 2 * INITIAL_SLOTS);
        t.grow_ahead();
        assert_eq!(
            t.slots.len(),
            2 * INITIAL_SLOTS,
            "a quarter full: left alone"
        );
        for n in 0..9 {
            assert_eq!(
                t.get_mut(key(n).digest(), &key(n)).map(|c| c.created),
                Some(u32::from(n))
            );
        }
    }

    #[test]
    fn a_packet_reads_the_first_two_lines_of_a_slot() {
        use std::mem::{offset_of, size_of};
        assert_eq!(size_of::<Slot>(), 192, "three cache lines");
        // A used slot as its primitive representation lays it out: the tag, then the fields.
        #[repr(C)]
        struct Used(u8, ConnKey, Conn);
        let conn = offset_of!(Used, 2);
        assert_eq!(offset_of!(Used, 1), 8, "the key on the first line");
        // The last fields a packet touches end inside the second line.
        assert!(conn + offset_of!(Conn, generation) + 4 <= HOT_LINES * 64);
        assert!(conn + offset_of!(Conn, orig) < HOT_LINES * 64);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Get(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct keys, so that probe runs collide, wrap and get holes punched in them.
        prop_oneof![
            (0u16..300, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            (0u16..300).prop_map(Op::Remove),
            (0u16..300).prop_map(Op::Get),
        ]
    }

    proptest! {
        /// The table agrees with a HashMap under any mix of inserts, removals and lookups,
        /// across growth and backward-shift deletion.
        #[test]
        fn agrees_with_a_map(ops in proptest::collection::vec(op(), 1..600)) {
            let mut t = FlowTable::default();
            let mut model: HashMap<u16, u32> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let new = t.insert(key(k).digest(), key(k), conn(v));
                        prop_assert_eq!(new, model.insert(k, v).is_none());
                    }
                    Op::Remove(k) => {
                        let got = t.remove(key(k).digest(), &key(k)).map(|c| c.created);
                        prop_assert_eq!(got, model.remove(&k));
                    }
                    Op::Get(k) => {
                        let got = t.get_mut(key(k).digest(), &key(k)).map(|c| c.created);
                        prop_assert_eq!(got, model.get(&k).copied());
                    }
                }
                prop_assert_eq!(t.len(), model.len());
            }
            for (k, v) in &model {
                prop_assert_eq!(t.get_mut(key(*k).digest(), &key(*k)).map(|c| c.created), Some(*v));
            }
        }
    }

    #[test]
    fn extract_takes_what_it_picks() {
        let mut t = FlowTable::default();
        for k in 0..200 {
            t.insert(key(k).digest(), key(k), conn(u32::from(k)));
        }
        let odd = t.extract(|_, c| c.created % 2 == 1);
        assert_eq!((odd.len(), t.len()), (100, 100));
        assert!(t.iter().all(|(_, c)| c.created % 2 == 0));
        for k in (0..200).step_by(2) {
            assert!(t.get_mut(key(k).digest(), &key(k)).is_some());
        }
    }
}
