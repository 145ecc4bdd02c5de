//! Service VIPs through the whole pipeline on `TestBuf`: DNAT to a backend and the answer from
//! the VIP, connections staying on their backend, drain and removal, no backend refused,
//! hairpin, policies on the VIP, and the health probes.

use etherparse::PacketBuilder;

use super::tests::{endpoints, GW};
use super::NatDrop;
use crate::config::harness::{arp_frame, Switch};
use crate::packet::arp;

const CLIENT: [u8; 6] = [2, 0, 0, 0, 0, 0xc];
const B1: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
const B2: [u8; 6] = [2, 0, 0, 0, 0, 0x12];
const CLIENT_IP: [u8; 4] = [198, 51, 100, 10];
const B1_IP: [u8; 4] = [192, 0, 2, 11];
const B2_IP: [u8; 4] = [192, 0, 2, 12];
const APP_GW: [u8; 4] = [192, 0, 2, 1];
const VIP: [u8; 4] = [203, 0, 113, 80];

/// Clients in `web` (port 0), backends in `app` (B1 on port 1, B2 on port 2); web may reach
/// the VIP (a policy on the address the operator knows) and nothing else in app.
fn model(backends: &str, health: &str) -> String {
    format!(
        r#"{{
        "networks": [
            {{"name": "web", "subnets": ["198.51.100.0/24"], "gateways": ["198.51.100.1"]}},
            {{"name": "app", "subnets": ["192.0.2.0/24"], "gateways": ["192.0.2.1"]}}
        ],
        "ports": [
            {{"name": "p0", "type": "tap", "iface": "p0", "network": "web"}},
            {{"name": "p1", "type": "tap", "iface": "p1", "network": "app"}},
            {{"name": "p2", "type": "tap", "iface": "p2", "network": "app"}}
        ],
        "policies": [
            {{"name": "to-vip", "from": "web", "to": "203.0.113.80/32", "action": "allow",
              "proto": "tcp", "ports": "80"}}
        ],
        "services": [{{"name": "www", "vip": "203.0.113.80:80", "proto": "tcp",
                       "backends": [{backends}], "health_check": "{health}"}}]
    }}"#
    )
}

const BOTH: &str = r#"{"addr": "192.0.2.11:8080"}, {"addr": "192.0.2.12:8080"}"#;

/// The switch with the client and both backends known to the gateway.
fn switch(backends: &str, health: &str) -> Switch {
    let mut sw = Switch::new(&model(backends, health));
    for (port, mac, ip, gw) in [
        (0, CLIENT, CLIENT_IP, [198, 51, 100, 1]),
        (1, B1, B1_IP, APP_GW),
        (2, B2, B2_IP, APP_GW),
    ] {
        let ask = arp_frame(arp::Operation::REQUEST, mac, [0xff; 6], ip, gw);
        assert_eq!(sw.send(port, &[ask]).len(), 1);
    }
    sw
}

fn tcp(
    src: [u8; 6],
    (sip, sport): ([u8; 4], u16),
    (dip, dport): ([u8; 4], u16),
    syn: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let b = PacketBuilder::ethernet2(src, GW)
        .ipv4(sip, dip, 64)
        .tcp(sport, dport, 1000, 64_000);
    let b = if syn { b.syn() } else { b.ack(1) };
    b.write(&mut out, &[]).unwrap();
    out
}

/// Where the client's connection from `sport` went: (port, backend address, backend port).
fn connect(sw: &mut Switch, sport: u16) -> (u16, [u8; 4], u16) {
    let out = sw.send(0, &[tcp(CLIENT, (CLIENT_IP, sport), (VIP, 80), true)]);
    assert_eq!(out.len(), 1, "connection from port {sport}");
    let (src, sp, dst, dp) = endpoints(&out[0].1);
    assert_eq!((src, sp), (CLIENT_IP, sport), "the client's address stays");
    (out[0].0, dst, dp)
}

#[test]
fn a_connection_to_the_vip_reaches_a_backend_and_the_answer_comes_from_the_vip() {
    let mut sw = switch(BOTH, "none");
    let (port, backend, bport) = connect(&mut sw, 40000);
    assert_eq!(bport, 8080);
    let mac = if backend == B1_IP { B1 } else { B2 };
    assert_eq!(port, if backend == B1_IP { 1 } else { 2 });
    let mut syn_ack = Vec::new();
    PacketBuilder::ethernet2(mac, GW)
        .ipv4(backend, CLIENT_IP, 64)
        .tcp(8080, 40000, 7000, 64_000)
        .syn()
        .ack(1001)
        .write(&mut syn_ack, &[])
        .unwrap();
    let back = sw.send(port, &[syn_ack]);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].0, 0);
    assert_eq!(endpoints(&back[0].1), (VIP, 80, CLIENT_IP, 40000));
    // The connection's later packets keep their backend.
    for _ in 0..3 {
        let out = sw.send(0, &[tcp(CLIENT, (CLIENT_IP, 40000), (VIP, 80), false)]);
        assert_eq!(endpoints(&out[0].1).2, backend);
    }
    assert_eq!(sw.snap.tables.nat.sessions.len(), 1);
}

#[test]
fn new_connections_spread_and_a_drained_or_removed_backend_keeps_or_loses_its_own() {
    let mut sw = switch(BOTH, "none");
    let picks: Vec<_> = (0..400).map(|i| connect(&mut sw, 20000 + i).1).collect();
    let on_b1 = picks.iter().filter(|b| **b == B1_IP).count();
    assert!((140..=260).contains(&on_b1), "{on_b1} of 400 on B1");
    // B1 drained: its connections stay, new ones go to B2.
    let drained = r#"{"addr": "192.0.2.11:8080", "drained": true}, {"addr": "192.0.2.12:8080"}"#;
    sw.republish(&model(drained, "none"));
    for (i, b) in picks.iter().enumerate() {
        assert_eq!(
            connect(&mut sw, 20000 + i as u16).1,
            *b,
            "an established connection moved"
        );
    }
    for i in 0..50 {
        assert_eq!(connect(&mut sw, 30000 + i).1, B2_IP);
    }
    // B1 removed: its connections end; B2's stay where they are.
    sw.republish(&model(r#"{"addr": "192.0.2.12:8080"}"#, "none"));
    let now = sw.now;
    sw.housekeep(now);
    let left = sw.snap.tables.nat.sessions.len();
    assert_eq!(left, 400 - on_b1 + 50);
}

#[test]
fn without_a_backend_a_new_connection_is_reset_and_counted() {
    let none = r#"{"addr": "192.0.2.11:8080", "drained": true}"#;
    let mut sw = switch(none, "none");
    let out = sw.send(0, &[tcp(CLIENT, (CLIENT_IP, 40000), (VIP, 80), true)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 0, "the reset goes back to the client");
    assert_eq!(endpoints(&out[0].1), (VIP, 80, CLIENT_IP, 40000));
    assert_eq!(out[0].1[47] & 0x04, 0x04, "RST");
    assert_eq!(sw.drops(0, NatDrop::NoBackend), 1);
}

#[test]
fn policies_see_the_vip_not_the_backend() {
    let mut sw = switch(BOTH, "none");
    // Allowed to the VIP on 80; straight to a backend, the same connection is not.
    connect(&mut sw, 40000);
    let direct = sw.send(0, &[tcp(CLIENT, (CLIENT_IP, 40001), (B1_IP, 8080), true)]);
    assert!(direct.is_empty(), "web may not reach app directly");
}

#[test]
fn a_backend_reaches_its_own_vip_through_the_gateway() {
    let one = r#"{"addr": "192.0.2.11:8080"}"#;
    let mut sw = switch(one, "none");
    let out = sw.send(1, &[tcp(B1, (B1_IP, 50000), (VIP, 80), true)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 1);
    let (src, sport, dst, dport) = endpoints(&out[0].1);
    assert_eq!(
        (src, dst, dport),
        (APP_GW, B1_IP, 8080),
        "from the gateway, to itself"
    );
    let back = sw.send(1, &[tcp(B1, (B1_IP, 8080), (APP_GW, sport), false)]);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].0, 1);
    assert_eq!(endpoints(&back[0].1), (VIP, 80, B1_IP, 50000));
    // The gateway still answers pings.
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(B1, GW)
        .ipv4(B1_IP, APP_GW, 64)
        .icmpv4_echo_request(7, 1)
        .write(&mut ping, b"x")
        .unwrap();
    assert_eq!(sw.send(1, &[ping]).len(), 1);
}

/// The probe the switch sends now to each backend: (port, probe source port, backend).
fn probes(sw: &mut Switch) -> Vec<(u16, u16, [u8; 4])> {
    sw.originate()
        .into_iter()
        .map(|(port, f)| {
            let (src, sport, dst, dport) = endpoints(&f);
            assert_eq!((src, dport), (APP_GW, 8080));
            (port, sport, dst)
        })
        .collect()
}

fn answer(sw: &mut Switch, (port, probe, backend): (u16, u16, [u8; 4]), accept: bool) {
    let mac = if backend == B1_IP { B1 } else { B2 };
    let mut f = Vec::new();
    let b = PacketBuilder::ethernet2(mac, GW)
        .ipv4(backend, APP_GW, 64)
        .tcp(8080, probe, 5000, 64_000);
    let b = if accept {
        b.syn().ack(1)
    } else {
        b.rst().ack(0)
    };
    b.write(&mut f, &[]).unwrap();
    let out = sw.send(port, &[f]);
    if accept {
        // The switch ends the half-open connection.
        assert_eq!(out.len(), 1);
        assert_eq!(endpoints(&out[0].1), (APP_GW, probe, backend, 8080));
        assert_eq!(out[0].1[47], 0x04, "RST");
    } else {
        assert!(out.is_empty());
    }
}

#[test]
fn a_backend_failing_its_probes_leaves_the_service_and_comes_back() {
    let mut sw = switch(BOTH, "tcp");
    let mut now = sw.now;
    let b1_share = |sw: &Switch| sw.snap.tables.nat.services.list[0].shares()[0];
    // Both answer: both stay in.
    for _ in 0..4 {
        sw.housekeep(now);
        for p in probes(&mut sw) {
            answer(&mut sw, p, true);
        }
        now += 1;
    }
    assert!(b1_share(&sw) > 0.4);
    // B1 refuses: out after three failures.
    for round in 0..3 {
        now += 1;
        sw.housekeep(now);
        for p in probes(&mut sw) {
            answer(&mut sw, p, p.2 == B2_IP);
        }
        now += 1;
        sw.housekeep(now);
        let out = b1_share(&sw) == 0.0;
        assert_eq!(out, round == 2, "round {round}");
    }
    for i in 0..20 {
        assert_eq!(connect(&mut sw, 30000 + i).1, B2_IP);
    }
    // Two successes bring it back.
    for _ in 0..3 {
        now += 1;
        sw.housekeep(now);
        for p in probes(&mut sw) {
            answer(&mut sw, p, true);
        }
        now += 1;
        sw.housekeep(now);
    }
    assert!(b1_share(&sw) > 0.4);
}

/// An HTTP probe's exchange with `backend`: it accepts, the switch sends its request, the
/// backend answers with `status`, the switch resets.
fn http_exchange(sw: &mut Switch, (port, probe, backend): (u16, u16, [u8; 4]), status: &str) {
    let mac = if backend == B1_IP { B1 } else { B2 };
    let segment = |seq: u32, ack: u32, syn: bool, payload: &[u8]| {
        let mut f = Vec::new();
        let b = PacketBuilder::ethernet2(mac, GW)
            .ipv4(backend, APP_GW, 64)
            .tcp(8080, probe, seq, 64_000);
        let b = if syn {
            b.syn().ack(ack)
        } else {
            b.psh().ack(ack)
        };
        b.write(&mut f, payload).unwrap();
        f
    };
    let out = sw.send(port, &[segment(5000, 1, true, &[])]);
    assert_eq!(out.len(), 1, "the request");
    let p = etherparse::SlicedPacket::from_ethernet(&out[0].1).unwrap();
    let Some(etherparse::TransportSlice::Tcp(t)) = p.transport else {
        panic!("not TCP");
    };
    assert_eq!((t.acknowledgment_number(), t.sequence_number()), (5001, 1));
    assert!(t.payload().starts_with(b"GET /healthz HTTP/1.0\r\n"));
    let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
        panic!("not IPv4");
    };
    let sum = t
        .to_header()
        .calc_checksum_ipv4(&ip.header().to_header(), t.payload());
    assert_eq!(sum.unwrap(), t.checksum(), "the request's TCP checksum");
    let sent = 1 + t.payload().len() as u32;
    let response = format!("HTTP/1.0 {status}\r\nServer: test\r\n\r\n");
    let out = sw.send(port, &[segment(5001, sent, false, response.as_bytes())]);
    assert_eq!(out.len(), 1, "the reset");
    assert_eq!(endpoints(&out[0].1), (APP_GW, probe, backend, 8080));
    assert_eq!(out[0].1[47], 0x04, "RST");
}

#[test]
fn an_http_check_takes_a_backend_out_on_a_bad_status() {
    let mut sw = switch(BOTH, "http:/healthz");
    let mut now = sw.now;
    let b1_share = |sw: &Switch| sw.snap.tables.nat.services.list[0].shares()[0];
    for round in 0..3 {
        sw.housekeep(now);
        for p in probes(&mut sw) {
            let status = if p.2 == B1_IP {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            http_exchange(&mut sw, p, status);
        }
        now += 1;
        sw.housekeep(now);
        assert_eq!(b1_share(&sw) == 0.0, round == 2, "round {round}");
        now += 1;
    }
    let health = &sw.snap.tables.nat.health;
    let last = |ip: &str| {
        health
            .of("www", (ip.parse().unwrap(), 8080))
            .map(|h| h.last)
    };
    assert_eq!(last("192.0.2.11").as_deref(), Some("http 500"));
    assert_eq!(last("192.0.2.12").as_deref(), Some("ok"));
    // Accepted, then silence: no response.
    sw.housekeep(now);
    for p in probes(&mut sw) {
        let mac = if p.2 == B1_IP { B1 } else { B2 };
        let mut f = Vec::new();
        PacketBuilder::ethernet2(mac, GW)
            .ipv4(p.2, APP_GW, 64)
            .tcp(8080, p.1, 5000, 64_000)
            .syn()
            .ack(1)
            .write(&mut f, &[])
            .unwrap();
        assert_eq!(sw.send(p.0, &[f]).len(), 1);
    }
    sw.housekeep(now + 1);
    let health = &sw.snap.tables.nat.health;
    let last = health.of("www", ("192.0.2.12".parse().unwrap(), 8080));
    assert_eq!(last.map(|h| h.last).as_deref(), Some("no response"));
}

#[test]
fn bad_service_models_are_refused_with_one_line() {
    let base = Switch::new(&model(BOTH, "none"));
    drop(base);
    let bad = [
        (r#""vip": "192.0.2.1:80""#, "is the gateway of network app"),
        (
            r#""vip": "192.0.2.50:80""#,
            "is inside the subnet of network app",
        ),
        (r#""vip": "203.0.113.80""#, "is not IP:PORT"),
    ];
    for (vip, want) in bad {
        let json = model(BOTH, "none").replace(r#""vip": "203.0.113.80:80""#, vip);
        let m = crate::model::Model::parse("json", &json).unwrap();
        let err = crate::config::validate::validate(&m)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err}");
        assert!(!err.contains('\n'));
    }
    let outside = model(r#"{"addr": "203.0.113.9:80"}"#, "none");
    let m = crate::model::Model::parse("json", &outside).unwrap();
    let err = crate::config::validate::validate(&m)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is in no network of VRF default"), "{err}");
    for (check, says) in [
        ("http:healthz", "is not an HTTP path"),
        ("http:/a b", "is not an HTTP path"),
        ("icmp", "is not tcp, http:PATH or none"),
    ] {
        let m = crate::model::Model::parse("json", &model(BOTH, check)).unwrap();
        let err = crate::config::validate::validate(&m)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{check}: {err}");
    }
    for (timing, says) in [
        (r#"{"interval": 0}"#, "--health-interval is 1 to 3600"),
        (
            r#"{"interval": 2, "timeout": 3}"#,
            "--health-timeout is 1 second to the interval",
        ),
        (
            r#"{"fall": 11}"#,
            "--health-rise and --health-fall are 1 to 10",
        ),
    ] {
        let json = model(BOTH, "tcp").replace(
            r#""health_check": "tcp""#,
            &format!(r#""health_check": "tcp", "health_timing": {timing}"#),
        );
        let m = crate::model::Model::parse("json", &json).unwrap();
        let err = crate::config::validate::validate(&m)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{timing}: {err}");
    }
}

/// web and app with IPv6 subnets, the hosts known statically; a service on an IPv6 VIP.
fn model6(health: &str) -> String {
    format!(
        r#"{{
        "networks": [
            {{"name": "web", "subnets": ["2001:db8:a::/64"], "gateways": ["2001:db8:a::1"]}},
            {{"name": "app", "subnets": ["2001:db8:b::/64"], "gateways": ["2001:db8:b::1"]}}
        ],
        "ports": [
            {{"name": "p0", "type": "tap", "iface": "p0", "network": "web"}},
            {{"name": "p1", "type": "tap", "iface": "p1", "network": "app"}},
            {{"name": "p2", "type": "tap", "iface": "p2", "network": "app"}}
        ],
        "neighbors": [
            {{"ip": "2001:db8:a::10", "mac": "02:00:00:00:00:0c", "network": "web"}},
            {{"ip": "2001:db8:b::11", "mac": "02:00:00:00:00:11", "network": "app"}},
            {{"ip": "2001:db8:b::12", "mac": "02:00:00:00:00:12", "network": "app"}}
        ],
        "policies": [
            {{"name": "to-vip", "from": "web", "to": "2001:db8:ff::80/128", "action": "allow",
              "proto": "tcp", "ports": "80"}}
        ],
        "services": [{{"name": "www6", "vip": "[2001:db8:ff::80]:80", "proto": "tcp",
                       "backends": [{{"addr": "[2001:db8:b::11]:8080"}},
                                    {{"addr": "[2001:db8:b::12]:8080"}}],
                       "health_check": "{health}"}}]
    }}"#
    )
}

const CLIENT6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0xa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
const VIP6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80];

fn tcp6(
    src: [u8; 6],
    (sip, sport): ([u8; 16], u16),
    (dip, dport): ([u8; 16], u16),
    flags: &str,
) -> Vec<u8> {
    let mut out = Vec::new();
    let b = PacketBuilder::ethernet2(src, GW)
        .ipv6(sip, dip, 64)
        .tcp(sport, dport, 1000, 64_000);
    let b = match flags {
        "S" => b.syn(),
        "SA" => b.syn().ack(1001),
        _ => b.ack(1),
    };
    b.write(&mut out, &[]).unwrap();
    out
}

/// Addresses and ports of a frame's IPv6 TCP segment, after checking its checksum.
fn endpoints6(frame: &[u8]) -> ([u8; 16], u16, [u8; 16], u16) {
    let p = etherparse::SlicedPacket::from_ethernet(frame).unwrap();
    let Some(etherparse::NetSlice::Ipv6(ip)) = p.net else {
        panic!("not IPv6");
    };
    let h = ip.header().to_header();
    let Some(etherparse::TransportSlice::Tcp(t)) = p.transport else {
        panic!("not TCP");
    };
    let sum = t.to_header().calc_checksum_ipv6(&h, t.payload()).unwrap();
    assert_eq!(sum, t.checksum(), "TCP checksum");
    (
        h.source,
        t.source_port(),
        h.destination,
        t.destination_port(),
    )
}

/// The IPv6 switch, with each host's port learned (each sent a frame).
fn switch6(health: &str) -> Switch {
    let mut sw = Switch::new(&model6(health));
    for (port, mac) in [(0, CLIENT), (1, B1), (2, B2)] {
        let hello = arp_frame(arp::Operation::REQUEST, mac, [0xff; 6], [0; 4], [0; 4]);
        sw.send(port, &[hello]);
    }
    sw
}

#[test]
fn an_ipv6_vip_reaches_a_backend_and_answers_from_the_vip() {
    let mut sw = switch6("none");
    let out = sw.send(0, &[tcp6(CLIENT, (CLIENT6, 40000), (VIP6, 80), "S")]);
    assert_eq!(out.len(), 1);
    let (src, sport, backend, bport) = endpoints6(&out[0].1);
    assert_eq!((src, sport, bport), (CLIENT6, 40000, 8080));
    let mac = if backend[15] == 0x11 { B1 } else { B2 };
    let back = sw.send(
        out[0].0,
        &[tcp6(mac, (backend, 8080), (CLIENT6, 40000), "SA")],
    );
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].0, 0);
    assert_eq!(endpoints6(&back[0].1), (VIP6, 80, CLIENT6, 40000));
    assert_eq!(sw.snap.tables.nat.sessions6.len(), 1);
    // New connections spread over both.
    let picks: Vec<u8> = (0..200)
        .map(|i| {
            let out = sw.send(0, &[tcp6(CLIENT, (CLIENT6, 20000 + i), (VIP6, 80), "S")]);
            endpoints6(&out[0].1).2[15]
        })
        .collect();
    let on_b1 = picks.iter().filter(|b| **b == 0x11).count();
    assert!((60..=140).contains(&on_b1), "{on_b1} of 200 on B1");
}

#[test]
fn ipv6_backends_are_probed_from_the_gateway() {
    let mut sw = switch6("tcp");
    let now = sw.now;
    sw.housekeep(now);
    let probes = sw.originate();
    assert_eq!(probes.len(), 2);
    for (port, f) in &probes {
        let (src, probe, dst, dport) = endpoints6(f);
        assert_eq!(src[15], 1, "from the gateway");
        assert_eq!(dport, 8080);
        let mac = if dst[15] == 0x11 { B1 } else { B2 };
        assert_eq!(*port, if dst[15] == 0x11 { 1 } else { 2 });
        let mut answer = Vec::new();
        PacketBuilder::ethernet2(mac, GW)
            .ipv6(dst, src, 64)
            .tcp(8080, probe, 5000, 64_000)
            .syn()
            .ack(1)
            .write(&mut answer, &[])
            .unwrap();
        let rst = sw.send(*port, &[answer]);
        assert_eq!(rst.len(), 1);
        assert_eq!(endpoints6(&rst[0].1), (src, probe, dst, 8080));
    }
    sw.housekeep(now + 1);
    let b1 = ("2001:db8:b::11".parse().unwrap(), 8080);
    let health = &sw.snap.tables.nat.health;
    assert_eq!(health.of("www6", b1).map(|h| h.last).as_deref(), Some("ok"));
}

#[test]
fn an_ipv6_backend_reaches_its_own_vip_through_the_gateway() {
    let mut sw = switch6("none");
    let b1 = [0x20, 1, 0xd, 0xb8, 0, 0xb, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11];
    let out = sw.send(1, &[tcp6(B1, (b1, 50000), (VIP6, 80), "S")]);
    assert_eq!(out.len(), 1);
    let (src, sport, backend, bport) = endpoints6(&out[0].1);
    assert_eq!((src[15], bport), (1, 8080), "from the gateway");
    let mac = if backend[15] == 0x11 { B1 } else { B2 };
    let back = sw.send(out[0].0, &[tcp6(mac, (backend, 8080), (src, sport), "SA")]);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].0, 1);
    assert_eq!(endpoints6(&back[0].1), (VIP6, 80, b1, 50000));
}

#[test]
fn an_icmp_error_from_a_backend_reaches_the_client_from_the_vip() {
    let json = model(BOTH, "none")
        .replace(
            r#""proto": "tcp", "ports": "80""#,
            r#""proto": "udp", "ports": "53""#,
        )
        .replace(
            r#""vip": "203.0.113.80:80", "proto": "tcp""#,
            r#""vip": "203.0.113.80:53", "proto": "udp""#,
        );
    let mut sw = Switch::new(&json);
    for (port, mac, ip, gw) in [
        (0, CLIENT, CLIENT_IP, [198, 51, 100, 1]),
        (1, B1, B1_IP, APP_GW),
        (2, B2, B2_IP, APP_GW),
    ] {
        sw.send(
            port,
            &[arp_frame(arp::Operation::REQUEST, mac, [0xff; 6], ip, gw)],
        );
    }
    let mut query = Vec::new();
    PacketBuilder::ethernet2(CLIENT, GW)
        .ipv4(CLIENT_IP, VIP, 64)
        .udp(40000, 53)
        .write(&mut query, b"query")
        .unwrap();
    let out = sw.send(0, &[query]);
    assert_eq!(out.len(), 1);
    let (port, forwarded) = (out[0].0, &out[0].1);
    let (_, _, backend, _) = endpoints(forwarded);
    let mac = if backend == B1_IP { B1 } else { B2 };
    // The backend's port is closed: its kernel quotes what it got.
    let mut error = Vec::new();
    PacketBuilder::ethernet2(mac, GW)
        .ipv4(backend, CLIENT_IP, 64)
        .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::Port,
        ))
        .write(&mut error, &forwarded[14..])
        .unwrap();
    let back = sw.send(port, &[error]);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].0, 0);
    let f = &back[0].1;
    let (src, _, dst, _) = endpoints(f);
    assert_eq!((src, dst), (VIP, CLIENT_IP), "from the VIP");
    let quote = 14 + 20 + 8;
    assert_eq!(
        &f[quote + 16..quote + 20],
        &VIP,
        "the quoted destination is the VIP"
    );
    assert_eq!(
        &f[quote + 22..quote + 24],
        &53u16.to_be_bytes(),
        "and its port"
    );
}

#[test]
fn the_routers_own_icmp_error_about_a_vip_packet_quotes_the_vip() {
    let mut sw = switch(BOTH, "none");
    let mut syn = Vec::new();
    PacketBuilder::ethernet2(CLIENT, GW)
        .ipv4(CLIENT_IP, VIP, 1)
        .tcp(40000, 80, 1000, 64_000)
        .syn()
        .write(&mut syn, &[])
        .unwrap();
    let out = sw.send(0, &[syn]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 0, "back to the client");
    let f = &out[0].1;
    let (src, _, dst, _) = endpoints(f);
    assert_eq!(
        (src, dst),
        ([198, 51, 100, 1], CLIENT_IP),
        "from the gateway"
    );
    assert_eq!(f[34], 11, "time exceeded");
    let quote = 14 + 20 + 8;
    assert_eq!(&f[quote + 16..quote + 20], &VIP, "the quote names the VIP");
    assert_eq!(&f[quote + 22..quote + 24], &80u16.to_be_bytes());
}
