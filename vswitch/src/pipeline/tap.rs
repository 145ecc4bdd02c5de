//! Taps: copies of a port's packets for `vsctl capture` (received, sent, or dropped with the
//! reason), and the packets a live trace follows. The control thread arms and disarms them;
//! a worker reads one flag a poll while none is armed.
//!
//! A copy goes through a bounded ring of preallocated slots: the worker takes a free slot,
//! fills it and hands it over; the control thread sends it on and gives the slot back. With no
//! free slot the copy is lost and counted, never the packet. Nothing here allocates in a
//! worker.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use crossbeam_queue::ArrayQueue;
use parking_lot::Mutex;

use super::bpf::Program;
use super::buf::PacketBuf;
use super::drop::DropReason;
use super::trace::Trail;

/// Bytes of a packet a copy keeps (the rest is counted in its wire length).
pub const SNAP_LEN: usize = 2048;
/// Copies waiting for the control thread, per capture.
pub const RING: usize = 8192;
/// Traces waiting for the control thread, per live trace.
const TRACE_RING: usize = 64;

/// Nanoseconds since the Unix epoch: the time stamp of a copy or a trace.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Where a copy was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Received,
    Sent,
    Dropped(DropReason),
}

/// One copied packet.
pub struct Copy {
    pub time_ns: u64,
    pub port: u16,
    pub seen: Seen,
    /// The packet's whole length (the copy may hold less).
    pub wire_len: u32,
    len: u16,
    bytes: [u8; SNAP_LEN],
}

impl Copy {
    fn empty() -> Box<Copy> {
        Box::new(Copy {
            time_ns: 0,
            port: 0,
            seen: Seen::Received,
            wire_len: 0,
            len: 0,
            bytes: [0; SNAP_LEN],
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Takes up to `count` packets (all of them: `None`), one at a time, from any worker; knows
/// when the last one taken was also handed over (`settle`).
struct Budget {
    left: AtomicU64,
    asked: u64,
    settled: AtomicU64,
}

impl Budget {
    fn new(count: Option<u64>) -> Budget {
        let asked = count.unwrap_or(u64::MAX);
        Budget {
            left: AtomicU64::new(asked),
            asked,
            settled: AtomicU64::new(0),
        }
    }

    fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    fn spent(&self) -> bool {
        self.left.load(Ordering::Relaxed) == 0
    }

    /// One packet taken was handed over (or lost).
    fn settle(&self) {
        self.settled.fetch_add(1, Ordering::Release);
    }

    /// Every packet asked for was taken and handed over.
    fn finished(&self) -> bool {
        self.settled.load(Ordering::Acquire) >= self.asked
    }
}

/// One `vsctl capture`: what it copies, and the ring its copies wait in.
pub struct Capture {
    pub port: u16,
    pub received: bool,
    pub sent: bool,
    pub dropped: bool,
    filter: Option<Program>,
    /// Bytes of a packet a copy keeps (at most `SNAP_LEN`).
    snaplen: usize,
    budget: Budget,
    free: ArrayQueue<Box<Copy>>,
    full: ArrayQueue<Box<Copy>>,
    /// Copies lost because the ring was full.
    pub lost: AtomicU64,
}

impl Capture {
    /// A capture of `port` (received, sent, dropped packets as asked) through `filter`, of at
    /// most `count` packets, each cut to `snaplen` bytes.
    pub fn new(
        port: u16,
        (received, sent, dropped): (bool, bool, bool),
        filter: Option<Program>,
        count: Option<u64>,
        snaplen: usize,
    ) -> Capture {
        let free = ArrayQueue::new(RING);
        for _ in 0..RING {
            let _ = free.push(Copy::empty());
        }
        Capture {
            port,
            received,
            sent,
            dropped,
            filter,
            snaplen: snaplen.clamp(1, SNAP_LEN),
            budget: Budget::new(count),
            free,
            full: ArrayQueue::new(RING),
            lost: AtomicU64::new(0),
        }
    }

    /// Copies `buf` if the filter keeps it and the capture wants more.
    fn take<B: PacketBuf>(&self, buf: &B, seen: Seen) {
        let frame = buf.data();
        if self
            .filter
            .as_ref()
            .is_some_and(|f| !f.matches(frame, buf.pkt_len()))
        {
            return;
        }
        if !self.budget.take() {
            return;
        }
        let Some(mut copy) = self.free.pop() else {
            self.lost.fetch_add(1, Ordering::Relaxed);
            self.budget.settle();
            return;
        };
        let len = frame.len().min(self.snaplen);
        copy.bytes[..len].copy_from_slice(&frame[..len]);
        copy.len = len as u16;
        copy.wire_len = buf.pkt_len() as u32;
        copy.time_ns = now_ns();
        copy.port = self.port;
        copy.seen = seen;
        // The slot came from `free`: `full` has room for it.
        let _ = self.full.push(copy);
        self.budget.settle();
    }

    /// Hands every waiting copy to `f`, oldest first, and frees their slots.
    pub fn drain(&self, mut f: impl FnMut(&Copy)) {
        while let Some(copy) = self.full.pop() {
            f(&copy);
            let _ = self.free.push(copy);
        }
    }

    /// The capture took every packet it was to take and handed it over.
    pub fn done(&self) -> bool {
        self.budget.finished()
    }

    /// No copy waits for the control thread.
    pub fn is_drained(&self) -> bool {
        self.full.is_empty()
    }
}

/// One trace of a real packet, as a worker recorded it.
pub struct Traced {
    pub time_ns: u64,
    pub port: u16,
    pub trail: Trail,
}

/// One `vsctl trace --live`: the next packets of a port that the filter keeps are traced.
pub struct LiveTrace {
    pub port: u16,
    filter: Option<Program>,
    budget: Budget,
    done: ArrayQueue<Traced>,
}

impl LiveTrace {
    pub fn new(port: u16, filter: Option<Program>, count: u64) -> LiveTrace {
        LiveTrace {
            port,
            filter,
            budget: Budget::new(Some(count)),
            done: ArrayQueue::new(TRACE_RING),
        }
    }

    /// The packet of `pkts` to trace, if one is wanted (the first the filter keeps).
    pub fn pick<B: PacketBuf>(&self, pkts: &[B]) -> Option<usize> {
        if self.budget.spent() {
            return None;
        }
        let i = pkts.iter().position(|b| {
            self.filter
                .as_ref()
                .is_none_or(|f| f.matches(b.data(), b.pkt_len()))
        })?;
        self.budget.take().then_some(i)
    }

    /// A worker traced one packet.
    pub fn record(&self, trail: Trail) {
        let _ = self.done.push(Traced {
            time_ns: now_ns(),
            port: self.port,
            trail,
        });
        self.budget.settle();
    }

    /// Hands every finished trace to `f`.
    pub fn drain(&self, mut f: impl FnMut(Traced)) {
        while let Some(t) = self.done.pop() {
            f(t);
        }
    }

    /// Every packet asked for was traced and handed over.
    pub fn done(&self) -> bool {
        self.budget.finished()
    }

    /// No finished trace waits for the control thread.
    pub fn is_drained(&self) -> bool {
        self.done.is_empty()
    }
}

/// What is armed at one time.
#[derive(Default)]
pub struct TapSet {
    pub captures: Vec<Arc<Capture>>,
    pub traces: Vec<Arc<LiveTrace>>,
}

impl TapSet {
    /// Copies of the burst `pkts` that `port` received.
    pub fn received<B: PacketBuf>(&self, port: u16, pkts: &[B]) {
        for c in self
            .captures
            .iter()
            .filter(|c| c.port == port && c.received)
        {
            for b in pkts {
                c.take(b, Seen::Received);
            }
        }
    }

    /// Copies of the burst `pkts` that `port` is about to send.
    pub fn sent<B: PacketBuf>(&self, port: u16, pkts: &[B]) {
        for c in self.captures.iter().filter(|c| c.port == port && c.sent) {
            for b in pkts {
                c.take(b, Seen::Sent);
            }
        }
    }

    /// A copy of `buf`, received on `port` and dropped for `reason`.
    pub fn dropped<B: PacketBuf>(&self, port: u16, buf: &B, reason: DropReason) {
        for c in self.captures.iter().filter(|c| c.port == port && c.dropped) {
            c.take(buf, Seen::Dropped(reason));
        }
    }

    /// The live trace of `port`, if one is armed.
    pub fn trace(&self, port: u16) -> Option<&LiveTrace> {
        self.traces.iter().find(|t| t.port == port).map(|t| &**t)
    }
}

/// The taps of the switch: shared by the workers and the control thread.
#[derive(Default)]
pub struct Taps {
    armed: AtomicBool,
    set: ArcSwap<TapSet>,
    /// Serialises the control thread's changes.
    change: Mutex<()>,
}

impl Taps {
    /// Something is armed: the worker loads the set.
    #[inline(always)]
    pub fn armed(&self) -> bool {
        self.armed.load(Ordering::Relaxed)
    }

    pub fn current(&self) -> Arc<TapSet> {
        self.set.load_full()
    }

    fn edit(&self, f: impl FnOnce(&mut TapSet)) {
        let _one = self.change.lock();
        let old = self.set.load();
        let mut next = TapSet {
            captures: old.captures.clone(),
            traces: old.traces.clone(),
        };
        f(&mut next);
        let armed = !next.captures.is_empty() || !next.traces.is_empty();
        self.set.store(Arc::new(next));
        self.armed.store(armed, Ordering::Relaxed);
    }

    pub fn add_capture(&self, c: Arc<Capture>) {
        self.edit(|s| s.captures.push(c));
    }

    pub fn remove_capture(&self, c: &Arc<Capture>) {
        self.edit(|s| s.captures.retain(|x| !Arc::ptr_eq(x, c)));
    }

    /// Arms `t`; false when a live trace of its port is armed already.
    pub fn add_trace(&self, t: Arc<LiveTrace>) -> bool {
        let mut added = false;
        self.edit(|s| {
            if s.trace(t.port).is_none() {
                s.traces.push(t);
                added = true;
            }
        });
        added
    }

    pub fn remove_trace(&self, t: &Arc<LiveTrace>) {
        self.edit(|s| s.traces.retain(|x| !Arc::ptr_eq(x, t)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::buf::TestBuf;

    fn frames(n: usize) -> Vec<TestBuf> {
        (0..n).map(|i| TestBuf::new(3, &[i as u8; 60])).collect()
    }

    #[test]
    fn a_capture_copies_what_its_filter_keeps_up_to_its_count() {
        let taps = Taps::default();
        assert!(!taps.armed());
        // `greater 0` keeps everything, `ether[0] == 2` only the third frame.
        let all = Arc::new(Capture::new(3, (true, false, false), None, Some(5), 16));
        let third = Program::compile("ether[0] == 2").unwrap();
        let one = Arc::new(Capture::new(
            3,
            (true, true, false),
            Some(third),
            None,
            SNAP_LEN,
        ));
        taps.add_capture(all.clone());
        taps.add_capture(one.clone());
        assert!(taps.armed());
        let set = taps.current();
        set.received(3, &frames(8));
        set.received(4, &frames(8));
        set.sent(3, &frames(4));
        let mut got = Vec::new();
        all.drain(|c| got.push((c.bytes()[0], c.seen, c.wire_len, c.bytes().len())));
        assert_eq!(got.len(), 5);
        assert!(all.done());
        // Cut to the snap length; the wire length stays.
        assert_eq!(got[4], (4, Seen::Received, 60, 16));
        let mut got = Vec::new();
        one.drain(|c| got.push((c.bytes()[0], c.seen)));
        assert_eq!(got, vec![(2, Seen::Received), (2, Seen::Sent)]);
        taps.remove_capture(&all);
        taps.remove_capture(&one);
        assert!(!taps.armed());
    }

    #[test]
    fn a_full_ring_loses_copies_not_packets() {
        let c = Capture::new(1, (true, false, false), None, None, SNAP_LEN);
        let set = TapSet {
            captures: vec![Arc::new(c)],
            traces: Vec::new(),
        };
        for _ in 0..RING / 32 + 2 {
            set.received(1, &frames(32));
        }
        assert_eq!(set.captures[0].lost.load(Ordering::Relaxed), 64);
        let mut n = 0;
        set.captures[0].drain(|_| n += 1);
        assert_eq!(n, RING);
    }

    #[test]
    fn a_live_trace_picks_the_first_kept_packet_of_a_burst_until_its_count() {
        let keep = Program::compile("ether[0] == 5").unwrap();
        let t = LiveTrace::new(0, Some(keep), 2);
        assert_eq!(t.pick(&frames(8)), Some(5));
        assert_eq!(t.pick(&frames(3)), None);
        assert_eq!(t.pick(&frames(8)), Some(5));
        assert_eq!(t.pick(&frames(8)), None, "two were asked for");
        assert!(!t.done(), "picked, not yet traced");
        t.record(Trail::default());
        t.record(Trail::default());
        assert!(t.done());
        let taps = Taps::default();
        assert!(taps.add_trace(Arc::new(LiveTrace::new(0, None, 1))));
        assert!(!taps.add_trace(Arc::new(LiveTrace::new(0, None, 1))));
    }
}
