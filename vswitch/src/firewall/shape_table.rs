//! One tuple-space group's table: the masked fields of its rules to the first rule that has
//! them, open addressing with linear probing over a power-of-two array at most half full.
//! A lookup's first slot is known from the hash alone, so a lookup can prefetch it for every
//! group before probing any (a large rule set's tables do not fit the cache; the misses then
//! overlap instead of adding up). Groups whose sides are networks or IPv4 prefixes keep
//! 16-byte entries (four to a cache line), IPv6 ones 48-byte entries.

use super::hash::{fold, halves};

/// Masked fields: what a group's table is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub from: u128,
    pub to: u128,
    pub proto: u8,
    pub l4: u16,
}

/// A key whose sides fit 32 bits (a network index or an IPv4 prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Narrow {
    from: u32,
    to: u32,
    l4: u16,
    proto: u8,
}

/// What a table can be keyed by.
trait TableKey: Copy + Eq {
    fn of(key: &Key) -> Self;
    fn hash(&self) -> u64;
}

impl TableKey for Key {
    #[inline]
    fn of(key: &Key) -> Self {
        *key
    }

    /// One fold of the fields (rules are the operator's, not a packet sender's, so one
    /// multiply spreads them enough), the destination turned to the other half.
    #[inline]
    fn hash(&self) -> u64 {
        let [from_hi, from_lo] = halves(self.from);
        let [to_hi, to_lo] = halves(self.to);
        let small = u64::from(self.proto) << 48 | u64::from(self.l4) << 32;
        fold(
            from_lo ^ to_lo.rotate_left(32),
            from_hi ^ to_hi.rotate_left(17) ^ small,
        )
    }
}

impl TableKey for Narrow {
    #[inline]
    fn of(key: &Key) -> Self {
        Narrow {
            from: key.from as u32,
            to: key.to as u32,
            l4: key.l4,
            proto: key.proto,
        }
    }

    #[inline]
    fn hash(&self) -> u64 {
        fold(
            u64::from(self.from) | u64::from(self.to) << 32,
            u64::from(self.l4) | u64::from(self.proto) << 16,
        )
    }
}

/// Marks an empty slot (whose key is then `NO_KEY`, never compared).
const NO_RULE: u32 = u32::MAX;

const NO_KEY: Key = Key {
    from: 0,
    to: 0,
    proto: 0,
    l4: 0,
};

#[derive(Debug, Clone, Copy)]
struct Entry<K> {
    key: K,
    rule: u32,
}

#[derive(Debug)]
struct Slots<K>(Box<[Entry<K>]>);

impl<K: TableKey> Slots<K> {
    fn new(entries: &[(Key, u32)]) -> Slots<K> {
        let n = (entries.len() * 2).next_power_of_two().max(2);
        let empty = Entry {
            key: K::of(&NO_KEY),
            rule: NO_RULE,
        };
        let mut slots = crate::sys::mem::huge_page_vec(n);
        slots.resize(n, empty);
        let mut t = Slots(slots.into_boxed_slice());
        for (key, rule) in entries {
            let key = K::of(key);
            let mut i = t.home(&key);
            while t.0[i].rule != NO_RULE {
                i = (i + 1) & (n - 1);
            }
            t.0[i] = Entry { key, rule: *rule };
        }
        t
    }

    #[inline]
    fn home(&self, key: &K) -> usize {
        key.hash() as usize & (self.0.len() - 1)
    }

    #[inline]
    fn prefetch(&self, i: usize) {
        crate::sys::cpu::prefetch(&self.0[i]);
    }

    #[inline]
    fn get(&self, mut i: usize, key: &K) -> Option<u32> {
        let mask = self.0.len() - 1;
        loop {
            let e = &self.0[i];
            if e.rule == NO_RULE {
                return None;
            }
            if e.key == *key {
                return Some(e.rule);
            }
            i = (i + 1) & mask;
        }
    }
}

#[derive(Debug)]
pub struct ShapeTable(Width);

#[derive(Debug)]
enum Width {
    Narrow(Slots<Narrow>),
    Wide(Slots<Key>),
}

impl ShapeTable {
    /// The table of `entries` (each key once, with its rule); `narrow` when every key's sides
    /// fit 32 bits.
    pub fn new(entries: &[(Key, u32)], narrow: bool) -> ShapeTable {
        ShapeTable(if narrow {
            Width::Narrow(Slots::new(entries))
        } else {
            Width::Wide(Slots::new(entries))
        })
    }

    /// The slot `key` is looked for from.
    #[inline]
    pub fn home(&self, key: &Key) -> usize {
        match &self.0 {
            Width::Narrow(t) => t.home(&Narrow::of(key)),
            Width::Wide(t) => t.home(key),
        }
    }

    /// The memory the table takes.
    pub fn bytes(&self) -> usize {
        match &self.0 {
            Width::Narrow(t) => std::mem::size_of_val(&*t.0),
            Width::Wide(t) => std::mem::size_of_val(&*t.0),
        }
    }

    /// Starts loading slot `i`.
    #[inline]
    pub fn prefetch(&self, i: usize) {
        match &self.0 {
            Width::Narrow(t) => t.prefetch(i),
            Width::Wide(t) => t.prefetch(i),
        }
    }

    /// The rule of `key`, looked for from its home slot `i`.
    #[inline]
    pub fn get(&self, i: usize, key: &Key) -> Option<u32> {
        match &self.0 {
            Width::Narrow(t) => t.get(i, &Narrow::of(key)),
            Width::Wide(t) => t.get(i, key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(n: u32, wide: bool) -> Key {
        let high = if wide { 0x2001_0db8_u128 << 96 } else { 0 };
        Key {
            from: high | u128::from(n % 7),
            to: high | u128::from(n / 7),
            proto: 6,
            l4: (n % 3) as u16,
        }
    }

    proptest! {
        /// The table answers like the map it was built from, for keys in it and not.
        #[test]
        fn agrees_with_a_map(
            keys in proptest::collection::hash_set(0u32..500, 0..200),
            probes in proptest::collection::vec(0u32..600, 1..100),
            wide in any::<bool>(),
        ) {
            let map: std::collections::HashMap<Key, u32> =
                keys.iter().map(|&n| (key(n, wide), n)).collect();
            let entries: Vec<(Key, u32)> = map.iter().map(|(k, r)| (*k, *r)).collect();
            let t = ShapeTable::new(&entries, !wide);
            for n in probes {
                let k = key(n, wide);
                prop_assert_eq!(t.get(t.home(&k), &k), map.get(&k).copied());
            }
        }
    }

    #[test]
    fn narrow_entries_take_a_quarter_line() {
        assert_eq!(std::mem::size_of::<Entry<Narrow>>(), 16);
    }
}
