//! The DHCP server through the whole pipeline on `TestBuf`: a client's DISCOVER gets an OFFER
//! on the port it came in on, its REQUEST an ACK, a renewal sent to the gateway's address (which
//! the router hands back to the graph's local services) an ACK too; malformed DHCP is counted.

use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

use super::DhcpDrop;
use crate::config::harness::Switch;

const C: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const GATEWAY: [u8; 4] = [198, 51, 100, 1];

const MODEL: &str = r#"{
    "networks": [{"name": "web", "subnets": ["198.51.100.0/24"], "gateways": ["198.51.100.1"],
                  "dhcp": true, "dhcp_range": "198.51.100.100-198.51.100.109"}],
    "ports": [{"name": "p0", "type": "tap", "iface": "p0", "network": "web"},
              {"name": "p1", "type": "tap", "iface": "p1", "network": "web"}]}"#;

/// A BOOTREQUEST of `kind` (DHCP message type) from client `C`, with `ciaddr` and options.
fn message(kind: u8, ciaddr: [u8; 4], options: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; super::wire::HEADER_LEN];
    m[0..4].copy_from_slice(&[1, 1, 6, 0]);
    m[4..8].copy_from_slice(&0x0bad_cafeu32.to_be_bytes());
    m[12..16].copy_from_slice(&ciaddr);
    m[28..34].copy_from_slice(&C);
    m.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
    m.extend_from_slice(options);
    m.push(255);
    m
}

/// `msg` in UDP from the client port to the server port, from `sip` to `dip` (MAC `dst`).
fn frame(dst: [u8; 6], sip: [u8; 4], dip: [u8; 4], msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(C, dst)
        .ipv4(sip, dip, 64)
        .udp(68, 67)
        .write(&mut out, msg)
        .unwrap();
    out
}

/// The reply's DHCP message type and offered address.
fn reply(frame: &[u8]) -> (u8, [u8; 4]) {
    let p = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(TransportSlice::Udp(u)) = p.transport else {
        panic!("not UDP: {frame:?}");
    };
    assert_eq!((u.source_port(), u.destination_port()), (67, 68));
    let m = u.payload();
    let yiaddr = [m[16], m[17], m[18], m[19]];
    let opts = &m[super::wire::HEADER_LEN + 4..];
    assert_eq!(opts[0], 53, "message type first");
    (opts[2], yiaddr)
}

#[test]
fn discover_request_and_renewal_get_answers_on_the_client_port() {
    let mut sw = Switch::new(MODEL);
    let bcast = [0xff; 6];
    let (any, all) = ([0, 0, 0, 0], [255, 255, 255, 255]);

    let out = sw.send(0, &[frame(bcast, any, all, &message(1, any, &[]))]);
    assert_eq!(out.len(), 1, "only the client gets the OFFER: {out:?}");
    assert_eq!(out[0].0, 0);
    let (kind, offered) = reply(&out[0].1);
    assert_eq!(kind, 2, "OFFER");
    assert!((100..=109).contains(&offered[3]) && offered[..3] == [198, 51, 100]);

    let mut opts = vec![50, 4];
    opts.extend_from_slice(&offered);
    opts.extend_from_slice(&[54, 4]);
    opts.extend_from_slice(&GATEWAY);
    let out = sw.send(0, &[frame(bcast, any, all, &message(3, any, &opts))]);
    assert_eq!(out.len(), 1);
    assert_eq!(reply(&out[0].1), (5, offered), "ACK of the offered address");

    // A renewal is unicast to the gateway's address and MAC: the router hands it back as
    // for the gateway, and the graph offers it to the DHCP server.
    let gw_mac = crate::forwarding::GATEWAY_MAC.0;
    let renew = frame(gw_mac, offered, GATEWAY, &message(3, offered, &[]));
    let out = sw.send(0, &[renew]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, 0);
    assert_eq!(reply(&out[0].1), (5, offered), "ACK of the renewal");
    assert_eq!(
        sw.drops(0, crate::router::RouterDrop::ForGateway),
        0,
        "the renewal is not a drop"
    );
}

#[test]
fn malformed_dhcp_is_counted_and_not_answered() {
    let mut sw = Switch::new(MODEL);
    let mut bad = message(1, [0; 4], &[]);
    bad[0] = 2; // a BOOTREPLY from a client
    let out = sw.send(0, &[frame([0xff; 6], [0; 4], [255; 4], &bad)]);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(sw.drops(0, DhcpDrop::BadDhcp), 1);
}
