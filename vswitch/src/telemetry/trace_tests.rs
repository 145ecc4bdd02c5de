//! Traces through the whole pipeline: what a simulated trace says for a denied, a routed, a
//! tunnelled and a load-balanced packet, that it changes nothing, and that a live trace of the
//! same packet says the same.

use crate::config::harness::{arp_frame, Switch};
use crate::packet::arp;
use crate::telemetry::packet_spec;

const MODEL: &str = r#"{
    "networks": [
        {"name": "web", "subnets": ["198.51.100.0/25"], "gateways": ["198.51.100.1"]},
        {"name": "app", "subnets": ["198.51.100.128/25"], "gateways": ["198.51.100.129"]},
        {"name": "db", "vni": 5000, "subnets": ["203.0.113.0/25"], "gateways": ["203.0.113.1"]}
    ],
    "ports": [
        {"name": "p0", "type": "tap", "iface": "p0", "network": "web"},
        {"name": "p1", "type": "tap", "iface": "p1", "network": "app"},
        {"name": "p2", "type": "tap", "iface": "p2", "network": "db"},
        {"name": "up", "type": "tap", "iface": "up"}
    ],
    "policies": [
        {"name": "web-app", "from": "web", "to": "app", "proto": "tcp", "ports": "8080", "action": "allow"},
        {"name": "web-db-ssh", "from": "web", "to": "db", "proto": "tcp", "ports": "22", "action": "deny"},
        {"name": "to-vip", "from": "web", "to": "192.0.2.80/32", "proto": "tcp", "ports": "80", "action": "allow"}
    ],
    "services": [{"name": "www", "vip": "192.0.2.80:80", "proto": "tcp",
                  "backends": [{"addr": "198.51.100.140:8080"}], "health_check": "none"}],
    "vtep": {"local_ip": "192.0.2.1/25", "port": "up", "remotes": [{"ip": "192.0.2.9", "vni": 5000}]}
}"#;

const WEB: [u8; 6] = [2, 0, 0, 0, 0, 1];
const APP: [u8; 6] = [2, 0, 0, 0, 0, 2];
const DB: [u8; 6] = [2, 0, 0, 0, 0, 3];
const REMOTE_VTEP: [u8; 6] = [2, 0, 0, 0, 0, 9];

/// The switch with a host in web (198.51.100.10, the spec's default MAC), one in app
/// (198.51.100.140) and one in db (203.0.113.20) known to their gateways, and the remote
/// VTEP known on the underlay.
fn switch() -> Switch {
    let mut sw = Switch::new(MODEL);
    let ask = |mac, ip, gw| arp_frame(arp::Operation::REQUEST, mac, [0xff; 6], ip, gw);
    assert_eq!(
        sw.send(0, &[ask(WEB, [198, 51, 100, 10], [198, 51, 100, 1])])
            .len(),
        1
    );
    assert_eq!(
        sw.send(1, &[ask(APP, [198, 51, 100, 140], [198, 51, 100, 129])])
            .len(),
        1
    );
    assert_eq!(
        sw.send(2, &[ask(DB, [203, 0, 113, 20], [203, 0, 113, 1])])
            .len(),
        1
    );
    assert_eq!(
        sw.send(3, &[ask(REMOTE_VTEP, [192, 0, 2, 9], [192, 0, 2, 1])])
            .len(),
        1
    );
    sw
}

/// The simulated trace of the packet `spec` describes.
fn trace(sw: &Switch, port: u16, spec: &str) -> (Vec<String>, Vec<u16>) {
    sw.trace(port, &packet_spec::parse(spec).unwrap())
}

fn has(notes: &[String], text: &str) -> bool {
    notes.iter().any(|n| n.contains(text))
}

#[test]
fn a_denied_packet_names_the_policy_and_goes_nowhere() {
    let sw = switch();
    let (notes, sent) = trace(
        &sw,
        0,
        "ipv4(src=198.51.100.10,dst=203.0.113.20)/tcp(dport=22)",
    );
    assert!(has(&notes, "ingress: port p0: network web"), "{notes:#?}");
    assert!(
        has(&notes, "firewall: policy web-db-ssh: deny"),
        "{notes:#?}"
    );
    assert!(has(&notes, "output: dropped (policy_deny)"), "{notes:#?}");
    assert!(sent.is_empty());
    // Nothing allows web to app on port 9999: the default isolation says so.
    let (notes, _) = trace(
        &sw,
        0,
        "ipv4(src=198.51.100.10,dst=198.51.100.140)/tcp(dport=9999)",
    );
    assert!(has(&notes, "no policy matches: denied"), "{notes:#?}");
}

#[test]
fn a_routed_packet_shows_its_route_and_next_hop_and_changes_nothing() {
    let sw = switch();
    let conns = sw.snap.tables.firewall.conntrack.len();
    let spec =
        "eth(src=02:00:00:00:00:77)/ipv4(src=198.51.100.10,dst=198.51.100.140)/tcp(dport=8080)";
    let (notes, sent) = trace(&sw, 0, spec);
    for want in [
        "bridge: 02:76:73:00:00:01: to the network's gateway",
        "router: 198.51.100.140: connected, network app",
        "router: neighbor 198.51.100.140 is 02:00:00:00:00:02",
        "firewall: tcp 198.51.100.10:1024 -> 198.51.100.140:8080: new connection, web -> app",
        "firewall: policy web-app: allow",
        "firewall: allowed: would open a connection (rule web-app)",
        "output: port p1",
    ] {
        assert!(has(&notes, want), "{want:?} not in {notes:#?}");
    }
    assert_eq!(sent, vec![1]);
    // A simulated trace learns no MAC and opens no connection.
    assert_eq!(sw.fdb(0, [2, 0, 0, 0, 0, 0x77]), None);
    assert_eq!(sw.snap.tables.firewall.conntrack.len(), conns);
}

#[test]
fn a_packet_into_the_overlay_names_the_remote_vtep() {
    let sw = switch();
    let (notes, sent) = trace(
        &sw,
        2,
        "eth(dst=02:00:00:00:00:99)/ipv4(src=203.0.113.20,dst=203.0.113.30)/udp",
    );
    assert!(
        has(&notes, "bridge: FDB: 02:00:00:00:00:99 unknown: flood"),
        "{notes:#?}"
    );
    assert!(
        has(&notes, "vxlan: VNI 5000 to remote VTEP 192.0.2.9"),
        "{notes:#?}"
    );
    assert!(sent.contains(&3), "{sent:?}");
}

#[test]
fn a_packet_to_a_vip_shows_its_translation() {
    let sw = switch();
    let sessions = sw.snap.tables.nat.sessions.len();
    let (notes, sent) = trace(
        &sw,
        0,
        "ipv4(src=198.51.100.10,dst=192.0.2.80)/tcp(dport=80)",
    );
    assert!(
        has(
            &notes,
            "nat: VIP 192.0.2.80:80: new connection, backend 198.51.100.140:8080"
        ),
        "{notes:#?}"
    );
    assert!(has(&notes, "firewall: policy to-vip: allow"), "{notes:#?}");
    assert!(has(&notes, "output: port p1"), "{notes:#?}");
    assert_eq!(sent, vec![1]);
    assert_eq!(
        sw.snap.tables.nat.sessions.len(),
        sessions,
        "a session was opened"
    );
}

#[test]
fn a_live_trace_of_a_real_packet_shows_the_simulated_path() {
    let mut sw = switch();
    let spec =
        "eth(src=02:00:00:00:00:01)/ipv4(src=198.51.100.10,dst=198.51.100.140)/tcp(dport=8080)";
    let (simulated, _) = trace(&sw, 0, spec);
    let frame = packet_spec::parse(spec).unwrap();
    let other = packet_spec::parse("eth(src=02:00:00:00:00:01)/ipv4(src=198.51.100.10,dst=198.51.100.140)/tcp(sport=2000,dport=8080)").unwrap();
    // The second packet of the burst is the traced one: the first's notes are not in it.
    let (out, live) = sw.send_traced(0, &[other, frame], 1);
    assert_eq!(out.len(), 2);
    let simulated: Vec<String> = simulated
        .iter()
        .map(|n| n.replace("would open a connection", "connection opened"))
        .collect();
    assert_eq!(live, simulated);
    assert_eq!(
        sw.snap.tables.firewall.conntrack.len(),
        2,
        "the real packets opened connections"
    );
}
