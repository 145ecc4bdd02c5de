//! The poll loop of one forwarding core: pick up the current snapshot, poll this worker's RX
//! queues, run each burst through the pipeline, transmit in per-port bursts, mark a quiescent
//! point. Never blocks, never allocates after start.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::buf::PacketBuf;
use super::counters::{WorkerCounters, MAX_PORTS};
use super::drop::DropReason;
use super::drop::EngineDrop;
use super::meta::BURST;
use super::snapshot::{Snapshot, SnapshotCell};
use super::tap::{TapSet, Taps};
use super::trace::Trace;
use super::{clock, Datapath, Output};
use crate::sys::cpu::rdtsc;

/// Port I/O as a worker sees it: DPDK queues in the daemon, in-memory queues in tests.
pub trait PortIo {
    type Buf: PacketBuf;
    /// Appends up to `max` received packets to `out`.
    fn rx(&mut self, port: u16, queue: u16, out: &mut Vec<Self::Buf>, max: usize) -> usize;
    /// Sends all of `pkts` (leaving it empty); returns how many the queue took, the rest are freed.
    fn tx(&mut self, port: u16, queue: u16, pkts: &mut Vec<Self::Buf>) -> usize;
    /// The worker starts polling (on its own thread).
    fn started(&mut self) {}
    /// A buffer holding `frame` (for frames the switch originates); `None` when none is free.
    fn alloc(&mut self, _frame: &[u8]) -> Option<Self::Buf> {
        None
    }
    /// The worker finished a poll and holds nothing from before it (an RCU quiescent point).
    fn quiescent(&mut self) {}
    /// The worker stopped polling.
    fn stopped(&mut self) {}
}

/// Idle polls in a row after which the worker starts napping between polls, so an idle switch
/// leaves its cores to others; any packet returns it to pure polling.
const IDLE_POLLS_BEFORE_NAP: u32 = 100_000;
const NAP: Duration = Duration::from_micros(20);

/// Spin locks for TX queues that several workers share (a port with fewer TX queues than
/// workers); ports with a queue per worker never touch them.
#[derive(Default)]
pub struct SharedTxLocks([AtomicBool; MAX_PORTS]);

impl SharedTxLocks {
    fn lock(&self, port: u16) {
        let l = &self.0[usize::from(port) % MAX_PORTS];
        while l
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
    }

    fn unlock(&self, port: u16) {
        self.0[usize::from(port) % MAX_PORTS].store(false, Ordering::Release);
    }
}

/// Packets waiting for TX, per port.
struct Pending<B> {
    queues: Vec<Vec<B>>,
    /// Bit per port with packets waiting.
    dirty: u32,
}

impl<B> Pending<B> {
    fn new() -> Self {
        Pending {
            queues: (0..MAX_PORTS)
                .map(|_| Vec::with_capacity(BURST * 2))
                .collect(),
            dirty: 0,
        }
    }
}

/// The `Output` a burst writes into: batches per port and transmits full batches at once.
struct TxStage<'a, I: PortIo, T> {
    io: &'a mut I,
    pending: &'a mut Pending<I::Buf>,
    snap: &'a Snapshot<T>,
    counters: &'a WorkerCounters,
    locks: &'a SharedTxLocks,
    worker: usize,
    workers: usize,
    /// What is armed this poll (`None`: nothing).
    taps: Option<&'a TapSet>,
}

impl<I: PortIo, T> TxStage<'_, I, T> {
    fn flush(&mut self, port: u16) {
        let idx = usize::from(port) % MAX_PORTS;
        self.pending.dirty &= !(1 << idx);
        let pkts = &mut self.pending.queues[idx];
        if pkts.is_empty() {
            return;
        }
        let c = self.counters.port(port);
        let Some(entry) = self.snap.port(port) else {
            c.drop_n(EngineDrop::UnknownNetwork, pkts.len() as u64);
            pkts.clear();
            return;
        };
        let queue = (self.worker % usize::from(entry.tx_queues)) as u16;
        let shared = usize::from(entry.tx_queues) < self.workers;
        let total = pkts.len();
        let bytes: usize = pkts.iter().map(PacketBuf::pkt_len).sum();
        if let Some(taps) = self.taps {
            taps.sent(port, pkts);
        }
        if shared {
            self.locks.lock(port);
        }
        let sent = self.io.tx(port, queue, pkts);
        if shared {
            self.locks.unlock(port);
        }
        c.tx_packets.add(sent as u64);
        if sent == total {
            c.tx_bytes.add(bytes as u64);
        } else {
            // The refused tail's sizes are gone with it; count its share of the bytes.
            c.tx_bytes.add((bytes * sent / total) as u64);
            c.drop_n(EngineDrop::TxFull, (total - sent) as u64);
        }
    }

    fn flush_all(&mut self) {
        while self.pending.dirty != 0 {
            let port = self.pending.dirty.trailing_zeros() as u16;
            self.flush(port);
        }
    }
}

impl<I: PortIo, T> Output<I::Buf> for TxStage<'_, I, T> {
    #[inline]
    fn send(&mut self, port: u16, buf: I::Buf) {
        let idx = usize::from(port) % MAX_PORTS;
        self.pending.queues[idx].push(buf);
        self.pending.dirty |= 1 << idx;
        if self.pending.queues[idx].len() >= BURST {
            self.flush(port);
        }
    }

    fn alloc(&mut self, frame: &[u8]) -> Option<I::Buf> {
        self.io.alloc(frame)
    }

    #[inline(always)]
    fn dropped(&mut self, buf: &I::Buf, reason: DropReason) {
        if let Some(taps) = self.taps {
            taps.dropped(buf.in_port(), buf, reason);
        }
    }
}

/// One forwarding core: polls its queues and runs every burst through the graph `D`.
pub struct Worker<I: PortIo, D: Datapath> {
    pub id: usize,
    workers: usize,
    io: I,
    cell: Arc<SnapshotCell<D::Tables>>,
    counters: Arc<WorkerCounters>,
    locks: Arc<SharedTxLocks>,
    stop: Arc<AtomicBool>,
    taps: Arc<Taps>,
}

impl<I: PortIo, D: Datapath> Worker<I, D> {
    pub fn new(
        id: usize,
        workers: usize,
        io: I,
        cell: Arc<SnapshotCell<D::Tables>>,
        counters: Arc<WorkerCounters>,
        locks: Arc<SharedTxLocks>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Worker {
            id,
            workers,
            io,
            cell,
            counters,
            locks,
            stop,
            taps: Arc::default(),
        }
    }

    /// The taps (captures, live traces) the control thread arms for this worker.
    pub fn with_taps(mut self, taps: Arc<Taps>) -> Self {
        self.taps = taps;
        self
    }

    /// Polls until `stop` is set.
    pub fn run(mut self) {
        let mut snap = self.cell.load();
        let mut scratch = D::Scratch::default();
        let mut rx: Vec<I::Buf> = Vec::with_capacity(BURST);
        let mut pending = Pending::new();
        let mut idle = 0u32;
        self.io.started();
        // One time stamp a poll: the end of one is the start of the next.
        let mut start = rdtsc();
        while !self.stop.load(Ordering::Relaxed) {
            if self.cell.generation() != snap.generation {
                snap = self.cell.load();
            }
            let got = self.poll_once(&snap, &mut scratch, &mut rx, &mut pending);
            self.counters
                .seen_generation
                .store(snap.generation, Ordering::Release);
            self.io.quiescent();
            let now = rdtsc();
            let cycles = now.wrapping_sub(start);
            start = now;
            if got > 0 {
                self.counters.busy_polls.add(1);
                self.counters.busy_cycles.add(cycles);
                self.counters.rx_packets.add(got as u64);
                idle = 0;
            } else {
                self.counters.idle_polls.add(1);
                self.counters.idle_cycles.add(cycles);
                idle = idle.saturating_add(1);
                // No PAUSE between polls, as in DPDK's own poll loops: under a hypervisor a run
                // of them can read as a vCPU spinning on a lock and exit to the host
                // (pause-loop exiting), and a poll is no lock to back off from.
                if idle > IDLE_POLLS_BEFORE_NAP {
                    std::thread::sleep(NAP);
                    start = rdtsc();
                }
            }
        }
        self.io.stopped();
        // Nothing may stay queued: free what is pending.
        for q in pending.queues.iter_mut() {
            q.clear();
        }
    }

    /// One pass over this worker's RX queues; returns how many packets arrived.
    fn poll_once(
        &mut self,
        snap: &Snapshot<D::Tables>,
        scratch: &mut D::Scratch,
        rx: &mut Vec<I::Buf>,
        pending: &mut Pending<I::Buf>,
    ) -> usize {
        let Some(queues) = snap.workers.get(self.id) else {
            return 0;
        };
        let ctx = snap.context(&self.counters, clock::now_secs());
        // Nothing armed (the usual): one load, and nothing else here differs.
        let taps = self.taps.armed().then(|| self.taps.current());
        let taps = taps.as_deref();
        D::start_poll(&ctx, scratch);
        // One output for the whole poll: everything this poll's queues send to a port leaves in
        // one TX burst, so with several queues (multiqueue guests, many ports) bursts stay full.
        let mut out = TxStage {
            io: &mut self.io,
            pending,
            snap,
            counters: &self.counters,
            locks: &self.locks,
            worker: self.id,
            workers: self.workers,
            taps,
        };
        let mut got = 0;
        for q in queues {
            let n = out.io.rx(q.port, q.queue, rx, BURST);
            if n == 0 {
                continue;
            }
            got += n;
            let c = self.counters.port(q.port);
            c.rx_packets.add(n as u64);
            c.rx_bytes
                .add(rx.iter().map(PacketBuf::pkt_len).sum::<usize>() as u64);
            match taps {
                None => D::process_burst(&ctx, scratch, q.port, rx, &mut out),
                Some(t) => tapped::<I, D, _>(t, &ctx, scratch, q.port, rx, &mut out),
            }
        }
        if self.id == 0 {
            D::originate(&ctx, scratch, &mut out);
        }
        out.flush_all();
        got
    }
}

/// A burst while something is armed: copies of what the port received, and the live trace
/// of the packet it wants, if it wants one of these.
#[inline(never)]
fn tapped<I: PortIo, D: Datapath, O: Output<I::Buf>>(
    taps: &TapSet,
    ctx: &super::Context<'_, D::Tables>,
    scratch: &mut D::Scratch,
    port: u16,
    rx: &mut Vec<I::Buf>,
    out: &mut O,
) {
    taps.received(port, rx);
    let live = taps.trace(port);
    match live.and_then(|t| t.pick(rx)) {
        Some(i) => {
            let trace = Trace::live(i);
            D::process_burst(&ctx.traced(Some(&trace)), scratch, port, rx, out);
            if let Some(t) = live {
                t.record(trace.into_trail());
            }
        }
        None => D::process_burst(ctx, scratch, port, rx, out),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, VecDeque};

    use super::*;
    use crate::pipeline::buf::TestBuf;
    use crate::pipeline::snapshot::{PortEntry, PortMode, RxQueue, Topology};
    use crate::pipeline::Context;

    /// A graph of one stage: whatever comes in on port 0 leaves by port 1 and the other way.
    struct Hub;

    impl Datapath for Hub {
        type Tables = ();
        type Scratch = ();

        fn start_poll(_: &Context<'_, ()>, _: &mut ()) {}

        fn process_burst<B: PacketBuf, O: Output<B>>(
            _: &Context<'_, ()>,
            _: &mut (),
            in_port: u16,
            pkts: &mut Vec<B>,
            out: &mut O,
        ) {
            for buf in pkts.drain(..) {
                out.send(1 - in_port, buf);
            }
        }
    }

    /// In-memory queues: frames waiting per port, and a TX limit per call to play a full ring.
    #[derive(Default)]
    struct FakeIo {
        rx: HashMap<u16, VecDeque<TestBuf>>,
        sent: Vec<(u16, u16, TestBuf)>,
        tx_room: usize,
    }

    impl PortIo for FakeIo {
        type Buf = TestBuf;

        fn rx(&mut self, port: u16, _queue: u16, out: &mut Vec<TestBuf>, max: usize) -> usize {
            let q = self.rx.entry(port).or_default();
            let n = q.len().min(max);
            out.extend(q.drain(..n));
            n
        }

        fn tx(&mut self, port: u16, queue: u16, pkts: &mut Vec<TestBuf>) -> usize {
            let n = pkts.len().min(self.tx_room);
            self.sent.extend(pkts.drain(..n).map(|b| (port, queue, b)));
            pkts.clear();
            n
        }
    }

    fn frame(src: u8, dst: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, dst]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, src]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f
    }

    /// Ports 0 and 1, one queue each, their RX queues spread over `workers` like the config
    /// manager does.
    fn worker(io: FakeIo, workers: usize) -> (Worker<FakeIo, Hub>, Arc<SnapshotCell<()>>) {
        let mut topology = Topology::default();
        let mut queues = vec![Vec::new(); workers];
        for id in 0..2u16 {
            topology.ports[usize::from(id)] = Some(PortEntry {
                id,
                name: format!("p{id}").into(),
                mode: PortMode::Switch,
                mtu: 1500,
                tx_queues: 1,
            });
            queues[usize::from(id) % workers].push(RxQueue { port: id, queue: 0 });
        }
        let cell = Arc::new(SnapshotCell::new(Snapshot {
            generation: 1,
            topology,
            workers: queues,
            tables: (),
        }));
        let w = Worker::new(
            0,
            workers,
            io,
            cell.clone(),
            Arc::new(WorkerCounters::default()),
            Arc::new(SharedTxLocks::default()),
            Arc::new(AtomicBool::new(false)),
        );
        (w, cell)
    }

    fn poll(w: &mut Worker<FakeIo, Hub>, cell: &SnapshotCell<()>) -> usize {
        let snap = cell.load();
        let mut pending = Pending::new();
        w.poll_once(&snap, &mut (), &mut Vec::with_capacity(BURST), &mut pending)
    }

    #[test]
    fn polls_forward_in_bursts_and_count_both_sides() {
        let mut io = FakeIo {
            tx_room: usize::MAX,
            ..Default::default()
        };
        io.rx
            .insert(0, (0..40).map(|_| TestBuf::new(0, &frame(1, 2))).collect());
        let (mut w, cell) = worker(io, 1);
        assert_eq!(poll(&mut w, &cell), BURST);
        assert_eq!(poll(&mut w, &cell), 8);
        assert_eq!(poll(&mut w, &cell), 0);
        assert_eq!(w.io.sent.len(), 40);
        assert!(w
            .io
            .sent
            .iter()
            .all(|(port, queue, _)| (*port, *queue) == (1, 0)));
        let (a, b) = (w.counters.port(0), w.counters.port(1));
        assert_eq!((a.rx_packets.get(), a.rx_bytes.get()), (40, 40 * 60));
        assert_eq!((b.tx_packets.get(), b.tx_bytes.get()), (40, 40 * 60));
    }

    #[test]
    fn what_a_full_queue_refuses_is_counted_as_tx_full() {
        let mut io = FakeIo {
            tx_room: 10,
            ..Default::default()
        };
        io.rx.insert(
            1,
            (0..BURST).map(|_| TestBuf::new(1, &frame(3, 4))).collect(),
        );
        let (mut w, cell) = worker(io, 1);
        poll(&mut w, &cell);
        let a = w.counters.port(0);
        assert_eq!(a.tx_packets.get(), 10);
        assert_eq!(
            a.drops[crate::pipeline::drop::DropReason::from(EngineDrop::TxFull).index()].get(),
            (BURST - 10) as u64
        );
    }

    #[test]
    fn a_worker_with_no_queues_idles() {
        let (mut w, cell) = worker(FakeIo::default(), 2);
        // Two workers, two single-queue ports: one queue each; a worker id beyond them polls none.
        assert_eq!(cell.load().workers[1].len(), 1);
        w.id = 5;
        assert_eq!(poll(&mut w, &cell), 0);
    }
}
