//! Per-stage cycles/packet of the L2 pipeline on synthetic 64-byte bursts, no I/O.
//!
//!   stage-bench [--pairs N]... [--bursts N]
//!
//! For each MAC-pair count it prints, per stage, TSC cycles per packet (median of 5 rounds);
//! then the whole pipeline for IPv4 routed between two networks of a VRF through the gateway
//! (same frames, host pairs instead of MAC pairs), beside the L2 figure of the same run.
//! Under `valgrind --tool=callgrind` run it with `--bursts 2000 --rounds 1` for a repeatable
//! instruction count.

use vswitch::bridge::stage as bridge;
use vswitch::config::build::offline_snapshot;
use vswitch::config::model::Model;
use vswitch::config::snapshot::Snapshot;
use vswitch::dpdk::rdtsc;
use vswitch::pipeline::buf::{PacketBuf, TestBuf};
use vswitch::pipeline::classify::classify;
use vswitch::pipeline::counters::WorkerCounters;
use vswitch::pipeline::meta::{Meta, BURST};
use vswitch::pipeline::{process_burst, Context, Output, Scratch};
use vswitch::router::neighbor::Neighbor;
use vswitch::router::table::GATEWAY_MAC;

const FRAME: usize = 64;

/// Keeps what comes out, to be freed outside the timed region.
struct Sink(Vec<TestBuf>);

impl Output<TestBuf> for Sink {
    #[inline]
    fn send(&mut self, _port: u16, buf: TestBuf) {
        self.0.push(buf);
    }
}

fn frame(src: u32, dst: u32) -> TestBuf {
    let mut f = [0u8; FRAME];
    f[0..2].copy_from_slice(&[0x02, 0x00]);
    f[2..6].copy_from_slice(&dst.to_be_bytes());
    f[6..8].copy_from_slice(&[0x02, 0x00]);
    f[8..12].copy_from_slice(&src.to_be_bytes());
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    TestBuf::new(0, &f)
}

/// A 64-byte UDP/IPv4 frame from host `src` of 198.51.100.0/24 (or 203.0.113.0/24 when `back`)
/// to host `dst` of the other subnet, sent to the gateway, with a valid header checksum.
fn routed_frame(src: u32, dst: u32, back: bool) -> TestBuf {
    let mut f = frame(src, 0).data().to_vec();
    f[0..6].copy_from_slice(&GATEWAY_MAC.0);
    let (from, to) = if back {
        (HOSTS_B, HOSTS_A)
    } else {
        (HOSTS_A, HOSTS_B)
    };
    let ip = &mut f[14..34];
    ip.copy_from_slice(&[
        0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    ip[12..16].copy_from_slice(&(from | (src % 250 + 2)).to_be_bytes());
    ip[16..20].copy_from_slice(&(to | (dst % 250 + 2)).to_be_bytes());
    let sum = vswitch::packet::checksum::fold(vswitch::packet::checksum::sum(ip));
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    TestBuf::new(u16::from(back), &f)
}

const HOSTS_A: u32 = 0xc633_6400; // 198.51.100.0
const HOSTS_B: u32 = 0xcb00_7100; // 203.0.113.0

/// Two networks of one VRF, a port each, with `pairs` hosts per side already known (neighbor
/// and FDB entries), and the burst workload between them.
fn routed_switch(pairs: u32, bursts: usize) -> (Snapshot, Vec<(u16, Vec<TestBuf>)>) {
    let model = Model::parse(
        "json",
        r#"{"networks":[
              {"name":"a","subnets":["198.51.100.0/24"],"gateways":["198.51.100.1"]},
              {"name":"b","subnets":["203.0.113.0/24"],"gateways":["203.0.113.1"]}],
            "ports":[{"name":"a","type":"vdev","devargs":"net_null0","network":"a"},
                     {"name":"b","type":"vdev","devargs":"net_null1","network":"b"}]}"#,
    )
    .expect("model");
    let snap = offline_snapshot(&model, 1);
    for pair in 0..pairs {
        let (a, z) = (pair * 2 + 1, pair * 2 + 2);
        for (net, host, base, mac) in [(0u16, a, HOSTS_A, a), (1, z, HOSTS_B, z)] {
            let mac = vswitch::packet::MacAddr::from_u64(0x0200_0000_0000 | u64::from(mac));
            let ip = std::net::IpAddr::V4((base | (host % 250 + 2)).into());
            snap.vrfs[0].neighbors.learn(ip, Neighbor { mac, net }, 1);
            snap.networks[usize::from(net)].fdb.learn(mac, net, 1);
        }
    }
    let mut work = Vec::with_capacity(bursts);
    let mut next = 0u32;
    for b in 0..bursts {
        let back = b % 2 == 1;
        let burst = (0..BURST)
            .map(|_| {
                let pair = next % pairs;
                next = next.wrapping_add(1);
                let (a, z) = (pair * 2 + 1, pair * 2 + 2);
                if back {
                    routed_frame(z, a, true)
                } else {
                    routed_frame(a, z, false)
                }
            })
            .collect();
        work.push((u16::from(back), burst));
    }
    (snap, work)
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Cycles per packet of `stage` over the workload, median of `rounds`.
fn measure(
    bursts: &[(u16, Vec<TestBuf>)],
    rounds: usize,
    sink: &mut Sink,
    mut stage: impl FnMut(u16, &mut Vec<TestBuf>, &mut Sink),
) -> f64 {
    let mut results = Vec::new();
    for _ in 0..rounds {
        let mut cycles = 0u64;
        let mut packets = 0u64;
        for (port, burst) in bursts {
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
            other => {
                eprintln!(
                    "stage-bench: unknown argument {other}; use --pairs N --bursts N --rounds N"
                );
                std::process::exit(2);
            }
        }
    }
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
        let ctx = Context {
            snap: &snap,
            counters: &counters,
            now: 1,
        };
        let mut scratch = Scratch::default();
        let mut sink = Sink(Vec::with_capacity(4 * BURST));
        for (port, burst) in &work {
            process_burst(&ctx, &mut scratch, *port, &mut burst.clone(), &mut sink);
            sink.0.clear();
        }
        let port_entry = |p: u16| snap.port(p).expect("bench port");
        let classify_c = measure(&work, rounds, &mut sink, |_, pkts, _| {
            let mut meta = Meta::default();
            for p in pkts.iter() {
                std::hint::black_box(classify(p, &mut meta).ok());
            }
        });
        let ingress_c = measure(&work, rounds, &mut sink, |port, pkts, _| {
            let mut meta = Meta::default();
            for p in pkts.iter_mut() {
                if classify(p, &mut meta).is_ok() {
                    std::hint::black_box(bridge::ingress(port_entry(port), p, &mut meta).ok());
                }
            }
        });
        let forward_c = measure(&work, rounds, &mut sink, |port, pkts, _| {
            let mut meta = Meta::default();
            for p in pkts.iter_mut() {
                if classify(p, &mut meta).is_ok() {
                    std::hint::black_box(bridge::forward(&snap, port, &meta, 1));
                }
            }
        });
        let full_c = measure(&work, rounds, &mut sink, |port, pkts, sink| {
            process_burst(&ctx, &mut scratch, port, pkts, sink);
        });
        println!(
            "{pairs:>8} {classify_c:>10.1} {ingress_c:>10.1} {forward_c:>10.1} {full_c:>10.1}"
        );
        l2_one_pair.get_or_insert(full_c);
    }
    let (snap, work) = routed_switch(1, bursts);
    let counters = WorkerCounters::default();
    let ctx = Context {
        snap: &snap,
        counters: &counters,
        now: 1,
    };
    let mut scratch = Scratch::default();
    let mut sink = Sink(Vec::with_capacity(4 * BURST));
    // Every frame must come out routed, or the figure would time drops.
    let (sent, mut routed) = (work.len() * BURST, 0);
    for (port, burst) in &work {
        process_burst(&ctx, &mut scratch, *port, &mut burst.clone(), &mut sink);
        routed += sink
            .0
            .iter()
            .filter(|b| b.data()[6..12] == GATEWAY_MAC.0)
            .count();
        sink.0.clear();
    }
    if routed != sent {
        eprintln!("stage-bench: only {routed} of {sent} frames came out routed");
        std::process::exit(1);
    }
    let routed_c = measure(&work, rounds, &mut sink, |port, pkts, sink| {
        process_burst(&ctx, &mut scratch, port, pkts, sink);
    });
    let l2 = l2_one_pair.unwrap_or(f64::NAN);
    println!(
        "routed IPv4 (1 host pair): pipeline {routed_c:.1} cycles/packet, {:.2} x the L2 pipeline ({l2:.1})",
        routed_c / l2
    );
}
