//! The distributed gateway through the whole pipeline on `TestBuf`: ARP, IPv4 routing between
//! the networks of a VRF, ICMP errors, VRF isolation, malformed input. The models allow their
//! networks to reach each other by policy (the firewall's own tests are in `firewall.rs`).

use crate::forwarding::NeighborDrop;
use crate::pipeline::drop::EngineDrop;
use crate::router::RouterDrop;
use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

use crate::config::harness::{arp_frame, Switch};
use crate::forwarding::GATEWAY_MAC;
use crate::packet::{arp, eth, icmp, ipv4, MacAddr};

const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];
const C: [u8; 6] = [2, 0, 0, 0, 0, 0xc];
const GW: [u8; 6] = GATEWAY_MAC.0;
const A_IP: [u8; 4] = [198, 51, 100, 10];
const B_IP: [u8; 4] = [203, 0, 113, 20];
const GW_A: [u8; 4] = [198, 51, 100, 1];
const GW_B: [u8; 4] = [203, 0, 113, 1];

/// web (port 0) and db (port 1, MTU 1000) in VRF t1; other (port 2) in VRF t2 with web's subnet.
const MODEL: &str = r#"{
    "networks": [
        {"name": "web", "subnets": ["198.51.100.0/24"], "gateways": ["198.51.100.1"], "vrf": "t1"},
        {"name": "db", "subnets": ["203.0.113.0/24"], "gateways": ["203.0.113.1"], "vrf": "t1"},
        {"name": "other", "subnets": ["198.51.100.0/24"], "gateways": ["198.51.100.1"], "vrf": "t2"}
    ],
    "ports": [
        {"name": "p0", "type": "tap", "iface": "p0", "network": "web"},
        {"name": "p1", "type": "tap", "iface": "p1", "network": "db", "mtu": 1000},
        {"name": "p2", "type": "tap", "iface": "p2", "network": "other"}
    ],
    "policies": [
        {"name": "web-db", "from": "web", "to": "db", "action": "allow"},
        {"name": "db-web", "from": "db", "to": "web", "action": "allow"}
    ]}"#;

fn udp(src: [u8; 6], dst: [u8; 6], sip: [u8; 4], dip: [u8; 4], ttl: u8, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src, dst)
        .ipv4(sip, dip, ttl)
        .udp(40000, 5001)
        .write(&mut out, &vec![0x5a; len])
        .unwrap();
    out
}

fn ping(src: [u8; 6], dst: [u8; 6], sip: [u8; 4], dip: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src, dst)
        .ipv4(sip, dip, 64)
        .icmpv4_echo_request(7, 1)
        .write(&mut out, b"abcdefgh")
        .unwrap();
    out
}

fn v4(a: [u8; 4]) -> std::net::Ipv4Addr {
    a.into()
}

/// The IPv4 packet of a frame, checked by etherparse (header checksum included).
fn ip_of(frame: &[u8]) -> ipv4::Packet<&[u8]> {
    let p = ipv4::Packet::new_checked(&frame[eth::HEADER_LEN..]).unwrap();
    assert!(p.verify_checksum(), "bad IPv4 header checksum");
    p
}

/// The switch with B known on db (it asked the gateway for its address).
fn switch_knowing_b() -> Switch {
    let mut sw = Switch::new(MODEL);
    let asked = arp_frame(arp::Operation::REQUEST, B, [0xff; 6], B_IP, GW_B);
    let out = sw.send(1, &[asked]);
    assert_eq!(out.len(), 1);
    sw
}

#[test]
fn gateway_answers_arp_for_itself_on_its_port_only() {
    let mut sw = Switch::new(MODEL);
    let out = sw.send(
        0,
        &[arp_frame(arp::Operation::REQUEST, A, [0xff; 6], A_IP, GW_A)],
    );
    assert_eq!(out.len(), 1, "answered, not flooded");
    let (port, reply) = &out[0];
    assert_eq!(*port, 0);
    assert_eq!(&reply[0..6], &A);
    assert_eq!(&reply[6..12], &GW);
    let p = arp::Packet::new_checked(&reply[eth::HEADER_LEN..]).unwrap();
    assert_eq!(p.operation(), arp::Operation::REPLY);
    assert_eq!(p.sender_hardware_addr(), GATEWAY_MAC);
    assert_eq!(p.sender_protocol_addr(), v4(GW_A));
    assert_eq!(p.target_protocol_addr(), v4(A_IP));
    // A is now a neighbor of VRF t1, and answered by proxy to another host of web.
    let asked = arp_frame(
        arp::Operation::REQUEST,
        C,
        [0xff; 6],
        [198, 51, 100, 30],
        A_IP,
    );
    let out = sw.send(0, &[asked]);
    // From the same port as A: the bridge would drop it, the proxy answers with A's MAC.
    assert_eq!(out.len(), 1);
    let p = arp::Packet::new_checked(&out[0].1[eth::HEADER_LEN..]).unwrap();
    assert_eq!(p.sender_hardware_addr(), MacAddr(A));
}

#[test]
fn routes_between_networks_of_a_vrf_with_ttl_and_mac_rewrite() {
    let mut sw = switch_knowing_b();
    let out = sw.send(0, &[udp(A, GW, A_IP, B_IP, 64, 100)]);
    assert_eq!(out.len(), 1);
    let (port, f) = &out[0];
    assert_eq!(*port, 1);
    assert_eq!(&f[0..6], &B);
    assert_eq!(&f[6..12], &GW);
    let ip = ip_of(f);
    assert_eq!(ip.ttl(), 63);
    assert_eq!(ip.dst_addr(), v4(B_IP));
    // The UDP checksum does not cover the TTL: still valid.
    let sliced = SlicedPacket::from_ethernet(f).unwrap();
    assert!(matches!(sliced.transport, Some(TransportSlice::Udp(_))));
    // And back, once A asked the gateway for its address (which taught the gateway A's).
    sw.send(
        0,
        &[arp_frame(arp::Operation::REQUEST, A, [0xff; 6], A_IP, GW_A)],
    );
    let out = sw.send(1, &[udp(B, GW, B_IP, A_IP, 64, 100)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 0);
    assert_eq!(&out[0].1[0..6], &A);
}

#[test]
fn one_burst_to_several_destinations_reaches_each_of_them() {
    // Packets of a burst to the same destination share one next-hop lookup; interleaved
    // destinations, one still unknown, and a TTL of 1 must each get their own answer.
    let mut sw = switch_knowing_b();
    const D_IP: [u8; 4] = [203, 0, 113, 40];
    const D: [u8; 6] = [2, 0, 0, 0, 0, 0xd];
    sw.send(
        1,
        &[arp_frame(arp::Operation::REQUEST, D, [0xff; 6], D_IP, GW_B)],
    );
    let burst = [
        udp(A, GW, A_IP, B_IP, 64, 10),
        udp(A, GW, A_IP, B_IP, 64, 11),
        udp(A, GW, A_IP, D_IP, 64, 12),
        udp(A, GW, A_IP, B_IP, 1, 13),
        udp(A, GW, A_IP, [203, 0, 113, 99], 64, 14),
        udp(A, GW, A_IP, D_IP, 64, 15),
        udp(A, GW, A_IP, B_IP, 64, 16),
    ];
    let out = sw.send(0, &burst);
    let mut summary: Vec<(u16, [u8; 6])> = out
        .iter()
        .map(|(port, f)| (*port, f[0..6].try_into().unwrap()))
        .collect();
    summary.sort();
    let mut expected = vec![
        (1, B),
        (1, B),
        (1, D),
        (0, A),         // time exceeded, back to A
        (1, [0xff; 6]), // who has .99: an ARP request
        (1, D),
        (1, B),
    ];
    expected.sort();
    assert_eq!(summary, expected);
    assert_eq!(sw.drops(0, RouterDrop::TtlExceeded), 1);
    assert_eq!(sw.drops(0, RouterDrop::NeighborMiss), 1);
}

#[test]
fn an_unknown_next_hop_is_asked_for_by_arp() {
    let mut sw = Switch::new(MODEL);
    let out = sw.send(0, &[udp(A, GW, A_IP, B_IP, 64, 100)]);
    assert_eq!(out.len(), 1);
    let (port, f) = &out[0];
    assert_eq!(*port, 1);
    assert_eq!(&f[0..6], &[0xff; 6]);
    let p = arp::Packet::new_checked(&f[eth::HEADER_LEN..]).unwrap();
    assert_eq!(p.operation(), arp::Operation::REQUEST);
    assert_eq!(p.sender_protocol_addr(), v4(GW_B));
    assert_eq!(p.target_protocol_addr(), v4(B_IP));
    assert_eq!(sw.drops(0, RouterDrop::NeighborMiss), 1);
    // B's reply to the gateway is consumed and teaches it where B is.
    let reply = arp_frame(arp::Operation::REPLY, B, GW, B_IP, GW_B);
    assert!(sw.send(1, &[reply]).is_empty());
    assert_eq!(sw.send(0, &[udp(A, GW, A_IP, B_IP, 64, 100)])[0].0, 1);
}

#[test]
fn ttl_exceeded_and_no_route_get_icmp_errors_from_the_gateway() {
    let mut sw = switch_knowing_b();
    let probe = udp(A, GW, A_IP, B_IP, 1, 32);
    let out = sw.send(0, std::slice::from_ref(&probe));
    assert_eq!(out.len(), 1);
    let (port, f) = &out[0];
    assert_eq!(*port, 0);
    assert_eq!(&f[0..6], &A);
    let ip = ip_of(f);
    assert_eq!(ip.src_addr(), v4(GW_A));
    assert_eq!(ip.dst_addr(), v4(A_IP));
    let msg = icmp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(msg.msg_type(), icmp::v4::TIME_EXCEEDED);
    assert!(msg.verify_checksum_v4());
    // The error quotes the probe's IP header and UDP header.
    assert_eq!(
        &msg.data()[..28],
        &probe[eth::HEADER_LEN..eth::HEADER_LEN + 28]
    );
    assert_eq!(sw.drops(0, RouterDrop::TtlExceeded), 1);

    let out = sw.send(0, &[udp(A, GW, A_IP, [192, 0, 2, 99], 64, 32)]);
    let msg_type = icmp::Packet::new_checked(ip_of(&out[0].1).payload())
        .unwrap()
        .msg_type();
    assert_eq!(msg_type, icmp::v4::DEST_UNREACHABLE);
    assert_eq!(sw.drops(0, RouterDrop::NoRoute), 1);
}

#[test]
fn over_the_egress_mtu_with_df_gets_fragmentation_needed() {
    let mut sw = switch_knowing_b();
    let mut big = udp(A, GW, A_IP, B_IP, 64, 1200);
    // etherparse sets DF; the frame is 1200 + 28 bytes of IP, over db's MTU of 1000.
    assert!(ip_of(&big).dont_frag());
    let out = sw.send(0, std::slice::from_ref(&big));
    let ip = ip_of(&out[0].1);
    let msg = icmp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(msg.msg_type(), icmp::v4::DEST_UNREACHABLE);
    assert_eq!(msg.msg_code(), icmp::v4::CODE_FRAG_NEEDED);
    assert_eq!(msg.rest_of_header() & 0xffff, 1000);
    assert_eq!(sw.drops(0, RouterDrop::FragNeeded), 1);
    // Without DF it is dropped and counted (the gateway does not fragment).
    let mut ip = ipv4::Packet::new_unchecked(&mut big[eth::HEADER_LEN..]);
    ip.set_dont_frag(false);
    ip.fill_checksum();
    assert!(sw.send(0, &[big]).is_empty());
    assert_eq!(sw.drops(0, EngineDrop::Mtu), 1);
}

#[test]
fn the_gateway_answers_pings_to_any_of_its_addresses_in_the_vrf() {
    let mut sw = Switch::new(MODEL);
    for gw in [GW_A, GW_B] {
        let out = sw.send(0, &[ping(A, GW, A_IP, gw)]);
        assert_eq!(out.len(), 1);
        let ip = ip_of(&out[0].1);
        assert_eq!(ip.src_addr(), v4(gw));
        let msg = icmp::Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(msg.msg_type(), icmp::v4::ECHO_REPLY);
        assert!(msg.verify_checksum_v4());
    }
    assert!(sw.send(0, &[udp(A, GW, A_IP, GW_A, 64, 10)]).is_empty());
    assert_eq!(sw.drops(0, RouterDrop::ForGateway), 1);
}

#[test]
fn vrfs_are_isolated_even_with_the_same_subnet() {
    let mut sw = switch_knowing_b();
    // From other (VRF t2, same subnet as web) to db's host: no route in t2.
    let out = sw.send(2, &[udp(C, GW, A_IP, B_IP, 64, 32)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 2, "only an ICMP error, back where it came from");
    assert_eq!(sw.drops(2, RouterDrop::NoRoute), 1);
    // other's gateway answers its own ARP, and learns C in t2 only.
    let out = sw.send(
        2,
        &[arp_frame(arp::Operation::REQUEST, C, [0xff; 6], A_IP, GW_A)],
    );
    assert_eq!(out[0].0, 2);
    let t1 = &sw.snap.tables.router.vrfs[0];
    assert_eq!(&*t1.name, "t1");
    assert!(t1.neighbors.lookup(std::net::IpAddr::from(A_IP)).is_none());
}

#[test]
fn malformed_ip_and_arp_are_counted_and_dropped() {
    let mut sw = switch_knowing_b();
    let mut bad_sum = udp(A, GW, A_IP, B_IP, 64, 32);
    bad_sum[eth::HEADER_LEN + 10] ^= 0xff;
    let mut bad_len = udp(A, GW, A_IP, B_IP, 64, 32);
    bad_len[eth::HEADER_LEN + 2..eth::HEADER_LEN + 4].copy_from_slice(&2000u16.to_be_bytes());
    let mut bad_ihl = udp(A, GW, A_IP, B_IP, 64, 32);
    bad_ihl[eth::HEADER_LEN] = 0x44;
    let truncated = udp(A, GW, A_IP, B_IP, 64, 32)[..30].to_vec();
    assert!(sw
        .send(0, &[bad_sum, bad_len, bad_ihl, truncated])
        .is_empty());
    assert_eq!(sw.drops(0, EngineDrop::BadIp), 4);
    let mut bad_arp = arp_frame(arp::Operation::REQUEST, A, [0xff; 6], A_IP, GW_A);
    bad_arp[eth::HEADER_LEN + 4] = 8; // hardware address length
    let short_arp = bad_arp[..30].to_vec();
    assert!(sw.send(0, &[bad_arp, short_arp]).is_empty());
    assert_eq!(sw.drops(0, NeighborDrop::BadArp), 2);
}

/// web and an uplink (203.0.113.0/25) in VRF t1, with a default route over two upstream routers.
const UPLINK_MODEL: &str = r#"{
    "networks": [
        {"name": "web", "subnets": ["198.51.100.0/24"], "gateways": ["198.51.100.1"], "vrf": "t1"},
        {"name": "uplink", "subnets": ["203.0.113.0/25"], "gateways": ["203.0.113.1"], "vrf": "t1"}
    ],
    "ports": [
        {"name": "p0", "type": "tap", "iface": "p0", "network": "web"},
        {"name": "up", "type": "tap", "iface": "up", "network": "uplink"}
    ],
    "routes": [{"vrf": "t1", "prefix": "0.0.0.0/0", "via": ["203.0.113.126", "203.0.113.125"]}],
    "policies": [{"name": "out", "from": "web", "to": "uplink", "action": "allow"}]
    }"#;

#[test]
fn ecmp_spreads_flows_over_the_next_hops_and_keeps_each_flow_on_one() {
    let mut sw = Switch::new(UPLINK_MODEL);
    let r1 = [2, 0, 0, 0, 1, 0x26];
    let r2 = [2, 0, 0, 0, 1, 0x25];
    for (mac, ip) in [(r1, [203, 0, 113, 126]), (r2, [203, 0, 113, 125])] {
        sw.send(
            1,
            &[arp_frame(
                arp::Operation::REQUEST,
                mac,
                [0xff; 6],
                ip,
                [203, 0, 113, 1],
            )],
        );
    }
    let flow = |i: u32| {
        let mut out = Vec::new();
        PacketBuilder::ethernet2(A, GW)
            .ipv4(A_IP, [203, 0, 113, 200 + (i % 50) as u8], 64)
            .udp(1024 + (i / 50) as u16, 443)
            .write(&mut out, b"x")
            .unwrap();
        out
    };
    let mut first = std::collections::HashMap::new();
    let mut per_hop = [0usize; 2];
    for round in 0..2 {
        for i in 0..10_000u32 {
            let out = sw.send(0, &[flow(i)]);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].0, 1, "out of the uplink");
            let dst: [u8; 6] = out[0].1[0..6].try_into().unwrap();
            if round == 0 {
                per_hop[usize::from(dst == r2)] += 1;
                first.insert(i, dst);
            } else {
                assert_eq!(first[&i], dst, "flow {i} changed next hop");
            }
        }
    }
    for n in per_hop {
        assert!(n.abs_diff(5000) <= 500, "flows per next hop: {per_hop:?}");
    }
}

#[test]
fn a_static_route_needs_its_vrf_and_a_next_hop_on_a_subnet_of_it() {
    let bad = |routes: &str| {
        let json = UPLINK_MODEL.replace(
            r#"[{"vrf": "t1", "prefix": "0.0.0.0/0", "via": ["203.0.113.126", "203.0.113.125"]}]"#,
            routes,
        );
        let model = crate::model::Model::parse("json", &json).unwrap();
        crate::config::validate::validate(&model)
            .unwrap_err()
            .to_string()
    };
    let e = bad(r#"[{"vrf": "nope", "prefix": "0.0.0.0/0", "via": ["203.0.113.126"]}]"#);
    assert!(e.contains("vrf nope does not exist"), "{e}");
    let e = bad(r#"[{"vrf": "t1", "prefix": "0.0.0.0/0", "via": ["203.0.113.200"]}]"#);
    assert!(
        e.contains("next hop 203.0.113.200 is in no subnet of vrf t1"),
        "{e}"
    );
    let e = bad(r#"[{"vrf": "t1", "prefix": "198.51.100.0/24", "via": ["203.0.113.126"]}]"#);
    assert!(
        e.contains("overlaps the connected subnet of network web"),
        "{e}"
    );
    let e = bad(
        r#"[{"vrf": "t1", "prefix": "0.0.0.0/0", "via": ["203.0.113.126"]},
            {"vrf": "t1", "prefix": "0.0.0.0/0", "via": ["203.0.113.125"]}]"#,
    );
    assert!(e.contains("already exists"), "{e}");
    let e = bad(r#"[{"vrf": "t1", "prefix": "0.0.0.0/0", "via": ["2001:db8::1"]}]"#);
    assert!(e.contains("not of the prefix's address family"), "{e}");
    let e = bad(r#"[{"vrf": "t1", "prefix": "0.0.0.0/0", "via": []}]"#);
    assert!(e.contains("give 1-16 next hops"), "{e}");
}

/// web and db with IPv6 subnets in VRF t1.
const V6_MODEL: &str = r#"{
    "networks": [
        {"name": "web", "subnets": ["2001:db8:1::/64"], "gateways": ["2001:db8:1::1"], "vrf": "t1"},
        {"name": "db", "subnets": ["2001:db8:2::/64"], "gateways": ["2001:db8:2::1"], "vrf": "t1"}
    ],
    "ports": [
        {"name": "p0", "type": "tap", "iface": "p0", "network": "web"},
        {"name": "p1", "type": "tap", "iface": "p1", "network": "db"}
    ],
    "policies": [
        {"name": "web-db", "from": "web", "to": "db", "action": "allow"},
        {"name": "db-web", "from": "db", "to": "web", "action": "allow"}
    ]}"#;

fn v6(s: &str) -> std::net::Ipv6Addr {
    s.parse().unwrap()
}

/// A neighbor solicitation for `target` from `src` (with its link-layer address option).
fn ns(mac: [u8; 6], src: &str, target: &str, hop_limit: u8) -> Vec<u8> {
    let t = v6(target).octets();
    let group = [
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15],
    ];
    let mut body = vec![icmp::v6::NEIGHBOR_SOLICIT, 0, 0, 0, 0, 0, 0, 0];
    body.extend_from_slice(&t);
    body.extend_from_slice(&[1, 1]);
    body.extend_from_slice(&mac);
    let mut out = Vec::new();
    PacketBuilder::ethernet2(mac, [0x33, 0x33, 0xff, t[13], t[14], t[15]])
        .ipv6(v6(src).octets(), group, hop_limit)
        .write(&mut out, 58.into(), &body)
        .unwrap();
    let l3 = eth::HEADER_LEN;
    let (ip, msg) = out[l3..].split_at_mut(40);
    let ip = crate::packet::ipv6::Packet::new_unchecked(&*ip);
    icmp::Packet::new_unchecked(msg).fill_checksum_v6(ip.src_addr(), ip.dst_addr());
    out
}

fn udp6(src: [u8; 6], dst: [u8; 6], sip: &str, dip: &str, hops: u8) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src, dst)
        .ipv6(v6(sip).octets(), v6(dip).octets(), hops)
        .udp(40000, 5001)
        .write(&mut out, &[0x5a; 64])
        .unwrap();
    out
}

#[test]
fn ipv6_neighbor_discovery_and_routing_through_the_gateway() {
    let mut sw = Switch::new(V6_MODEL);
    // The gateway answers a solicitation for its address with a router advertisement of it.
    let out = sw.send(0, &[ns(A, "2001:db8:1::10", "2001:db8:1::1", 255)]);
    assert_eq!(out.len(), 1);
    let (port, na) = &out[0];
    assert_eq!(*port, 0);
    assert_eq!(&na[0..6], &A);
    let sliced = SlicedPacket::from_ethernet(na).unwrap();
    assert!(matches!(sliced.transport, Some(TransportSlice::Icmpv6(_))));
    let msg = &na[eth::HEADER_LEN + 40..];
    assert_eq!(msg[0], icmp::v6::NEIGHBOR_ADVERT);
    assert_eq!(msg[4] & 0xe0, 0xe0, "router, solicited, override");
    assert_eq!(&msg[8..24], &v6("2001:db8:1::1").octets());
    assert_eq!(&msg[26..32], &GW);
    // B solicits its gateway too: now both are known, and A's packets reach B.
    sw.send(1, &[ns(B, "2001:db8:2::20", "2001:db8:2::1", 255)]);
    let out = sw.send(0, &[udp6(A, GW, "2001:db8:1::10", "2001:db8:2::20", 64)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 1);
    assert_eq!(&out[0].1[0..6], &B);
    assert_eq!(out[0].1[eth::HEADER_LEN + 7], 63, "hop limit decremented");
    // An unknown host gets a solicitation from the gateway of its network.
    let out = sw.send(0, &[udp6(A, GW, "2001:db8:1::10", "2001:db8:2::99", 64)]);
    assert_eq!(out[0].0, 1);
    assert_eq!(&out[0].1[0..6], &[0x33, 0x33, 0xff, 0, 0, 0x99]);
    assert_eq!(out[0].1[eth::HEADER_LEN + 40], icmp::v6::NEIGHBOR_SOLICIT);
    // Hop limit 1: time exceeded from the gateway.
    let out = sw.send(0, &[udp6(A, GW, "2001:db8:1::10", "2001:db8:2::20", 1)]);
    assert_eq!(out[0].0, 0);
    assert_eq!(out[0].1[eth::HEADER_LEN + 40], icmp::v6::TIME_EXCEEDED);
    assert_eq!(sw.drops(0, RouterDrop::TtlExceeded), 1);
    // A solicitation that was routed (hop limit not 255) is malformed ND.
    assert!(sw
        .send(0, &[ns(A, "2001:db8:1::10", "2001:db8:1::1", 64)])
        .is_empty());
    assert_eq!(sw.drops(0, RouterDrop::BadNd), 1);
}

/// web (VLAN 10) and db (VLAN 20) both on trunk port 0; db also on access port 1.
const TRUNK_MODEL: &str = r#"{
    "networks": [
        {"name": "web", "vlan": 10, "subnets": ["198.51.100.0/24"], "gateways": ["198.51.100.1"]},
        {"name": "db", "vlan": 20, "subnets": ["203.0.113.0/24"], "gateways": ["203.0.113.1"]}
    ],
    "ports": [
        {"name": "t0", "type": "tap", "iface": "t0", "trunk": [10, 20]},
        {"name": "p1", "type": "tap", "iface": "p1", "network": "db"}
    ],
    "policies": [
        {"name": "web-db", "from": "web", "to": "db", "action": "allow"},
        {"name": "db-web", "from": "db", "to": "web", "action": "allow"}
    ]}"#;

/// `frame` with an 802.1Q tag of `vid` after the MACs.
fn tagged(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut out = frame[..12].to_vec();
    out.extend_from_slice(&[0x81, 0x00]);
    out.extend_from_slice(&vid.to_be_bytes());
    out.extend_from_slice(&frame[12..]);
    out
}

#[test]
fn routes_between_vlans_of_a_trunk_and_back_out_of_the_same_trunk() {
    let mut sw = Switch::new(TRUNK_MODEL);
    // A on VLAN 10 and C on VLAN 20, both behind the trunk; B on the access port of db.
    let c_ip = [203, 0, 113, 30];
    let asks = [
        (
            0,
            tagged(
                &arp_frame(arp::Operation::REQUEST, A, [0xff; 6], A_IP, GW_A),
                10,
            ),
        ),
        (
            0,
            tagged(
                &arp_frame(arp::Operation::REQUEST, C, [0xff; 6], c_ip, GW_B),
                20,
            ),
        ),
        (
            1,
            arp_frame(arp::Operation::REQUEST, B, [0xff; 6], B_IP, GW_B),
        ),
    ];
    for (port, f) in asks {
        let out = sw.send(port, &[f]);
        assert_eq!(
            out.len(),
            1,
            "the gateway answers on the port and VLAN asked on"
        );
        assert_eq!(out[0].0, port);
    }
    // A (VLAN 10) -> B (access port of db): untagged out of port 1.
    let out = sw.send(0, &[tagged(&udp(A, GW, A_IP, B_IP, 64, 32), 10)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 1);
    assert_eq!(&out[0].1[12..14], &[0x08, 0x00], "untagged");
    // B -> A: back out of the trunk, tagged with web's VLAN.
    let out = sw.send(1, &[udp(B, GW, B_IP, A_IP, 64, 32)]);
    assert_eq!(out[0].0, 0);
    assert_eq!(&out[0].1[12..16], &[0x81, 0x00, 0x00, 10]);
    assert_eq!(&out[0].1[0..6], &A);
    // A (VLAN 10) -> C (VLAN 20): routed back out of the trunk it came in on, tagged 20.
    let out = sw.send(0, &[tagged(&udp(A, GW, A_IP, c_ip, 64, 32), 10)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 0);
    assert_eq!(&out[0].1[12..16], &[0x81, 0x00, 0x00, 20]);
    assert_eq!(&out[0].1[0..6], &C);
}
