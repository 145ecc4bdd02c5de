//! The firewall through the whole pipeline on `TestBuf`: three tiers (web, app, db) in three
//! networks of one VRF; only what the policies allow crosses, replies by connection tracking.

use crate::firewall::FirewallDrop;
use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

use crate::config::harness::{arp_frame, Switch};
use crate::forwarding::GATEWAY_MAC;
use crate::packet::{arp, eth};

const W: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const A: [u8; 6] = [2, 0, 0, 0, 0, 0xb];
const D: [u8; 6] = [2, 0, 0, 0, 0, 0xc];
const GW: [u8; 6] = GATEWAY_MAC.0;
const W_IP: [u8; 4] = [198, 51, 100, 10];
const A_IP: [u8; 4] = [198, 51, 100, 130];
const D_IP: [u8; 4] = [203, 0, 113, 20];

const NETWORKS: &str = r#"
    "networks": [
        {"name": "web", "subnets": ["198.51.100.0/25"], "gateways": ["198.51.100.1"]},
        {"name": "app", "subnets": ["198.51.100.128/25"], "gateways": ["198.51.100.129"]},
        {"name": "db", "subnets": ["203.0.113.0/24"], "gateways": ["203.0.113.1"]}
    ],
    "ports": [
        {"name": "p0", "type": "tap", "iface": "p0", "network": "web"},
        {"name": "p1", "type": "tap", "iface": "p1", "network": "app"},
        {"name": "p2", "type": "tap", "iface": "p2", "network": "db"}
    ]"#;

const POLICIES: &str = r#"
    {"name": "web-app", "from": "web", "to": "app", "proto": "tcp", "ports": "8080", "action": "allow"},
    {"name": "web-app-dns", "from": "web", "to": "app", "proto": "udp", "ports": "53", "action": "allow"},
    {"name": "web-app-ping", "from": "web", "to": "app", "proto": "icmp", "action": "allow"},
    {"name": "app-db", "from": "app", "to": "db", "proto": "tcp", "ports": "5432", "action": "allow"},
    {"name": "web-db-ssh", "from": "web", "to": "db", "proto": "tcp", "ports": "22", "action": "reject"},
    {"name": "web-db-udp", "from": "web", "to": "203.0.113.0/24", "proto": "udp", "action": "reject"}"#;

fn model(policies: &str, extra: &str) -> String {
    format!(r#"{{{NETWORKS}, "policies": [{policies}]{extra}}}"#)
}

fn arp_request(src: [u8; 6], sip: [u8; 4], tip: [u8; 4]) -> Vec<u8> {
    arp_frame(arp::Operation::REQUEST, src, [0xff; 6], sip, tip)
}

/// The three tiers, each host known to its gateway.
fn tiers(json: &str) -> Switch {
    let mut sw = Switch::new(json);
    for (port, mac, ip, gw) in [
        (0, W, W_IP, [198, 51, 100, 1]),
        (1, A, A_IP, [198, 51, 100, 129]),
        (2, D, D_IP, [203, 0, 113, 1]),
    ] {
        assert_eq!(sw.send(port, &[arp_request(mac, ip, gw)]).len(), 1);
    }
    sw
}

/// TCP flags for `tcp()`.
const SYN: u8 = 1;
const ACK: u8 = 2;
const FIN: u8 = 4;
const RST: u8 = 8;

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: [u8; 6],
    sip: [u8; 4],
    dip: [u8; 4],
    ports: (u16, u16),
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(src, GW)
        .ipv4(sip, dip, 64)
        .tcp(ports.0, ports.1, seq, 64000);
    if flags & SYN != 0 {
        b = b.syn();
    }
    if flags & ACK != 0 {
        b = b.ack(ack);
    }
    if flags & FIN != 0 {
        b = b.fin();
    }
    if flags & RST != 0 {
        b = b.rst();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// `frame` sent from MAC `src` to MAC `dst` (bridged inside a network, not to the gateway).
fn addressed(src: [u8; 6], dst: [u8; 6], mut frame: Vec<u8>) -> Vec<u8> {
    frame[0..6].copy_from_slice(&dst);
    frame[6..12].copy_from_slice(&src);
    frame
}

fn udp(src: [u8; 6], sip: [u8; 4], dip: [u8; 4], dport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src, GW)
        .ipv4(sip, dip, 64)
        .udp(40000, dport)
        .write(&mut out, b"query")
        .unwrap();
    out
}

/// W opens a connection to A:8080 (sport 40000): handshake and one exchange, checked.
fn web_to_app(sw: &mut Switch) {
    let p = (40000, 8080);
    let back = (8080, 40000);
    assert_eq!(
        sw.send(0, &[tcp(W, W_IP, A_IP, p, SYN, 1000, 0, b"")])[0].0,
        1
    );
    assert_eq!(
        sw.send(1, &[tcp(A, A_IP, W_IP, back, SYN | ACK, 5000, 1001, b"")])[0].0,
        0
    );
    assert_eq!(
        sw.send(0, &[tcp(W, W_IP, A_IP, p, ACK, 1001, 5001, b"GET")])[0].0,
        1
    );
    assert_eq!(
        sw.send(1, &[tcp(A, A_IP, W_IP, back, ACK, 5001, 1004, b"200 OK")])[0].0,
        0
    );
}

#[test]
fn only_what_a_policy_allows_crosses_and_replies_come_back() {
    let mut sw = tiers(&model(POLICIES, ""));
    web_to_app(&mut sw);
    let out = sw.send(
        0,
        &[tcp(W, W_IP, A_IP, (40000, 8080), ACK, 1004, 5007, b"more")],
    );
    assert_eq!(&out[0].1[0..6], &A, "routed to A");
    // app → db on 5432 opens too.
    let out = sw.send(1, &[tcp(A, A_IP, D_IP, (41000, 5432), SYN, 7, 0, b"")]);
    assert_eq!(out[0].0, 2);
    // web → db: no policy; app → web: new connections are not the reverse of any policy;
    // web → app on another port: not in the rule.
    assert!(sw
        .send(0, &[tcp(W, W_IP, D_IP, (40001, 5432), SYN, 1, 0, b"")])
        .is_empty());
    assert!(sw
        .send(1, &[tcp(A, A_IP, W_IP, (41001, 80), SYN, 1, 0, b"")])
        .is_empty());
    assert!(sw
        .send(0, &[tcp(W, W_IP, A_IP, (40002, 9090), SYN, 1, 0, b"")])
        .is_empty());
    assert_eq!(sw.drops(0, FirewallDrop::PolicyDeny), 2);
    assert_eq!(sw.drops(1, FirewallDrop::PolicyDeny), 1);
    // The connections are tracked, with the rule that admitted each.
    let conns = sw.snap.tables.firewall.conntrack.list(10);
    assert_eq!(conns.len(), 2);
    let web_app = conns.iter().find(|(_, c)| &*c.rule == "web-app").unwrap();
    assert_eq!(web_app.1.state.name(), "ESTABLISHED");
    assert_eq!(web_app.1.packets, [3, 2]);
    let rules = sw.snap.tables.firewall.classifier.rules();
    let i = rules.iter().position(|r| &*r.name == "web-app").unwrap();
    assert_eq!(
        sw.snap.tables.firewall.classifier.hits(i),
        1,
        "one connection, one decision"
    );
}

#[test]
fn reject_answers_with_a_reset_or_icmp_and_deny_is_silent() {
    let mut sw = tiers(&model(POLICIES, ""));
    let out = sw.send(0, &[tcp(W, W_IP, D_IP, (40000, 22), SYN, 1000, 0, b"")]);
    assert_eq!(out.len(), 1);
    let (port, f) = &out[0];
    assert_eq!((*port, &f[0..6], &f[6..12]), (0, &W[..], &GW[..]));
    let p = SlicedPacket::from_ethernet(f).unwrap();
    let Some(TransportSlice::Tcp(t)) = p.transport else {
        panic!("not TCP: {p:?}")
    };
    assert!(t.rst() && t.ack());
    assert_eq!((t.source_port(), t.destination_port()), (22, 40000));
    assert_eq!(t.acknowledgment_number(), 1001);
    assert_eq!(sw.drops(0, FirewallDrop::PolicyReject), 1);
    // UDP to db: ICMP administratively prohibited from the web gateway.
    let out = sw.send(0, &[udp(W, W_IP, D_IP, 53)]);
    let p = SlicedPacket::from_ethernet(&out[0].1).unwrap();
    let Some(TransportSlice::Icmpv4(icmp)) = p.transport else {
        panic!("not ICMP: {p:?}")
    };
    assert_eq!(icmp.type_u8(), 3);
    assert_eq!(icmp.code_u8(), 13);
    let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
        panic!("not IPv4")
    };
    assert_eq!(ip.header().source_addr().to_string(), "198.51.100.1");
    assert_eq!(sw.drops(0, FirewallDrop::PolicyReject), 2);
}

#[test]
fn tcp_outside_its_window_or_with_bad_flags_or_no_connection_is_dropped() {
    let mut sw = tiers(&model(POLICIES, ""));
    web_to_app(&mut sw);
    let p = (40000, 8080);
    let far = tcp(W, W_IP, A_IP, p, ACK, 1004 + 500_000, 5007, b"x");
    assert!(sw.send(0, &[far]).is_empty());
    assert_eq!(sw.drops(0, FirewallDrop::TcpWindow), 1);
    let bad = tcp(W, W_IP, A_IP, p, SYN | FIN, 1004, 0, b"");
    assert!(sw.send(0, &[bad]).is_empty());
    assert_eq!(sw.drops(0, FirewallDrop::TcpFlags), 1);
    // An ACK of a connection that was never opened, even to an allowed port.
    let stray = tcp(W, W_IP, A_IP, (40009, 8080), ACK, 1, 1, b"x");
    assert!(sw.send(0, &[stray]).is_empty());
    assert_eq!(sw.drops(0, FirewallDrop::CtInvalid), 1);
    // The connection itself is unharmed.
    let ok = tcp(W, W_IP, A_IP, p, ACK, 1004, 5007, b"x");
    assert_eq!(sw.send(0, &[ok]).len(), 1);
    // Closing: FIN each way, then the last ACK.
    let back = (8080, 40000);
    assert_eq!(
        sw.send(0, &[tcp(W, W_IP, A_IP, p, FIN | ACK, 1005, 5007, b"")])
            .len(),
        1
    );
    assert_eq!(
        sw.send(1, &[tcp(A, A_IP, W_IP, back, FIN | ACK, 5007, 1006, b"")])
            .len(),
        1
    );
    assert_eq!(
        sw.send(0, &[tcp(W, W_IP, A_IP, p, ACK, 1006, 5008, b"")])
            .len(),
        1
    );
    let conns = sw.snap.tables.firewall.conntrack.list(10);
    assert_eq!(conns[0].1.state.name(), "TIME_WAIT");
}

#[test]
fn a_policy_removed_mid_connection_cuts_it_unless_kept() {
    let without = POLICIES.replacen(
        r#"{"name": "web-app", "from": "web", "to": "app", "proto": "tcp", "ports": "8080", "action": "allow"},"#,
        "",
        1,
    );
    for keep in [false, true] {
        let extra = if keep {
            r#", "conntrack": {"keep_on_policy_change": true}"#
        } else {
            ""
        };
        let mut sw = tiers(&model(POLICIES, extra));
        web_to_app(&mut sw);
        sw.republish(&model(&without, extra));
        let data = tcp(W, W_IP, A_IP, (40000, 8080), ACK, 1004, 5007, b"x");
        let out = sw.send(0, &[data]);
        assert_eq!(out.len(), usize::from(keep), "keep={keep}");
        assert_eq!(sw.drops(0, FirewallDrop::PolicyCut), u64::from(!keep));
        assert_eq!(sw.snap.tables.firewall.conntrack.len(), u32::from(keep));
        // New connections follow the new policy at once.
        let syn = tcp(W, W_IP, A_IP, (40001, 8080), SYN, 1, 0, b"");
        assert!(sw.send(0, &[syn]).is_empty());
    }
}

#[test]
fn a_syn_flood_fills_the_table_to_its_limit_and_established_traffic_goes_on() {
    let mut sw = tiers(&model(POLICIES, r#", "conntrack": {"limit": 1000}"#));
    web_to_app(&mut sw);
    let mut n = 0u32;
    for _ in 0..200 {
        let burst: Vec<Vec<u8>> = (0..32)
            .map(|_| {
                n += 1;
                // Spoofed sources, each a new connection.
                let sip = [198, 51, 100, 2 + (n % 100) as u8];
                tcp(
                    W,
                    sip,
                    A_IP,
                    ((n / 100) as u16 + 1024, 8080),
                    SYN,
                    n,
                    0,
                    b"",
                )
            })
            .collect();
        sw.send(0, &burst);
    }
    let ct = &sw.snap.tables.firewall.conntrack;
    assert_eq!(ct.len(), 1000, "the table stops at its limit");
    assert_eq!(sw.drops(0, FirewallDrop::CtFull), 6400 - 999);
    let data = tcp(W, W_IP, A_IP, (40000, 8080), ACK, 1004, 5007, b"still here");
    assert_eq!(sw.send(0, &[data]).len(), 1);
    let reply = tcp(A, A_IP, W_IP, (8080, 40000), ACK, 5007, 1014, b"yes");
    assert_eq!(sw.send(1, &[reply]).len(), 1);
}

#[test]
fn pings_and_icmp_errors_of_a_connection_come_back() {
    let mut sw = tiers(&model(POLICIES, ""));
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(W, GW)
        .ipv4(W_IP, A_IP, 64)
        .icmpv4_echo_request(9, 1)
        .write(&mut ping, b"ping")
        .unwrap();
    assert_eq!(sw.send(0, &[ping])[0].0, 1);
    let mut pong = Vec::new();
    PacketBuilder::ethernet2(A, GW)
        .ipv4(A_IP, W_IP, 64)
        .icmpv4_echo_reply(9, 1)
        .write(&mut pong, b"ping")
        .unwrap();
    assert_eq!(sw.send(1, &[pong])[0].0, 0);
    // A DNS query allowed to app, and the port unreachable app answers: related, it passes.
    let query = udp(W, W_IP, A_IP, 53);
    assert_eq!(sw.send(0, std::slice::from_ref(&query)).len(), 1);
    let unreachable = |quoted: &[u8]| {
        let mut out = Vec::new();
        PacketBuilder::ethernet2(A, GW)
            .ipv4(A_IP, W_IP, 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut out, &quoted[eth::HEADER_LEN..])
            .unwrap();
        out
    };
    assert_eq!(sw.send(1, &[unreachable(&query)])[0].0, 0);
    // One about a packet of no connection is not.
    let other = udp(W, W_IP, A_IP, 5353);
    assert!(sw.send(1, &[unreachable(&other)]).is_empty());
    assert_eq!(sw.drops(1, FirewallDrop::PolicyDeny), 1);
}

#[test]
fn bad_policies_are_refused_with_the_policy_named() {
    let bad = r#"{"name": "x", "from": "web", "to": "nowhere", "action": "allow"}"#;
    let model = crate::model::Model::parse("json", &model(bad, "")).unwrap();
    let e = crate::config::validate::validate(&model)
        .unwrap_err()
        .to_string();
    assert!(e.contains("policy x") && e.contains("nowhere"), "{e}");
}

#[test]
fn an_isolated_network_passes_only_what_a_policy_allows_between_its_endpoints() {
    const X: [u8; 6] = [2, 0, 0, 0, 0, 0x21];
    const Y: [u8; 6] = [2, 0, 0, 0, 0, 0x22];
    const X_IP: [u8; 4] = [203, 0, 113, 31];
    const Y_IP: [u8; 4] = [203, 0, 113, 32];
    let lab = |policies: &str| {
        format!(
            r#"{{"networks": [{{"name": "lab", "isolated": true}}],
                "ports": [{{"name": "px", "type": "tap", "iface": "px", "network": "lab"}},
                          {{"name": "py", "type": "tap", "iface": "py", "network": "lab"}}],
                "policies": [{policies}]}}"#
        )
    };
    let mut sw = Switch::new(&lab(""));
    // ARP still floods, so the hosts learn each other (and the bridge learns both).
    let who_has = arp_request(X, X_IP, Y_IP);
    assert_eq!(sw.send(0, &[who_has])[0].0, 1);
    assert_eq!(sw.send(1, &[arp_request(Y, Y_IP, X_IP)])[0].0, 0);
    let syn = addressed(X, Y, tcp(X, X_IP, Y_IP, (40000, 22), SYN, 1, 0, b""));
    assert!(
        sw.send(0, std::slice::from_ref(&syn)).is_empty(),
        "no policy: dropped"
    );
    assert_eq!(sw.drops(0, FirewallDrop::PolicyDeny), 1);
    sw.republish(&lab(
        r#"{"name": "lab-ssh", "from": "lab", "to": "lab", "proto": "tcp", "ports": "22", "action": "allow"}"#,
    ));
    assert_eq!(sw.send(0, &[syn])[0].0, 1);
    let syn_ack = addressed(Y, X, tcp(Y, Y_IP, X_IP, (22, 40000), SYN | ACK, 9, 2, b""));
    assert_eq!(
        sw.send(1, &[syn_ack])[0].0,
        0,
        "the reply by connection tracking"
    );
    assert!(sw
        .send(0, &[addressed(X, Y, udp(X, X_IP, Y_IP, 53))])
        .is_empty());
    assert_eq!(sw.drops(0, FirewallDrop::PolicyDeny), 2);
}

#[test]
fn groups_icmp_types_and_logging_rules() {
    let policies = r#"
        {"name": "ping-only", "from": "web", "to": "app", "proto": "icmp", "icmp_type": 8, "action": "allow"},
        {"name": "admins-db", "from": "admins", "to": "db", "proto": "tcp", "ports": "5432", "action": "allow", "log": true},
        {"name": "rest-db", "from": "web", "to": "db", "action": "deny", "log": true}"#;
    let groups = |cidrs: &str| format!(r#", "groups": [{{"name": "admins", "cidrs": [{cidrs}]}}]"#);
    let mut sw = tiers(&model(
        policies,
        &groups(r#""198.51.100.10/32", "2001:db8::/64""#),
    ));
    let icmp = |t: etherparse::Icmpv4Type| {
        let mut out = Vec::new();
        PacketBuilder::ethernet2(W, GW)
            .ipv4(W_IP, A_IP, 64)
            .icmpv4(t)
            .write(&mut out, b"x")
            .unwrap();
        out
    };
    let echo = etherparse::Icmpv4Type::EchoRequest(etherparse::IcmpEchoHeader { id: 3, seq: 1 });
    assert_eq!(sw.send(0, &[icmp(echo)]).len(), 1, "echo request allowed");
    let timestamp = etherparse::Icmpv4Type::Unknown {
        type_u8: 13,
        code_u8: 0,
        bytes5to8: [0; 4],
    };
    assert!(
        sw.send(0, &[icmp(timestamp)]).is_empty(),
        "timestamp is not"
    );
    // W is in the admins group: it reaches db on 5432, logged; other ports are denied, logged.
    let syn = |dport| tcp(W, W_IP, D_IP, (40000, dport), SYN, 1, 0, b"");
    assert_eq!(sw.send(0, &[syn(5432)]).len(), 1);
    assert!(sw.send(0, &[syn(80)]).is_empty());
    let (log, lost) = sw.snap.tables.firewall.log.read(10);
    assert_eq!(lost, 0);
    let seen: Vec<(&str, &str, u16)> = log
        .iter()
        .map(|e| (&*e.rule, e.action.name(), e.tuple.dport))
        .collect();
    assert_eq!(
        seen,
        [("admins-db", "allow", 5432), ("rest-db", "deny", 80)]
    );
    // A group edit applies at once: W leaves the group, its connection to db is cut.
    sw.republish(&model(policies, &groups(r#""198.51.100.11/32""#)));
    let data = tcp(W, W_IP, D_IP, (40000, 5432), ACK, 2, 1, b"x");
    assert!(sw.send(0, &[data]).is_empty());
    assert_eq!(sw.drops(0, FirewallDrop::PolicyCut), 1);
}

/// Network lab with port px (0), whose security group takes web traffic only and lets its
/// host send anything, and `open` ports (1, 2, ...) without security groups.
fn web_server_lab(open: &[&str]) -> String {
    let open: Vec<String> = open
        .iter()
        .map(|p| format!(r#"{{"name": "{p}", "type": "tap", "iface": "{p}", "network": "lab"}}"#))
        .collect();
    format!(
        r#"{{"networks": [{{"name": "lab"}}],
            "security_groups": [{{"name": "web-server", "rules": [
                {{"direction": "ingress", "proto": "tcp", "ports": "80"}},
                {{"direction": "egress"}}]}}],
            "ports": [{{"name": "px", "type": "tap", "iface": "px", "network": "lab",
                        "security_groups": ["web-server"]}}, {}]}}"#,
        open.join(", ")
    )
}

#[test]
fn security_groups_filter_a_port_inside_its_network_and_on_top_of_policies() {
    const X: [u8; 6] = [2, 0, 0, 0, 0, 0x31];
    const Y: [u8; 6] = [2, 0, 0, 0, 0, 0x32];
    const X_IP: [u8; 4] = [203, 0, 113, 41];
    const Y_IP: [u8; 4] = [203, 0, 113, 42];
    let mut sw = Switch::new(&web_server_lab(&["py"]));
    // ARP is never filtered: the hosts and the bridge learn each other.
    assert_eq!(sw.send(0, &[arp_request(X, X_IP, Y_IP)])[0].0, 1);
    assert_eq!(sw.send(1, &[arp_request(Y, Y_IP, X_IP)])[0].0, 0);
    let web = addressed(Y, X, tcp(Y, Y_IP, X_IP, (40000, 80), SYN, 1, 0, b""));
    assert_eq!(sw.send(1, &[web])[0].0, 0, "y -> x:80 allowed in");
    let answer = addressed(X, Y, tcp(X, X_IP, Y_IP, (80, 40000), SYN | ACK, 9, 2, b""));
    assert_eq!(sw.send(0, &[answer])[0].0, 1, "x's answer goes out");
    let ssh = addressed(Y, X, tcp(Y, Y_IP, X_IP, (40001, 22), SYN, 1, 0, b""));
    assert!(sw.send(1, &[ssh]).is_empty(), "y -> x:22 refused");
    assert_eq!(sw.drops(1, FirewallDrop::SecurityGroup), 1);
    let out = addressed(X, Y, udp(X, X_IP, Y_IP, 5000));
    assert_eq!(sw.send(0, &[out])[0].0, 1, "x may send anything");
    let back = addressed(Y, X, udp(Y, Y_IP, X_IP, 6000));
    assert!(
        sw.send(1, &[back]).is_empty(),
        "but y may not start udp to x"
    );
    let stats = &sw.snap.tables.firewall.conntrack;
    assert_eq!(stats.len(), 2, "the web and udp connections are tracked");

    // On top of policies: web -> app tcp/8080 is allowed by policy, but app's port admits
    // 8080 only from one other host.
    let sg = r#", "security_groups": [{"name": "app-in", "rules": [
        {"direction": "ingress", "proto": "tcp", "ports": "8080", "remote": "198.51.100.11/32"},
        {"direction": "egress"}]}]"#;
    let json = model(POLICIES, sg).replacen(
        r#""network": "app"}"#,
        r#""network": "app", "security_groups": ["app-in"]}"#,
        1,
    );
    let mut sw = tiers(&json);
    let syn = tcp(W, W_IP, A_IP, (40000, 8080), SYN, 1000, 0, b"");
    assert!(sw.send(0, &[syn]).is_empty());
    assert_eq!(sw.drops(0, FirewallDrop::SecurityGroup), 1);
    // app -> db is policy-allowed and app's egress admits it.
    let syn = tcp(A, A_IP, D_IP, (40000, 5432), SYN, 1, 0, b"");
    assert_eq!(sw.send(1, &[syn])[0].0, 2);
}

#[test]
fn a_network_at_its_connection_limit_opens_no_more_and_others_go_on() {
    let json = model(POLICIES, "").replacen(
        r#"{"name": "web","#,
        r#"{"name": "web", "conntrack_limit": 5,"#,
        1,
    );
    let mut sw = tiers(&json);
    let queries: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            let mut f = udp(W, W_IP, A_IP, 53);
            f[34..36].copy_from_slice(&(41000u16 + i).to_be_bytes());
            f[40..42].fill(0); // no UDP checksum after the port change
            f
        })
        .collect();
    assert_eq!(sw.send(0, &queries).len(), 5, "five connections, then none");
    assert_eq!(sw.drops(0, FirewallDrop::CtNetworkFull), 3);
    let web = sw.snap.tables.firewall.nets[0].conn_quota;
    assert_eq!(
        sw.snap.tables.firewall.conntrack.quota(web),
        (5, Some(5), 3)
    );
    // Established ones go on, and app opens its own.
    assert_eq!(sw.send(0, &queries[..1]).len(), 1);
    let syn = tcp(A, A_IP, D_IP, (40000, 5432), SYN, 1, 0, b"");
    assert_eq!(sw.send(1, &[syn]).len(), 1);
    // Ending web's connections frees its quota.
    sw.snap.tables.firewall.conntrack.flush(1, None);
    assert_eq!(sw.snap.tables.firewall.conntrack.quota(web).0, 0);
    assert_eq!(sw.send(0, &queries[5..]).len(), 3);
}

#[test]
fn a_flood_to_an_unknown_mac_reaches_a_secured_port_only_if_its_rules_allow() {
    const X: [u8; 6] = [2, 0, 0, 0, 0, 0x41];
    const Y: [u8; 6] = [2, 0, 0, 0, 0, 0x42];
    const UNKNOWN: [u8; 6] = [2, 0, 0, 0, 0, 0x4f];
    const X_IP: [u8; 4] = [203, 0, 113, 51];
    const Y_IP: [u8; 4] = [203, 0, 113, 52];
    let mut sw = Switch::new(&web_server_lab(&["py", "pz"]));
    let to_unknown = |dport: u16| {
        addressed(
            Y,
            UNKNOWN,
            tcp(Y, Y_IP, X_IP, (40000, dport), SYN, 1, 0, b""),
        )
    };
    let ports = |out: Vec<(u16, Vec<u8>)>| out.iter().map(|o| o.0).collect::<Vec<_>>();
    assert_eq!(
        ports(sw.send(1, &[to_unknown(80)])),
        [0, 2],
        "web reaches px and pz"
    );
    assert_eq!(ports(sw.send(1, &[to_unknown(22)])), [2], "ssh only pz");
    assert_eq!(sw.drops(1, FirewallDrop::SecurityGroup), 1);
    // x opens a connection to y (learned); y's answer, sent to a MAC the switch does not know,
    // floods and reaches x as part of the connection x opened.
    let open = addressed(X, Y, tcp(X, X_IP, Y_IP, (5000, 9999), SYN, 7, 0, b""));
    assert_eq!(ports(sw.send(0, &[open])), [1]);
    let answer = addressed(
        Y,
        UNKNOWN,
        tcp(Y, Y_IP, X_IP, (9999, 5000), SYN | ACK, 70, 8, b""),
    );
    assert_eq!(ports(sw.send(1, &[answer])), [0, 2], "the reply reaches x");
}
