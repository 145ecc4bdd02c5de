//! The bindings of the connections SNAT translated: for each (inside endpoint, remote
//! endpoint) the outside endpoint it leaves from, found with one lookup from either side, and
//! the allocator that never hands out an outside endpoint in use toward the same remote.
//!
//! Two sharded maps, one per direction. A new binding first claims its outside endpoint in
//! the inbound map (under that shard's lock, so two workers never claim the same one), then
//! publishes it in the outbound map; a worker that loses the race for the same connection gives
//! its claim back and takes the winner's.

use hashbrown::{DefaultHashBuilder, HashMap};
use std::fmt::Debug;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::pool::Pool;
use crate::packet::ipproto;

/// An IPv4 address and port (the echo identifier for pings; 0 for the remote of a ping).
pub type Addr = (Ipv4Addr, u16);
/// An address of family `A` and port.
type Ep<A> = (A, u16);

/// An address family the bindings (and the services' sessions) key on.
pub trait Family: Copy + Eq + Debug + Into<IpAddr> + Send + Sync + 'static {
    /// Feeds a key — two endpoints and 24 more bits — to the hasher in as few words as it
    /// takes (IPv4: one).
    fn write_key<H: Hasher>(extra: u32, a: (Self, u16), b: (Self, u16), h: &mut H);
}

impl Family for Ipv4Addr {
    #[inline]
    fn write_key<H: Hasher>(extra: u32, a: (Self, u16), b: (Self, u16), h: &mut H) {
        let pack = |e: (Self, u16)| u128::from(u32::from(e.0)) << 16 | u128::from(e.1);
        h.write_u128(u128::from(extra) << 96 | pack(a) << 48 | pack(b));
    }
}

impl Family for Ipv6Addr {
    #[inline]
    fn write_key<H: Hasher>(extra: u32, a: (Self, u16), b: (Self, u16), h: &mut H) {
        h.write_u128(u128::from(a.0));
        h.write_u128(u128::from(b.0));
        h.write_u64(u64::from(extra) << 32 | u64::from(a.1) << 16 | u64::from(b.1));
    }
}

/// Where new bindings take their outside endpoints from.
pub trait Source<A> {
    /// The address an inside host's connections leave from.
    fn address_for(&self, inside: A) -> A;
    /// First and last port, inclusive.
    fn ports(&self) -> (u16, u16);
}

impl Source<Ipv4Addr> for Pool {
    fn address_for(&self, inside: Ipv4Addr) -> Ipv4Addr {
        Pool::address_for(self, inside)
    }
    fn ports(&self) -> (u16, u16) {
        self.ports
    }
}

/// One IPv6 address and a port range (where IPv6 hairpin connections leave from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Single6 {
    pub ip: Ipv6Addr,
    pub ports: (u16, u16),
}

impl Source<Ipv6Addr> for Single6 {
    fn address_for(&self, _: Ipv6Addr) -> Ipv6Addr {
        self.ip
    }
    fn ports(&self) -> (u16, u16) {
        self.ports
    }
}

const SHARDS: usize = 16;
/// Bindings held at once; new connections beyond are refused (counted as exhausted).
pub const DEFAULT_LIMIT: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OutKey<A> {
    vrf: u16,
    proto: u8,
    inside: Ep<A>,
    remote: Ep<A>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InKey<A> {
    proto: u8,
    outside: Ep<A>,
    remote: Ep<A>,
}

// The keys hash as a few whole words, not one write per field.
impl<A: Family> Hash for OutKey<A> {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        let extra = u32::from(self.vrf) << 8 | u32::from(self.proto);
        A::write_key(extra, self.inside, self.remote, h);
    }
}

impl<A: Family> Hash for InKey<A> {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        A::write_key(u32::from(self.proto), self.outside, self.remote, h);
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Entry<A = Ipv4Addr> {
    /// The endpoint on the other side of the translation.
    pub(super) other: (A, u16),
    pub(super) last_seen: u32,
    /// How far this side has ended the connection (TCP).
    pub(super) end: End,
}

/// What a packet says of its connection's end: TCP's FIN and RST shorten a binding's life
/// (so that the ports of closed connections come free), a new SYN on the same endpoints opens
/// it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum End {
    #[default]
    Open,
    Fin,
    Rst,
}

/// What a packet changes of its binding's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mark {
    /// Nothing (any packet but those below).
    #[default]
    None,
    /// A SYN without ACK: a connection on these endpoints opens (again).
    Reopen,
    /// A FIN or an RST.
    Ending(End),
}

impl Mark {
    /// The mark of a TCP segment with `flags` (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10).
    pub fn of_tcp(flags: u8) -> Mark {
        match flags {
            f if f & 0x04 != 0 => Mark::Ending(End::Rst),
            f if f & 0x01 != 0 => Mark::Ending(End::Fin),
            f if f & 0x12 == 0x02 => Mark::Reopen,
            _ => Mark::None,
        }
    }
}

/// One binding, for listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<A = Ipv4Addr> {
    pub proto: u8,
    pub inside: Ep<A>,
    pub outside: Ep<A>,
    pub remote: Ep<A>,
    pub idle_secs: u32,
}

/// Marks a binding used at `now` with what the packet said (`mark`); the line is written only
/// when something changed.
#[inline]
pub(super) fn touch<A>(e: &mut Entry<A>, now: u32, mark: Mark) {
    if e.last_seen != now {
        e.last_seen = now;
    }
    match mark {
        Mark::None => {}
        Mark::Reopen => e.end = End::Open,
        Mark::Ending(end) => e.end = e.end.max(end),
    }
}

/// Seconds a binding lives without traffic either way, once its connection got as far as
/// `end`.
pub fn timeout(proto: u8, end: End) -> u32 {
    match (proto, end) {
        (_, End::Rst) => 10,
        (_, End::Fin) => 120,
        (ipproto::TCP, End::Open) => 3600,
        (ipproto::UDP, End::Open) => 120,
        _ => 30,
    }
}

pub struct Bindings<A: Family = Ipv4Addr> {
    outbound: Vec<Mutex<HashMap<OutKey<A>, Entry<A>>>>,
    inbound: Vec<Mutex<HashMap<InKey<A>, Entry<A>>>>,
    hasher: DefaultHashBuilder,
    count: AtomicUsize,
    limit: usize,
    /// New connections refused for want of a free outside endpoint.
    pub exhausted: AtomicU64,
}

impl<A: Family> std::fmt::Debug for Bindings<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bindings")
            .field("len", &self.len())
            .field("limit", &self.limit)
            .finish()
    }
}

impl<A: Family> Default for Bindings<A> {
    fn default() -> Self {
        Bindings::new(DEFAULT_LIMIT)
    }
}

impl<A: Family> Bindings<A> {
    pub fn new(limit: usize) -> Bindings<A> {
        Bindings {
            outbound: (0..SHARDS).map(|_| Mutex::default()).collect(),
            inbound: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: DefaultHashBuilder::default(),
            count: AtomicUsize::new(0),
            limit,
            exhausted: AtomicU64::new(0),
        }
    }

    fn shard<K: Hash>(&self, key: &K) -> usize {
        self.hasher.hash_one(key) as usize % SHARDS
    }

    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The outside endpoint of the connection from `inside` to `remote`: its binding, or a new
    /// one from `pool`. `None` when every endpoint of the pool is in use toward `remote` (or
    /// the table is full): counted in `exhausted`.
    #[allow(clippy::too_many_arguments)]
    pub fn outside(
        &self,
        vrf: u16,
        proto: u8,
        inside: Ep<A>,
        remote: Ep<A>,
        pool: &impl Source<A>,
        now: u32,
        mark: Mark,
    ) -> Option<Ep<A>> {
        let key = OutKey {
            vrf,
            proto,
            inside,
            remote,
        };
        let shard = &self.outbound[self.shard(&key)];
        if let Some(e) = shard.lock().get_mut(&key) {
            touch(e, now, mark);
            return Some(e.other);
        }
        let found = self.allocate(proto, inside, remote, pool, now);
        let Some(outside) = found else {
            self.exhausted.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let mut map = shard.lock();
        if let Some(e) = map.get(&key) {
            // Another worker bound the same connection meanwhile: keep its binding.
            let theirs = e.other;
            drop(map);
            self.release(proto, outside, remote);
            return Some(theirs);
        }
        map.insert(
            key,
            Entry {
                other: outside,
                last_seen: now,
                end: End::Open,
            },
        );
        Some(outside)
    }

    /// The outside endpoint the connection from `inside` to `remote` is bound to, if it is;
    /// changes nothing (a simulated trace asks).
    pub fn bound(&self, vrf: u16, proto: u8, inside: Ep<A>, remote: Ep<A>) -> Option<Ep<A>> {
        let key = OutKey {
            vrf,
            proto,
            inside,
            remote,
        };
        let shard = &self.outbound[self.shard(&key)];
        let other = shard.lock().get(&key).map(|e| e.other);
        other
    }

    /// Claims a free outside endpoint toward `remote`: the inside port itself when the pool's
    /// range has it and it is free; else a few places the connection hashes to (so that hosts
    /// sharing an address do not pile up behind each other); else the first free one.
    fn allocate(
        &self,
        proto: u8,
        inside: Ep<A>,
        remote: Ep<A>,
        pool: &impl Source<A>,
        now: u32,
    ) -> Option<Ep<A>> {
        const HASHED_TRIES: u32 = 16;
        if self.count.load(Ordering::Relaxed) >= self.limit {
            return None;
        }
        let ip = pool.address_for(inside.0);
        let (lo, hi) = pool.ports();
        let span = u32::from(hi - lo) + 1;
        let hashed = |i: u32| {
            let key = OutKey {
                vrf: i as u16,
                proto,
                inside,
                remote,
            };
            (self.hasher.hash_one(key) % u64::from(span)) as u32
        };
        let first = match (lo..=hi).contains(&inside.1) {
            true => u32::from(inside.1 - lo),
            false => hashed(0),
        };
        let tries = std::iter::once(first)
            .chain((1..=HASHED_TRIES).map(hashed))
            .chain(0..span);
        for offset in tries {
            let port = lo + offset as u16;
            let key = InKey {
                proto,
                outside: (ip, port),
                remote,
            };
            let mut map = self.inbound[self.shard(&key)].lock();
            if map.contains_key(&key) {
                continue;
            }
            map.insert(
                key,
                Entry {
                    other: inside,
                    last_seen: now,
                    end: End::Open,
                },
            );
            self.count.fetch_add(1, Ordering::Relaxed);
            return Some((ip, port));
        }
        None
    }

    fn release(&self, proto: u8, outside: Ep<A>, remote: Ep<A>) {
        let key = InKey {
            proto,
            outside,
            remote,
        };
        if self.inbound[self.shard(&key)].lock().remove(&key).is_some() {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The inside endpoint a packet from `remote` to `outside` belongs to.
    pub fn inside(
        &self,
        proto: u8,
        outside: Ep<A>,
        remote: Ep<A>,
        now: u32,
        mark: Mark,
    ) -> Option<Ep<A>> {
        let key = InKey {
            proto,
            outside,
            remote,
        };
        let mut map = self.inbound[self.shard(&key)].lock();
        let e = map.get_mut(&key)?;
        touch(e, now, mark);
        Some(e.other)
    }

    /// Removes the bindings idle longer than their protocol's timeout both ways, and those
    /// whose outside address `keep` no longer accepts (its rule was removed or changed).
    pub fn expire(&self, now: u32, keep: impl Fn(A) -> bool) {
        for shard in &self.outbound {
            let mut out = shard.lock();
            out.retain(|k, e| {
                let in_key = InKey {
                    proto: k.proto,
                    outside: e.other,
                    remote: k.remote,
                };
                let mut inbound = self.inbound[self.shard(&in_key)].lock();
                let (last, end) = inbound.get(&in_key).map_or((e.last_seen, e.end), |i| {
                    (i.last_seen.max(e.last_seen), i.end.max(e.end))
                });
                let live = now.saturating_sub(last) <= timeout(k.proto, end) && keep(e.other.0);
                if !live && inbound.remove(&in_key).is_some() {
                    self.count.fetch_sub(1, Ordering::Relaxed);
                }
                live
            });
        }
    }

    /// Bytes the two maps hold allocated (for the memory a binding takes).
    pub fn memory_bytes(&self) -> usize {
        let out: usize = self
            .outbound
            .iter()
            .map(|m| m.lock().allocation_size())
            .sum();
        let inn: usize = self
            .inbound
            .iter()
            .map(|m| m.lock().allocation_size())
            .sum();
        out + inn
    }

    /// Up to `max` bindings, for listing.
    pub fn list(&self, max: usize, now: u32) -> Vec<Binding<A>> {
        let mut all = Vec::new();
        for shard in &self.outbound {
            for (k, e) in shard.lock().iter() {
                if all.len() >= max {
                    return all;
                }
                all.push(Binding {
                    proto: k.proto,
                    inside: k.inside,
                    outside: e.other,
                    remote: k.remote,
                    idle_secs: now.saturating_sub(e.last_seen),
                });
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str, port: u16) -> Addr {
        (s.parse().unwrap(), port)
    }

    #[test]
    fn binds_once_and_finds_it_from_both_sides() {
        let b = Bindings::default();
        let pool = Pool::parse("203.0.113.100", None).unwrap();
        let (inside, remote) = (a("198.51.100.10", 40000), a("203.0.113.10", 80));
        let out = b
            .outside(0, ipproto::TCP, inside, remote, &pool, 1, Mark::None)
            .unwrap();
        assert_eq!(
            out,
            a("203.0.113.100", 40000),
            "the inside port when it is free"
        );
        assert_eq!(
            b.outside(0, ipproto::TCP, inside, remote, &pool, 2, Mark::None),
            Some(out)
        );
        assert_eq!(
            b.inside(ipproto::TCP, out, remote, 3, Mark::None),
            Some(inside)
        );
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn never_hands_out_a_port_in_use_and_counts_exhaustion() {
        let b = Bindings::default();
        let pool = Pool::parse("203.0.113.100", Some("5000-5009")).unwrap();
        let remote = a("203.0.113.10", 53);
        let mut seen = std::collections::HashSet::new();
        for i in 0..10 {
            let inside = a("198.51.100.10", 5000 + (i % 2));
            let inside = (inside.0, inside.1 + 100 * i);
            let out = b
                .outside(0, ipproto::UDP, inside, remote, &pool, 1, Mark::None)
                .unwrap();
            assert!(seen.insert(out), "{out:?} handed out twice");
        }
        let eleventh = b.outside(
            0,
            ipproto::UDP,
            a("198.51.100.11", 7),
            remote,
            &pool,
            1,
            Mark::None,
        );
        assert_eq!(eleventh, None);
        assert_eq!(b.exhausted.load(Ordering::Relaxed), 1);
        // Toward another remote the same ports are free again.
        let other = a("203.0.113.11", 53);
        assert!(b
            .outside(
                0,
                ipproto::UDP,
                a("198.51.100.11", 7),
                other,
                &pool,
                1,
                Mark::None
            )
            .is_some());
    }

    #[test]
    fn expires_idle_bindings_and_removed_pools() {
        let b = Bindings::default();
        let pool = Pool::parse("203.0.113.100", None).unwrap();
        let remote = a("203.0.113.10", 0);
        let out = b
            .outside(
                0,
                ipproto::ICMP,
                a("198.51.100.10", 7),
                remote,
                &pool,
                1,
                Mark::None,
            )
            .unwrap();
        b.outside(
            0,
            ipproto::TCP,
            a("198.51.100.10", 7),
            remote,
            &pool,
            1,
            Mark::None,
        )
        .unwrap();
        b.expire(1 + timeout(ipproto::ICMP, End::Open) + 1, |_| true);
        assert_eq!(b.len(), 1);
        assert_eq!(b.inside(ipproto::ICMP, out, remote, 40, Mark::None), None);
        b.expire(40, |_| false);
        assert!(b.is_empty());
    }

    #[test]
    fn a_closed_tcp_connection_frees_its_port_soon_and_a_new_syn_reopens_it() {
        let b = Bindings::default();
        let pool = Pool::parse("203.0.113.100", None).unwrap();
        let (inside, remote) = (a("198.51.100.10", 40000), a("203.0.113.10", 80));
        let tcp =
            |b: &Bindings, now, mark| b.outside(0, ipproto::TCP, inside, remote, &pool, now, mark);
        let out = tcp(&b, 1, Mark::of_tcp(0x02)).unwrap();
        // A FIN one way: the binding lives 120 s more, not an hour.
        tcp(&b, 2, Mark::of_tcp(0x11));
        b.expire(2 + 100, |_| true);
        assert_eq!(b.len(), 1);
        b.expire(2 + 121, |_| true);
        assert!(b.is_empty());
        // A reset from the remote: 10 s.
        let out2 = tcp(&b, 200, Mark::None).unwrap();
        assert_eq!(out2, out);
        b.inside(ipproto::TCP, out, remote, 201, Mark::of_tcp(0x14));
        b.expire(201 + 11, |_| true);
        assert!(b.is_empty());
        // A SYN on the same endpoints after a FIN opens the binding again.
        tcp(&b, 300, Mark::of_tcp(0x01));
        tcp(&b, 301, Mark::of_tcp(0x02));
        b.expire(301 + 500, |_| true);
        assert_eq!(b.len(), 1);
        assert_eq!(Mark::of_tcp(0x12), Mark::None, "a SYN-ACK opens nothing");
    }
}
