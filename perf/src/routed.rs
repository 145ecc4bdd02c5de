//! The routed cases of stage-bench: the whole pipeline for 64-byte IPv4 routed through the
//! gateway between two networks of a VRF (allowed both ways by stateless policies), beside the
//! L2 figure; then the same with 10 static routes and with 1 000 000 (an Internet-sized
//! table), flows spread over the routes.

use std::collections::HashSet;

use vswitch::config::build::offline_snapshot;
use vswitch::datapath::Snapshot;
use vswitch::forwarding::neighbor::Neighbor;
use vswitch::forwarding::GATEWAY_MAC;
use vswitch::model::Model;
use vswitch::packet::checksum;
use vswitch::packet::MacAddr;
use vswitch::pipeline::buf::{PacketBuf, TestBuf};
use vswitch::pipeline::meta::BURST;

use super::{frame, measure, median, Runner, Sink};

pub(crate) const HOSTS_A: u32 = 0xc633_6400; // 198.51.100.0
pub(crate) const HOSTS_B: u32 = 0xcb00_7100; // 203.0.113.0
/// The upstream router of the static routes, in network b.
const ROUTER: u32 = HOSTS_B | 254;

/// A 64-byte UDP/IPv4 frame from `src_ip` to `dst_ip`, sent to the gateway by MAC `src`, with
/// a valid header checksum, received on `port`.
pub(crate) fn routed_frame(src: u32, src_ip: u32, dst_ip: u32, port: u16) -> TestBuf {
    let mut f = frame(src, 0).data().to_vec();
    f[0..6].copy_from_slice(&GATEWAY_MAC.0);
    let ip = &mut f[14..34];
    ip.copy_from_slice(&[
        0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    ip[12..16].copy_from_slice(&src_ip.to_be_bytes());
    ip[16..20].copy_from_slice(&dst_ip.to_be_bytes());
    let sum = checksum::fold(checksum::sum(ip));
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    TestBuf::new(port, &f)
}

fn mac(n: u32) -> MacAddr {
    MacAddr::from_u64(0x0200_0000_0000 | u64::from(n))
}

pub(crate) fn host(base: u32, n: u32) -> u32 {
    base | (n % 250 + 2)
}

/// Networks a and b of one VRF, a port each, and `routes` static routes via the router in b.
fn snapshot(routes: &[(u32, u8)]) -> Snapshot {
    let mut json = String::from(
        r#"{"networks":[
              {"name":"a","subnets":["198.51.100.0/24"],"gateways":["198.51.100.1"]},
              {"name":"b","subnets":["203.0.113.0/24"],"gateways":["203.0.113.1"]}],
            "ports":[{"name":"a","type":"vdev","devargs":"net_null0","network":"a"},
                     {"name":"b","type":"vdev","devargs":"net_null1","network":"b"}],
            "policies":[
              {"name":"ab","from":"a","to":"b","action":"allow","stateless":true},
              {"name":"ba","from":"b","to":"a","action":"allow","stateless":true}],
            "routes":["#,
    );
    for (i, (addr, len)) in routes.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let a = std::net::Ipv4Addr::from(*addr);
        json.push_str(&format!(
            r#"{sep}{{"prefix":"{a}/{len}","via":["203.0.113.254"]}}"#
        ));
    }
    json.push_str("]}");
    let model = Model::parse("json", &json).expect("model");
    vswitch::config::validate::validate(&model).expect("valid model");
    offline_snapshot(&model, 1)
}

/// Makes `ip` a known neighbor with MAC number `n` in network `net` (learned on port `net`).
pub(crate) fn know(snap: &Snapshot, ip: u32, n: u32, net: u16) {
    let ip = std::net::IpAddr::V4(ip.into());
    snap.tables.router.vrfs[0]
        .neighbors
        .learn(ip, Neighbor { mac: mac(n), net }, 1);
    snap.tables.bridge.nets[usize::from(net)]
        .fdb
        .learn(mac(n), net, 1);
}

/// Cycles/packet of the whole pipeline over `work` (`passes` times per round), after checking
/// every frame comes out routed (or the figure would time drops).
fn cycles(snap: &Snapshot, work: &[(u16, Vec<TestBuf>)], passes: usize, rounds: usize) -> f64 {
    let mut run = Runner::new(snap);
    let mut sink = Sink(Vec::with_capacity(4 * BURST));
    let (sent, mut routed) = (work.len() * BURST, 0);
    for (port, burst) in work {
        run.burst(*port, &mut burst.clone(), &mut sink);
        routed += sink
            .0
            .iter()
            .filter(|b| b.data()[6..12] == GATEWAY_MAC.0)
            .count();
        sink.0.clear();
    }
    if routed != sent {
        let drops: Vec<String> = vswitch::datapath::drops::all()
            .map(|(r, name, _)| (name, run.counters.port(0).drops[r.index()].get()))
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        eprintln!(
            "stage-bench: only {routed} of {sent} frames came out routed (drops: {})",
            drops.join(", ")
        );
        std::process::exit(1);
    }
    measure(work, passes, rounds, &mut sink, |port, pkts, sink| {
        run.burst(port, pkts, sink)
    })
}

/// A deterministic xorshift generator: the same table and flows every run.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
}

/// `n` distinct unicast prefixes shaped like an Internet table (55% /24, 40% /16-/23, 5%
/// /8-/15), none equal to the connected subnets.
fn table(n: usize, rng: &mut Rng) -> Vec<(u32, u8)> {
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r = rng.next();
        let len = match r % 100 {
            0..=54 => 24,
            55..=94 => 16 + (r >> 8) as u8 % 8,
            _ => 8 + (r >> 8) as u8 % 8,
        };
        let addr = rng.next() & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        let connected = [(HOSTS_A, 24), (HOSTS_B, 24)].contains(&(addr, len));
        // Unicast space only: no 0/8, loopback, multicast or reserved.
        let unicast = matches!(addr >> 24, 1..=126 | 128..=223);
        if unicast && !connected && seen.insert((addr, len)) {
            out.push((addr, len));
        }
    }
    out
}

/// Bursts from one host of a that visit each of `flows` destinations drawn from the routes
/// once.
fn flows_over(routes: &[(u32, u8)], flows: usize, rng: &mut Rng) -> Vec<(u16, Vec<TestBuf>)> {
    let a = HOSTS_A | 10;
    let dsts: Vec<u32> = (0..flows)
        .map(|_| loop {
            let (addr, len) = routes[rng.next() as usize % routes.len()];
            let host_bits = !u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            let dst = addr | (rng.next() & host_bits);
            // Inside a wide route but in a connected subnet is not a static-route flow.
            if dst >> 8 != HOSTS_A >> 8 && dst >> 8 != HOSTS_B >> 8 {
                break dst;
            }
        })
        .collect();
    let mut next = 0;
    (0..flows.div_ceil(BURST))
        .map(|_| {
            let burst = (0..BURST)
                .map(|_| {
                    next = (next + 1) % dsts.len();
                    routed_frame(1, a, dsts[next], 0)
                })
                .collect();
            (0, burst)
        })
        .collect()
}

/// The routed pipeline for one host pair, both directions, through connected routes.
pub fn one_pair(bursts: usize, rounds: usize) -> f64 {
    let snap = snapshot(&[]);
    let (a, z) = (1, 2);
    know(&snap, host(HOSTS_A, a), a, 0);
    know(&snap, host(HOSTS_B, z), z, 1);
    let work: Vec<(u16, Vec<TestBuf>)> = (0..bursts)
        .map(|b| {
            let back = b % 2 == 1;
            let burst = (0..BURST)
                .map(|_| match back {
                    false => routed_frame(a, host(HOSTS_A, a), host(HOSTS_B, z), 0),
                    true => routed_frame(z, host(HOSTS_B, z), host(HOSTS_A, a), 1),
                })
                .collect();
            (u16::from(back), burst)
        })
        .collect();
    cycles(&snap, &work, 1, rounds)
}

pub fn run(bursts: usize, rounds: usize, l2: f64) {
    let pair = one_pair(bursts, rounds);
    println!(
        "routed IPv4 (1 host pair): pipeline {pair:.1} cycles/packet, {:.2} x the L2 pipeline ({l2:.1})",
        pair / l2
    );

    // 1K flows over 10 routes and over 1M: what the table's size costs. Then 64K flows
    // over the 1M routes, whose trie chunks no longer fit the caches. The flows' frames are
    // visited over and over, as a worker reuses the mbufs of its pool, so that the frames do
    // not stream through the caches (what a real worker never does) and evict the trie.
    // The three cases take turns, one round each at a time, so that a slow spell of this
    // shared machine hits them alike; the loss is the median of the per-round ratios.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut case = |n: usize, flows: &[usize]| {
        let routes = table(n, &mut rng);
        let snap = snapshot(&routes);
        know(&snap, ROUTER, 254, 1);
        let works: Vec<_> = flows
            .iter()
            .map(|&f| flows_over(&routes, f, &mut rng))
            .collect();
        (snap, works)
    };
    let (small_snap, small_works) = case(10, &[1024]);
    let (large_snap, large_works) = case(1_000_000, &[1024, 65_536]);
    let (small_work, large_work, spread_work) = (&small_works[0], &large_works[0], &large_works[1]);
    let passes = |work: &[(u16, Vec<TestBuf>)]| (bursts / work.len()).max(1);
    let (mut small, mut large, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.max(3) {
        let s = cycles(&small_snap, small_work, passes(small_work), 1);
        let l = cycles(&large_snap, large_work, passes(large_work), 1);
        small.push(s);
        large.push(l);
        ratio.push(l / s);
    }
    let (small, large, ratio) = (median(small), median(large), median(ratio));
    let spread = cycles(&large_snap, spread_work, passes(spread_work), rounds);
    println!(
        "routed IPv4 over static routes, 1K flows: 10 routes {small:.1}, 1000000 routes {large:.1} cycles/packet ({:+.1}%); 64K flows over 1000000 routes {spread:.1}",
        (ratio - 1.0) * 100.0
    );
}
