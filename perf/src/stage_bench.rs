//! Per-stage cycles/packet of the L2 pipeline on synthetic 64-byte bursts, no I/O.
//!
//!   stage-bench [--pairs N]... [--bursts N] [--established FLOWS] [--only routed|vxlan|nat]
//!
//! For each MAC-pair count it prints, per stage, TSC cycles per packet (median of 5 rounds);
//! then (by default, or with `--routed` / `--firewall`) the routed cases of `routed.rs` and
//! the firewall cases of `firewall.rs`.
//! Under `valgrind --tool=callgrind` run it with `--bursts 2000 --rounds 1` for a repeatable
//! instruction count. `--established FLOWS` runs only `--bursts` bursts over that many
//! established connections through a stateful policy (routed, both ways), for a profiler;
//! `--only routed` the routed pipeline of one host pair, `--only vxlan` the tunnel cases,
//! `--only nat` the NAT cases.

use vswitch::bridge::stage as bridge;
use vswitch::config::build::offline_snapshot;
use vswitch::datapath::Snapshot;
use vswitch::datapath::{process_burst, Scratch};
use vswitch::model::Model;
use vswitch::pipeline::buf::TestBuf;
use vswitch::pipeline::classify::classify;
use vswitch::pipeline::counters::WorkerCounters;
use vswitch::pipeline::meta::{Meta, BURST};
use vswitch::pipeline::Output;
use vswitch::sys::cpu::rdtsc;

mod firewall;
mod nat;
mod routed;
mod vxlan;

const FRAME: usize = 64;

/// Keeps what comes out, to be freed outside the timed region.
pub(crate) struct Sink(pub(crate) Vec<TestBuf>);

impl Output<TestBuf> for Sink {
    #[inline]
    fn send(&mut self, _port: u16, buf: TestBuf) {
        self.0.push(buf);
    }
}

/// The pipeline outside a worker, on one snapshot at time 1: its counters and scratch.
pub(crate) struct Runner<'a> {
    snap: &'a Snapshot,
    pub(crate) counters: WorkerCounters,
    scratch: Scratch,
}

impl<'a> Runner<'a> {
    pub(crate) fn new(snap: &'a Snapshot) -> Runner<'a> {
        Runner {
            snap,
            counters: WorkerCounters::default(),
            scratch: Scratch::default(),
        }
    }

    /// Runs one burst received on `port`; what comes out goes to `out`.
    #[inline]
    pub(crate) fn burst(&mut self, port: u16, pkts: &mut Vec<TestBuf>, out: &mut Sink) {
        let ctx = self.snap.context(&self.counters, 1);
        process_burst(&ctx, &mut self.scratch, port, pkts, out);
    }
}

pub(crate) fn frame(src: u32, dst: u32) -> TestBuf {
    let mut f = [0u8; FRAME];
    f[0..2].copy_from_slice(&[0x02, 0x00]);
    f[2..6].copy_from_slice(&dst.to_be_bytes());
    f[6..8].copy_from_slice(&[0x02, 0x00]);
    f[8..12].copy_from_slice(&src.to_be_bytes());
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    TestBuf::new(0, &f)
}

/// Two access ports of one network sized for `pairs` MAC pairs, as a deployment would size it.
fn switch(pairs: u32) -> Snapshot {
    let limit = (pairs * 2 + 16).max(1024);
    let model = Model::parse(
        "json",
        &format!(
            r#"{{"networks":[{{"name":"bench","mac_limit":{limit}}}],
                "ports":[{{"name":"a","type":"vdev","devargs":"net_null0","network":"bench"}},
                         {{"name":"b","type":"vdev","devargs":"net_null1","network":"bench"}}]}}"#
        ),
    )
    .expect("model");
    offline_snapshot(&model, 1)
}

/// `bursts` bursts of 32 frames cycling over `pairs` MAC pairs (both directions).
fn workload(pairs: u32, bursts: usize) -> Vec<(u16, Vec<TestBuf>)> {
    let mut out = Vec::with_capacity(bursts);
    let mut next = 0u32;
    for b in 0..bursts {
        let port = (b % 2) as u16;
        let burst = (0..BURST)
            .map(|_| {
                let pair = next % pairs;
                next = next.wrapping_add(1);
                let (a, z) = (pair * 2 + 1, pair * 2 + 2);
                if port == 0 {
                    frame(a, z)
                } else {
                    frame(z, a)
                }
            })
            .collect();
        out.push((port, burst));
    }
    out
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Cycles per packet of `stage` over the workload (`passes` times over it per round), median
/// of `rounds`.
pub(crate) fn measure(
    bursts: &[(u16, Vec<TestBuf>)],
    passes: usize,
    rounds: usize,
    sink: &mut Sink,
    mut stage: impl FnMut(u16, &mut Vec<TestBuf>, &mut Sink),
) -> f64 {
    let mut results = Vec::new();
    for _ in 0..rounds {
        let mut cycles = 0u64;
        let mut packets = 0u64;
        for (port, burst) in bursts.iter().cycle().take(bursts.len() * passes) {
            let mut pkts = burst.clone();
            packets += pkts.len() as u64;
            let start = rdtsc();
            stage(*port, &mut pkts, sink);
            cycles += rdtsc() - start;
            sink.0.clear();
        }
        results.push(cycles as f64 / packets as f64);
    }
    median(results)
}

fn main() {
    let mut pairs_list = Vec::new();
    let mut bursts = 20_000usize;
    let mut rounds = 5usize;
    let mut routed = None;
    let mut firewall = None;
    let mut established = None;
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> usize {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("stage-bench: {what} needs a number");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--pairs" => pairs_list.push(num("--pairs") as u32),
            "--bursts" => bursts = num("--bursts"),
            "--rounds" => rounds = num("--rounds").max(1),
            "--routed" => routed = Some(true),
            "--no-routed" => routed = Some(false),
            "--firewall" => firewall = Some(true),
            "--no-firewall" => firewall = Some(false),
            "--established" => established = Some(num("--established") as u32),
            "--only" => only = args.next(),
            other => {
                eprintln!(
                    "stage-bench: unknown argument {other}; use --pairs N --bursts N --rounds N --[no-]routed --[no-]firewall --established N --only routed|vxlan|nat"
                );
                std::process::exit(2);
            }
        }
    }
    match only.as_deref() {
        Some("routed") => {
            let c = routed::one_pair(bursts, rounds);
            println!("routed IPv4 (1 host pair): pipeline {c:.1} cycles/packet");
            return;
        }
        Some("vxlan") => return vxlan::only(bursts, rounds),
        Some("nat") => {
            nat::run(rounds);
            return nat::run_vip(rounds);
        }
        Some(other) => {
            eprintln!("stage-bench: --only {other}: use routed, vxlan or nat");
            std::process::exit(2);
        }
        None => {}
    }
    if let Some(flows) = established {
        firewall::established_only(flows, bursts);
        return;
    }
    // The routed and firewall cases run by default, and with --pairs only when asked
    // (callgrind counts L2).
    let routed = routed.unwrap_or(pairs_list.is_empty());
    let firewall = firewall.unwrap_or(pairs_list.is_empty());
    if pairs_list.is_empty() {
        pairs_list = vec![1, 1000, 100_000];
    }
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>10}",
        "PAIRS", "CLASSIFY", "INGRESS", "FORWARD", "PIPELINE"
    );
    let mut l2_one_pair = None;
    for pairs in pairs_list {
        let snap = switch(pairs);
        let counters = WorkerCounters::default();
        let work = workload(pairs, bursts);
        // Warm the FDB so every round sees learned MACs.
        let ctx = snap.context(&counters, 1);
        let bridge_ctx = ctx.with(&snap.tables.bridge);
        let mut scratch = Scratch::default();
        let mut sink = Sink(Vec::with_capacity(4 * BURST));
        for (port, burst) in &work {
            process_burst(&ctx, &mut scratch, *port, &mut burst.clone(), &mut sink);
            sink.0.clear();
        }
        let port_entry = |p: u16| snap.port(p).expect("bench port");
        let classify_c = measure(&work, 1, rounds, &mut sink, |_, pkts, _| {
            let mut meta = Meta::default();
            for p in pkts.iter() {
                std::hint::black_box(classify(p, &mut meta).ok());
            }
        });
        let ingress_c = measure(&work, 1, rounds, &mut sink, |port, pkts, _| {
            let mut meta = Meta::default();
            for p in pkts.iter_mut() {
                if classify(p, &mut meta).is_ok() {
                    std::hint::black_box(bridge::ingress(port_entry(port), p, &mut meta).ok());
                }
            }
        });
        let forward_c = measure(&work, 1, rounds, &mut sink, |port, pkts, _| {
            let mut meta = Meta::default();
            for p in pkts.iter_mut() {
                if classify(p, &mut meta).is_ok() {
                    std::hint::black_box(bridge::forward(&bridge_ctx, port, &meta));
                }
            }
        });
        let full_c = measure(&work, 1, rounds, &mut sink, |port, pkts, sink| {
            process_burst(&ctx, &mut scratch, port, pkts, sink);
        });
        println!(
            "{pairs:>8} {classify_c:>10.1} {ingress_c:>10.1} {forward_c:>10.1} {full_c:>10.1}"
        );
        l2_one_pair.get_or_insert(full_c);
    }
    if routed {
        routed::run(bursts, rounds, l2_one_pair.unwrap_or(f64::NAN));
        vxlan::run(bursts, rounds);
    }
    if firewall {
        firewall::run(rounds);
        nat::run(rounds);
        nat::run_vip(rounds);
    }
}
