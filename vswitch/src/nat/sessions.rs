//! The connections to service VIPs: for each (client, VIP) the backend it went to, found from
//! the client's side, and the VIP a backend's answer leaves from, found from the backend's
//! side — one lookup per packet each way. Two sharded maps, like the SNAT bindings; the
//! entries age by the same timeouts. One table per address family.

use hashbrown::{DefaultHashBuilder, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

pub use super::bindings::Family;
use super::bindings::{timeout, touch, End, Entry, Mark};

type Addr<A> = (A, u16);

const SHARDS: usize = 16;
/// Sessions held at once; a new connection beyond is refused (counted as no backend).
pub const DEFAULT_LIMIT: usize = 1_000_000;

/// (VRF, protocol, one endpoint, the other): the client and the VIP from the client's side,
/// the backend and the client from the backend's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key<A> {
    vrf: u16,
    proto: u8,
    a: Addr<A>,
    b: Addr<A>,
}

impl<A: Family> Hash for Key<A> {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        let extra = u32::from(self.vrf) << 8 | u32::from(self.proto);
        A::write_key(extra, self.a, self.b, h);
    }
}

/// One session, for listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub proto: u8,
    pub client: (IpAddr, u16),
    pub vip: (IpAddr, u16),
    pub backend: (IpAddr, u16),
    pub idle_secs: u32,
}

type Shards<A> = Vec<Mutex<HashMap<Key<A>, Entry<A>>>>;

pub struct Sessions<A: Family = Ipv4Addr> {
    /// (client, VIP) -> backend.
    forward: Shards<A>,
    /// (backend, client) -> VIP.
    reverse: Shards<A>,
    hasher: DefaultHashBuilder,
    count: AtomicUsize,
    limit: usize,
}

impl<A: Family> Default for Sessions<A> {
    fn default() -> Self {
        Sessions::new(DEFAULT_LIMIT)
    }
}

impl<A: Family> std::fmt::Debug for Sessions<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("len", &self.len())
            .finish()
    }
}

impl<A: Family> Sessions<A> {
    pub fn new(limit: usize) -> Sessions<A> {
        Sessions {
            forward: (0..SHARDS).map(|_| Mutex::default()).collect(),
            reverse: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: DefaultHashBuilder::default(),
            count: AtomicUsize::new(0),
            limit,
        }
    }

    fn shard(&self, key: &Key<A>) -> usize {
        self.hasher.hash_one(key) as usize % SHARDS
    }

    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The backend of the connection from `client` to `vip`, if it has one.
    #[inline]
    pub fn backend(
        &self,
        vrf: u16,
        proto: u8,
        client: Addr<A>,
        vip: Addr<A>,
        now: u32,
        mark: Mark,
    ) -> Option<Addr<A>> {
        self.find(&self.forward, (vrf, proto, client, vip), now, mark)
    }

    /// The backend of the connection from `client` to `vip`, if it has one; the entry's idle
    /// timer is left as it is (a flow record or a simulated trace asks).
    pub fn peek_backend(
        &self,
        vrf: u16,
        proto: u8,
        client: Addr<A>,
        vip: Addr<A>,
    ) -> Option<Addr<A>> {
        let key = Key {
            vrf,
            proto,
            a: client,
            b: vip,
        };
        let other = self.forward[self.shard(&key)]
            .lock()
            .get(&key)
            .map(|e| e.other);
        other
    }

    /// The other endpoint of key (VRF, protocol, a, b) in one direction's `maps`, the entry
    /// marked used at `now` with what the packet said.
    #[inline]
    fn find(
        &self,
        maps: &Shards<A>,
        (vrf, proto, a, b): (u16, u8, Addr<A>, Addr<A>),
        now: u32,
        mark: Mark,
    ) -> Option<Addr<A>> {
        let key = Key { vrf, proto, a, b };
        let mut map = maps[self.shard(&key)].lock();
        let e = map.get_mut(&key)?;
        touch(e, now, mark);
        Some(e.other)
    }

    /// Records that the connection from `client` to `vip` goes to `backend`; the backend
    /// another worker recorded for it first wins. `None`: the table is full.
    pub fn open(
        &self,
        vrf: u16,
        proto: u8,
        (client, vip): (Addr<A>, Addr<A>),
        backend: Addr<A>,
        now: u32,
    ) -> Option<Addr<A>> {
        if self.len() >= self.limit {
            return None;
        }
        let key = Key {
            vrf,
            proto,
            a: client,
            b: vip,
        };
        let fresh = |other| Entry {
            other,
            last_seen: now,
            end: End::Open,
        };
        {
            let mut map = self.forward[self.shard(&key)].lock();
            if let Some(e) = map.get(&key) {
                return Some(e.other);
            }
            map.insert(key, fresh(backend));
        }
        let back = Key {
            vrf,
            proto,
            a: backend,
            b: client,
        };
        self.reverse[self.shard(&back)]
            .lock()
            .insert(back, fresh(vip));
        self.count.fetch_add(1, Ordering::Relaxed);
        Some(backend)
    }

    /// The VIP a packet from `backend` to `client` answers for.
    #[inline]
    pub fn vip(
        &self,
        vrf: u16,
        proto: u8,
        backend: Addr<A>,
        client: Addr<A>,
        now: u32,
        mark: Mark,
    ) -> Option<Addr<A>> {
        self.find(&self.reverse, (vrf, proto, backend, client), now, mark)
    }

    /// Removes the sessions idle longer than their protocol's timeout both ways, and those
    /// `keep` (VRF, protocol, VIP, backend) no longer accepts (the service or the backend is
    /// gone).
    pub fn expire(&self, now: u32, keep: impl Fn(u16, u8, Addr<A>, Addr<A>) -> bool) {
        for shard in &self.forward {
            shard.lock().retain(|k, e| {
                let back = Key {
                    vrf: k.vrf,
                    proto: k.proto,
                    a: e.other,
                    b: k.a,
                };
                let mut reverse = self.reverse[self.shard(&back)].lock();
                // A later connection from the same client port to another VIP on the same
                // backend took the reverse entry over: it is that one's, not this one's.
                let ours = reverse.get(&back).filter(|r| r.other == k.b);
                let (last, end) = ours.map_or((e.last_seen, e.end), |r| {
                    (r.last_seen.max(e.last_seen), r.end.max(e.end))
                });
                let live = now.saturating_sub(last) <= timeout(k.proto, end)
                    && keep(k.vrf, k.proto, k.b, e.other);
                if !live {
                    if ours.is_some() {
                        reverse.remove(&back);
                    }
                    self.count.fetch_sub(1, Ordering::Relaxed);
                }
                live
            });
        }
    }

    /// Bytes the two maps hold allocated (for the memory a session takes).
    pub fn memory_bytes(&self) -> usize {
        let sum =
            |maps: &Shards<A>| -> usize { maps.iter().map(|m| m.lock().allocation_size()).sum() };
        sum(&self.forward) + sum(&self.reverse)
    }

    /// Up to `max` sessions, for listing.
    pub fn list(&self, max: usize, now: u32) -> Vec<Session> {
        let mut all = Vec::new();
        for shard in &self.forward {
            for (k, e) in shard.lock().iter() {
                if all.len() >= max {
                    return all;
                }
                let any = |a: Addr<A>| (a.0.into(), a.1);
                all.push(Session {
                    proto: k.proto,
                    client: any(k.a),
                    vip: any(k.b),
                    backend: any(e.other),
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
    use crate::packet::ipproto;

    fn a(s: &str, port: u16) -> Addr<Ipv4Addr> {
        (s.parse().unwrap(), port)
    }

    #[test]
    fn a_session_is_found_from_both_sides_and_the_first_backend_wins() {
        let s = Sessions::<Ipv4Addr>::default();
        let (client, vip) = (a("198.51.100.10", 40000), a("203.0.113.80", 80));
        let b1 = a("192.0.2.11", 8080);
        assert_eq!(s.open(0, ipproto::TCP, (client, vip), b1, 1), Some(b1));
        // A second worker with another pick for the same connection keeps the first.
        let b2 = a("192.0.2.12", 8080);
        assert_eq!(s.open(0, ipproto::TCP, (client, vip), b2, 1), Some(b1));
        assert_eq!(
            s.backend(0, ipproto::TCP, client, vip, 2, Mark::None),
            Some(b1)
        );
        assert_eq!(s.vip(0, ipproto::TCP, b1, client, 2, Mark::None), Some(vip));
        assert_eq!(
            s.vip(1, ipproto::TCP, b1, client, 2, Mark::None),
            None,
            "another VRF"
        );
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn sessions_expire_when_idle_or_their_backend_is_gone() {
        let s = Sessions::<Ipv4Addr>::default();
        let vip = a("203.0.113.80", 53);
        let (b1, b2) = (a("192.0.2.11", 53), a("192.0.2.12", 53));
        s.open(0, ipproto::UDP, (a("198.51.100.10", 1), vip), b1, 1);
        s.open(0, ipproto::UDP, (a("198.51.100.10", 2), vip), b2, 1);
        s.expire(50, |_, _, _, b| b != b2);
        assert_eq!(s.len(), 1);
        assert_eq!(
            s.vip(0, ipproto::UDP, b2, a("198.51.100.10", 2), 50, Mark::None),
            None
        );
        s.expire(1 + timeout(ipproto::UDP, End::Open) + 1, |_, _, _, _| true);
        assert!(s.is_empty());
    }

    #[test]
    fn an_old_session_that_ends_leaves_a_later_ones_way_back() {
        let s = Sessions::<Ipv4Addr>::default();
        let (client, b2) = (a("198.51.100.10", 40000), a("192.0.2.12", 8080));
        let (www, sticky) = (a("203.0.113.80", 80), a("203.0.113.81", 80));
        s.open(0, ipproto::TCP, (client, sticky), b2, 1);
        // The client's port again, to another VIP that sends it to the same backend: the
        // backend's answers now leave from that VIP.
        let later = 1 + timeout(ipproto::TCP, End::Open);
        s.open(0, ipproto::TCP, (client, www), b2, later);
        s.expire(later + 2, |_, _, _, _| true);
        assert_eq!(
            s.backend(0, ipproto::TCP, client, sticky, later + 2, Mark::None),
            None
        );
        assert_eq!(
            s.vip(0, ipproto::TCP, b2, client, later + 2, Mark::None),
            Some(www),
            "the sticky session's end took the www connection's way back"
        );
    }
}
