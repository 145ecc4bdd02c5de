//! The IPFIX exporter: a control-plane task that, once a second, reads the connections that
//! ended (the connection table's ring of flow records, from where it left off) and, every few
//! seconds, the live ones whose counts are due (active timeout) or that went idle (idle
//! timeout), and sends their records to the collector over UDP. Workers are never involved:
//! they only count, in the connection entry, as they always do.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;

use super::ipfix::{Encoder, Flow, END_ACTIVE, END_FORCED, END_IDLE, EVENT_DELETED, EVENT_UPDATE};
use crate::config::manager::ConfigManager;
use crate::firewall::conntrack::{Conn, ConnKey};
use crate::model::Ipfix;
use crate::pipeline::clock;

/// Templates go again this often (a collector that restarts learns them).
const TEMPLATE_EVERY: u32 = 10;
/// The live connections are read at most this often.
const SCAN_EVERY: u32 = 5;

/// What the exporter sent, for `vsctl ipfix show`.
#[derive(Debug, Default)]
pub struct Exporter {
    pub messages: AtomicU64,
    pub records: AtomicU64,
    pub errors: AtomicU64,
}

/// What was exported of a live connection: per direction its packets and octets, and when.
#[derive(Debug, Clone, Copy)]
struct Exported {
    packets: [u64; 2],
    bytes: [u64; 2],
    /// Process seconds of the last record (of its creation before the first).
    at: u32,
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
    scanned_at: Option<u32>,
}

impl Exporter {
    /// Runs until aborted: exports while the model asks for it.
    pub async fn run(&self, mgr: &ConfigManager) {
        let mut session: Option<Session> = None;
        // Settings that could not open a socket: their warning was given.
        let mut failed: Option<Ipfix> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let wanted = mgr.read(|m| m.ipfix.clone());
            match (wanted, &mut session) {
                (None, _) => session = None,
                (Some(w), Some(s)) if w == s.settings => {}
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
        // Connections that ended before the export began are not reported.
        let cursor = conntrack(mgr).stats.ended.load(Ordering::Relaxed);
        Some(Session {
            settings,
            socket,
            encoder: Encoder::default(),
            cursor,
            exported: HashMap::new(),
            templates_at: None,
            scanned_at: None,
        })
    }

    async fn tick(&mut self, mgr: &ConfigManager, counts: &Exporter) {
        let (now, unix) = (clock::now_secs(), unix_now());
        let ct = conntrack(mgr);
        let mut flows = Vec::new();
        let (ended, next) = ct.ended_since(self.cursor);
        self.cursor = next;
        for r in &ended {
            if !self.sampled(&r.key) {
                continue;
            }
            let last = self.exported.remove(&r.key);
            let reason = if r.why == "timeout" {
                END_IDLE
            } else {
                END_FORCED
            };
            let end = (reason, EVENT_DELETED);
            self.records(&r.key, &r.conn, last, end, (now, unix), &mut flows);
        }
        let scan_every = SCAN_EVERY.min(self.settings.idle_timeout);
        if self.scanned_at.is_none_or(|t| now >= t + scan_every) {
            self.scanned_at = Some(now);
            self.scan(&ct.list(usize::MAX), (now, unix), &mut flows);
        }
        if self.templates_at.is_none_or(|t| now >= t + TEMPLATE_EVERY) {
            self.templates_at = Some(now);
            self.send(self.encoder.templates(unix), counts).await;
        }
        if flows.is_empty() {
            return;
        }
        counts
            .records
            .fetch_add(flows.len() as u64, Ordering::Relaxed);
        for msg in self.encoder.data(&flows, unix) {
            self.send(msg, counts).await;
        }
    }

    /// Live connections whose counts are due: active ones every active timeout, idle ones
    /// once when they went idle; the records of the connections gone are forgotten.
    fn scan(&mut self, live: &[(ConnKey, Conn)], clocks: (u32, u32), flows: &mut Vec<Flow>) {
        let now = clocks.0;
        let mut seen = HashMap::with_capacity(self.exported.len());
        for (key, conn) in live {
            if !self.sampled(key) {
                continue;
            }
            let last = self.exported.get(key).copied();
            let since = last.map_or(conn.created, |l| l.at);
            let changed = last.is_none_or(|l| l.packets != conn.packets);
            let reason = if now.saturating_sub(conn.last_seen) >= self.settings.idle_timeout {
                Some(END_IDLE)
            } else if now.saturating_sub(since) >= self.settings.active_timeout {
                Some(END_ACTIVE)
            } else {
                None
            };
            match reason.filter(|_| changed) {
                Some(reason) => {
                    let end = (reason, EVENT_UPDATE);
                    let done = self.records(key, conn, last, end, clocks, flows);
                    seen.insert(*key, done);
                }
                None => {
                    let kept = last.unwrap_or(Exported {
                        packets: [0; 2],
                        bytes: [0; 2],
                        at: conn.created,
                    });
                    seen.insert(*key, kept);
                }
            }
        }
        self.exported = seen;
    }

    /// The records of both directions of `conn` since `last`, with their end reason and
    /// firewall event; returns what is now exported.
    fn records(
        &self,
        key: &ConnKey,
        conn: &Conn,
        last: Option<Exported>,
        (reason, event): (u8, u8),
        (now, unix): (u32, u32),
        flows: &mut Vec<Flow>,
    ) -> Exported {
        let at_unix = |t: u32| u64::from(unix.saturating_sub(now.saturating_sub(t))) * 1000;
        let since = last.map_or(conn.created, |l| l.at);
        let (src, dst) = (conn.orig_src(key), conn.orig_dst(key));
        for dir in 0..2 {
            let before = last.map_or((0, 0), |l| (l.packets[dir], l.bytes[dir]));
            let packets = conn.packets[dir].saturating_sub(before.0);
            if packets == 0 {
                continue;
            }
            let (from, to) = if dir == 0 { (src, dst) } else { (dst, src) };
            // Interfaces are numbered from 1: 0 is a flood's (no one port).
            let index = |p: Option<u16>| p.map_or(0, |p| u32::from(p) + 1);
            let (came, went) = (Some(conn.path.in_port), conn.path.out_port);
            let (ingress, egress) = if dir == 0 { (came, went) } else { (went, came) };
            flows.push(Flow {
                src: from.ip(),
                dst: to.ip(),
                sport: from.port,
                dport: to.port,
                proto: key.proto,
                octets: conn.bytes[dir].saturating_sub(before.1),
                packets,
                start: at_unix(since),
                end: at_unix(conn.last_seen),
                end_reason: reason,
                vrf: u32::from(key.zone),
                ingress: index(ingress),
                egress: index(egress),
                event,
            });
        }
        Exported {
            packets: conn.packets,
            bytes: conn.bytes,
            at: now,
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

fn conntrack(mgr: &ConfigManager) -> std::sync::Arc<crate::firewall::conntrack::Conntrack> {
    mgr.snapshot_cell().load().tables.firewall.conntrack.clone()
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
