//! NAT through the whole pipeline on `TestBuf`: SNAT of UDP, TCP and pings and their replies,
//! floating IPs both ways, ARP for NAT addresses, ICMP errors translated back, exhaustion and
//! unknown bindings counted, and the model's bad input refused.

use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

use super::NatDrop;
use crate::config::harness::{arp_frame, Switch};
use crate::forwarding::GATEWAY_MAC;
use crate::model::Model;
use crate::packet::{arp, eth};

const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];
pub(super) const GW: [u8; 6] = GATEWAY_MAC.0;
const A_IP: [u8; 4] = [198, 51, 100, 10];
const B_IP: [u8; 4] = [203, 0, 113, 10];
const SNAT_IP: [u8; 4] = [203, 0, 113, 100];
const FLOAT_IP: [u8; 4] = [203, 0, 113, 50];

/// inside (port 0) and the external network outside (port 1), one VRF; inside may open
/// connections to outside; SNAT for inside, a floating IP for A.
fn model(snat_ports: &str, floating: bool) -> String {
    let floating = if floating {
        r#", "floating_ips": [{"ip": "203.0.113.50", "endpoint": "198.51.100.10"}]"#
    } else {
        ""
    };
    format!(
        r#"{{
        "networks": [
            {{"name": "inside", "subnets": ["198.51.100.0/24"], "gateways": ["198.51.100.1"]}},
            {{"name": "outside", "subnets": ["203.0.113.0/24"], "gateways": ["203.0.113.1"],
              "external": true}}
        ],
        "ports": [
            {{"name": "p0", "type": "tap", "iface": "p0", "network": "inside"}},
            {{"name": "p1", "type": "tap", "iface": "p1", "network": "outside"}}
        ],
        "policies": [
            {{"name": "in-out", "from": "inside", "to": "outside", "action": "allow"}},
            {{"name": "out-in", "from": "outside", "to": "inside", "action": "allow",
              "proto": "tcp", "ports": "22"}}
        ],
        "snat": [{{"name": "out", "from": "inside", "to": "203.0.113.100",
                   "port_range": "{snat_ports}"}}]{floating}
    }}"#
    )
}

/// The switch with A and B known to the gateway (each asked it for its address).
fn switch(snat_ports: &str, floating: bool) -> Switch {
    let mut sw = Switch::new(&model(snat_ports, floating));
    let a = arp_frame(
        arp::Operation::REQUEST,
        A,
        [0xff; 6],
        A_IP,
        [198, 51, 100, 1],
    );
    assert_eq!(sw.send(0, &[a]).len(), 1);
    let b = arp_frame(
        arp::Operation::REQUEST,
        B,
        [0xff; 6],
        B_IP,
        [203, 0, 113, 1],
    );
    assert_eq!(sw.send(1, &[b]).len(), 1);
    sw
}

pub(super) fn udp(src: [u8; 6], sip: [u8; 4], dip: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src, GW)
        .ipv4(sip, dip, 64)
        .udp(sport, dport)
        .write(&mut out, b"payload")
        .unwrap();
    out
}

/// Addresses and ports of a frame's IPv4 packet, after checking every checksum in it.
pub(super) fn endpoints(frame: &[u8]) -> ([u8; 4], u16, [u8; 4], u16) {
    let p = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
        panic!("not IPv4");
    };
    let h = ip.header().to_header();
    assert_eq!(
        h.calc_header_checksum(),
        h.header_checksum,
        "IPv4 header checksum"
    );
    let (sport, dport) = match p.transport {
        Some(TransportSlice::Udp(u)) => {
            let sum = u.to_header().calc_checksum_ipv4(&h, u.payload()).unwrap();
            assert_eq!(sum, u.checksum(), "UDP checksum");
            (u.source_port(), u.destination_port())
        }
        Some(TransportSlice::Tcp(t)) => {
            let sum = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
            assert_eq!(sum, t.checksum(), "TCP checksum");
            (t.source_port(), t.destination_port())
        }
        Some(TransportSlice::Icmpv4(i)) => {
            let sum = i.header().icmp_type.calc_checksum(i.payload());
            assert_eq!(sum, i.checksum(), "ICMP checksum");
            match i.header().icmp_type {
                etherparse::Icmpv4Type::EchoRequest(e) | etherparse::Icmpv4Type::EchoReply(e) => {
                    (e.id, 0)
                }
                _ => (0, 0),
            }
        }
        _ => (0, 0),
    };
    (h.source, sport, h.destination, dport)
}

#[test]
fn snat_translates_a_udp_flow_and_its_replies() {
    let mut sw = switch("1024-65535", false);
    let out = sw.send(0, &[udp(A, A_IP, B_IP, 40000, 53)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 1);
    assert_eq!(&out[0].1[..6], &B);
    assert_eq!(endpoints(&out[0].1), (SNAT_IP, 40000, B_IP, 53));
    let back = sw.send(1, &[udp(B, B_IP, SNAT_IP, 53, 40000)]);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].0, 0);
    assert_eq!(&back[0].1[..6], &A);
    assert_eq!(endpoints(&back[0].1), (B_IP, 53, A_IP, 40000));
    assert_eq!(sw.snap.tables.nat.bindings.len(), 1);
}

#[test]
fn outside_the_range_a_port_is_allocated_and_pings_keep_their_identifier_apart() {
    let mut sw = switch("2000-2999", false);
    let out = sw.send(0, &[udp(A, A_IP, B_IP, 40000, 53)]);
    let (_, port, _, _) = endpoints(&out[0].1);
    assert!((2000..=2999).contains(&port), "{port}");
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(A, GW)
        .ipv4(A_IP, B_IP, 64)
        .icmpv4_echo_request(77, 1)
        .write(&mut ping, b"abcdefgh")
        .unwrap();
    let out = sw.send(0, &[ping]);
    let (src, id, _, _) = endpoints(&out[0].1);
    assert_eq!(src, SNAT_IP);
    assert!((2000..=2999).contains(&id), "{id}");
    let mut reply = Vec::new();
    PacketBuilder::ethernet2(B, GW)
        .ipv4(B_IP, SNAT_IP, 64)
        .icmpv4_echo_reply(id, 1)
        .write(&mut reply, b"abcdefgh")
        .unwrap();
    let back = sw.send(1, &[reply]);
    assert_eq!(back.len(), 1);
    assert_eq!(endpoints(&back[0].1), (B_IP, 77, A_IP, 0));
}

#[test]
fn the_nat_address_answers_arp_on_the_external_network_only() {
    let mut sw = switch("1024-65535", true);
    for target in [SNAT_IP, FLOAT_IP] {
        let ask = arp_frame(arp::Operation::REQUEST, B, [0xff; 6], B_IP, target);
        let out = sw.send(1, &[ask]);
        assert_eq!(out.len(), 1, "{target:?}");
        assert_eq!(out[0].0, 1);
        let reply = arp::Packet::new_checked(&out[0].1[eth::HEADER_LEN..]).unwrap();
        assert_eq!(reply.operation(), arp::Operation::REPLY);
        assert_eq!(reply.sender_hardware_addr(), GATEWAY_MAC);
        assert_eq!(
            reply.sender_protocol_addr(),
            std::net::Ipv4Addr::from(target)
        );
    }
    // Inside, the address is nobody's: the request floods (there is no other port).
    let ask = arp_frame(arp::Operation::REQUEST, A, [0xff; 6], A_IP, SNAT_IP);
    assert!(sw.send(0, &[ask]).is_empty());
}

#[test]
fn to_a_nat_address_without_a_binding_is_dropped_and_counted() {
    let mut sw = switch("1024-65535", false);
    assert!(sw.send(1, &[udp(B, B_IP, SNAT_IP, 53, 40000)]).is_empty());
    assert_eq!(sw.drops(1, NatDrop::NoBinding), 1);
}

#[test]
fn a_full_range_refuses_new_connections_and_counts_them() {
    let mut sw = switch("5000-5001", false);
    for sport in [41000, 41001] {
        assert_eq!(sw.send(0, &[udp(A, A_IP, B_IP, sport, 53)]).len(), 1);
    }
    assert!(sw.send(0, &[udp(A, A_IP, B_IP, 41002, 53)]).is_empty());
    assert_eq!(sw.drops(0, NatDrop::PortsExhausted), 1);
    // An existing connection goes on.
    assert_eq!(sw.send(0, &[udp(A, A_IP, B_IP, 41000, 53)]).len(), 1);
}

#[test]
fn a_floating_ip_reaches_its_endpoint_and_the_endpoint_leaves_from_it() {
    let mut sw = switch("1024-65535", true);
    let mut syn = Vec::new();
    PacketBuilder::ethernet2(B, GW)
        .ipv4(B_IP, FLOAT_IP, 64)
        .tcp(50000, 22, 1, 65535)
        .syn()
        .write(&mut syn, &[])
        .unwrap();
    let inbound = sw.send(1, &[syn]);
    assert_eq!(inbound.len(), 1, "the policy outside -> inside allows ssh");
    assert_eq!(endpoints(&inbound[0].1), (B_IP, 50000, A_IP, 22));
    let out = sw.send(0, &[udp(A, A_IP, B_IP, 40000, 53)]);
    assert_eq!(endpoints(&out[0].1), (FLOAT_IP, 40000, B_IP, 53));
    assert!(
        sw.snap.tables.nat.bindings.is_empty(),
        "1:1 needs no bindings"
    );
}

#[test]
fn an_icmp_error_about_a_translated_packet_reaches_the_inside_host() {
    let mut sw = switch("1024-65535", false);
    let out = sw.send(0, &[udp(A, A_IP, B_IP, 40000, 33434)]);
    let sent = &out[0].1;
    // B, a router on the way, says the TTL ran out, quoting what it got.
    let quote = &sent[eth::HEADER_LEN..eth::HEADER_LEN + 28];
    let mut err = Vec::new();
    PacketBuilder::ethernet2(B, GW)
        .ipv4(B_IP, SNAT_IP, 64)
        .icmpv4(etherparse::Icmpv4Type::TimeExceeded(
            etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit,
        ))
        .write(&mut err, quote)
        .unwrap();
    let back = sw.send(1, &[err]);
    assert_eq!(back.len(), 1);
    let frame = &back[0].1;
    let (src, _, dst, _) = endpoints(frame);
    assert_eq!((src, dst), (B_IP, A_IP));
    let inner = &frame[eth::HEADER_LEN + 20 + 8..];
    assert_eq!(
        &inner[12..16],
        &A_IP,
        "the quote's source is the inside host again"
    );
    assert_eq!(u16::from_be_bytes([inner[20], inner[21]]), 40000);
}

#[test]
fn bad_nat_models_are_refused_with_one_line() {
    let base: Model = Model::parse("json", &model("1024-65535", true)).unwrap();
    type Edit = Box<dyn Fn(&mut Model)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "inverted",
            Box::new(|m| m.snat[0].port_range = Some("3000-2000".into())),
        ),
        (
            "in no external network",
            Box::new(|m| m.snat[0].to = "192.0.2.9".into()),
        ),
        (
            "gateway of network outside",
            Box::new(|m| m.snat[0].to = "203.0.113.1".into()),
        ),
        (
            "overlaps",
            Box::new(|m| {
                let mut other = m.snat[0].clone();
                other.name = "two".into();
                other.from = "198.51.100.128/25".into();
                m.snat.push(other);
            }),
        ),
        (
            "used by snat out",
            Box::new(|m| m.floating_ips[0].ip = "203.0.113.100".into()),
        ),
        (
            "already exists",
            Box::new(|m| {
                let again = m.floating_ips[0].clone();
                m.floating_ips.push(again);
            }),
        ),
        (
            "no internal network",
            Box::new(|m| m.floating_ips[0].endpoint = "192.0.2.7".into()),
        ),
        (
            "external network",
            Box::new(|m| m.snat[0].from = "outside".into()),
        ),
    ];
    for (says, edit) in cases {
        let mut m = base.clone();
        edit(&mut m);
        let e = crate::config::validate::validate(&m)
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{says}: {e}");
        assert!(!e.contains('\n'));
    }
}

/// A next hop whose port the FDB does not know yet (a static neighbor that sent nothing): the
/// router floods the frame to the network, translated all the same.
#[test]
fn a_flooded_routed_frame_is_translated_too() {
    let mut sw = Switch::new(&model("1024-65535", false).replace(
        r#""snat":"#,
        r#""neighbors": [{"ip": "203.0.113.10", "mac": "02:00:00:00:00:0b", "network": "outside"}],
        "snat":"#,
    ));
    let a = arp_frame(
        arp::Operation::REQUEST,
        A,
        [0xff; 6],
        A_IP,
        [198, 51, 100, 1],
    );
    sw.send(0, &[a]);
    let out = sw.send(0, &[udp(A, A_IP, B_IP, 40000, 53)]);
    assert_eq!(out.len(), 1);
    assert_eq!(endpoints(&out[0].1), (SNAT_IP, 40000, B_IP, 53));
}

/// inside and outside with IPv6 subnets; floating IP 2001:db8:e::50 for inside's ::11.
const MODEL6: &str = r#"{
    "networks": [
        {"name": "inside", "subnets": ["2001:db8:1::/64"], "gateways": ["2001:db8:1::1"]},
        {"name": "outside", "subnets": ["2001:db8:e::/64"], "gateways": ["2001:db8:e::1"],
         "external": true}
    ],
    "ports": [
        {"name": "p0", "type": "tap", "iface": "p0", "network": "inside"},
        {"name": "p1", "type": "tap", "iface": "p1", "network": "outside"}
    ],
    "neighbors": [
        {"ip": "2001:db8:1::11", "mac": "02:00:00:00:00:0a", "network": "inside"},
        {"ip": "2001:db8:e::10", "mac": "02:00:00:00:00:0b", "network": "outside"}
    ],
    "policies": [
        {"name": "in-out", "from": "inside", "to": "outside", "action": "allow"},
        {"name": "out-in", "from": "outside", "to": "inside", "action": "allow",
         "proto": "tcp", "ports": "22"}
    ],
    "floating_ips": [{"ip": "2001:db8:e::50", "endpoint": "2001:db8:1::11"}]
}"#;

const IN6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11];
const OUT6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0xe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
const FLOAT6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0xe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50];

fn tcp6(src: [u8; 6], (sip, sport): ([u8; 16], u16), (dip, dport): ([u8; 16], u16)) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src, GW)
        .ipv6(sip, dip, 64)
        .tcp(sport, dport, 1, 64_000)
        .syn()
        .write(&mut out, &[])
        .unwrap();
    out
}

fn tcp6_endpoints(frame: &[u8]) -> ([u8; 16], [u8; 16]) {
    let p = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(etherparse::NetSlice::Ipv6(ip)) = p.net else {
        panic!("not IPv6");
    };
    let h = ip.header().to_header();
    let Some(TransportSlice::Tcp(t)) = p.transport else {
        panic!("not TCP");
    };
    let sum = t.to_header().calc_checksum_ipv6(&h, t.payload()).unwrap();
    assert_eq!(sum, t.checksum(), "TCP checksum");
    (h.source, h.destination)
}

#[test]
fn an_ipv6_floating_ip_answers_nd_and_translates_both_ways() {
    use crate::forwarding::nd::{NdFrame, OPT_SOURCE_LLADDR};
    use crate::packet::{icmp, MacAddr};
    use crate::pipeline::buf::{PacketBuf, TestBuf};
    let mut sw = Switch::new(MODEL6);
    for (port, mac) in [(0, A), (1, B)] {
        sw.send(
            port,
            &[arp_frame(
                arp::Operation::REQUEST,
                mac,
                [0xff; 6],
                [0; 4],
                [0; 4],
            )],
        );
    }
    // The outside host asks for the floating IP: the gateway's MAC answers.
    let ns = NdFrame {
        kind: icmp::v6::NEIGHBOR_SOLICIT,
        flags: 0,
        eth: (MacAddr([0x33, 0x33, 0xff, 0, 0, 0x50]), MacAddr(B)),
        ip: (OUT6.into(), "ff02::1:ff00:50".parse().unwrap()),
        target: FLOAT6.into(),
        option: (OPT_SOURCE_LLADDR, MacAddr(B)),
    };
    let mut buf = TestBuf::new(1, &[0u8; 60]);
    ns.write(&mut buf).unwrap();
    let out = sw.send(1, &[buf.data().to_vec()]);
    assert_eq!(out.len(), 1, "one advertisement");
    assert_eq!(out[0].0, 1);
    let na = &out[0].1;
    assert_eq!(na[54], icmp::v6::NEIGHBOR_ADVERT);
    assert_eq!(&na[62..78], &FLOAT6, "for the floating IP");
    assert_eq!(&na[80..86], &GW, "at the gateway's MAC");
    // In to the endpoint, out from the floating IP.
    let inbound = sw.send(1, &[tcp6(B, (OUT6, 40000), (FLOAT6, 22))]);
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0].0, 0);
    assert_eq!(tcp6_endpoints(&inbound[0].1), (OUT6, IN6));
    let outbound = sw.send(0, &[tcp6(A, (IN6, 5000), (OUT6, 80))]);
    assert_eq!(outbound.len(), 1);
    assert_eq!(outbound[0].0, 1);
    assert_eq!(tcp6_endpoints(&outbound[0].1), (FLOAT6, OUT6));
}

#[test]
fn a_flow_record_reads_the_translation_snat_and_floating_ips_gave() {
    use super::flows::{translation, Ep};
    let ep = |ip: [u8; 4], port: u16| -> Ep { (std::net::Ipv4Addr::from(ip).into(), port) };
    let (inside, outside) = (0, 1);
    let mut sw = switch("1024-65535", false);
    sw.send(0, &[udp(A, A_IP, B_IP, 40000, 53)]);
    let nat = &sw.snap.tables.nat;
    let t = translation(nat, (inside, outside), 17, ep(A_IP, 40000), ep(B_IP, 53));
    let t = t.expect("a SNAT binding");
    assert_eq!(t.arrived, (ep(A_IP, 40000), ep(B_IP, 53)));
    assert_eq!(t.left, (ep(SNAT_IP, 40000), ep(B_IP, 53)));
    // No binding for another flow: nothing to report (and none is taken by asking).
    assert_eq!(
        translation(nat, (inside, outside), 17, ep(A_IP, 40001), ep(B_IP, 53)),
        None
    );
    assert_eq!(nat.bindings.len(), 1);

    let sw = switch("1024-65535", true);
    let nat = &sw.snap.tables.nat;
    // Into the floating IP: the firewall saw the endpoint; it arrived for the floating IP.
    let t = translation(nat, (outside, inside), 6, ep(B_IP, 50000), ep(A_IP, 22)).unwrap();
    assert_eq!(t.arrived, (ep(B_IP, 50000), ep(FLOAT_IP, 22)));
    assert_eq!(t.left, (ep(B_IP, 50000), ep(A_IP, 22)));
    let t = translation(nat, (inside, outside), 17, ep(A_IP, 40000), ep(B_IP, 53)).unwrap();
    assert_eq!(t.left, (ep(FLOAT_IP, 40000), ep(B_IP, 53)));
    // Between two internal networks (or inside one), nothing is translated.
    assert_eq!(
        translation(nat, (inside, inside), 17, ep(A_IP, 1), ep(A_IP, 2)),
        None
    );
}
