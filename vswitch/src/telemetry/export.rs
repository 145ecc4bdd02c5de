//! The IPFIX exporter: a control-plane task that, ten times a second, reads the connections
//! that ended (the connection table's ring of flow records, from where it left off) and walks
//! on through the live ones, a slice at a time, exporting those whose counts are due (active
//! timeout) or that went idle (idle timeout); a whole walk takes a few seconds whatever the
//! table's size, and holds a shard's lock no longer than a burst's lookups would. Workers are
//! never involved: they only count, in the connection entry, as they always do. The bridged
//! flows' counts, which the workers hand over once a second, are summed in `bridged.rs`.

use hashbrown::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;

use super::bridged::Bridged;
use super::ipfix::{interface, segment, unix_ms, Encoder, Flow};
use super::ipfix::{END_ACTIVE, END_FORCED, END_IDLE, EVENT_DELETED, EVENT_UPDATE};
use crate::config::manager::ConfigManager;
use crate::datapath::Tables;
use crate::firewall::conntrack::{ConnKey, Conntrack, Counts, Walk};
use crate::model::Ipfix;
use crate::nat::flows::{translation, Ep, Translation};
use crate::pipeline::clock;

/// How often the exporter reads the table.
const TICK: Duration = Duration::from_millis(100);
const TICKS_PER_SEC: usize = 10;
/// Templates go again this often (a collector that restarts learns them).
const TEMPLATE_EVERY: u32 = 10;
/// A walk over the live connections takes this long at most (and starts no more often).
const WALK_SECS: u32 = 5;
/// Ended connections read per hold of their ring's lock.
const ENDED_PER_READ: usize = 1024;
/// Slots of the live table read between two yields to the other control tasks.
const SLOTS_PER_STEP: usize = 8192;

/// What the exporter sent, for `vsctl ipfix show`.
#[derive(Debug, Default)]
pub struct Exporter {
    pub messages: AtomicU64,
    pub records: AtomicU64,
    pub errors: AtomicU64,
    /// Ended connections that left the table's ring before the exporter read them, and
    /// bridged flows' counts the workers' queue had no room for.
    pub lost: AtomicU64,
}

/// What was exported of a live connection: per direction its packets and octets, and when.
#[derive(Debug, Clone, Copy)]
struct Exported {
    packets: [u64; 2],
    bytes: [u64; 2],
    /// Process seconds of the last record (of its creation before the first).
    at: u32,
    /// The walk that last saw it live: one a whole walk missed has gone.
    walk: u32,
}

/// The exporter's state across ticks (reset when the settings change).
struct Session {
    settings: Ipfix,
    socket: UdpSocket,
    encoder: Encoder,
    /// The next ended connection to read.
    cursor: u64,
    exported: HashMap<ConnKey, Exported>,
    templates_at: Option<u32>,
    /// The walk under way (`None`: between two), its number and when it started.
    walk: Option<Walk>,
    walks: u32,
    walk_started: Option<u32>,
    bridged: Bridged,
    /// The bridged counts lost so far (the queue's count) when last read.
    bridged_lost: u64,
}

impl Exporter {
    /// Runs until aborted: exports while the model asks for it.
    pub async fn run(&self, mgr: &ConfigManager) {
        let mut session: Option<Session> = None;
        // Settings that could not open a socket: their warning was given.
        let mut failed: Option<Ipfix> = None;
        let mut tick = tokio::time::interval(TICK);
        let mut ticks = 0u32;
        loop {
            tick.tick().await;
            ticks = ticks.wrapping_add(1);
            let wanted = mgr.read(|m| m.ipfix.clone());
            match (wanted, &mut session) {
                (None, _) => session = None,
                (Some(w), Some(s)) if w == s.settings => {}
                // A collector that cannot be reached is tried again each second.
                (Some(w), _)
                    if failed.as_ref() == Some(&w)
                        && !ticks.is_multiple_of(TICKS_PER_SEC as u32) => {}
                (Some(w), _) => {
                    let first = failed.as_ref() != Some(&w);
                    session = Session::open(w.clone(), mgr).await;
                    failed = match session {
                        Some(_) => None,
                        None => {
                            if first {
                                tracing::warn!("ipfix: cannot send to {}; retrying", w.collector);
                            }
                            Some(w)
                        }
                    };
                }
            }
            if let Some(s) = &mut session {
                s.tick(mgr, self).await;
            }
        }
    }
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

impl Session {
    async fn open(settings: Ipfix, mgr: &ConfigManager) -> Option<Session> {
        let collector: SocketAddr = settings.collector.parse().ok()?;
        let local: SocketAddr = match collector {
            SocketAddr::V4(_) => "0.0.0.0:0".parse().ok()?,
            SocketAddr::V6(_) => "[::]:0".parse().ok()?,
        };
        let socket = match UdpSocket::bind(local).await {
            Ok(s) if s.connect(collector).await.is_ok() => s,
            // Retried each second; said once, when the settings change (`run`).
            _ => return None,
        };
        tracing::info!("ipfix: exporting to {collector}");
        // Connections that ended, and bridged counts handed over, before the export began are
        // not reported.
        let snap = mgr.snapshot_cell().load();
        snap.tables.bridge.handoff.take(|_| {});
        let cursor = snap
            .tables
            .firewall
            .conntrack
            .stats
            .ended
            .load(Ordering::Relaxed);
        Some(Session {
            settings,
            socket,
            encoder: Encoder::default(),
            cursor,
            exported: HashMap::new(),
            templates_at: None,
            walk: None,
            walks: 0,
            walk_started: None,
            bridged: Bridged::default(),
            bridged_lost: snap.tables.bridge.handoff.lost.load(Ordering::Relaxed),
        })
    }

    async fn tick(&mut self, mgr: &ConfigManager, counts: &Exporter) {
        let clocks = (clock::now_secs(), unix_now());
        let snap = mgr.snapshot_cell().load();
        let (t, ct) = (&snap.tables, &snap.tables.firewall.conntrack);
        let mut flows = Vec::new();
        self.read_ended(t, ct, clocks, counts, &mut flows);
        self.walk_on(t, ct, clocks, &mut flows).await;
        let handoff = &t.bridge.handoff;
        handoff.take(|c| self.bridged.add(c));
        let lost = handoff.lost.load(Ordering::Relaxed);
        counts
            .lost
            .fetch_add(lost.saturating_sub(self.bridged_lost), Ordering::Relaxed);
        self.bridged_lost = lost;
        let bridged = self.bridged.due(t, &self.settings, clocks);
        let now = clocks.0;
        if self.templates_at.is_none_or(|t| now >= t + TEMPLATE_EVERY) {
            self.templates_at = Some(now);
            self.send(self.encoder.templates(clocks.1), counts).await;
        }
        let n = flows.len() + bridged.len();
        if n == 0 {
            return;
        }
        counts.records.fetch_add(n as u64, Ordering::Relaxed);
        let mut msgs = self.encoder.data(&flows, clocks.1);
        msgs.extend(self.encoder.data_l2(&bridged, clocks.1));
        for msg in msgs {
            self.send(msg, counts).await;
        }
    }

    /// The records of the connections that ended since the last read.
    fn read_ended(
        &mut self,
        t: &Tables,
        ct: &Conntrack,
        clocks: (u32, u32),
        counts: &Exporter,
        flows: &mut Vec<Flow>,
    ) {
        loop {
            let ended = ct.ended_since(self.cursor, ENDED_PER_READ);
            let Some(last) = ended.last() else { return };
            let lost = ended[0].seq.saturating_sub(self.cursor);
            counts.lost.fetch_add(lost, Ordering::Relaxed);
            self.cursor = last.seq + 1;
            for r in &ended {
                let last = self.exported.remove(&r.key);
                if !self.sampled(&r.key) {
                    continue;
                }
                let reason = match r.why {
                    "timeout" => END_IDLE,
                    _ => END_FORCED,
                };
                let end = (reason, EVENT_DELETED);
                records(t, &r.conn.counts(&r.key), last, end, clocks, flows);
            }
        }
    }

    /// Goes on with the walk over the live connections (or starts the next when one is due),
    /// as far as a tick's share of a walk goes.
    async fn walk_on(
        &mut self,
        t: &Tables,
        ct: &Conntrack,
        clocks: (u32, u32),
        flows: &mut Vec<Flow>,
    ) {
        let now = clocks.0;
        let walk_secs = WALK_SECS.min(self.settings.idle_timeout).max(1);
        let mut at = match self.walk {
            Some(at) => at,
            None if self.walk_started.is_none_or(|s| now >= s + walk_secs) => {
                self.walk_started = Some(now);
                self.walks = self.walks.wrapping_add(1);
                Walk::default()
            }
            None => return,
        };
        let ticks = walk_secs as usize * TICKS_PER_SEC;
        let mut budget = ct.slots().div_ceil(ticks).max(1);
        let mut live = Vec::new();
        loop {
            let step = budget.min(SLOTS_PER_STEP);
            let next = ct.walk(at, step, &mut live);
            for c in live.drain(..) {
                self.look_at(t, &c, clocks, flows);
            }
            budget -= step;
            match next {
                None => {
                    // Whatever a whole walk did not see has gone (its ended record was lost).
                    let walk = self.walks;
                    self.exported.retain(|_, e| e.walk == walk);
                    self.walk = None;
                    return;
                }
                Some(next) if budget == 0 => {
                    self.walk = Some(next);
                    return;
                }
                Some(next) => at = next,
            }
            tokio::task::yield_now().await;
        }
    }

    /// A live connection the walk reached: its records when its counts are due, active ones
    /// every active timeout, idle ones once when they went idle.
    fn look_at(&mut self, t: &Tables, conn: &Counts, clocks: (u32, u32), flows: &mut Vec<Flow>) {
        let key = &conn.key;
        if !self.sampled(key) {
            return;
        }
        let now = clocks.0;
        // One lookup per connection and walk; a connection enters the map with its first
        // record (until then its creation is its start).
        let entry = self.exported.get_mut(key);
        let last = entry.as_deref().copied();
        let since = last.map_or(conn.created, |l| l.at);
        let changed = last.is_none_or(|l| l.packets != conn.packets);
        let reason = if now.saturating_sub(conn.last_seen) >= self.settings.idle_timeout {
            Some(END_IDLE)
        } else if now.saturating_sub(since) >= self.settings.active_timeout {
            Some(END_ACTIVE)
        } else {
            None
        };
        let walk = self.walks;
        let done = reason
            .filter(|_| changed)
            .map(|reason| records(t, conn, last, (reason, EVENT_UPDATE), clocks, flows));
        match (entry, done) {
            (Some(e), done) => {
                *e = done.unwrap_or(*e);
                e.walk = walk;
            }
            (None, Some(done)) => {
                self.exported.insert(*key, Exported { walk, ..done });
            }
            (None, None) => {}
        }
    }

    fn sampled(&self, key: &ConnKey) -> bool {
        sampled(key, self.settings.sampling)
    }

    async fn send(&self, msg: Vec<u8>, counts: &Exporter) {
        match self.socket.send(&msg).await {
            Ok(_) => counts.messages.fetch_add(1, Ordering::Relaxed),
            Err(_) => counts.errors.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// The records of both directions of `conn` since `last`, with their end reason and firewall
/// event; returns what is now exported.
fn records(
    t: &Tables,
    conn: &Counts,
    last: Option<Exported>,
    (reason, event): (u8, u8),
    clocks: (u32, u32),
    flows: &mut Vec<Flow>,
) -> Exported {
    let since = last.map_or(conn.created, |l| l.at);
    let ep = |e: crate::firewall::conntrack::Endpoint| (e.ip(), e.port);
    let (src, dst) = (ep(conn.orig_src()), ep(conn.orig_dst()));
    let (key, nets) = (&conn.key, (conn.from_net, conn.to_net));
    let opened = translation(&t.nat, nets, key.proto, src, dst).unwrap_or(Translation {
        arrived: (src, dst),
        left: (src, dst),
    });
    // A reply arrives for where the first packet went, and leaves for where it came from.
    let swap = |(a, b): (Ep, Ep)| (b, a);
    let replied = Translation {
        arrived: swap(opened.left),
        left: swap(opened.arrived),
    };
    for dir in 0..2 {
        let before = last.map_or((0, 0), |l| (l.packets[dir], l.bytes[dir]));
        let packets = conn.packets[dir].saturating_sub(before.0);
        if packets == 0 {
            continue;
        }
        let (way, net) = match dir {
            0 => (opened, conn.from_net),
            _ => (replied, conn.to_net),
        };
        let (came, went) = (Some(conn.path.in_port), conn.path.out_port);
        let (ingress, egress) = if dir == 0 { (came, went) } else { (went, came) };
        let ((from, to), (post_from, post_to)) = (way.arrived, way.left);
        flows.push(Flow {
            src: from.0,
            dst: to.0,
            sport: from.1,
            dport: to.1,
            proto: key.proto,
            octets: conn.bytes[dir].saturating_sub(before.1),
            packets,
            start: unix_ms(since, clocks),
            end: unix_ms(conn.last_seen, clocks),
            end_reason: reason,
            vrf: u32::from(key.zone),
            ingress: interface(ingress),
            egress: interface(egress),
            event,
            segment: segment(t.vxlan.vni(net)),
            post_src: post_from.0,
            post_dst: post_to.0,
            post_sport: post_from.1,
            post_dport: post_to.1,
        });
    }
    Exported {
        packets: conn.packets,
        bytes: conn.bytes,
        at: clocks.0,
        walk: 0,
    }
}

/// One connection in `n`, by its addresses and ports (a key is the same from either end).
fn sampled(key: &ConnKey, n: u32) -> bool {
    let n = n.max(1);
    if n == 1 {
        return true;
    }
    let sum = |e: IpAddr| match e {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6) as u64,
    };
    let (a, b) = (key.endpoint(0), key.endpoint(1));
    let h = sum(a.ip()) ^ sum(b.ip()) ^ u64::from(a.port ^ b.port);
    // The mixed hash's top 32 bits, uniform: one value in n falls under MAX / n.
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) < u64::from(u32::MAX / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::conntrack::Endpoint;

    #[test]
    fn sampling_takes_one_connection_in_n() {
        let key = |i: u16| {
            let a = Endpoint::new("198.51.100.10".parse().unwrap(), 40000 + i);
            let b = Endpoint::new("203.0.113.10".parse().unwrap(), 5201);
            ConnKey::new(0, 6, a, b)
        };
        let taken = (0..10_000).filter(|i| sampled(&key(*i), 10)).count();
        assert!((800..1200).contains(&taken), "{taken} of 10 000 at 1 in 10");
        assert!((0..100).all(|i| sampled(&key(i), 1)));
    }
}
