//! Longest-prefix match over one address family: one hash map per prefix length in use, probed
//! from the longest. A VRF holds few distinct lengths (its subnets, host routes, a default), so
//! a lookup costs a handful of probes.

use hashbrown::HashMap;

use super::prefix::{mask, Prefix};

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
        let key = super::prefix::bits(prefix.addr());
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
    use crate::router::prefix::bits;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn ip(s: &str) -> u128 {
        bits(s.parse().unwrap())
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
            let mut list: Vec<(Prefix, usize)> = Vec::new();
            for (i, (a, len)) in routes.into_iter().enumerate() {
                let p = Prefix::new(IpAddr::V4(Ipv4Addr::from(a)), len).unwrap();
                t.insert(p, i);
                list.retain(|(q, _)| *q != p);
                list.push((p, i));
            }
            for a in probes {
                let addr = IpAddr::V4(Ipv4Addr::from(a));
                let want = list.iter().filter(|(p, _)| p.contains(addr)).max_by_key(|(p, _)| p.prefix_len()).map(|(_, v)| *v);
                prop_assert_eq!(t.lookup(u128::from(a)), want);
            }
        }
    }
}
