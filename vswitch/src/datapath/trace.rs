//! What the graph itself says about a traced packet (where it came in, the bridge's decision,
//! a drop), and the simulated trace: a described frame run through the graph on a snapshot,
//! deciding everything and sending nothing. The features note their own decisions.

use super::drops;
use super::{process_burst, Scratch, Snapshot, Tables};
use crate::note;
use crate::pipeline::buf::{PacketBuf, TestBuf};
use crate::pipeline::counters::WorkerCounters;
use crate::pipeline::drop::DropReason;
use crate::pipeline::meta::{Meta, Verdict};
use crate::pipeline::trace::{Trace, Trail};
use crate::pipeline::{Context, Output};

/// Where the traced packet came in: the port, its network, and the VLAN or remote VTEP.
pub(super) fn ingress(ctx: &Context<'_, Tables>, in_port: u16, meta: &Meta) {
    let port = ctx.port_name(in_port);
    match (meta.remote, meta.vlan) {
        (Some(vtep), _) => note!(
            ctx,
            "ingress",
            "port {port}: VXLAN from remote VTEP {vtep}, network {}",
            ctx.net_name(meta.net)
        ),
        (None, Some(vlan)) => note!(
            ctx,
            "ingress",
            "port {port}, VLAN {vlan}: network {}",
            ctx.net_name(meta.net)
        ),
        (None, None) => note!(
            ctx,
            "ingress",
            "port {port}: network {}",
            ctx.net_name(meta.net)
        ),
    }
}

/// The traced packet was dropped before any stage decided about it.
pub(super) fn refused(ctx: &Context<'_, Tables>, in_port: u16, reason: DropReason) {
    note!(
        ctx,
        "ingress",
        "port {}: dropped ({})",
        ctx.port_name(in_port),
        drops::name(reason)
    );
}

/// The bridge's decision about the traced packet.
pub(super) fn bridged(ctx: &Context<'_, Tables>, meta: &Meta) {
    let dst = meta.dst;
    match meta.verdict {
        _ if meta.to_router => note!(ctx, "bridge", "{dst}: to the network's gateway"),
        Verdict::Unicast(p) => note!(ctx, "bridge", "FDB: {dst} is at port {}", ctx.port_name(p)),
        Verdict::Remote(ip) => note!(ctx, "bridge", "FDB: {dst} is behind remote VTEP {ip}"),
        Verdict::Flood if dst.is_multicast() => note!(ctx, "bridge", "{dst}: flood"),
        Verdict::Flood | Verdict::FloodAll => {
            note!(ctx, "bridge", "FDB: {dst} unknown: flood")
        }
        Verdict::Drop(r) => note!(ctx, "bridge", "dropped ({})", drops::name(r)),
        Verdict::Consumed | Verdict::Pending => {}
    }
}

/// The end of the traced packet's path when it is not sent anywhere.
pub(super) fn ended(ctx: &Context<'_, Tables>, verdict: Verdict) {
    match verdict {
        Verdict::Drop(r) => note!(ctx, "output", "dropped ({})", drops::name(r)),
        Verdict::Consumed => note!(ctx, "output", "taken by the switch"),
        Verdict::Pending => note!(ctx, "output", "dropped (no decision)"),
        Verdict::Flood | Verdict::FloodAll => note!(ctx, "output", "flood"),
        Verdict::Unicast(_) | Verdict::Remote(_) => {}
    }
}

/// A described frame's way through the switch.
pub struct Simulated {
    pub trail: Trail,
    /// The frames the switch would have sent, by port (DPDK port id).
    pub sent: Vec<(u16, Vec<u8>)>,
}

/// Collects what a simulated burst would send.
#[derive(Default)]
struct Collect(Vec<(u16, Vec<u8>)>);

impl Output<TestBuf> for Collect {
    fn send(&mut self, port: u16, buf: TestBuf) {
        self.0.push((port, buf.data().to_vec()));
    }

    fn alloc(&mut self, frame: &[u8]) -> Option<TestBuf> {
        Some(TestBuf::new(0, frame))
    }
}

/// Runs `frame`, received on `in_port`, through the graph on `snap` at `now`: every stage
/// decides and notes, none keeps anything (no learning, no connection, no binding), and no
/// counter of the switch moves.
pub fn simulate(snap: &Snapshot, in_port: u16, frame: &[u8], now: u32) -> Simulated {
    let counters = WorkerCounters::default();
    let trace = Trace::simulated();
    let mut out = Collect::default();
    {
        let ctx = snap.context(&counters, now).traced(Some(&trace));
        let mut scratch = Box::<Scratch>::default();
        let mut pkts = vec![TestBuf::new(in_port, frame)];
        process_burst(&ctx, &mut scratch, in_port, &mut pkts, &mut out);
    }
    Simulated {
        trail: trace.into_trail(),
        sent: out.0,
    }
}
