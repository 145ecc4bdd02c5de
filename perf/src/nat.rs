//! The NAT cases of stage-bench:
//! - established SNAT flows: 10 000 connections from network a into the external network b,
//!   each through a SNAT rule, and their replies to the outside endpoint each was given,
//!   against the same flows through the stateful firewall alone;
//! - the new-connection rate through SNAT: every packet opens a connection and its binding;
//! - what a binding costs in memory, with 1 000 000 of them;
//! - service VIPs: 10 000 established connections to a VIP and the backend's replies, the
//!   new-connection rate, and the Maglev table's build for 1 000 backends.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use vswitch::datapath::Snapshot;
use vswitch::nat::maglev;
use vswitch::nat::table::NatTables;
use vswitch::pipeline::buf::{PacketBuf, TestBuf};
use vswitch::pipeline::meta::BURST;

use super::firewall::{
    established, flow, packet_to, run_flows, run_flows_of, tsc_hz, two_networks_with,
};
use super::median;
use super::routed::{host, routed_frame, HOSTS_B};

type Outside = HashMap<(Ipv4Addr, u16), (Ipv4Addr, u16)>;

/// Networks a and b (external), a stateful allow a -> b and a SNAT rule for a to `to`.
fn snat(to: &str, limit: u32) -> Snapshot {
    two_networks_with(
        r#"{"name":"ab","from":"a","to":"b","proto":"udp","action":"allow"}"#,
        limit,
        r#","external":true"#,
        &format!(r#","snat":[{{"name":"out","from":"a","to":"{to}"}}]"#),
    )
}

/// Flow `n`'s packet, or its reply to the outside endpoint its connection was given.
fn packet(n: u32, reply: bool, outside: &Outside) -> TestBuf {
    if !reply {
        return packet_to(n, false, 0);
    }
    let (a_ip, sport) = flow(n);
    let (ip, port) = outside[&(Ipv4Addr::from(a_ip), sport)];
    let mut buf = packet_to(n, true, u32::from(ip));
    buf.data_mut()[36..38].copy_from_slice(&port.to_be_bytes());
    buf
}

/// The SNAT networks with `flows` connections opened (not yet answered), and where each
/// inside endpoint leaves from.
fn opened(to: &str, flows: u32) -> (Snapshot, Outside) {
    let snap = snat(to, 4_000_000);
    let bursts = (flows as usize).div_ceil(BURST);
    let none = Outside::new();
    let (_, out) = run_flows_of(&snap, 0, flows, bursts, false, |n, r| packet(n, r, &none));
    assert_eq!(out, bursts * BURST, "every new flow passed");
    assert_eq!(
        snap.tables.nat.bindings.len(),
        flows as usize,
        "a binding per flow"
    );
    let outside = snap.tables.nat.bindings.list(usize::MAX, 1);
    let outside = outside.into_iter().map(|b| (b.inside, b.outside)).collect();
    (snap, outside)
}

/// SNAT addresses enough that a remote sees at most some thousands of connections from one.
const POOL: &str = "203.0.113.10-203.0.113.249";

pub fn run(rounds: usize) {
    let flows = 10_000;
    let (snap, outside) = opened(POOL, flows);
    let plain = established(flows);
    let bursts = 200_000 / BURST * 2;
    let (mut nat, mut fw) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(3) {
        let (c, out) = run_flows_of(&snap, 0, flows, bursts, true, |n, r| packet(n, r, &outside));
        assert_eq!(out, bursts * BURST, "every packet translated and passed");
        nat.push(c);
        fw.push(run_flows(&plain, 0, flows, bursts, true).0);
    }
    println!(
        "nat snat, established flows: {flows} flows {:.1} cycles/packet; the firewall alone {:.1}",
        median(nat),
        median(fw)
    );

    // New connections, each with its binding: 1M per round; the tables are emptied between
    // rounds.
    let (snap, _) = opened(POOL, BURST as u32);
    let (hz, none) = (tsc_hz(), Outside::new());
    let (cost, bytes) = new_connections(
        &snap,
        rounds,
        |n, r| packet(n, r, &none),
        |t| t.bindings.expire(u32::MAX, |_| false),
        |t| t.bindings.memory_bytes() as f64 / t.bindings.len() as f64,
    );
    println!(
        "nat new connections: {cost:.1} cycles each, {:.2} M/s on one core; {bytes:.0} bytes of bindings per connection",
        hz / cost / 1e6
    );
}

/// New connections, 1M per round, each opening its NAT state: the median cycles per
/// connection, and the bytes of NAT state per connection (`bytes`). Each round starts with
/// the NAT state (`empty`) and the connection table emptied.
fn new_connections(
    snap: &Snapshot,
    rounds: usize,
    make: impl Fn(u32, bool) -> TestBuf + Copy,
    empty: impl Fn(&NatTables),
    bytes: impl Fn(&NatTables) -> f64,
) -> (f64, f64) {
    let per_round = 1_000_000u32;
    let (mut costs, mut per_connection) = (Vec::new(), 0.0);
    for round in 0..rounds.max(3) as u32 {
        empty(&snap.tables.nat);
        snap.tables.firewall.conntrack.flush(1, None);
        let bursts = per_round as usize / BURST;
        let (c, out) = run_flows_of(snap, round * per_round, per_round, bursts, false, make);
        assert_eq!(out, bursts * BURST, "every new connection passed");
        costs.push(c);
        per_connection = bytes(&snap.tables.nat);
    }
    (median(costs), per_connection)
}

/// The service VIP of the VIP cases (outside both subnets), and its port.
const VIP: u32 = 0xc000_0250; // 192.0.2.80
const VIP_PORT: u16 = 53;

/// Networks a and b, a stateful allow a -> the VIP, and a service VIP -> b's host 1.
fn service() -> Snapshot {
    let backend = Ipv4Addr::from(host(HOSTS_B, 1));
    two_networks_with(
        r#"{"name":"ab","from":"a","to":"192.0.2.80/32","proto":"udp","action":"allow"}"#,
        4_000_000,
        "",
        &format!(
            r#","services":[{{"name":"svc","vip":"192.0.2.80:{VIP_PORT}","proto":"udp",
                "backends":[{{"addr":"{backend}:{VIP_PORT}"}}],"health_check":"none"}}]"#
        ),
    )
}

/// Flow `n`'s packet to the VIP, or the backend's reply.
fn vip_packet(n: u32, reply: bool) -> TestBuf {
    let (a_ip, sport) = flow(n);
    let mut buf = match reply {
        true => routed_frame(1, host(HOSTS_B, 1), a_ip, 1),
        false => routed_frame(1, a_ip, VIP, 0),
    };
    let ports = if reply {
        (VIP_PORT, sport)
    } else {
        (sport, VIP_PORT)
    };
    let d = buf.data_mut();
    d[34..36].copy_from_slice(&ports.0.to_be_bytes());
    d[36..38].copy_from_slice(&ports.1.to_be_bytes());
    buf
}

/// The VIP cases: established connections both ways, the new-connection rate, and the
/// Maglev table's build for 1 000 backends.
pub fn run_vip(rounds: usize) {
    let flows = 10_000;
    let snap = service();
    let opening = (flows as usize).div_ceil(BURST);
    let (_, out) = run_flows_of(&snap, 0, flows, opening, false, vip_packet);
    assert_eq!(out, opening * BURST, "every new connection passed");
    assert_eq!(
        snap.tables.nat.sessions.len(),
        flows as usize,
        "a session each"
    );
    let bursts = 200_000 / BURST * 2;
    let mut costs = Vec::new();
    for _ in 0..rounds.max(3) {
        let (c, out) = run_flows_of(&snap, 0, flows, bursts, true, vip_packet);
        assert_eq!(out, bursts * BURST, "every packet translated and passed");
        costs.push(c);
    }
    println!(
        "nat vip, established flows: {flows} flows {:.1} cycles/packet",
        median(costs)
    );

    let hz = tsc_hz();
    let (cost, bytes) = new_connections(
        &snap,
        rounds,
        vip_packet,
        |t| t.sessions.expire(u32::MAX, |_, _, _, _| false),
        |t| t.sessions.memory_bytes() as f64 / t.sessions.len() as f64,
    );
    println!(
        "nat vip new connections: {cost:.1} cycles each, {:.2} M/s on one core; {bytes:.0} bytes of sessions per connection",
        hz / cost / 1e6
    );

    let names: Vec<String> = (0..1000u32)
        .map(|i| format!("{}:8080", Ipv4Addr::from(0x0a00_0000 + i)))
        .collect();
    let mut ms = Vec::new();
    for _ in 0..rounds.max(3) {
        let t0 = std::time::Instant::now();
        let table = maglev::build(&names, &[1; 1000], maglev::TABLE_SIZE);
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
        assert_eq!(table.len(), maglev::TABLE_SIZE);
    }
    println!(
        "nat maglev table: 1000 backends, {} slots, built in {:.1} ms",
        maglev::TABLE_SIZE,
        median(ms)
    );
}
