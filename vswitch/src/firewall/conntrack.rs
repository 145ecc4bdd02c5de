//! The connection table: sharded by a direction-symmetric hash of the connection's key, each
//! shard a hash map behind its own lock, held for one lookup or insert. Both directions of a
//! connection find the same entry; counters, timestamps and TCP state live in it.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::flow_table::{FlowTable, HOT_LINES, PROBED_SLOTS, SLOT_BYTES};
use super::tcp::Tcp;
use crate::pipeline::snapshot::NetIdx;

/// Shards: enough that workers seldom meet on one lock, few enough that a large table's shards
/// are each big enough for huge pages.
const SHARDS: usize = 64;
/// Connections tracked at once when the model sets no limit.
pub const DEFAULT_LIMIT: u32 = 1_000_000;
/// Ended connections kept for `conntrack show --ended` and export: the flow exporter drains
/// them ten times a second, so this many may end between two of its reads (a second's
/// housekeeping can expire tens of thousands at once).
const ENDED_KEPT: usize = 65536;
/// Slots a walk over the live connections reads per hold of a shard's lock (copying out what
/// flow records need): a worker that wants the shard meanwhile waits a few microseconds.
const WALK_SLOTS_PER_LOCK: usize = 256;

/// An address and port (the ICMP echo identifier for pings, 0 for protocols without ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// The address as IPv6 (IPv4 as IPv4-mapped `::ffff:a.b.c.d`, so that one key type holds
    /// both), in two halves: 8-byte aligned keeps a key at 56 bytes.
    addr: [u64; 2],
    pub port: u16,
}

impl Endpoint {
    pub fn new(ip: IpAddr, port: u16) -> Endpoint {
        let addr = match ip {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(v6),
        };
        Endpoint {
            addr: super::hash::halves(addr),
            port,
        }
    }

    pub fn ip(&self) -> IpAddr {
        let v6 =
            std::net::Ipv6Addr::from(u128::from(self.addr[0]) << 64 | u128::from(self.addr[1]));
        match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        }
    }
}

/// A connection's key, the same for both directions: the two endpoints in order, packed in
/// 40 bytes (addresses, then ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnKey {
    addrs: [[u64; 2]; 2],
    ports: [u16; 2],
    /// The VRF: overlapping addresses of two VRFs are two connections.
    pub zone: u16,
    pub proto: u8,
}

impl ConnKey {
    pub fn new(zone: u16, proto: u8, src: Endpoint, dst: Endpoint) -> ConnKey {
        Self::oriented(zone, proto, src, dst).0
    }

    /// The key of a packet from `src` to `dst`, and which of its endpoints `src` is.
    #[inline]
    pub fn oriented(zone: u16, proto: u8, src: Endpoint, dst: Endpoint) -> (ConnKey, u8) {
        let swapped = dst < src;
        let (lo, hi) = if swapped { (dst, src) } else { (src, dst) };
        let key = ConnKey {
            addrs: [lo.addr, hi.addr],
            ports: [lo.port, hi.port],
            zone,
            proto,
        };
        (key, u8::from(swapped))
    }

    /// Endpoint 0 (the lower) or 1.
    #[inline]
    pub fn endpoint(&self, i: usize) -> Endpoint {
        let i = i & 1;
        Endpoint {
            addr: self.addrs[i],
            port: self.ports[i],
        }
    }

    /// The key's hash (the same for both directions, as the key is): its top bits pick the
    /// shard, its low bits the slot.
    #[inline]
    pub fn digest(&self) -> u64 {
        let small = u64::from(self.ports[0])
            | u64::from(self.ports[1]) << 16
            | u64::from(self.proto) << 32
            | u64::from(self.zone) << 40;
        super::hash::digest(self.addrs[0], self.addrs[1], small)
    }
}

/// A packet's key with its digest and the endpoint it came from, worked out once per packet:
/// the burst's prefetch, the lookup and the direction share them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashed {
    pub key: ConnKey,
    pub hash: u64,
    /// Which endpoint of the key sent the packet.
    pub src_side: u8,
}

impl Hashed {
    #[inline]
    pub fn new(zone: u16, proto: u8, src: Endpoint, dst: Endpoint) -> Hashed {
        let (key, src_side) = ConnKey::oriented(zone, proto, src, dst);
        Hashed {
            hash: key.digest(),
            key,
            src_side,
        }
    }
}

/// UDP and ICMP pseudo-connections, and TCP's full state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// One direction seen so far.
    Unreplied,
    /// Both directions seen.
    Replied,
    Tcp(Tcp),
}

impl ConnState {
    pub fn name(&self) -> &'static str {
        match self {
            ConnState::Unreplied => "UNREPLIED",
            ConnState::Replied => "REPLIED",
            ConnState::Tcp(t) => t.state.name(),
        }
    }

    /// Seconds the connection lives idle in this state.
    pub fn timeout(&self) -> u32 {
        match self {
            ConnState::Unreplied => 30,
            ConnState::Replied => 120,
            ConnState::Tcp(t) => t.state.timeout(),
        }
    }
}

/// One tracked connection.
/// What a packet of the connection reads and writes comes first: with its key, the first two
/// cache lines of a table slot; the rest is read when it opens, is checked again or is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C)]
pub struct Conn {
    /// Original and reply direction.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub state: ConnState,
    pub last_seen: u32,
    /// The classifier generation it was last checked against.
    pub generation: u32,
    /// Which endpoint of the key opened it (see `ConnKey::endpoint`).
    pub orig: u8,
    /// The rule that admitted it.
    pub rule: Arc<str>,
    /// Where its first packet went: what a policy change checks it against again.
    pub path: Path,
    /// The quota of the network that opened it (0: none).
    pub quota: u16,
    pub from_net: NetIdx,
    pub to_net: NetIdx,
    pub created: u32,
}

impl Conn {
    /// 0 for a packet from the opener (sent by key endpoint `side`), 1 for a reply.
    #[inline]
    pub fn direction(&self, side: u8) -> usize {
        usize::from(side != self.orig)
    }

    /// Who opened it: its first packet's source and destination.
    pub fn orig_src(&self, key: &ConnKey) -> Endpoint {
        key.endpoint(usize::from(self.orig))
    }

    pub fn orig_dst(&self, key: &ConnKey) -> Endpoint {
        key.endpoint(usize::from(self.orig) ^ 1)
    }

    fn expired(&self, now: u32) -> bool {
        now.saturating_sub(self.last_seen) > self.state.timeout()
    }

    /// What a flow record reads of it.
    pub fn counts(&self, key: &ConnKey) -> Counts {
        Counts {
            key: *key,
            packets: self.packets,
            bytes: self.bytes,
            last_seen: self.last_seen,
            created: self.created,
            orig: self.orig,
            path: self.path,
            from_net: self.from_net,
            to_net: self.to_net,
        }
    }
}

/// A connection as a flow record reads it: its key, counts and times, its ends, its path;
/// copied out without its rule, so that no reference count is touched under a shard's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub key: ConnKey,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub last_seen: u32,
    pub created: u32,
    pub orig: u8,
    pub path: Path,
    pub from_net: NetIdx,
    pub to_net: NetIdx,
}

impl Counts {
    /// Who opened it: its first packet's source and destination.
    pub fn orig_src(&self) -> Endpoint {
        self.key.endpoint(usize::from(self.orig))
    }

    pub fn orig_dst(&self) -> Endpoint {
        self.key.endpoint(usize::from(self.orig) ^ 1)
    }
}

/// The ports a connection's first packet came in on and went out of, and whether a policy
/// between networks decided it (or only security groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Path {
    pub in_port: u16,
    /// `None` for a packet flooded to every port of its network.
    pub out_port: Option<u16>,
    pub policed: bool,
}

/// A connection that ended, with what it carried.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    pub key: ConnKey,
    pub conn: Conn,
    pub ended: u32,
    pub why: &'static str,
    /// Its place among every connection ended (`stats.ended` before it).
    pub seq: u64,
}

/// Where a walk over the live connections goes on (`Conntrack::walk`); the default starts one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walk {
    shard: usize,
    slot: usize,
}

#[derive(Debug, Default)]
pub struct ConntrackStats {
    pub created: AtomicU64,
    pub ended: AtomicU64,
    /// New connections refused because the table was at its limit.
    pub full: AtomicU64,
}

/// Quota slots: slot 0 is no network's; networks get the others (see `FirewallState`).
pub const QUOTAS: usize = 4096;

/// The connections one network's endpoints have open, and its limit.
#[derive(Debug)]
struct Quota {
    count: AtomicU32,
    limit: AtomicU32,
    refused: AtomicU64,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            count: AtomicU32::new(0),
            limit: AtomicU32::new(u32::MAX),
            refused: AtomicU64::new(0),
        }
    }
}

/// Takes one from `counter` unless it is at `limit`.
#[inline]
fn take(counter: &AtomicU32, limit: u32) -> bool {
    counter
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
            (c < limit).then_some(c + 1)
        })
        .is_ok()
}

/// A shard on a cache line of its own: workers locking neighbouring shards do not contend
/// for one line. Beside the table, where its slots are, for prefetching without the lock.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Shard(Mutex<FlowTable>, Placement);

/// A shard table's slots, published whenever the table moves (it grows under the lock): a
/// burst's prefetch reads them without writing the lock's line. A stale value only prefetches
/// a useless line.
#[derive(Debug, Default)]
struct Placement {
    base: AtomicUsize,
    mask: AtomicUsize,
}

impl Placement {
    fn publish(&self, table: &FlowTable) {
        let (base, mask) = table.placement();
        self.base.store(base, Ordering::Relaxed);
        self.mask.store(mask, Ordering::Relaxed);
    }

    #[inline]
    fn slot(&self, hash: u64) -> usize {
        let mask = self.mask.load(Ordering::Relaxed);
        self.base.load(Ordering::Relaxed) + (hash as usize & mask) * SLOT_BYTES
    }
}

#[inline]
fn shard_of(hash: u64) -> usize {
    (hash >> 56) as usize % SHARDS
}

#[derive(Debug)]
pub struct Conntrack {
    shards: Box<[Shard]>,
    count: AtomicU32,
    limit: AtomicU32,
    quotas: Box<[Quota]>,
    pub stats: ConntrackStats,
    ended: Mutex<VecDeque<FlowRecord>>,
}

impl Default for Conntrack {
    fn default() -> Self {
        Conntrack::new(DEFAULT_LIMIT)
    }
}

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The table is at its limit.
    Table,
    /// The opening network is at its limit.
    Network,
}

impl Conntrack {
    pub fn new(limit: u32) -> Conntrack {
        Conntrack {
            shards: (0..SHARDS)
                .map(|_| {
                    let shard = Shard::default();
                    shard.1.publish(&shard.0.lock());
                    shard
                })
                .collect(),
            count: AtomicU32::new(0),
            limit: AtomicU32::new(limit),
            quotas: (0..QUOTAS).map(|_| Quota::default()).collect(),
            stats: ConntrackStats::default(),
            // Allocated once (its pages as they fill): a worker that ends a connection never
            // allocates.
            ended: Mutex::new(VecDeque::with_capacity(ENDED_KEPT)),
        }
    }

    pub fn set_limit(&self, limit: u32) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    pub fn limit(&self) -> u32 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Quota slot `id`; none for 0 (no network's).
    #[inline]
    fn quota_slot(&self, id: u16) -> Option<&Quota> {
        self.quotas.get(usize::from(id)).filter(|_| id != 0)
    }

    /// Limits the connections of quota `id` (`None`: no limit of its own).
    pub fn set_quota_limit(&self, id: u16, limit: Option<u32>) {
        if let Some(q) = self.quota_slot(id) {
            q.limit.store(limit.unwrap_or(u32::MAX), Ordering::Relaxed);
        }
    }

    /// Quota `id`'s connections, limit (`None`: none) and refusals.
    pub fn quota(&self, id: u16) -> (u32, Option<u32>, u64) {
        self.quota_slot(id).map_or((0, None, 0), |q| {
            let limit = q.limit.load(Ordering::Relaxed);
            (
                q.count.load(Ordering::Relaxed),
                (limit != u32::MAX).then_some(limit),
                q.refused.load(Ordering::Relaxed),
            )
        })
    }

    pub fn len(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts loading the slots `key`'s lookup will read into L2 (for a burst, before its
    /// lookups), without taking the shard's lock.
    #[inline]
    pub fn prefetch(&self, key: &Hashed) {
        let home = self.home(key);
        for s in 0..PROBED_SLOTS {
            crate::sys::cpu::prefetch_to_l2(home + s * SLOT_BYTES, HOT_LINES);
        }
    }

    /// Moves the home slot of `key` on into L1 (a few packets before its lookup).
    #[inline]
    pub fn prefetch_near(&self, key: &Hashed) {
        crate::sys::cpu::prefetch_to_l1(self.home(key), HOT_LINES);
    }

    #[inline]
    fn home(&self, key: &Hashed) -> usize {
        self.shards[shard_of(key.hash)].1.slot(key.hash)
    }

    /// Runs `f` on the live connection of a packet's key, if any; `f` returns what the caller
    /// needs and whether the connection must go (a policy change cut it).
    #[inline]
    pub fn with<R>(
        &self,
        packet: &Hashed,
        now: u32,
        f: impl FnOnce(&mut Conn) -> (R, bool),
    ) -> Option<R> {
        if self.is_empty() {
            // Stateless policies only: no slot to miss the cache on.
            return None;
        }
        let (key, h) = (&packet.key, packet.hash);
        let mut shard = self.shards[shard_of(h)].0.lock();
        let conn = shard.get_mut(h, key)?;
        if conn.expired(now) {
            // A new connection may reuse the key; the old one has ended.
            let conn = shard.remove(h, key)?;
            drop(shard);
            self.ended(*key, conn, now, "timeout");
            return None;
        }
        let (r, remove) = f(conn);
        if remove {
            if let Some(conn) = shard.remove(h, key) {
                drop(shard);
                self.ended(*key, conn, now, "policy");
            }
        }
        Some(r)
    }

    /// Adds a new connection unless the table, or its network's quota, is full (existing
    /// connections are never evicted).
    pub fn insert(&self, key: ConnKey, conn: Conn) -> Result<(), Full> {
        if !take(&self.count, self.limit()) {
            self.stats.full.fetch_add(1, Ordering::Relaxed);
            return Err(Full::Table);
        }
        let quota = self.quota_slot(conn.quota);
        if let Some(q) = quota {
            if !take(&q.count, q.limit.load(Ordering::Relaxed)) {
                self.count.fetch_sub(1, Ordering::Relaxed);
                q.refused.fetch_add(1, Ordering::Relaxed);
                return Err(Full::Network);
            }
        }
        let h = key.digest();
        let shard = &self.shards[shard_of(h)];
        let new = {
            let mut table = shard.0.lock();
            let new = table.insert(h, key, conn);
            shard.1.publish(&table);
            new
        };
        if new {
            self.stats.created.fetch_add(1, Ordering::Relaxed);
        } else {
            // Another worker opened the same connection a moment earlier (or a closed one
            // reopened): it was counted already.
            self.count.fetch_sub(1, Ordering::Relaxed);
            if let Some(q) = quota {
                q.count.fetch_sub(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn ended(&self, key: ConnKey, conn: Conn, now: u32, why: &'static str) {
        self.count.fetch_sub(1, Ordering::Relaxed);
        if let Some(q) = self.quota_slot(conn.quota) {
            q.count.fetch_sub(1, Ordering::Relaxed);
        }
        let mut ended = self.ended.lock();
        // Counted under the lock: the records' sequence numbers follow their order.
        let seq = self.stats.ended.fetch_add(1, Ordering::Relaxed);
        if ended.len() == ENDED_KEPT {
            ended.pop_front();
        }
        ended.push_back(FlowRecord {
            key,
            conn,
            ended: now,
            why,
            seq,
        });
    }

    /// Grows, ahead of need, every shard table over half full (housekeeping, once a second):
    /// the allocation happens here rather than on the worker whose insert would fill it.
    pub fn grow_ahead(&self) {
        for shard in self.shards.iter() {
            let mut table = shard.0.lock();
            table.grow_ahead();
            shard.1.publish(&table);
        }
    }

    /// Ends the connections idle past their state's timeout (housekeeping, once a second).
    pub fn expire(&self, now: u32) {
        for shard in self.shards.iter() {
            let gone = shard.0.lock().extract(|_, c| c.expired(now));
            for (k, c) in gone {
                self.ended(k, c, now, "timeout");
            }
        }
    }

    /// Ends every connection (or those of one VRF zone); returns how many.
    pub fn flush(&self, now: u32, zone: Option<u16>) -> usize {
        let mut n = 0;
        for shard in self.shards.iter() {
            let gone = shard
                .0
                .lock()
                .extract(|k, _| zone.is_none_or(|z| k.zone == z));
            n += gone.len();
            for (k, c) in gone {
                self.ended(k, c, now, "flush");
            }
        }
        n
    }

    /// Slots in every shard's table (what a whole walk reads), without taking a lock.
    pub fn slots(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.1.mask.load(Ordering::Relaxed) + 1)
            .sum()
    }

    /// Appends to `out` the counts of the live connections in up to `slots` slots from `at`
    /// on, holding each shard's lock for at most `WALK_SLOTS_PER_LOCK` of them; returns where
    /// to go on, or `None` when the walk has read the last shard. A table that grows or loses
    /// entries between two calls may have an entry read twice or not at all in one walk.
    pub fn walk(&self, mut at: Walk, mut slots: usize, out: &mut Vec<Counts>) -> Option<Walk> {
        while slots > 0 {
            let shard = self.shards.get(at.shard)?;
            let n = slots.min(WALK_SLOTS_PER_LOCK);
            let (next, end) = {
                let table = shard.0.lock();
                let next = table.visit(at.slot, n, |k, c| out.push(c.counts(k)));
                (next, table.capacity())
            };
            slots -= next - at.slot;
            at = match next < end {
                true => Walk { slot: next, ..at },
                false => Walk {
                    shard: at.shard + 1,
                    slot: 0,
                },
            };
        }
        (at.shard < self.shards.len()).then_some(at)
    }

    /// A copy of up to `max` live connections.
    pub fn list(&self, max: usize) -> Vec<(ConnKey, Conn)> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let s = shard.0.lock();
            out.extend(s.iter().take(max - out.len()).map(|(k, c)| (*k, c.clone())));
            if out.len() >= max {
                break;
            }
        }
        out
    }

    /// The `max` most recent ended connections, newest first.
    pub fn ended_flows(&self, max: usize) -> Vec<FlowRecord> {
        self.ended.lock().iter().rev().take(max).cloned().collect()
    }

    /// Up to `max` of the ended connections kept from sequence number `seq` on, oldest first
    /// (a reader that fell more than the records kept behind has lost the ones between: the
    /// first record's `seq` says how many).
    pub fn ended_since(&self, seq: u64, max: usize) -> Vec<FlowRecord> {
        let ended = self.ended.lock();
        // Sequence numbers are consecutive: the first wanted is found by arithmetic.
        let skip = ended
            .front()
            .map_or(0, |first| seq.saturating_sub(first.seq) as usize);
        ended.iter().skip(skip).take(max).cloned().collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn ep(ip: &str, port: u16) -> Endpoint {
        Endpoint::new(ip.parse().unwrap(), port)
    }

    /// An unreplied connection from `src` to `dst` last seen at `now` (the tests' filler).
    pub(crate) fn conn(src: Endpoint, dst: Endpoint, now: u32) -> Conn {
        Conn {
            orig: Hashed::new(0, 0, src, dst).src_side,
            from_net: 0,
            to_net: 1,
            path: Path::default(),
            quota: 0,
            state: ConnState::Unreplied,
            rule: "r".into(),
            generation: 0,
            created: now,
            last_seen: now,
            packets: [0; 2],
            bytes: [0; 2],
        }
    }

    #[test]
    fn both_directions_find_one_connection() {
        let ct = Conntrack::new(10);
        let (a, b) = (ep("198.51.100.10", 40000), ep("203.0.113.20", 8080));
        ct.insert(ConnKey::new(0, 6, a, b), conn(a, b, 1)).unwrap();
        let reply = Hashed::new(0, 6, b, a);
        let dir = ct.with(&reply, 2, |c| (c.direction(reply.src_side), false));
        assert_eq!(dir, Some(1));
        assert_eq!(
            ct.with(&Hashed::new(1, 6, b, a), 2, |_| ((), false)),
            None,
            "other VRF"
        );
        assert_eq!(
            ct.with(&Hashed::new(0, 17, a, b), 2, |_| ((), false)),
            None,
            "other proto"
        );
        // A packet's own key says which endpoint sent it.
        let k = reply.key;
        for (src, dst) in [(a, b), (b, a)] {
            let h = Hashed::new(0, 6, src, dst);
            assert_eq!((h.key, h.hash), (k, k.digest()));
            assert_eq!(k.endpoint(usize::from(h.src_side)), src);
        }
        assert_ne!(
            Hashed::new(0, 6, a, b).src_side,
            Hashed::new(0, 6, b, a).src_side
        );
        assert_eq!(a.ip(), "198.51.100.10".parse::<IpAddr>().unwrap());
        assert_eq!(
            ep("2001:db8::1", 1).ip(),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_full_table_refuses_new_connections_and_keeps_the_old() {
        let ct = Conntrack::new(2);
        let b = ep("203.0.113.20", 80);
        for port in 1..=3 {
            let a = ep("198.51.100.10", port);
            let r = ct.insert(ConnKey::new(0, 6, a, b), conn(a, b, 1));
            assert_eq!(r.is_ok(), port <= 2);
        }
        assert_eq!(ct.len(), 2);
        assert_eq!(ct.stats.full.load(Ordering::Relaxed), 1);
        let a = ep("198.51.100.10", 1);
        assert!(ct
            .with(&Hashed::new(0, 6, a, b), 1, |_| ((), false))
            .is_some());
    }

    #[test]
    fn a_walk_in_small_steps_reads_every_connection_once() {
        let ct = Conntrack::new(10_000);
        let b = ep("203.0.113.20", 80);
        for port in 0..3000 {
            let a = ep("198.51.100.10", port);
            ct.insert(ConnKey::new(0, 6, a, b), conn(a, b, 1)).unwrap();
        }
        let mut seen = std::collections::HashSet::new();
        let (mut at, mut steps, mut out) = (Some(Walk::default()), 0, Vec::new());
        while let Some(from) = at {
            at = ct.walk(from, 100, &mut out);
            for c in out.drain(..) {
                assert!(seen.insert(c.key), "read twice");
            }
            steps += 1;
        }
        assert_eq!(seen.len(), 3000);
        assert_eq!(
            steps,
            ct.slots().div_ceil(100),
            "whole steps over every slot"
        );
    }

    #[test]
    fn ended_records_are_read_in_order_from_where_a_reader_left_off() {
        let ct = Conntrack::new(10);
        let b = ep("203.0.113.20", 53);
        for port in 0..5 {
            let a = ep("198.51.100.10", port);
            ct.insert(ConnKey::new(0, 17, a, b), conn(a, b, 100))
                .unwrap();
        }
        ct.expire(200);
        let first = ct.ended_since(0, 2);
        assert_eq!(first.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1]);
        let rest = ct.ended_since(2, 100);
        assert_eq!(rest.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3, 4]);
        assert!(ct.ended_since(5, 100).is_empty());
        assert_eq!(ct.ended_flows(1)[0].seq, 4, "newest first");
    }

    #[test]
    fn idle_connections_expire_into_flow_records() {
        let ct = Conntrack::new(10);
        let (a, b) = (ep("198.51.100.10", 1), ep("203.0.113.20", 53));
        let packet = Hashed::new(0, 17, a, b);
        let key = packet.key;
        ct.insert(key, conn(a, b, 100)).unwrap();
        ct.expire(120);
        assert_eq!(ct.len(), 1, "30 s for an unreplied UDP flow");
        ct.expire(131);
        assert_eq!(ct.len(), 0);
        let ended = ct.ended_flows(10);
        assert_eq!((ended.len(), ended[0].why), (1, "timeout"));
        // A packet of an expired-but-not-yet-swept connection does not revive it.
        ct.insert(key, conn(a, b, 200)).unwrap();
        assert_eq!(ct.with(&packet, 300, |_| ((), false)), None);
        assert_eq!(ct.len(), 0);
    }

    #[test]
    fn flush_ends_everything_or_one_zone() {
        let ct = Conntrack::new(10);
        let b = ep("203.0.113.20", 80);
        for (zone, port) in [(0, 1), (0, 2), (1, 3)] {
            let a = ep("198.51.100.10", port);
            ct.insert(ConnKey::new(zone, 6, a, b), conn(a, b, 1))
                .unwrap();
        }
        assert_eq!(ct.flush(2, Some(1)), 1);
        assert_eq!(ct.list(10).len(), 2);
        assert_eq!(ct.flush(2, None), 2);
        assert!(ct.is_empty());
    }
}
