//! IPFIX messages (RFC 7011): one template for IPv4 connections, one for IPv6, one for bridged
//! flows (by MAC addresses and EtherType), and data records of uniflows (one per direction of
//! a connection that carried packets; one per bridged flow), with the
//! network's VNI (layer2SegmentId) and the NAT translation (RFC 8158's post-NAT fields, equal
//! to the addresses and ports it arrived with when nothing was translated).

use std::net::IpAddr;

/// Template IDs (data sets carry them as set IDs).
pub const TEMPLATE_V4: u16 = 256;
pub const TEMPLATE_V6: u16 = 257;
pub const TEMPLATE_L2: u16 = 258;
const VERSION: u16 = 10;
const TEMPLATE_SET: u16 = 2;
const HEADER_LEN: usize = 16;
const SET_HEADER_LEN: usize = 4;
/// A message fits an Ethernet MTU with IP and UDP headers to spare.
const MAX_MESSAGE: usize = 1400;

/// flowEndReason values (IANA).
pub const END_IDLE: u8 = 1;
pub const END_ACTIVE: u8 = 2;
pub const END_FORCED: u8 = 4;

/// firewallEvent values (IANA): the connection ended, or goes on.
pub const EVENT_DELETED: u8 = 2;
pub const EVENT_UPDATE: u8 = 5;

/// layer2SegmentId's top byte for a VXLAN VNI (IANA).
const SEGMENT_VXLAN: u64 = 1 << 56;

/// The layer2SegmentId of a network: 0x01 and its VXLAN VNI, or 0 without one.
pub fn segment(vni: Option<u32>) -> u64 {
    vni.map_or(0, |v| SEGMENT_VXLAN | u64::from(v))
}

/// The ingress/egressInterface of a port: its DPDK id + 1; 0 for none (a flood).
pub fn interface(port: Option<u16>) -> u32 {
    port.map_or(0, |p| u32::from(p) + 1)
}

/// flowStart/EndMilliseconds of pipeline-clock second `t`, from the pipeline's and Unix's
/// seconds now.
pub fn unix_ms(t: u32, (now, unix): (u32, u32)) -> u64 {
    u64::from(unix.saturating_sub(now.saturating_sub(t))) * 1000
}

/// Information elements (IANA id, length) of a record, in order; the addresses differ.
const fn fields(addrs: [u16; 4], addr_len: u16) -> [(u16, u16); 19] {
    [
        (addrs[0], addr_len), // sourceIPv4Address / sourceIPv6Address
        (addrs[1], addr_len), // destinationIPv4Address / destinationIPv6Address
        (7, 2),               // sourceTransportPort
        (11, 2),              // destinationTransportPort
        (4, 1),               // protocolIdentifier
        (1, 8),               // octetDeltaCount
        (2, 8),               // packetDeltaCount
        (152, 8),             // flowStartMilliseconds
        (153, 8),             // flowEndMilliseconds
        (136, 1),             // flowEndReason
        (234, 4),             // ingressVRFID
        (10, 4),              // ingressInterface
        (14, 4),              // egressInterface
        (233, 1),             // firewallEvent
        (351, 8),             // layer2SegmentId
        (addrs[2], addr_len), // postNATSourceIPv4Address / postNATSourceIPv6Address
        (addrs[3], addr_len), // postNATDestinationIPv4Address / postNATDestinationIPv6Address
        (227, 2),             // postNAPTSourceTransportPort
        (228, 2),             // postNAPTDestinationTransportPort
    ]
}
const FIELDS_V4: [(u16, u16); 19] = fields([8, 12, 225, 226], 4);
const FIELDS_V6: [(u16, u16); 19] = fields([27, 28, 281, 282], 16);
const FIELDS_L2: [(u16, u16); 11] = [
    (56, 6),  // sourceMacAddress
    (80, 6),  // destinationMacAddress
    (256, 2), // ethernetType
    (351, 8), // layer2SegmentId
    (10, 4),  // ingressInterface
    (14, 4),  // egressInterface
    (1, 8),   // octetDeltaCount
    (2, 8),   // packetDeltaCount
    (152, 8), // flowStartMilliseconds
    (153, 8), // flowEndMilliseconds
    (136, 1), // flowEndReason
];

fn record_len(fields: &[(u16, u16)]) -> usize {
    fields.iter().map(|f| usize::from(f.1)).sum()
}

/// One direction of a connection over an export interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    /// IP octets and packets since the last record of this direction.
    pub octets: u64,
    pub packets: u64,
    /// Unix milliseconds.
    pub start: u64,
    pub end: u64,
    pub end_reason: u8,
    pub vrf: u32,
    /// The ports it came in and left by (DPDK port id + 1; 0: flooded, no one port).
    pub ingress: u32,
    pub egress: u32,
    /// `EVENT_DELETED` or `EVENT_UPDATE`.
    pub event: u8,
    /// The network it came from: 0x01 and its VNI (VXLAN), or 0.
    pub segment: u64,
    /// Its addresses and ports as it left (NAT).
    pub post_src: IpAddr,
    pub post_dst: IpAddr,
    pub post_sport: u16,
    pub post_dport: u16,
}

/// A bridged flow (frames between two MACs of one network) over an export interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Flow {
    pub src: [u8; 6],
    pub dst: [u8; 6],
    pub ethertype: u16,
    /// 0x01 and its network's VNI (VXLAN), or 0.
    pub segment: u64,
    pub ingress: u32,
    pub egress: u32,
    /// Octets past the Ethernet header, and frames.
    pub octets: u64,
    pub packets: u64,
    pub start: u64,
    pub end: u64,
    pub end_reason: u8,
}

/// Builds the messages of one exporting process and observation domain; the sequence number
/// counts the data records sent before each message (RFC 7011 3.1).
#[derive(Debug, Default)]
pub struct Encoder {
    pub domain: u32,
    sequence: u32,
}

impl Encoder {
    /// A message with both templates.
    pub fn templates(&self, now: u32) -> Vec<u8> {
        let mut msg = self.header(now);
        let start = msg.len();
        push16(&mut msg, TEMPLATE_SET);
        push16(&mut msg, 0);
        let templates: [(u16, &[(u16, u16)]); 3] = [
            (TEMPLATE_V4, &FIELDS_V4),
            (TEMPLATE_V6, &FIELDS_V6),
            (TEMPLATE_L2, &FIELDS_L2),
        ];
        for (id, fields) in templates {
            push16(&mut msg, id);
            push16(&mut msg, fields.len() as u16);
            for (ie, len) in fields {
                push16(&mut msg, *ie);
                push16(&mut msg, *len);
            }
        }
        let set_len = (msg.len() - start) as u16;
        msg[start + 2..start + 4].copy_from_slice(&set_len.to_be_bytes());
        finish(msg)
    }

    /// The messages that carry `flows`, each within `MAX_MESSAGE` bytes.
    pub fn data(&mut self, flows: &[Flow], now: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (family, fields) in [(TEMPLATE_V4, &FIELDS_V4), (TEMPLATE_V6, &FIELDS_V6)] {
            let of_family: Vec<&Flow> = flows
                .iter()
                .filter(|f| (family == TEMPLATE_V4) == f.src.is_ipv4())
                .collect();
            self.sets(family, fields, &of_family, now, record, &mut out);
        }
        out
    }

    /// The messages that carry bridged flows.
    pub fn data_l2(&mut self, flows: &[L2Flow], now: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let flows: Vec<&L2Flow> = flows.iter().collect();
        self.sets(TEMPLATE_L2, &FIELDS_L2, &flows, now, record_l2, &mut out);
        out
    }

    /// Data sets of template `id` for `records`, as many per message as fit.
    fn sets<T>(
        &mut self,
        id: u16,
        fields: &[(u16, u16)],
        records: &[&T],
        now: u32,
        write: fn(&mut Vec<u8>, &T),
        out: &mut Vec<Vec<u8>>,
    ) {
        let per_message = (MAX_MESSAGE - HEADER_LEN - SET_HEADER_LEN) / record_len(fields);
        for chunk in records.chunks(per_message) {
            let mut msg = self.header(now);
            push16(&mut msg, id);
            push16(
                &mut msg,
                (SET_HEADER_LEN + chunk.len() * record_len(fields)) as u16,
            );
            for r in chunk {
                write(&mut msg, r);
            }
            self.sequence = self.sequence.wrapping_add(chunk.len() as u32);
            out.push(finish(msg));
        }
    }

    fn header(&self, now: u32) -> Vec<u8> {
        let mut msg = Vec::with_capacity(MAX_MESSAGE);
        push16(&mut msg, VERSION);
        push16(&mut msg, 0); // the length, once known
        msg.extend_from_slice(&now.to_be_bytes());
        msg.extend_from_slice(&self.sequence.to_be_bytes());
        msg.extend_from_slice(&self.domain.to_be_bytes());
        msg
    }
}

fn push16(msg: &mut Vec<u8>, v: u16) {
    msg.extend_from_slice(&v.to_be_bytes());
}

fn finish(mut msg: Vec<u8>) -> Vec<u8> {
    let len = msg.len() as u16;
    msg[2..4].copy_from_slice(&len.to_be_bytes());
    msg
}

fn push_addr(msg: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(v4) => msg.extend_from_slice(&v4.octets()),
        IpAddr::V6(v6) => msg.extend_from_slice(&v6.octets()),
    }
}

fn record(msg: &mut Vec<u8>, f: &Flow) {
    push_addr(msg, f.src);
    push_addr(msg, f.dst);
    push16(msg, f.sport);
    push16(msg, f.dport);
    msg.push(f.proto);
    msg.extend_from_slice(&f.octets.to_be_bytes());
    msg.extend_from_slice(&f.packets.to_be_bytes());
    msg.extend_from_slice(&f.start.to_be_bytes());
    msg.extend_from_slice(&f.end.to_be_bytes());
    msg.push(f.end_reason);
    msg.extend_from_slice(&f.vrf.to_be_bytes());
    msg.extend_from_slice(&f.ingress.to_be_bytes());
    msg.extend_from_slice(&f.egress.to_be_bytes());
    msg.push(f.event);
    msg.extend_from_slice(&f.segment.to_be_bytes());
    push_addr(msg, f.post_src);
    push_addr(msg, f.post_dst);
    push16(msg, f.post_sport);
    push16(msg, f.post_dport);
}

fn record_l2(msg: &mut Vec<u8>, f: &L2Flow) {
    msg.extend_from_slice(&f.src);
    msg.extend_from_slice(&f.dst);
    push16(msg, f.ethertype);
    msg.extend_from_slice(&f.segment.to_be_bytes());
    msg.extend_from_slice(&f.ingress.to_be_bytes());
    msg.extend_from_slice(&f.egress.to_be_bytes());
    msg.extend_from_slice(&f.octets.to_be_bytes());
    msg.extend_from_slice(&f.packets.to_be_bytes());
    msg.extend_from_slice(&f.start.to_be_bytes());
    msg.extend_from_slice(&f.end.to_be_bytes());
    msg.push(f.end_reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(src: &str, dst: &str) -> Flow {
        Flow {
            post_src: src.parse().unwrap(),
            post_dst: dst.parse().unwrap(),
            post_sport: 40000,
            post_dport: 5201,
            segment: SEGMENT,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            sport: 40000,
            dport: 5201,
            proto: 6,
            octets: 1_000_000,
            packets: 700,
            start: 100,
            end: 110,
            end_reason: END_IDLE,
            vrf: 0,
            ingress: 1,
            egress: 2,
            event: EVENT_DELETED,
        }
    }

    const SEGMENT: u64 = 1 << 56 | 5000;

    #[test]
    fn a_template_message_announces_both_templates() {
        let msg = Encoder::default().templates(1234);
        assert_eq!(&msg[..2], &[0, 10], "version 10");
        assert_eq!(usize::from(u16::from_be_bytes([msg[2], msg[3]])), msg.len());
        assert_eq!(&msg[4..8], &1234u32.to_be_bytes(), "export time");
        assert_eq!(&msg[16..18], &[0, 2], "a template set");
        // Set header, then per template: id, count, its (id, length) pairs.
        assert_eq!(msg.len(), 16 + 4 + 2 * (4 + 19 * 4) + (4 + 11 * 4));
        assert_eq!(&msg[20..24], &[1, 0, 0, 19], "template 256, 19 fields");
    }

    #[test]
    fn data_records_are_split_by_family_and_size_and_sequenced() {
        let mut e = Encoder::default();
        let mut flows = vec![flow("2001:db8::1", "2001:db8::2")];
        flows.extend((0..60).map(|_| flow("198.51.100.1", "198.51.100.2")));
        let msgs = e.data(&flows, 5);
        let v4_len = record_len(&FIELDS_V4);
        let per = (MAX_MESSAGE - 20) / v4_len;
        assert_eq!(msgs.len(), 60usize.div_ceil(per) + 1);
        assert_eq!(&msgs[0][16..18], &TEMPLATE_V4.to_be_bytes());
        assert_eq!(&msgs[0][8..12], &0u32.to_be_bytes(), "no record before");
        assert_eq!(&msgs[1][8..12], &(per as u32).to_be_bytes());
        let last = msgs.last().unwrap();
        assert_eq!(&last[16..18], &TEMPLATE_V6.to_be_bytes());
        assert_eq!(last.len(), 20 + record_len(&FIELDS_V6));
        // The IPv4 record: addresses, ports, protocol, octets.
        let r = &msgs[0][20..20 + v4_len];
        assert_eq!(&r[..8], &[198, 51, 100, 1, 198, 51, 100, 2]);
        assert_eq!(&r[8..13], &[0x9c, 0x40, 0x14, 0x51, 6]);
        assert_eq!(&r[13..21], &1_000_000u64.to_be_bytes());
        // The segment, then the addresses and ports as it left.
        assert_eq!(&r[v4_len - 20..v4_len - 12], &SEGMENT.to_be_bytes());
        assert_eq!(
            &r[v4_len - 12..v4_len - 4],
            &[198, 51, 100, 1, 198, 51, 100, 2]
        );
        assert_eq!(&r[v4_len - 4..], &[0x9c, 0x40, 0x14, 0x51]);
        assert!(msgs.iter().all(|m| m.len() <= MAX_MESSAGE));
    }

    #[test]
    fn a_bridged_flow_is_a_record_of_its_macs() {
        let f = L2Flow {
            src: [2, 0, 0, 0, 0, 1],
            dst: [2, 0, 0, 0, 0, 2],
            ethertype: 0x0800,
            segment: SEGMENT,
            ingress: 1,
            egress: 2,
            octets: 1500,
            packets: 1,
            start: 100,
            end: 100,
            end_reason: END_ACTIVE,
        };
        let msgs = Encoder::default().data_l2(&[f], 5);
        assert_eq!(msgs.len(), 1);
        assert_eq!(&msgs[0][16..18], &TEMPLATE_L2.to_be_bytes());
        let r = &msgs[0][20..];
        assert_eq!(r.len(), record_len(&FIELDS_L2));
        assert_eq!(&r[..14], &[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0]);
        assert_eq!(&r[30..38], &1500u64.to_be_bytes());
    }
}
