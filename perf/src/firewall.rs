//! The firewall cases of stage-bench:
//! - the rule set: how long a publish of 100 000 policies takes (validate and build the
//!   snapshot, as the control plane does on every change), and the first-packet
//!   classification cost with 100 000 rules against 100 rules of the same shapes;
//! - connection tracking: the whole routed pipeline through a stateful policy with 1 000 000
//!   established flows against 1 000;
//! - the new-connection rate: every packet opens a connection.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vswitch::config::build::offline_snapshot;
use vswitch::datapath::Snapshot;
use vswitch::firewall::classifier::Query;
use vswitch::model::{AddressGroup, Model, Policy};
use vswitch::pipeline::buf::{PacketBuf, TestBuf};
use vswitch::pipeline::meta::BURST;
use vswitch::sys::cpu::rdtsc;

use super::routed::{host, know, routed_frame, Rng, HOSTS_A, HOSTS_B};
use super::{median, Runner, Sink};

const NETWORKS: usize = 4;

/// Policy `i` of a rule set whose shapes repeat every eight rules, like a tenant's: hosts and
/// subnets to a network's service port, a network to outside hosts, port ranges, IPv6 hosts
/// and subnets, an address group. Rule `i`'s addresses are its own.
fn policy(i: u32) -> Policy {
    let net = |n: u32| format!("n{}", n % NETWORKS as u32);
    let v4 = |len: u8| {
        let a = std::net::Ipv4Addr::from(0x0a00_0000 | (i << 3));
        format!("{a}/{len}")
    };
    let v6 = |len: u8| {
        let a = std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i) << 64 | 1);
        format!("{a}/{len}")
    };
    let (from, to, proto, ports) = match i % 8 {
        0 => (v4(32), net(i), "tcp", Some(format!("{}", 1000 + i % 5000))),
        1 => (v4(29), net(i), "tcp", Some(format!("{}", 1000 + i % 5000))),
        2 => (net(i), v4(32), "udp", Some(format!("{}", 1000 + i % 5000))),
        3 => (v4(30), v4(32), "tcp", Some("8000-8099".into())),
        4 => (
            net(i),
            net(i + 1),
            "tcp",
            Some(format!("{}", 1000 + i % 60000)),
        ),
        5 => (v6(128), net(i), "tcp", Some(format!("{}", 1000 + i % 5000))),
        6 => (v6(64), net(i), "any", None),
        _ => (format!("g{}", i % 100), net(i), "icmp", None),
    };
    Policy {
        name: format!("p{i}"),
        from,
        to,
        proto: Some(proto.into()),
        ports,
        icmp_type: None,
        action: if i.is_multiple_of(3) { "deny" } else { "allow" }.into(),
        stateless: false,
        priority: None,
        log: false,
    }
}

/// A packet that policy `i` matches (rule `i` of `policy`).
fn query(i: u32, rng: &mut Rng) -> Query {
    let base = u32::from(std::net::Ipv4Addr::from(0x0a00_0000 | (i << 3)));
    let v4 = |host_bits: u32, r: u32| IpAddr::from((base | (r & host_bits)).to_be_bytes());
    let v6 = |r: u32| {
        IpAddr::from((0x2001_0db8_u128 << 96 | u128::from(i) << 64 | u128::from(r)).to_be_bytes())
    };
    let net = |n: u32| (n % NETWORKS as u32) as u16;
    let other: IpAddr = std::net::Ipv4Addr::new(192, 0, 2, 7).into();
    let r = rng.next();
    let port = 1000 + (i % 5000) as u16;
    let (from_net, to_net, src, dst, proto, dport) = match i % 8 {
        0 => (9, net(i), v4(0, r), other, 6, port),
        1 => (9, net(i), v4(7, r), other, 6, port),
        2 => (net(i), 9, other, v4(0, r), 17, port),
        3 => (9, 9, v4(3, r), v4(0, r), 6, 8000 + (r % 100) as u16),
        4 => (
            net(i),
            net(i + 1),
            other,
            other,
            6,
            1000 + (i % 60000) as u16,
        ),
        5 => (9, net(i), v6(1), other, 6, port),
        6 => (9, net(i), v6(r), other, 17, r as u16),
        _ => {
            let g = i % 100;
            let src = std::net::Ipv4Addr::new(10, g as u8, (r >> 8) as u8, r as u8);
            (9, net(i), src.into(), other, 1, 0)
        }
    };
    Query {
        from_net,
        to_net,
        src,
        dst,
        proto,
        dport,
        icmp_type: 8,
    }
}

/// The model of `n` policies (and the groups they name) between four networks.
fn rule_set(n: u32) -> Model {
    let networks: Vec<String> = (0..NETWORKS)
        .map(|k| format!(r#"{{"name":"n{k}"}}"#))
        .collect();
    let json = format!(r#"{{"networks":[{}]}}"#, networks.join(","));
    let mut model = Model::parse("json", &json).expect("networks");
    model.groups = (0..100u32)
        .map(|g| AddressGroup {
            name: format!("g{g}"),
            cidrs: vec![format!("10.{g}.0.0/16"), format!("2001:db8:{g:x}::/48")],
        })
        .collect();
    model.policies = (0..n).map(policy).collect();
    model
}

/// Validates and builds the snapshot of `model`: what a publish does.
fn publish(model: &Model) -> (Snapshot, Duration) {
    let t = Instant::now();
    vswitch::config::validate::validate(model).expect("valid rule set");
    let snap = offline_snapshot(model, 1);
    (snap, t.elapsed())
}

/// Cycles per lookup over `queries` (each query's rule must be found).
fn classify_cycles(snap: &Snapshot, queries: &[Query]) -> f64 {
    let c = &snap.tables.firewall.classifier;
    let start = rdtsc();
    for q in queries {
        std::hint::black_box(c.classify(std::hint::black_box(q)));
    }
    (rdtsc() - start) as f64 / queries.len() as f64
}

fn rules(rounds: usize) {
    let small_model = rule_set(100);
    let large_model = rule_set(100_000);
    let (small, _) = publish(&small_model);
    let (large, took) = publish(&large_model);
    // One policy changed: the republish a `vsctl policy add` makes.
    let mut changed = large_model.clone();
    changed.policies[50_000].ports = Some("9999".into());
    let (_, again) = publish(&changed);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let queries = |n: u32, rng: &mut Rng| -> Vec<Query> {
        (0..65_536).map(|_| query(rng.next() % n, rng)).collect()
    };
    let (small_q, large_q) = (queries(100, &mut rng), queries(100_000, &mut rng));
    for (snap, q) in [(&small, &small_q), (&large, &large_q)] {
        let c = &snap.tables.firewall.classifier;
        let missed = q.iter().filter(|q| c.classify(q).is_none()).count();
        if missed > 0 {
            eprintln!("stage-bench: {missed} rule-set queries matched no rule");
            std::process::exit(1);
        }
    }
    let (mut s, mut l, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.max(3) {
        let a = classify_cycles(&small, &small_q);
        let b = classify_cycles(&large, &large_q);
        s.push(a);
        l.push(b);
        ratio.push(b / a);
    }
    println!(
        "firewall rules: publish of 100000 policies {:.2} s ({:.2} s again after one changed), {} rule shapes",
        took.as_secs_f64(),
        again.as_secs_f64(),
        large.tables.firewall.classifier.shapes()
    );
    println!(
        "firewall first-packet classification: 100 rules {:.1}, 100000 rules {:.1} cycles ({:.2} x)",
        median(s),
        median(l),
        median(ratio)
    );
}

/// Networks a and b of one VRF and a stateful allow a -> b, the table sized for `limit`.
fn stateful(limit: u32) -> Snapshot {
    two_networks(
        r#"{"name":"ab","from":"a","to":"b","proto":"udp","action":"allow"}"#,
        limit,
    )
}

/// The same networks with `policies`.
fn two_networks(policies: &str, limit: u32) -> Snapshot {
    two_networks_with(policies, limit, "", "")
}

/// Networks a and b with `policies`, the connection table sized for `limit`; `b_extra` is added
/// to network b's object and `extra` to the model's (both JSON members with a leading comma).
pub(crate) fn two_networks_with(
    policies: &str,
    limit: u32,
    b_extra: &str,
    extra: &str,
) -> Snapshot {
    let json = format!(
        r#"{{"networks":[
              {{"name":"a","subnets":["198.51.100.0/24"],"gateways":["198.51.100.1"]}},
              {{"name":"b","subnets":["203.0.113.0/24"],"gateways":["203.0.113.1"]{b_extra}}}],
            "ports":[{{"name":"a","type":"vdev","devargs":"net_null0","network":"a"}},
                     {{"name":"b","type":"vdev","devargs":"net_null1","network":"b"}}],
            "policies":[{policies}],
            "conntrack":{{"limit":{limit}}}{extra}}}"#
    );
    let model = Model::parse("json", &json).expect("model");
    vswitch::config::validate::validate(&model).expect("valid model");
    let snap = offline_snapshot(&model, 1);
    for n in 0..250 {
        know(&snap, host(HOSTS_A, n), n, 0);
    }
    know(&snap, host(HOSTS_B, 1), 1, 1);
    snap
}

/// Flow `n`'s host in a and source port; every flow goes to one host of b on port 53.
pub(crate) fn flow(n: u32) -> (u32, u16) {
    (host(HOSTS_A, n % 250), 1024 + (n / 250) as u16)
}

/// Flow `n`'s packet from a, or its reply from b.
fn packet(n: u32, reply: bool) -> TestBuf {
    packet_to(n, reply, flow(n).0)
}

/// Flow `n`'s packet from a, or its reply from b to `reply_to` (a's host, or the address a
/// source NAT gave it).
pub(crate) fn packet_to(n: u32, reply: bool, reply_to: u32) -> TestBuf {
    let (a_ip, sport) = flow(n);
    let b_ip = host(HOSTS_B, 1);
    let mut buf = if reply {
        routed_frame(1, b_ip, reply_to, 1)
    } else {
        routed_frame(1, a_ip, b_ip, 0)
    };
    let ports = if reply { (53, sport) } else { (sport, 53) };
    let d = buf.data_mut();
    d[34..36].copy_from_slice(&ports.0.to_be_bytes());
    d[36..38].copy_from_slice(&ports.1.to_be_bytes());
    buf
}

/// Runs `bursts` bursts over flows `first..first + flows` in turn (with `replies`, every
/// other burst answers the one before) and returns the cycles per packet and how many
/// packets came out.
pub(crate) fn run_flows(
    snap: &Snapshot,
    first: u32,
    flows: u32,
    bursts: usize,
    replies: bool,
) -> (f64, usize) {
    run_flows_of(snap, first, flows, bursts, replies, packet)
}

/// `run_flows` with the packets `make` makes (flow, reply).
pub(crate) fn run_flows_of(
    snap: &Snapshot,
    first: u32,
    flows: u32,
    bursts: usize,
    replies: bool,
    make: impl Fn(u32, bool) -> TestBuf,
) -> (f64, usize) {
    let mut run = Runner::new(snap);
    let mut sink = Sink(Vec::with_capacity(4 * BURST));
    let (mut cycles, mut out, mut next) = (0u64, 0usize, 0u32);
    for b in 0..bursts {
        let reply = replies && b % 2 == 1;
        if !reply {
            next = next.wrapping_add(BURST as u32);
        }
        let mut burst: Vec<TestBuf> = (0..BURST as u32)
            .map(|k| {
                let n = (next - BURST as u32 + k) % flows;
                make(first.wrapping_add(n), reply)
            })
            .collect();
        let start = rdtsc();
        run.burst(u16::from(reply), &mut burst, &mut sink);
        cycles += rdtsc() - start;
        out += sink.0.len();
        sink.0.clear();
    }
    (cycles as f64 / (bursts * BURST) as f64, out)
}

/// The stateful networks with `n` flows opened and answered once: established both ways.
pub(crate) fn established(n: u32) -> Snapshot {
    let snap = stateful(2_000_000);
    let passes = (n as usize).div_ceil(BURST) * 2;
    let (_, out) = run_flows(&snap, 0, n, passes, true);
    assert_eq!(
        snap.tables.firewall.conntrack.len(),
        n,
        "every flow tracked"
    );
    assert_eq!(out, passes * BURST, "every packet passed");
    // What the switch's housekeeping does within a second.
    snap.tables.firewall.conntrack.grow_ahead();
    snap
}

/// `--established N`: only `bursts` bursts over `n` established flows (for a profiler).
pub fn established_only(n: u32, bursts: usize) {
    let snap = established(n.max(1));
    let (c, _) = run_flows(&snap, 0, n.max(1), bursts, true);
    println!("firewall conntrack, established flows: {n} flows {c:.1} cycles/packet");
}

fn conntrack(rounds: usize) {
    let (small, large) = (established(1_000), established(1_000_000));
    // What tracking costs: the same 1K flows through stateless rules both ways (UDP, so that
    // the stateless rules admit them).
    let stateless = two_networks(
        r#"{"name":"ab","from":"a","to":"b","proto":"udp","action":"allow","stateless":true},
           {"name":"ba","from":"b","to":"a","proto":"udp","action":"allow","stateless":true}"#,
        16,
    );
    let bursts = 1_000_000usize.div_ceil(BURST) * 2;
    let (mut s, mut l, mut ratio, mut bare) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.max(3) {
        bare.push(run_flows(&stateless, 0, 1_000, bursts / 8, true).0);
        let (a, _) = run_flows(&small, 0, 1_000, bursts, true);
        let (b, _) = run_flows(&large, 0, 1_000_000, bursts, true);
        s.push(a);
        l.push(b);
        ratio.push(b / a);
    }
    println!(
        "firewall conntrack, established flows: 1000 flows {:.1}, 1000000 flows {:.1} cycles/packet ({:+.1}%); the 1000 flows through stateless rules {:.1}",
        median(s),
        median(l),
        (median(ratio) - 1.0) * 100.0,
        median(bare)
    );

    // New connections: every packet opens one; the table is emptied between rounds (its
    // slots stay allocated, as in a running switch).
    let snap = stateful(4_000_000);
    let hz = tsc_hz();
    let per_round = 1_000_000u32;
    let mut costs = Vec::new();
    for round in 0..rounds.max(3) as u32 {
        let first = round * per_round;
        let (c, out) = run_flows(&snap, first, per_round, per_round as usize / BURST, false);
        assert_eq!(
            out,
            per_round as usize / BURST * BURST,
            "every new flow passed"
        );
        costs.push(c);
        snap.tables.firewall.conntrack.flush(1, None);
    }
    let cost = median(costs);
    println!(
        "firewall new connections: {cost:.1} cycles each, {:.2} M/s on one core ({:.2} GHz TSC)",
        hz / cost / 1e6,
        hz / 1e9
    );
}

/// TSC ticks per second.
pub(crate) fn tsc_hz() -> f64 {
    let (t, c) = (Instant::now(), rdtsc());
    std::thread::sleep(Duration::from_millis(200));
    (rdtsc() - c) as f64 / t.elapsed().as_secs_f64()
}

pub fn run(rounds: usize) {
    rules(rounds);
    conntrack(rounds);
}
