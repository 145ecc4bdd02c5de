//! The tunnel gateway in-process: VXLAN decap and encap, learning behind remote VTEPs, head-end
//! replication, VLAN ↔ VXLAN, the underlay's ARP, the overlay MTU and bad VXLAN.

use crate::bridge::BridgeDrop;
use crate::pipeline::drop::EngineDrop;
use crate::vxlan::VxlanDrop;
use etherparse::PacketBuilder;
use proptest::prelude::*;

use crate::config::harness::{arp_frame, Switch};
use crate::forwarding::Dest;
use crate::forwarding::GATEWAY_MAC;
use crate::packet::{arp, eth, ethertype, icmp, ipv4, vlan, MacAddr};
use crate::pipeline::drop::DropReason;

/// Port 0 is the underlay; 1 is an access port of blue (VNI 5000, VLAN 100); 2 a trunk of
/// VLAN 100; 3 an access port of red (routed to blue).
const MODEL: &str = r#"{
    "networks": [
        {"name": "blue", "vni": 5000, "vlan": 100,
         "subnets": ["198.51.100.0/25"], "gateways": ["198.51.100.1"]},
        {"name": "red", "subnets": ["198.51.100.128/25"], "gateways": ["198.51.100.129"]}],
    "ports": [
        {"name": "up", "type": "af-packet", "iface": "u0"},
        {"name": "a", "type": "af-packet", "iface": "a0", "network": "blue"},
        {"name": "t", "type": "af-packet", "iface": "t0", "trunk": [100]},
        {"name": "r", "type": "af-packet", "iface": "r0", "network": "red"}],
    "policies": [
        {"name": "red-blue", "from": "red", "to": "blue", "action": "allow"},
        {"name": "blue-red", "from": "blue", "to": "red", "action": "allow"}],
    "vtep": {"local_ip": "203.0.113.1/25", "port": "up", "gateway": "203.0.113.126",
             "remotes": [{"ip": "203.0.113.2", "vni": 5000}, {"ip": "203.0.113.200", "vni": 5000}]}
}"#;

const UP: u16 = 0;
const LOCAL: [u8; 4] = [203, 0, 113, 1];
const R2: [u8; 4] = [203, 0, 113, 2];
const R9: [u8; 4] = [203, 0, 113, 200];
const UNDERLAY_GW: [u8; 4] = [203, 0, 113, 126];
const R2_MAC: [u8; 6] = [2, 0x22, 0, 0, 0, 2];
const GW_MAC: [u8; 6] = [2, 0x22, 0, 0, 0, 0x7e];
const VTEP_MAC: [u8; 6] = [2, 0, 203, 0, 113, 1];
const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const X: [u8; 6] = [2, 0, 0, 0, 0, 0x58];
const BCAST: [u8; 6] = [0xff; 6];

fn udp(src: [u8; 6], dst: [u8; 6], payload: usize) -> Vec<u8> {
    ip_udp(
        (src, dst),
        ([198, 51, 100, 10], [198, 51, 100, 20]),
        (1000, 2000),
        &vec![0x5a; payload],
    )
}

/// A UDP frame between the MACs, addresses and ports given (source first).
fn ip_udp(
    macs: ([u8; 6], [u8; 6]),
    ips: ([u8; 4], [u8; 4]),
    ports: (u16, u16),
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(macs.0, macs.1)
        .ipv4(ips.0, ips.1, 64)
        .udp(ports.0, ports.1)
        .write(&mut out, payload)
        .unwrap();
    out
}

/// A VXLAN packet from remote VTEP `from` to the local one, carrying `inner` in `vni`.
fn vxlan(from: [u8; 4], src_mac: [u8; 6], vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut payload = vec![0x08, 0, 0, 0];
    payload.extend_from_slice(&(vni << 8).to_be_bytes());
    payload.extend_from_slice(inner);
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src_mac, VTEP_MAC)
        .ipv4(from, LOCAL, 64)
        .udp(50000, 4789)
        .write(&mut out, &payload)
        .unwrap();
    out
}

/// The parts of an encapsulated frame: outer destination MAC, outer destination IP, UDP source
/// port, VNI, inner frame. Checks what every encapsulated frame must have.
fn decode(frame: &[u8]) -> ([u8; 6], [u8; 4], u16, u32, Vec<u8>) {
    assert_eq!(frame[6..12], VTEP_MAC, "outer source MAC is the VTEP's");
    let ip = ipv4::Packet::new_checked(&frame[eth::HEADER_LEN..]).unwrap();
    assert!(ip.verify_checksum(), "outer IPv4 checksum");
    assert!(ip.dont_frag(), "a VTEP does not fragment");
    assert_eq!(ip.src_addr().octets(), LOCAL);
    assert_eq!(usize::from(ip.total_len()), frame.len() - eth::HEADER_LEN);
    let udp = &frame[34..42];
    assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), 4789);
    assert_eq!(
        usize::from(u16::from_be_bytes([udp[4], udp[5]])),
        frame.len() - 34
    );
    assert_eq!(udp[6..8], [0, 0], "UDP checksum zero (RFC 7348)");
    let sport = u16::from_be_bytes([udp[0], udp[1]]);
    assert!(sport >= 49152, "source port {sport} in the dynamic range");
    assert_eq!(frame[42..46], [0x08, 0, 0, 0], "only the I flag");
    let vni = u32::from_be_bytes([frame[46], frame[47], frame[48], frame[49]]) >> 8;
    let mut dst = [0u8; 6];
    dst.copy_from_slice(&frame[0..6]);
    (
        dst,
        ip.dst_addr().octets(),
        sport,
        vni,
        frame[50..].to_vec(),
    )
}

fn tag_of(frame: &[u8]) -> Option<u16> {
    let f = eth::Frame::new_checked(frame).unwrap();
    (f.ethertype() == ethertype::VLAN).then(|| vlan::Tag::new_checked(f.payload()).unwrap().vid())
}

/// The switch with its underlay neighbors (R2, the underlay gateway) resolved.
fn resolved() -> Switch {
    let mut sw = Switch::new(MODEL);
    for (mac, ip) in [(R2_MAC, R2), (GW_MAC, UNDERLAY_GW)] {
        let reply = arp_frame(arp::Operation::REPLY, mac, VTEP_MAC, ip, LOCAL);
        assert!(sw.send(UP, &[reply]).is_empty());
    }
    sw
}

#[test]
fn the_vtep_answers_arp_for_its_address_on_the_underlay() {
    let mut sw = Switch::new(MODEL);
    let ask = arp_frame(arp::Operation::REQUEST, R2_MAC, BCAST, R2, LOCAL);
    let out = sw.send(UP, &[ask]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, UP);
    let p = arp::Packet::new_checked(&out[0].1[eth::HEADER_LEN..]).unwrap();
    assert_eq!(p.operation(), arp::Operation::REPLY);
    assert_eq!(p.sender_hardware_addr(), MacAddr(VTEP_MAC));
    assert_eq!(p.sender_protocol_addr().octets(), LOCAL);
    // Not for the VTEP: learned from, not answered.
    let other = arp_frame(arp::Operation::REQUEST, R2_MAC, BCAST, R2, [203, 0, 113, 5]);
    assert!(sw.send(UP, &[other]).is_empty());
}

#[test]
fn broadcast_reaches_every_remote_once_after_its_next_hop_is_resolved() {
    let mut sw = Switch::new(MODEL);
    // Next hops unknown: local ports get the frame, each remote's next hop is asked for.
    let out = sw.send(1, &[udp(A, BCAST, 10)]);
    let ports: Vec<u16> = out.iter().map(|(p, _)| *p).collect();
    assert_eq!(ports, vec![UP, UP, 2]);
    let asked: Vec<[u8; 4]> = out[..2]
        .iter()
        .map(|(_, f)| {
            let p = arp::Packet::new_checked(&f[eth::HEADER_LEN..]).unwrap();
            assert_eq!(p.operation(), arp::Operation::REQUEST);
            p.target_protocol_addr().octets()
        })
        .collect();
    assert_eq!(
        asked,
        vec![R2, UNDERLAY_GW],
        "R9 is off link: its next hop is the gateway"
    );
    assert_eq!(sw.drops(UP, VxlanDrop::VtepUnresolved), 2);

    let mut sw = resolved();
    let out = sw.send(1, &[udp(A, BCAST, 10)]);
    let ports: Vec<u16> = out.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        ports,
        vec![UP, UP, 2],
        "one copy per remote, one for the trunk"
    );
    let mut seen: Vec<([u8; 6], [u8; 4], u32)> = out[..2]
        .iter()
        .map(|(_, f)| {
            let (mac, ip, _, vni, inner) = decode(f);
            assert_eq!(inner, udp(A, BCAST, 10), "the inner frame, untouched");
            (mac, ip, vni)
        })
        .collect();
    seen.sort();
    assert_eq!(seen, vec![(R2_MAC, R2, 5000), (GW_MAC, R9, 5000)]);
    assert_eq!(tag_of(&out[2].1), Some(100));
}

#[test]
fn decapsulated_frames_are_bridged_and_their_source_learned_behind_the_remote() {
    let mut sw = resolved();
    // From X behind R2 to A, not known yet: flooded to the local ports only (split horizon).
    let inner = udp(X, A, 20);
    let out = sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &inner)]);
    let ports: Vec<u16> = out.iter().map(|(p, _)| *p).collect();
    assert_eq!(ports, vec![1, 2]);
    assert_eq!(out[0].1, inner);
    assert_eq!(
        sw.snap.tables.bridge.nets[0].fdb.lookup(MacAddr(X)),
        Some(Dest::Remote(R2.into()))
    );
    // A answers X: one encapsulated frame, to R2 only.
    let out = sw.send(1, &[udp(A, X, 20)]);
    assert_eq!(out.len(), 1);
    let (mac, ip, _, vni, inner) = decode(&out[0].1);
    assert_eq!((mac, ip, vni), (R2_MAC, R2, 5000));
    assert_eq!(inner, udp(A, X, 20));
    // Now A is known locally: X's next frame to A goes to port 1 alone.
    let out = sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &udp(X, A, 20))]);
    assert_eq!(out.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![1]);
    // A frame from one remote to a MAC behind another never goes back into the overlay.
    let out = sw.send(UP, &[vxlan(R9, GW_MAC, 5000, &udp(A, X, 20))]);
    assert!(out.is_empty());
    assert_eq!(sw.drops(UP, BridgeDrop::Hairpin), 1);
}

#[test]
fn a_static_remote_mac_is_sent_to_its_vtep_without_flooding() {
    let mut sw = resolved();
    let model = MODEL.replace(
        r#""vtep":"#,
        r#""fdb": [{"network": "blue", "mac": "02:00:00:00:00:58", "remote": "203.0.113.200"}],
    "vtep":"#,
    );
    sw.republish(&model);
    // The manager installs static entries; offline, the table gets it directly.
    sw.snap.tables.bridge.nets[0]
        .fdb
        .add_static(MacAddr(X), Dest::Remote(R9.into()), 0)
        .unwrap();
    let out = sw.send(1, &[udp(A, X, 20)]);
    assert_eq!(out.len(), 1, "{out:?}");
    let (mac, ip, _, _, _) = decode(&out[0].1);
    assert_eq!(
        (mac, ip),
        (GW_MAC, R9),
        "to R9 through the underlay gateway"
    );
    // A static entry does not move when the MAC shows up behind another VTEP.
    sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &udp(X, A, 20))]);
    assert_eq!(
        sw.snap.tables.bridge.nets[0].fdb.lookup(MacAddr(X)),
        Some(Dest::Remote(R9.into()))
    );
}

#[test]
fn a_static_remote_mac_needs_a_vni_on_a_vtep() {
    let model = |fdb: &str| {
        let json = MODEL.replace(r#""vtep":"#, &format!(r#""fdb": [{fdb}], "vtep":"#));
        let m = crate::model::Model::parse("json", &json).unwrap();
        crate::config::validate::validate(&m).map_err(|e| e.to_string())
    };
    model(r#"{"network": "blue", "mac": "02:00:00:00:00:58", "remote": "203.0.113.9"}"#).unwrap();
    let err = model(r#"{"network": "red", "mac": "02:00:00:00:00:58", "remote": "203.0.113.9"}"#)
        .unwrap_err();
    assert!(err.contains("network red has no VNI"), "{err}");
    let err = model(
        r#"{"network": "blue", "mac": "02:00:00:00:00:58", "remote": "203.0.113.9", "port": "a"}"#,
    )
    .unwrap_err();
    assert!(err.contains("not both"), "{err}");
}

#[test]
fn a_vlan_of_a_trunk_is_bridged_to_its_vni() {
    let mut sw = resolved();
    sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &udp(X, BCAST, 20))]);
    // Tagged 100 on the trunk in, untagged inside VNI 5000 out.
    let mut tagged = udp(A, X, 30);
    tagged.splice(12..12, [0x81, 0x00, 0x00, 100]);
    let out = sw.send(2, &[tagged]);
    assert_eq!(out.len(), 1);
    let (_, ip, _, vni, inner) = decode(&out[0].1);
    assert_eq!((ip, vni), (R2, 5000));
    assert_eq!(inner, udp(A, X, 30));
    // And back: out of the trunk tagged 100.
    let out = sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &udp(X, A, 30))]);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0, tag_of(&out[0].1)), (2, Some(100)));
}

#[test]
fn flows_spread_over_source_ports_and_each_keeps_one() {
    let mut sw = resolved();
    sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &udp(X, BCAST, 20))]);
    let sport_of = |sw: &mut Switch, port: u16| {
        let mut f = udp(A, X, 20);
        f[34..36].copy_from_slice(&port.to_be_bytes());
        decode(&sw.send(1, &[f])[0].1).2
    };
    let first = sport_of(&mut sw, 1000);
    assert_eq!(first, sport_of(&mut sw, 1000));
    let spread: std::collections::HashSet<u16> =
        (0..64).map(|p| sport_of(&mut sw, 2000 + p)).collect();
    assert!(
        spread.len() > 48,
        "64 flows over {} source ports",
        spread.len()
    );
}

#[test]
fn frames_over_the_overlay_mtu_are_dropped_when_bridged_and_refused_with_icmp_when_routed() {
    let mut sw = resolved();
    sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &udp(X, BCAST, 20))]);
    // The underlay port's MTU is 1500: inner frames up to 1464 bytes fit (1450 of payload).
    let fits = udp(A, X, 1450 - 28);
    assert_eq!(sw.send(1, &[fits]).len(), 1);
    assert!(sw.send(1, &[udp(A, X, 1451 - 28)]).is_empty());
    assert_eq!(sw.drops(UP, VxlanDrop::TunnelMtu), 1);

    // Routed into blue towards Y, a host behind R2: ICMP fragmentation needed, MTU 1450.
    const Y: [u8; 6] = [2, 0, 0, 0, 0, 0x59];
    const H: [u8; 6] = [2, 0, 0, 0, 0, 0x48];
    let garp = arp_frame(
        arp::Operation::REPLY,
        Y,
        BCAST,
        [198, 51, 100, 20],
        [198, 51, 100, 20],
    );
    sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &garp)]);
    let to_y = |payload: &[u8]| {
        ip_udp(
            (H, GATEWAY_MAC.0),
            ([198, 51, 100, 130], [198, 51, 100, 20]),
            (1000, 2000),
            payload,
        )
    };
    let big = to_y(&[0u8; 1460]);
    let out = sw.send(3, &[big]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, 3);
    let ip = ipv4::Packet::new_checked(&out[0].1[eth::HEADER_LEN..]).unwrap();
    let msg = icmp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(msg.msg_type(), icmp::v4::DEST_UNREACHABLE);
    assert_eq!(msg.msg_code(), icmp::v4::CODE_FRAG_NEEDED);
    assert_eq!(msg.rest_of_header() & 0xffff, 1450);
    // A routed packet that fits goes through the tunnel, rewritten by the gateway.
    let small = to_y(&[0u8; 100]);
    let out = sw.send(3, &[small]);
    assert_eq!(out.len(), 1);
    let (_, ip, _, vni, inner) = decode(&out[0].1);
    assert_eq!((ip, vni), (R2, 5000));
    assert_eq!((&inner[0..6], &inner[6..12]), (&Y[..], &GATEWAY_MAC.0[..]));
}

#[test]
fn the_gateway_answers_arp_from_behind_a_remote_through_the_tunnel() {
    let mut sw = resolved();
    let ask = arp_frame(
        arp::Operation::REQUEST,
        X,
        BCAST,
        [198, 51, 100, 20],
        [198, 51, 100, 1],
    );
    let out = sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &ask)]);
    let back: Vec<_> = out.iter().filter(|(p, _)| *p == UP).collect();
    assert_eq!(back.len(), 1, "{out:?}");
    let (_, ip, _, _, inner) = decode(&back[0].1);
    assert_eq!(ip, R2);
    let p = arp::Packet::new_checked(&inner[eth::HEADER_LEN..]).unwrap();
    assert_eq!(p.operation(), arp::Operation::REPLY);
    assert_eq!(p.sender_hardware_addr(), GATEWAY_MAC);
}

#[test]
fn a_host_behind_a_remote_vtep_is_routed_into_a_local_network_and_back() {
    let mut sw = resolved();
    const H: [u8; 6] = [2, 0, 0, 0, 0, 0x48];
    const H_IP: [u8; 4] = [198, 51, 100, 130];
    const X_IP: [u8; 4] = [198, 51, 100, 20];
    // The gateway learns H in red from its ARP.
    let garp = arp_frame(arp::Operation::REPLY, H, BCAST, H_IP, H_IP);
    sw.send(3, &[garp]);
    let from_x = ip_udp((X, GATEWAY_MAC.0), (X_IP, H_IP), (1000, 2000), &[0u8; 30]);
    let out = sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &from_x)]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, 3, "routed out of red's port");
    assert_eq!(&out[0].1[0..6], &H[..]);
    let ip = ipv4::Packet::new_checked(&out[0].1[eth::HEADER_LEN..]).unwrap();
    assert_eq!((ip.src_addr().octets(), ip.ttl()), (X_IP, 63));
    // H answers: the gateway knows X from X's gratuitous ARP through the tunnel, and X's MAC
    // is behind R2, so the routed reply goes through the tunnel to R2.
    let garp = arp_frame(arp::Operation::REPLY, X, BCAST, X_IP, X_IP);
    sw.send(UP, &[vxlan(R2, R2_MAC, 5000, &garp)]);
    let reply = ip_udp((H, GATEWAY_MAC.0), (H_IP, X_IP), (2000, 1000), &[0u8; 30]);
    let out = sw.send(3, &[reply]);
    assert_eq!(out.len(), 1, "{out:?}");
    let (_, ip, _, vni, inner) = decode(&out[0].1);
    assert_eq!((ip, vni), (R2, 5000));
    assert_eq!(&inner[0..6], &X[..]);
}

#[test]
fn bad_vxlan_is_dropped_and_counted_never_forwarded() {
    let mut sw = resolved();
    let inner = udp(X, BCAST, 20);
    let good = vxlan(R2, R2_MAC, 5000, &inner);
    let mut cases: Vec<(Vec<u8>, DropReason)> = Vec::new();
    cases.push((
        vxlan(R2, R2_MAC, 7777, &inner),
        VxlanDrop::VxlanUnknownVni.into(),
    ));
    let mut flags = good.clone();
    flags[42] = 0x0c;
    cases.push((flags, VxlanDrop::VxlanBadHeader.into()));
    let mut no_i = good.clone();
    no_i[42] = 0;
    cases.push((no_i, VxlanDrop::VxlanBadHeader.into()));
    let mut reserved = good.clone();
    reserved[49] = 1;
    cases.push((reserved, VxlanDrop::VxlanBadHeader.into()));
    cases.push((
        vxlan(R2, R2_MAC, 5000, &inner[..10]),
        VxlanDrop::VxlanTruncated.into(),
    ));
    let mut lies = good.clone();
    let len = u16::from_be_bytes([lies[38], lies[39]]);
    lies[38..40].copy_from_slice(&(len + 40).to_be_bytes());
    cases.push((lies, VxlanDrop::VxlanTruncated.into()));
    let mut port = good.clone();
    port[36..38].copy_from_slice(&4790u16.to_be_bytes());
    cases.push((port, VxlanDrop::NotForVtep.into()));
    let mut elsewhere = Vec::new();
    PacketBuilder::ethernet2(R2_MAC, VTEP_MAC)
        .ipv4(R2, [203, 0, 113, 7], 64)
        .udp(50000, 4789)
        .write(&mut elsewhere, &good[50..])
        .unwrap();
    cases.push((elsewhere, VxlanDrop::NotForVtep.into()));
    let mut bad_sum = good.clone();
    bad_sum[24] ^= 0xff;
    cases.push((bad_sum, EngineDrop::BadIp.into()));
    for (frame, reason) in cases {
        let before = sw.drops(UP, reason);
        let out = sw.send(UP, std::slice::from_ref(&frame));
        assert!(out.is_empty(), "{reason:?}: {out:?}");
        assert_eq!(sw.drops(UP, reason), before + 1, "{reason:?}");
    }
    // With learning off, only the flood list's VTEPs are heard.
    sw.republish(&MODEL.replace(r#""port": "up","#, r#""port": "up", "learning": false,"#));
    let stranger = vxlan([203, 0, 113, 77], R2_MAC, 5000, &inner);
    assert!(sw.send(UP, &[stranger]).is_empty());
    assert_eq!(sw.drops(UP, VxlanDrop::VxlanUnknownVtep), 1);
    assert_eq!(sw.send(UP, &[good]).len(), 2, "a listed VTEP still is");
}

proptest! {
    #[test]
    fn arbitrary_bytes_on_the_underlay_never_panic_or_reach_the_overlay(
        tail in proptest::collection::vec(any::<u8>(), 0..120),
        vni in 4990u32..5010,
    ) {
        let mut sw = resolved();
        let mut frame = vxlan(R2, R2_MAC, vni, &tail);
        let out = sw.send(UP, std::slice::from_ref(&frame));
        prop_assert!(out.iter().all(|(p, _)| *p != UP || frame.len() >= 50));
        frame.truncate(frame.len().min(40 + tail.len() % 20));
        let _ = sw.send(UP, &[frame, tail.clone()]);
    }
}
