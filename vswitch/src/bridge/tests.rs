//! Whole bursts through the whole pipeline on `TestBuf`, with frames built by etherparse.

use crate::bridge::BridgeDrop;
use crate::pipeline::drop::EngineDrop;
use etherparse::PacketBuilder;
use proptest::prelude::*;

use crate::config::harness::Switch;
use crate::packet::{eth, ethertype, vlan};

const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];
const C: [u8; 6] = [2, 0, 0, 0, 0, 0xc];
const BCAST: [u8; 6] = [0xff; 6];

/// Ports 0 (access red), 1 (access blue), 2 (trunk 100=red, 200=blue), 3 (access red, MTU 200).
const MODEL: &str = r#"{
    "networks": [{"name": "red", "vlan": 100}, {"name": "blue", "vlan": 200}],
    "ports": [
        {"name": "p0", "type": "tap", "iface": "p0", "network": "red"},
        {"name": "p1", "type": "tap", "iface": "p1", "network": "blue"},
        {"name": "p2", "type": "tap", "iface": "p2", "trunk": [100, 200]},
        {"name": "p3", "type": "tap", "iface": "p3", "network": "red", "mtu": 200}
    ]}"#;

fn udp_frame(src: [u8; 6], dst: [u8; 6], vlan: Option<u16>, payload: usize) -> Vec<u8> {
    let data = vec![0x5a; payload];
    let mut out = Vec::new();
    let src_ip = [198, 51, 100, 1];
    let dst_ip = [198, 51, 100, 2];
    match vlan {
        Some(v) => PacketBuilder::ethernet2(src, dst)
            .single_vlan(v.try_into().unwrap())
            .ipv4(src_ip, dst_ip, 64)
            .udp(1000, 2000)
            .write(&mut out, &data)
            .unwrap(),
        None => PacketBuilder::ethernet2(src, dst)
            .ipv4(src_ip, dst_ip, 64)
            .udp(1000, 2000)
            .write(&mut out, &data)
            .unwrap(),
    }
    out
}

fn tag_of(frame: &[u8]) -> Option<u16> {
    let f = eth::Frame::new_checked(frame).unwrap();
    (f.ethertype() == ethertype::VLAN).then(|| vlan::Tag::new_checked(f.payload()).unwrap().vid())
}

#[test]
fn broadcast_floods_the_network_with_split_horizon_and_learns() {
    let mut sw = Switch::new(MODEL);
    let out = sw.send(0, &[udp_frame(A, BCAST, None, 10)]);
    let ports: Vec<u16> = out.iter().map(|(p, _)| *p).collect();
    // red = p0, p2 (tagged 100), p3; never back to p0, never to blue's p1.
    assert_eq!(ports, vec![2, 3]);
    assert_eq!(tag_of(&out[0].1), Some(100));
    assert_eq!(tag_of(&out[1].1), None);
    assert_eq!(sw.fdb(0, A), Some(0));
    assert_eq!(sw.fdb(1, A), None);
}

#[test]
fn known_unicast_goes_to_one_port_and_unknown_is_flooded() {
    let mut sw = Switch::new(MODEL);
    sw.send(0, &[udp_frame(A, BCAST, None, 10)]);
    let out = sw.send(3, &[udp_frame(B, A, None, 10)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 0);
    assert_eq!(out[0].1, udp_frame(B, A, None, 10));
    // C is unknown: flooded to red's other ports only.
    let out = sw.send(0, &[udp_frame(A, C, None, 10)]);
    assert_eq!(out.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![2, 3]);
}

#[test]
fn trunk_tags_are_popped_and_pushed() {
    let mut sw = Switch::new(MODEL);
    // Tagged 200 from the trunk reaches blue's access port untagged, byte for byte.
    let out = sw.send(2, &[udp_frame(B, BCAST, Some(200), 20)]);
    assert_eq!(out, vec![(1, udp_frame(B, BCAST, None, 20))]);
    assert_eq!(sw.fdb(1, B), Some(2));
    // The reply from blue's access port goes out of the trunk tagged 200.
    let out = sw.send(1, &[udp_frame(C, B, None, 20)]);
    assert_eq!(out, vec![(2, udp_frame(C, B, Some(200), 20))]);
}

#[test]
fn vlan_violations_are_dropped_as_bad_vlan() {
    let mut sw = Switch::new(MODEL);
    assert!(sw.send(2, &[udp_frame(A, BCAST, Some(300), 10)]).is_empty());
    assert!(sw.send(2, &[udp_frame(A, BCAST, None, 10)]).is_empty());
    assert!(sw.send(0, &[udp_frame(A, BCAST, Some(100), 10)]).is_empty());
    assert_eq!(sw.drops(2, EngineDrop::BadVlan), 2);
    assert_eq!(sw.drops(0, EngineDrop::BadVlan), 1);
}

#[test]
fn malformed_frames_are_counted_by_reason_and_good_ones_still_pass() {
    let mut sw = Switch::new(MODEL);
    let runt = vec![0u8; 10];
    let mut cut_tag = udp_frame(A, BCAST, None, 0)[..14].to_vec();
    cut_tag[12..14].copy_from_slice(&[0x81, 0x00]);
    let mcast_src = udp_frame([1, 0, 0x5e, 0, 0, 1], BCAST, None, 10);
    let zero_src = udp_frame([0; 6], BCAST, None, 10);
    let oversize = udp_frame(A, BCAST, None, 1500);
    let qinq = {
        let mut f = udp_frame(A, BCAST, Some(100), 10);
        f[12..14].copy_from_slice(&[0x88, 0xa8]);
        f
    };
    let good = udp_frame(B, BCAST, None, 10);
    let out = sw.send(
        0,
        &[runt, cut_tag, mcast_src, zero_src, oversize, qinq, good],
    );
    assert_eq!(
        out.len(),
        2,
        "only the good frame is flooded (to p2 and p3)"
    );
    assert_eq!(sw.drops(0, EngineDrop::Runt), 2);
    assert_eq!(sw.drops(0, EngineDrop::BadSrcMac), 2);
    assert_eq!(sw.drops(0, BridgeDrop::Oversize), 1);
    assert_eq!(sw.drops(0, EngineDrop::BadVlan), 1);
}

#[test]
fn hairpin_and_lonely_networks_are_dropped() {
    let mut sw = Switch::new(
        r#"{"networks":[{"name":"red"}, {"name":"solo"}],
            "ports":[{"name":"a","type":"tap","iface":"a","network":"red"},
                     {"name":"b","type":"tap","iface":"b","network":"red"},
                     {"name":"c","type":"tap","iface":"c","network":"solo"}]}"#,
    );
    sw.send(
        0,
        &[udp_frame(A, BCAST, None, 10), udp_frame(B, BCAST, None, 10)],
    );
    assert!(sw.send(0, &[udp_frame(C, A, None, 10)]).is_empty());
    assert_eq!(sw.drops(0, BridgeDrop::Hairpin), 1);
    // A network with one port: nothing to flood to; never leaks to red.
    assert!(sw
        .send(
            2,
            &[udp_frame(C, BCAST, None, 10), udp_frame(C, A, None, 10)]
        )
        .is_empty());
    assert_eq!(sw.drops(2, EngineDrop::NoEgressPort), 2);
}

#[test]
fn mac_limit_drops_frames_from_new_macs_only() {
    let mut sw = Switch::new(
        r#"{"networks":[{"name":"red","mac_limit":1}],
            "ports":[{"name":"a","type":"tap","iface":"a","network":"red"},
                     {"name":"b","type":"tap","iface":"b","network":"red"}]}"#,
    );
    assert_eq!(sw.send(0, &[udp_frame(A, BCAST, None, 10)]).len(), 1);
    assert!(sw.send(0, &[udp_frame(B, BCAST, None, 10)]).is_empty());
    assert_eq!(sw.drops(0, BridgeDrop::MacLimit), 1);
    assert_eq!(sw.send(0, &[udp_frame(A, BCAST, None, 10)]).len(), 1);
}

#[test]
fn mac_moves_follow_the_latest_port() {
    let mut sw = Switch::new(MODEL);
    sw.send(0, &[udp_frame(A, BCAST, None, 10)]);
    sw.send(3, &[udp_frame(A, BCAST, None, 10)]);
    assert_eq!(sw.fdb(0, A), Some(3));
    let out = sw.send(0, &[udp_frame(B, A, None, 10)]);
    assert_eq!(out.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn egress_mtu_is_enforced_per_port() {
    let mut sw = Switch::new(MODEL);
    // 300-byte L2 payload: fits p2 (1500) but not p3 (200).
    let out = sw.send(0, &[udp_frame(A, BCAST, None, 272)]);
    assert_eq!(out.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![2]);
    assert_eq!(sw.drops(3, EngineDrop::Mtu), 1);
}

#[test]
fn frames_from_unconfigured_ports_are_dropped() {
    let mut sw = Switch::new(MODEL);
    assert!(sw.send(9, &[udp_frame(A, BCAST, None, 10)]).is_empty());
    assert_eq!(sw.drops(9, EngineDrop::UnknownNetwork), 1);
}

proptest! {
    /// Any bytes on any port: no panic, and every packet is either sent or counted as a drop
    /// (floods may send several copies).
    #[test]
    fn arbitrary_bursts_never_panic_and_are_accounted(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..32),
        port in 0u16..4,
    ) {
        let mut sw = Switch::new(MODEL);
        let n = frames.len() as u64;
        let out = sw.send(port, &frames);
        let dropped: u64 = crate::datapath::drops::all()
            .map(|(r, _, _)| sw.drops(port, r))
            .sum();
        let mtu_drops: u64 = (0..4).map(|p| sw.drops(p, EngineDrop::Mtu)).sum();
        prop_assert!(dropped <= n);
        // Each frame that was not dropped at ingress produced at least one output or an MTU drop.
        prop_assert!(out.len() as u64 + mtu_drops >= n - dropped);
    }
}
