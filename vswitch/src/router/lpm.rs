//! Longest-prefix match tables.
//!
//! - [`Lpm4`], IPv4: a multibit trie with strides 16-8-8 (the DIR-24-8 idea with a smaller first
//!   level): one to three dependent loads per lookup whatever the number of routes, built by
//!   prefix expansion at publish time.
//! - [`Lpm`], IPv6: one hash map per prefix length in use, probed from the longest; a VRF holds
//!   few distinct lengths (its subnets, host routes, a default).

use std::net::IpAddr;

use hashbrown::HashMap;

use crate::packet::prefix::{mask, Prefix};

/// A trie entry: empty (0), a leaf (value index + 1 in the low 24 bits, prefix length in bits
/// 24-29), or a pointer to a 256-entry chunk of the next level.
const CHUNK: u32 = 1 << 31;
const VALUE_MASK: u32 = (1 << 24) - 1;

fn leaf(value: usize, len: u8) -> u32 {
    (value as u32 + 1) | u32::from(len) << 24
}

fn leaf_len(e: u32) -> u8 {
    (e >> 24) as u8 & 0x3f
}

/// IPv4 longest-prefix match: a 65536-entry first level (the top 16 bits), then 256-entry
/// chunks for bits 16-23 and 24-31 where longer prefixes need them.
#[derive(Debug, Clone)]
pub struct Lpm4<V> {
    top: Box<[u32]>,
    chunks: Vec<[u32; 256]>,
    /// The distinct values, each stored once: a table of a million routes to a few next hops
    /// keeps this in cache, and a lookup's only possible miss is its trie chunk.
    values: Vec<V>,
    value_index: HashMap<V, usize>,
    /// The prefixes inserted.
    prefixes: hashbrown::HashSet<(u32, u8)>,
}

impl<V: Copy + Eq + std::hash::Hash> Default for Lpm4<V> {
    fn default() -> Self {
        Lpm4 {
            top: vec![0; 1 << 16].into_boxed_slice(),
            chunks: Vec::new(),
            values: Vec::new(),
            value_index: HashMap::new(),
            prefixes: hashbrown::HashSet::new(),
        }
    }
}

impl<V: Copy + Eq + std::hash::Hash> Lpm4<V> {
    /// Adds or replaces an IPv4 `prefix`. At most 2^24 distinct values; more are ignored.
    pub fn insert(&mut self, prefix: Prefix, value: V) {
        let IpAddr::V4(addr) = prefix.addr() else {
            return;
        };
        let (addr, len) = (u32::from(addr), prefix.prefix_len());
        let index = match self.value_index.get(&value) {
            Some(&i) => i,
            None if self.values.len() < VALUE_MASK as usize => {
                self.values.push(value);
                self.value_index.insert(value, self.values.len() - 1);
                self.values.len() - 1
            }
            None => return,
        };
        // Replacing a prefix's value rewrites its slots: a slot holding a leaf of the same
        // length inside the prefix's range can only be the prefix itself.
        self.prefixes.insert((addr, len));
        let e = leaf(index, len);
        if len <= 16 {
            let first = (addr >> 16) as usize;
            let span = 1usize << (16 - len);
            for i in first..first + span {
                self.top[i] = self.expand(self.top[i], e);
            }
            return;
        }
        let c1 = self.chunk_at(None, (addr >> 16) as usize);
        if len <= 24 {
            let first = (addr >> 8 & 0xff) as usize;
            for i in first..first + (1usize << (24 - len)) {
                self.chunks[c1][i] = self.expand(self.chunks[c1][i], e);
            }
            return;
        }
        let c2 = self.chunk_at(Some(c1), (addr >> 8 & 0xff) as usize);
        let first = (addr & 0xff) as usize;
        for i in first..first + (1usize << (32 - len)) {
            self.chunks[c2][i] = self.expand(self.chunks[c2][i], e);
        }
    }

    /// What slot `old` becomes with leaf `new` expanded over it: a longer (or equal) prefix
    /// already there stays; a chunk gets the leaf in every slot it covers the same way.
    fn expand(&mut self, old: u32, new: u32) -> u32 {
        if old & CHUNK != 0 {
            let c = (old & !CHUNK) as usize;
            for i in 0..256 {
                self.chunks[c][i] = self.expand(self.chunks[c][i], new);
            }
            return old;
        }
        if old == 0 || leaf_len(old) <= leaf_len(new) {
            new
        } else {
            old
        }
    }

    /// The chunk below slot `slot` of the top level (`parent` None) or of chunk `parent`,
    /// created (filled with the slot's leaf) when the slot is a leaf.
    fn chunk_at(&mut self, parent: Option<usize>, slot: usize) -> usize {
        let e = match parent {
            None => self.top[slot],
            Some(p) => self.chunks[p][slot],
        };
        if e & CHUNK != 0 {
            return (e & !CHUNK) as usize;
        }
        self.chunks.push([e; 256]);
        let c = self.chunks.len() - 1;
        let pointer = CHUNK | c as u32;
        match parent {
            None => self.top[slot] = pointer,
            Some(p) => self.chunks[p][slot] = pointer,
        }
        c
    }

    /// Moves the chunks to memory backed by huge pages when the table is large (call once the
    /// routes are in): lookups into a table of a million routes otherwise miss the TLB too.
    pub fn finish(&mut self) {
        const HUGE_MIN_CHUNKS: usize = 1024;
        if self.chunks.len() < HUGE_MIN_CHUNKS {
            return;
        }
        let mut moved = crate::sys::mem::huge_page_vec(self.chunks.len());
        moved.extend_from_slice(&self.chunks);
        self.chunks = moved;
    }

    /// The value of the longest prefix holding `addr`.
    #[inline]
    pub fn lookup(&self, addr: u32) -> Option<V> {
        let mut e = self.top[(addr >> 16) as usize];
        if e & CHUNK != 0 {
            e = self.chunks[(e & !CHUNK) as usize][(addr >> 8 & 0xff) as usize];
            if e & CHUNK != 0 {
                e = self.chunks[(e & !CHUNK) as usize][(addr & 0xff) as usize];
            }
        }
        match e & VALUE_MASK {
            0 => None,
            i => self.values.get(i as usize - 1).copied(),
        }
    }

    /// Whether a burst's lookups are worth prefetching: the trie no longer fits the L1 cache.
    #[inline]
    pub fn worth_prefetching(&self) -> bool {
        self.chunks.len() > 64
    }

    /// Starts loading the top-level slot of `addr` (step one of a burst's lookups).
    #[inline]
    pub fn prefetch_top(&self, addr: u32) {
        crate::sys::cpu::prefetch(&self.top[(addr >> 16) as usize]);
    }

    /// Starts loading the chunk slot below the top-level slot of `addr` (step two, once the
    /// top-level slot has arrived).
    #[inline]
    pub fn prefetch_chunk(&self, addr: u32) {
        let e = self.top[(addr >> 16) as usize];
        if e & CHUNK != 0 {
            if let Some(chunk) = self.chunks.get((e & !CHUNK) as usize) {
                crate::sys::cpu::prefetch(&chunk[(addr >> 8 & 0xff) as usize]);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct Lpm<V> {
    width: u8,
    /// (length, masked address bits → value), longest length first.
    levels: Vec<(u8, HashMap<u128, V>)>,
}

impl<V: Copy> Lpm<V> {
    /// An empty table for 32-bit (IPv4) or 128-bit (IPv6) addresses.
    pub fn new(width: u8) -> Self {
        Lpm {
            width,
            levels: Vec::new(),
        }
    }

    /// Adds or replaces `prefix` (of this table's family).
    pub fn insert(&mut self, prefix: Prefix, value: V) {
        let key = crate::packet::prefix::bits(prefix.addr());
        let pos = match self
            .levels
            .binary_search_by(|(l, _)| prefix.prefix_len().cmp(l))
        {
            Ok(i) => i,
            Err(i) => {
                self.levels.insert(i, (prefix.prefix_len(), HashMap::new()));
                i
            }
        };
        self.levels[pos].1.insert(key, value);
    }

    /// The value of the longest prefix holding `addr` (its bits, right-aligned).
    #[inline]
    pub fn lookup(&self, addr: u128) -> Option<V> {
        self.levels
            .iter()
            .find_map(|(len, map)| map.get(&(addr & mask(self.width, *len))).copied())
    }

    pub fn len(&self) -> usize {
        self.levels.iter().map(|(_, m)| m.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::prefix::bits;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> u128 {
        bits(s.parse().unwrap())
    }

    #[test]
    fn trie_longest_prefix_wins_in_any_order() {
        let routes = [
            ("198.51.100.7/32", 32),
            ("198.51.100.0/24", 24),
            ("0.0.0.0/0", 0),
            ("198.51.100.0/28", 28),
            ("198.51.0.0/16", 16),
        ];
        for rotate in 0..routes.len() {
            let mut t = Lpm4::default();
            for (p, v) in routes.iter().cycle().skip(rotate).take(routes.len()) {
                t.insert(p.parse().unwrap(), *v);
            }
            let at = |s: &str| t.lookup(ip(s) as u32);
            assert_eq!(at("198.51.100.7"), Some(32));
            assert_eq!(at("198.51.100.8"), Some(28));
            assert_eq!(at("198.51.100.200"), Some(24));
            assert_eq!(at("198.51.7.1"), Some(16));
            assert_eq!(at("203.0.113.1"), Some(0));
            assert_eq!(t.len(), 5);
        }
        let mut t = Lpm4::default();
        t.insert("203.0.113.0/24".parse().unwrap(), 1);
        assert_eq!(t.lookup(ip("203.0.112.255") as u32), None);
        t.insert("203.0.113.0/24".parse().unwrap(), 2);
        assert_eq!(t.lookup(ip("203.0.113.1") as u32), Some(2));
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = Lpm::new(32);
        t.insert("0.0.0.0/0".parse().unwrap(), 0);
        t.insert("198.51.0.0/16".parse().unwrap(), 16);
        t.insert("198.51.100.0/24".parse().unwrap(), 24);
        t.insert("198.51.100.7/32".parse().unwrap(), 32);
        assert_eq!(t.lookup(ip("198.51.100.7")), Some(32));
        assert_eq!(t.lookup(ip("198.51.100.8")), Some(24));
        assert_eq!(t.lookup(ip("198.51.7.1")), Some(16));
        assert_eq!(t.lookup(ip("203.0.113.1")), Some(0));
        assert_eq!(t.len(), 4);
        let mut v6 = Lpm::new(128);
        v6.insert("2001:db8::/32".parse().unwrap(), 1);
        v6.insert("2001:db8:1::/48".parse().unwrap(), 2);
        assert_eq!(v6.lookup(ip("2001:db8:1::9")), Some(2));
        assert_eq!(v6.lookup(ip("2001:db8:2::9")), Some(1));
        assert_eq!(v6.lookup(ip("2001:db9::1")), None);
    }

    proptest! {
        #[test]
        fn agrees_with_a_linear_scan(
            routes in proptest::collection::vec((any::<u32>(), 0u8..=32), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 1..40),
        ) {
            let mut t = Lpm::new(32);
            let mut trie = Lpm4::default();
            let mut list: Vec<(Prefix, usize)> = Vec::new();
            for (i, (a, len)) in routes.into_iter().enumerate() {
                let p = Prefix::new(IpAddr::V4(Ipv4Addr::from(a)), len).unwrap();
                t.insert(p, i);
                trie.insert(p, i);
                list.retain(|(q, _)| *q != p);
                list.push((p, i));
            }
            // Probe the routes' own addresses and neighbours too, not only random ones.
            let near = list.iter().flat_map(|(p, _)| {
                let a = crate::packet::prefix::bits(p.addr()) as u32;
                [a, a.wrapping_sub(1), a | 0xff, a.wrapping_add(256)]
            });
            for a in probes.into_iter().chain(near) {
                let addr = IpAddr::V4(Ipv4Addr::from(a));
                let want = list.iter().filter(|(p, _)| p.contains(addr)).max_by_key(|(p, _)| p.prefix_len()).map(|(_, v)| *v);
                prop_assert_eq!(t.lookup(u128::from(a)), want);
                prop_assert_eq!(trie.lookup(a), want);
            }
        }
    }
}
