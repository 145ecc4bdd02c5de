//! The engine: the buffer trait, per-packet metadata, the snapshot workers read, the stage
//! context, per-core counters and drop reasons, the worker poll loop with its TX batching. It
//! knows no feature: the stages and their order are the graph's (`crate::datapath`), which the
//! worker runs through the [`Datapath`] trait.

pub mod bpf;
pub mod buf;
pub mod classify;
pub mod clock;
pub mod counters;
pub mod drop;
pub mod meta;
pub mod snapshot;
pub mod tap;
pub mod trace;
pub mod worker;

use buf::PacketBuf;
use counters::WorkerCounters;
use snapshot::Topology;
use trace::Trace;

/// Where the pipeline hands finished packets: the worker's TX batcher, or a test's collector.
pub trait Output<B> {
    /// Queues `buf` for `port`; the output owns it from here (and counts what it cannot send).
    fn send(&mut self, port: u16, buf: B);
    /// A new buffer holding `frame`, for a frame the switch originates; `None` when none is
    /// available.
    fn alloc(&mut self, _frame: &[u8]) -> Option<B> {
        None
    }
    /// `buf` is dropped for `reason` (the caller counts it): a capture of drops may copy it.
    #[inline(always)]
    fn dropped(&mut self, _buf: &B, _reason: drop::DropReason) {}
}

/// The stages a burst goes through, as the worker sees them: implemented by the graph.
pub trait Datapath: 'static {
    /// The features' tables of a snapshot.
    type Tables: Send + Sync + 'static;
    /// A worker's scratch space between bursts, allocated once.
    type Scratch: Default;
    /// Called before a poll's first burst, by every worker (what is kept for one poll starts
    /// afresh; what a worker hands on once a second goes).
    fn start_poll(ctx: &Context<'_, Self::Tables>, scratch: &mut Self::Scratch);
    /// Runs one burst received on `in_port` (at most `BURST` packets) through every stage.
    /// `pkts` is left empty: each packet was sent or dropped (and counted).
    fn process_burst<B: PacketBuf, O: Output<B>>(
        ctx: &Context<'_, Self::Tables>,
        scratch: &mut Self::Scratch,
        in_port: u16,
        pkts: &mut Vec<B>,
        out: &mut O,
    );
    /// Sends what the switch itself originates; one worker calls it once a poll.
    fn originate<B: PacketBuf, O: Output<B>>(
        _ctx: &Context<'_, Self::Tables>,
        _scratch: &mut Self::Scratch,
        _out: &mut O,
    ) {
    }
}

/// What a stage reads besides the packet: the topology, its own tables `T`, its worker's
/// counters and the time. The graph hands each feature a context over that feature's tables.
pub struct Context<'a, T> {
    pub topo: &'a Topology,
    pub tables: &'a T,
    pub counters: &'a WorkerCounters,
    /// Seconds, from the coarse datapath clock.
    pub now: u32,
    /// The trace of the packet a stage is deciding about, when it is traced.
    pub trace: Option<&'a Trace>,
}

impl<T> Clone for Context<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Context<'_, T> {}

impl<'a, T> Context<'a, T> {
    pub fn new(
        topo: &'a Topology,
        tables: &'a T,
        counters: &'a WorkerCounters,
        now: u32,
    ) -> Context<'a, T> {
        Context {
            topo,
            tables,
            counters,
            now,
            trace: None,
        }
    }

    /// The same context over other tables (one feature's part of the snapshot).
    #[inline(always)]
    pub fn with<U>(&self, tables: &'a U) -> Context<'a, U> {
        Context {
            topo: self.topo,
            tables,
            counters: self.counters,
            now: self.now,
            trace: self.trace,
        }
    }

    /// The same context for a packet that `trace` follows (or none).
    #[inline(always)]
    pub fn traced(&self, trace: Option<&'a Trace>) -> Context<'a, T> {
        Context { trace, ..*self }
    }

    /// The name of port `port`, as the operator gave it (for notes and messages).
    pub fn port_name(&self, port: u16) -> &'a str {
        self.topo.port(port).map_or("(no port)", |p| &p.name)
    }

    /// The name of network `net`.
    pub fn net_name(&self, net: snapshot::NetIdx) -> &'a str {
        self.topo.network(net).map_or("(no network)", |n| &n.name)
    }

    /// The packet is a described one (a simulated trace): a stage decides but keeps nothing it
    /// would learn from it.
    #[inline(always)]
    pub fn dry_run(&self) -> bool {
        self.trace.is_some_and(Trace::dry_run)
    }
}
