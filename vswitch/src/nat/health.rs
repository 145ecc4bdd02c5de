//! Backend health checks: the switch probes every backend of a service that asks for it with
//! a TCP connect — a SYN from the gateway of the backend's network every `interval` seconds.
//! A SYN-ACK is a success (the switch answers it with a reset), a reset or silence for
//! `timeout` seconds a failure. An HTTP check answers the SYN-ACK with `GET PATH HTTP/1.0`
//! instead, and succeeds on a 2xx or 3xx status line (then resets). `fall` failures in a row
//! take a backend out of its service's Maglev table, `rise` successes put it back (the
//! service's `HealthTiming`); each change is logged and makes the tables stale, so that the
//! next housekeeping tick republishes them.
//!
//! The control side (housekeeping) owns the probe states; the datapath only takes the probes
//! queued for it (without waiting on a lock) and records answers in per-probe atomic slots.

use hashbrown::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use parking_lot::Mutex;

use std::net::IpAddr;

use super::service::{Endpoint as Addr, Services};
use crate::forwarding::GATEWAY_MAC;
use crate::model::HealthTiming;
use crate::packet::{eth, ethertype, ipproto, ipv4, ipv6, tcp, MacAddr};
use crate::pipeline::snapshot::NetIdx;

/// The source ports of probes, one per probed backend (kept out of the hairpin SNAT range).
pub const PROBE_PORTS: (u16, u16) = (61_000, 64_999);

const SLOTS: usize = (PROBE_PORTS.1 - PROBE_PORTS.0) as usize + 1;
const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_PSH: u8 = 0x08;
const TCP_ACK: u8 = 0x10;

/// What a probe's slot heard.
const NO_ANSWER: u8 = 0;
const ACCEPTED: u8 = 1;
const REFUSED: u8 = 2;
/// HTTP: connected, the request sent, no status line yet.
const CONNECTED: u8 = 3;
/// HTTP: a status line other than 2xx or 3xx (in `Slot::status`).
const BAD_STATUS: u8 = 4;
/// HTTP: the backend closed the connection without a status line.
const CLOSED: u8 = 5;

/// How a service probes its backends (the model's `health_check`, `none` aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A TCP connect.
    Tcp,
    /// A TCP connect, then this request (`GET PATH HTTP/1.0`).
    Http(Arc<Vec<u8>>),
}

impl Check {
    /// The check `health_check` names: `tcp` (also the default), `http:PATH` or `none`.
    pub fn parse(health_check: Option<&str>) -> Result<Option<Check>, String> {
        match health_check.unwrap_or("tcp") {
            "tcp" => Ok(Some(Check::Tcp)),
            "none" => Ok(None),
            other => match other.strip_prefix("http:") {
                Some(path) if is_http_path(path) => {
                    let request = format!("GET {path} HTTP/1.0\r\n\r\n");
                    Ok(Some(Check::Http(Arc::new(request.into_bytes()))))
                }
                Some(path) => Err(format!(
                    "{path:?} is not an HTTP path (it starts with /, at most {MAX_PATH} printable characters, no spaces)"
                )),
                None => Err(format!("{other:?} is not tcp, http:PATH or none")),
            },
        }
    }
}

/// The longest path an HTTP check asks for: the request is written over the backend's
/// SYN-ACK, grown at the front (a minimal IPv4 frame and an mbuf's 128 bytes of headroom hold
/// an IPv6 segment with a 64-byte path).
const MAX_PATH: usize = 64;

fn is_http_path(path: &str) -> bool {
    path.starts_with('/') && path.len() <= MAX_PATH && path.bytes().all(|b| b.is_ascii_graphic())
}

/// The status code of an HTTP response's first segment (`HTTP/1.x NNN ...`).
fn http_status(payload: &[u8]) -> Option<u16> {
    let rest = payload.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5).filter(|_| rest.get(1) == Some(&b' '))?;
    let code = std::str::from_utf8(code).ok()?.parse().ok()?;
    (100..=999).contains(&code).then_some(code)
}

/// A probe waiting for an answer: the backend it went to, and what came back.
#[derive(Default)]
struct Slot {
    /// The backend's address and port, with bit 48 set while a probe is out.
    target: AtomicU64,
    answer: AtomicU8,
    /// The status code of an HTTP answer.
    status: AtomicU16,
    /// The request an HTTP probe sends once connected (none: a TCP probe).
    request: ArcSwapOption<Vec<u8>>,
}

/// What the datapath does with a segment to a probe port.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// It answers no probe: not the probe's backend, or no probe is out.
    NotProbe,
    /// Nothing to send.
    Quiet,
    /// Reset the probe's connection.
    Reset,
    /// Send this HTTP request on the connection just accepted.
    Request(Arc<Vec<u8>>),
}

/// The backend a probe went to, in 64 bits (an IPv6 address folded: a probe's answer must
/// also come to the probe's own port).
fn target(a: Addr) -> u64 {
    let ip = match a.0 {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let x = u128::from(v6);
            ((x >> 64) as u64 ^ x as u64) & 0xffff_ffff_ffff
        }
    };
    1 << 63 | ip << 16 | u64::from(a.1)
}

/// A backend's health as `service show` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendHealth {
    pub up: bool,
    /// Unix seconds of the last change (or of the first probe).
    pub since: u64,
    /// The last probe's outcome: `ok`, `refused`, `timeout`, for HTTP also `http NNN`,
    /// `closed` or `no response` (empty before the first).
    pub last: String,
}

struct Probed {
    health: BackendHealth,
    /// Results in a row against the current state.
    streak: u32,
    sent_at: Option<u32>,
    next_at: u32,
    slot: u16,
}

#[derive(Default)]
struct Probes {
    /// Per service, per backend.
    by_service: HashMap<String, HashMap<Addr, Probed>>,
    free: Vec<u16>,
    next_slot: u16,
}

/// A probe the datapath sends: an IP frame from the gateway of network `net`.
pub struct Probe {
    pub net: NetIdx,
    pub frame: Vec<u8>,
}

pub struct Health {
    probes: Mutex<Probes>,
    slots: Box<[Slot]>,
    outgoing: Mutex<Vec<Probe>>,
    queued: AtomicBool,
    /// A backend changed state since the tables were last built.
    stale: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            probes: Mutex::default(),
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            outgoing: Mutex::default(),
            queued: AtomicBool::new(false),
            stale: AtomicBool::new(false),
        }
    }
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Health")
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Health {
    /// Whether backend `addr` of service `name` may take new connections (a backend never
    /// probed is).
    pub fn is_up(&self, name: &str, addr: Addr) -> bool {
        let probes = self.probes.lock();
        probes
            .by_service
            .get(name)
            .and_then(|b| b.get(&addr))
            .is_none_or(|p| p.health.up)
    }

    /// The health of backend `addr` of service `name`, if it is probed.
    pub fn of(&self, name: &str, addr: Addr) -> Option<BackendHealth> {
        let probes = self.probes.lock();
        let p = probes.by_service.get(name)?.get(&addr)?;
        Some(p.health.clone())
    }

    /// Whether a backend changed state since the last call.
    pub fn take_stale(&self) -> bool {
        self.stale.swap(false, Ordering::Relaxed)
    }

    /// One housekeeping tick at `now`: judges the probes sent before it, sends those due,
    /// forgets the backends that are gone.
    pub fn tick(&self, services: &Services, now: u32) {
        let mut guard = self.probes.lock();
        let probes = &mut *guard;
        let mut sent = Vec::new();
        let mut seen: HashMap<&str, Vec<Addr>> = HashMap::new();
        for svc in &services.list {
            let Some(check) = &svc.check else { continue };
            let backends = probes.by_service.entry(svc.name.clone()).or_default();
            for b in &svc.backends {
                let Some(gateway) = b.gateway else { continue };
                seen.entry(svc.name.as_str()).or_default().push(b.addr);
                if !backends.contains_key(&b.addr) {
                    let Some(slot) = probes.free.pop().or_else(|| {
                        let s = probes.next_slot;
                        (usize::from(s) < SLOTS).then(|| {
                            probes.next_slot += 1;
                            s
                        })
                    }) else {
                        continue;
                    };
                    backends.insert(b.addr, Probed::new(slot, now));
                }
                let Some(p) = backends.get_mut(&b.addr) else {
                    continue;
                };
                let slot = &self.slots[usize::from(p.slot)];
                let timing = &svc.timing;
                if p.sent_at.is_some_and(|at| now >= at + timing.timeout) {
                    p.sent_at = None;
                    slot.target.store(0, Ordering::Relaxed);
                    let answer = slot.answer.swap(NO_ANSWER, Ordering::Relaxed);
                    let status = slot.status.load(Ordering::Relaxed);
                    if p.judge(answer, status, timing) {
                        let (h, name, (ip, port)) = (&p.health, &svc.name, b.addr);
                        match h.up {
                            true => tracing::info!(
                                "service {name}: backend {ip}:{port} is up (probe {})",
                                h.last
                            ),
                            false => tracing::warn!(
                                "service {name}: backend {ip}:{port} is down ({} probes failed, the last {})",
                                timing.fall, h.last
                            ),
                        }
                        self.stale.store(true, Ordering::Relaxed);
                    }
                }
                if p.sent_at.is_none() && now >= p.next_at {
                    p.sent_at = Some(now);
                    p.next_at = now + timing.interval;
                    let port = PROBE_PORTS.0 + p.slot;
                    slot.answer.store(NO_ANSWER, Ordering::Relaxed);
                    slot.request.store(match check {
                        Check::Tcp => None,
                        Check::Http(request) => Some(request.clone()),
                    });
                    slot.target.store(target(b.addr), Ordering::Release);
                    let seq = now.wrapping_mul(0x9e37_79b1) ^ u32::from(port);
                    let frame = segment((gateway, port), b.addr, (seq, 0, TCP_SYN), &[]);
                    sent.push(Probe { net: b.net, frame });
                }
            }
        }
        // Backends and services that are gone, or no longer probed, free their slots.
        let Probes {
            by_service, free, ..
        } = probes;
        by_service.retain(|name, backends| {
            let kept = seen.get(name.as_str());
            backends.retain(|addr, p| {
                let keep = kept.is_some_and(|k| k.contains(addr));
                if !keep {
                    self.slots[usize::from(p.slot)]
                        .target
                        .store(0, Ordering::Relaxed);
                    free.push(p.slot);
                }
                keep
            });
            !backends.is_empty()
        });
        drop(guard);
        let mut q = self.outgoing.lock();
        // What the datapath sent is freed here, not on a worker.
        if !self.queued.load(Ordering::Acquire) {
            q.clear();
        }
        if !sent.is_empty() {
            q.extend(sent);
            self.queued.store(true, Ordering::Release);
        }
    }

    /// Hands the queued probes to `send` (the datapath, once a poll; it copies each frame); a
    /// probe queue that the control side holds just now waits for the next poll. The frames
    /// stay in the queue for the control side to free.
    #[inline]
    pub fn take_probes(&self, send: impl FnMut(&Probe)) {
        if !self.queued.load(Ordering::Acquire) {
            return;
        }
        if let Some(q) = self.outgoing.try_lock() {
            q.iter().for_each(send);
            self.queued.store(false, Ordering::Release);
        }
    }

    /// Records a TCP segment from `from` to probe port `port` with `flags` and `payload`, and
    /// says what to send back.
    pub fn answer(&self, from: Addr, port: u16, flags: u8, payload: &[u8]) -> Reply {
        let Some(slot) = port
            .checked_sub(PROBE_PORTS.0)
            .and_then(|i| self.slots.get(usize::from(i)))
        else {
            return Reply::NotProbe;
        };
        if slot.target.load(Ordering::Acquire) != target(from) {
            return Reply::NotProbe;
        }
        let state = slot.answer.load(Ordering::Relaxed);
        let request = slot.request.load_full();
        let (answer, reply) = match (flags, request) {
            (f, _) if f & TCP_RST != 0 => match state {
                NO_ANSWER | CONNECTED => (REFUSED, Reply::Quiet),
                _ => return Reply::Quiet,
            },
            (f, None) if f & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK => (ACCEPTED, Reply::Reset),
            (f, Some(request)) if f & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK => match state {
                NO_ANSWER | CONNECTED => (CONNECTED, Reply::Request(request)),
                _ => return Reply::Reset,
            },
            (f, Some(_)) if state == CONNECTED => match http_status(payload) {
                Some(code) => {
                    slot.status.store(code, Ordering::Relaxed);
                    let ok = (200..400).contains(&code);
                    (if ok { ACCEPTED } else { BAD_STATUS }, Reply::Reset)
                }
                None if f & TCP_FIN != 0 => (CLOSED, Reply::Reset),
                None => return Reply::Quiet,
            },
            _ => return Reply::Quiet,
        };
        slot.answer.store(answer, Ordering::Relaxed);
        reply
    }
}

impl Probed {
    fn new(slot: u16, now: u32) -> Probed {
        Probed {
            health: BackendHealth {
                up: true,
                since: unix_now(),
                last: String::new(),
            },
            streak: 0,
            sent_at: None,
            next_at: now,
            slot,
        }
    }

    /// Counts a probe's `answer` (`status`: its HTTP status code); `true` when the backend
    /// changed state.
    fn judge(&mut self, answer: u8, status: u16, timing: &HealthTiming) -> bool {
        let ok = answer == ACCEPTED;
        self.health.last = match answer {
            ACCEPTED => "ok".into(),
            REFUSED => "refused".into(),
            BAD_STATUS => format!("http {status}"),
            CLOSED => "closed".into(),
            CONNECTED => "no response".into(),
            _ => "timeout".into(),
        };
        if ok == self.health.up {
            self.streak = 0;
            return false;
        }
        self.streak += 1;
        let needed = if ok { timing.rise } else { timing.fall };
        if self.streak < needed {
            return false;
        }
        self.streak = 0;
        self.health.up = ok;
        self.health.since = unix_now();
        true
    }
}

/// The length of a TCP segment without payload or options from `from`, in its frame (its
/// payload comes after).
pub fn segment_len(from: IpAddr) -> usize {
    let ip = match from {
        IpAddr::V4(_) => ipv4::HEADER_LEN,
        IpAddr::V6(_) => ipv6::HEADER_LEN,
    };
    eth::HEADER_LEN + ip + tcp::HEADER_LEN
}

/// TCP sequence number, acknowledgement number and flags.
type TcpHeader = (u32, u32, u8);

/// An Ethernet/IP/TCP segment from the gateway MAC (the router writes the destination MAC),
/// with its checksums.
pub fn segment(from: Addr, to: Addr, tcp: TcpHeader, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; segment_len(from.0) + payload.len()];
    write_segment(&mut frame, MacAddr([0; 6]), from, to, tcp, payload);
    frame
}

/// Writes the segment into `frame` (exactly `segment_len` + the payload's length), to
/// `dst_mac`.
pub fn write_segment(
    frame: &mut [u8],
    dst_mac: MacAddr,
    from: Addr,
    to: Addr,
    (seq, ack, flags): TcpHeader,
    payload: &[u8],
) {
    frame.fill(0);
    let (ethertype, ip_len) = match from.0 {
        IpAddr::V4(_) => (ethertype::IPV4, ipv4::HEADER_LEN),
        IpAddr::V6(_) => (ethertype::IPV6, ipv6::HEADER_LEN),
    };
    eth::Repr {
        src: GATEWAY_MAC,
        dst: dst_mac,
        ethertype,
    }
    .emit(&mut eth::Frame::new_unchecked(&mut frame[..]));
    let (l3, l4) = frame[eth::HEADER_LEN..].split_at_mut(ip_len);
    let l4_len = tcp::HEADER_LEN + payload.len();
    l4[tcp::HEADER_LEN..l4_len].copy_from_slice(payload);
    let mut seg = tcp::Packet::new_unchecked(&mut l4[..l4_len]);
    seg.set_src_port(from.1);
    seg.set_dst_port(to.1);
    seg.set_seq_number(seq);
    seg.set_ack_number(ack);
    seg.set_header_len(tcp::HEADER_LEN);
    seg.set_flags(flags);
    seg.set_window(if flags & TCP_RST != 0 { 0 } else { 64_240 });
    match (from.0, to.0) {
        (IpAddr::V4(src_addr), IpAddr::V4(dst_addr)) => {
            ipv4::Repr {
                src_addr,
                dst_addr,
                next_header: ipproto::TCP,
                payload_len: l4_len,
                ttl: 64,
            }
            .emit(&mut ipv4::Packet::new_unchecked(&mut l3[..]));
            seg.fill_checksum_v4(src_addr, dst_addr);
        }
        (IpAddr::V6(src_addr), IpAddr::V6(dst_addr)) => {
            ipv6::Repr {
                src_addr,
                dst_addr,
                next_header: ipproto::TCP,
                payload_len: l4_len,
                hop_limit: 64,
            }
            .emit(&mut ipv6::Packet::new_unchecked(&mut l3[..]));
            seg.fill_checksum_v6(src_addr, dst_addr);
        }
        // A backend and its gateway are of one family (validated).
        _ => {}
    }
}

/// The reset that closes a probe's connection (`their_ack`: the backend's acknowledgement
/// number, the probe's next sequence number).
pub fn reset_for(frame: &mut [u8], dst_mac: MacAddr, from: Addr, to: Addr, their_ack: u32) {
    write_segment(frame, dst_mac, from, to, (their_ack, 0, TCP_RST), &[]);
}

/// An HTTP probe's request on the connection the backend's SYN-ACK (`their_seq`,
/// `their_ack`) accepted.
pub fn request_for(
    frame: &mut [u8],
    dst_mac: MacAddr,
    from: Addr,
    to: Addr,
    (their_seq, their_ack): (u32, u32),
    request: &[u8],
) {
    let tcp = (their_ack, their_seq.wrapping_add(1), TCP_ACK | TCP_PSH);
    write_segment(frame, dst_mac, from, to, tcp, request);
}
