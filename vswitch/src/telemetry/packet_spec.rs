//! The frames `vsctl trace` describes: a readable spec of layers, or the frame in hex.
//!
//! ```text
//! eth(src=02:00:00:00:00:01,dst=02:76:73:00:00:01)/vlan(100)/ipv4(src=192.0.2.1,dst=198.51.100.2)/tcp(dport=80,flags=S)
//! ipv6(src=2001:db8:1::2,dst=2001:db8:2::2)/udp(sport=5000,dport=53)
//! arp(sip=192.0.2.1,tip=192.0.2.254)
//! 02767300000102000000000108004500...
//! ```
//!
//! Left out: `eth` is from 02:00:00:00:00:01 to the gateway's MAC when an IP layer follows
//! (routed traffic goes to the gateway), else to broadcast; `ipv4`/`ipv6` TTL 64; `tcp` flags
//! `S`; ports 1024 → 80 (TCP) or 53 (UDP); `icmp` an echo request. Frames are padded to 60
//! bytes.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use etherparse::PacketBuilder;
use thiserror::Error;

use crate::forwarding::arp::ArpFrame;
use crate::forwarding::GATEWAY_MAC;
use crate::packet::{arp, ethertype, MacAddr};
use crate::pipeline::buf::{PacketBuf, TestBuf};

/// The shortest Ethernet frame, without its FCS.
const MIN_FRAME: usize = 60;
const DEFAULT_SRC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("packet: {0}")]
pub struct SpecError(String);

fn err<T>(msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(msg.into()))
}

/// One layer of a spec: its name and `key=value` fields (a lone value is the field `value`).
struct Layer<'a> {
    name: &'a str,
    fields: HashMap<&'a str, &'a str>,
}

impl<'a> Layer<'a> {
    fn parse(text: &'a str) -> Result<Layer<'a>, SpecError> {
        let text = text.trim();
        let (name, args) = match text.split_once('(') {
            Some((name, rest)) => match rest.strip_suffix(')') {
                Some(args) => (name.trim(), args),
                None => return err(format!("`{text}`: missing `)`")),
            },
            None => (text, ""),
        };
        let mut fields = HashMap::new();
        for arg in args.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let (k, v) = arg.split_once('=').unwrap_or(("value", arg));
            fields.insert(k.trim(), v.trim());
        }
        Ok(Layer { name, fields })
    }

    /// Field `key` parsed, or `default` when left out.
    fn get<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, SpecError> {
        match self.fields.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .or_else(|_| err(format!("{}({key}={v}): not a valid value", self.name))),
        }
    }

    /// Field `key`, which the layer needs.
    fn need<T: std::str::FromStr>(&self, key: &str) -> Result<T, SpecError> {
        match self.fields.get(key) {
            None => err(format!("{}: needs {key}=", self.name)),
            Some(v) => v
                .parse()
                .or_else(|_| err(format!("{}({key}={v}): not a valid value", self.name))),
        }
    }

    /// Fails on a field the layer does not have.
    fn only(&self, keys: &[&str]) -> Result<(), SpecError> {
        match self.fields.keys().find(|k| !keys.contains(k)) {
            Some(k) => err(format!(
                "{}: no field `{k}` (it has: {})",
                self.name,
                keys.join(", ")
            )),
            None => Ok(()),
        }
    }
}

/// The frame `text` describes: hex (two digits a byte; spaces and colons ignored) or a spec.
pub fn parse(text: &str) -> Result<Vec<u8>, SpecError> {
    let hex: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if !hex.is_empty() && hex.len() >= 28 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return from_hex(&hex);
    }
    let layers = text
        .split('/')
        .map(Layer::parse)
        .collect::<Result<Vec<_>, _>>()?;
    build(&layers)
}

fn from_hex(hex: &str) -> Result<Vec<u8>, SpecError> {
    if !hex.len().is_multiple_of(2) {
        return err("hex frame: an odd number of digits");
    }
    let frame: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    match frame.len() {
        0..14 => err("hex frame: shorter than an Ethernet header (14 bytes)"),
        _ => Ok(frame),
    }
}

fn build(layers: &[Layer<'_>]) -> Result<Vec<u8>, SpecError> {
    let mut rest = layers;
    let eth = match rest.first() {
        Some(l) if l.name == "eth" => {
            rest = &rest[1..];
            Some(l)
        }
        _ => None,
    };
    let vlan = match rest.first() {
        Some(l) if l.name == "vlan" => {
            rest = &rest[1..];
            l.only(&["value", "vid", "pcp"])?;
            let vid: u16 = l.get("vid", l.need("value").unwrap_or(0))?;
            if !(1..4095).contains(&vid) {
                return err(format!("vlan({vid}): a VLAN id is 1 to 4094"));
            }
            Some((vid, l.get::<u8>("pcp", 0)?.min(7)))
        }
        _ => None,
    };
    let l3 = rest.first();
    let src = match eth {
        Some(l) => {
            l.only(&["src", "dst", "type"])?;
            l.get("src", DEFAULT_SRC)?
        }
        None => DEFAULT_SRC,
    };
    let routed = l3.is_some_and(|l| l.name == "ipv4" || l.name == "ipv6");
    let default_dst = if routed {
        GATEWAY_MAC
    } else {
        MacAddr([0xff; 6])
    };
    let dst = eth.map_or(Ok(default_dst), |l| l.get("dst", default_dst))?;
    let mut frame = match l3 {
        None => {
            let ty = eth
                .and_then(|l| l.fields.get("type").copied())
                .unwrap_or("0x88b5");
            let ty = u16::from_str_radix(ty.trim_start_matches("0x"), 16)
                .or_else(|_| err(format!("eth(type={ty}): an ethertype in hex")))?;
            let mut f = Vec::with_capacity(MIN_FRAME);
            f.extend_from_slice(&dst.0);
            f.extend_from_slice(&src.0);
            f.extend_from_slice(&ty.to_be_bytes());
            f
        }
        Some(l) if l.name == "arp" => arp_frame(l, src, eth.and(Some(dst)))?,
        Some(l) if routed => ip_frame(l, &rest[1..], src, dst)?,
        Some(l) => {
            return err(format!(
                "unknown layer `{}` (layers: eth, vlan, ipv4, ipv6, arp, tcp, udp, icmp)",
                l.name
            ))
        }
    };
    if let Some((vid, pcp)) = vlan {
        let tci = (u16::from(pcp) << 13) | vid;
        let mut tag = ethertype::VLAN.to_be_bytes().to_vec();
        tag.extend_from_slice(&tci.to_be_bytes());
        frame.splice(12..12, tag);
    }
    if frame.len() < MIN_FRAME {
        frame.resize(MIN_FRAME, 0);
    }
    Ok(frame)
}

fn arp_frame(l: &Layer<'_>, src: MacAddr, dst: Option<MacAddr>) -> Result<Vec<u8>, SpecError> {
    l.only(&["op", "sip", "tip", "sha", "tha"])?;
    let sip: Ipv4Addr = l.need("sip")?;
    let tip: Ipv4Addr = l.need("tip")?;
    let sha = l.get("sha", src)?;
    let (op, default_dst) = match l.fields.get("op").copied().unwrap_or("request") {
        "request" | "1" => (arp::Operation::REQUEST, MacAddr([0xff; 6])),
        "reply" | "2" => (arp::Operation::REPLY, GATEWAY_MAC),
        other => return err(format!("arp(op={other}): request or reply")),
    };
    let tha = l.get("tha", MacAddr([0; 6]))?;
    let frame = ArpFrame {
        op,
        dst: dst.unwrap_or(default_dst),
        sender: (sha, sip),
        target: (tha, tip),
    };
    let mut buf = TestBuf::new(0, &[0; crate::forwarding::arp::FRAME_LEN]);
    frame
        .write(&mut buf)
        .or_else(|_| err("arp: the frame could not be written"))?;
    let mut f = buf.data().to_vec();
    // The writer sends from the gateway: the frame is the described sender's.
    f[6..12].copy_from_slice(&src.0);
    Ok(f)
}

fn ip_frame(
    ip: &Layer<'_>,
    rest: &[Layer<'_>],
    src: MacAddr,
    dst: MacAddr,
) -> Result<Vec<u8>, SpecError> {
    ip.only(&["src", "dst", "ttl"])?;
    let (from, to): (IpAddr, IpAddr) = (ip.need("src")?, ip.need("dst")?);
    let ttl: u8 = ip.get("ttl", 64)?;
    let base = PacketBuilder::ethernet2(src.0, dst.0);
    let step = match (ip.name, from, to) {
        ("ipv4", IpAddr::V4(a), IpAddr::V4(b)) => base.ipv4(a.octets(), b.octets(), ttl),
        ("ipv6", IpAddr::V6(a), IpAddr::V6(b)) => base.ipv6(a.octets(), b.octets(), ttl),
        _ => {
            return err(format!(
                "{}: src and dst must both be {} addresses",
                ip.name, ip.name
            ))
        }
    };
    let Some(l4) = rest.first() else {
        return err(format!(
            "{}: needs a tcp, udp or icmp layer after it",
            ip.name
        ));
    };
    if rest.len() > 1 {
        return err(format!(
            "`{}`: nothing goes after the transport layer",
            rest[1].name
        ));
    }
    let mut frame = Vec::new();
    let written = match l4.name {
        "tcp" => {
            l4.only(&["sport", "dport", "flags", "seq"])?;
            let mut b = step.tcp(
                l4.get("sport", 1024)?,
                l4.get("dport", 80)?,
                l4.get("seq", 1)?,
                64240,
            );
            for flag in l4.get("flags", "S".to_owned())?.chars() {
                b = match flag.to_ascii_uppercase() {
                    'S' => b.syn(),
                    'A' => b.ack(1),
                    'F' => b.fin(),
                    'R' => b.rst(),
                    'P' => b.psh(),
                    other => return err(format!("tcp(flags): `{other}` is none of S A F R P")),
                };
            }
            b.write(&mut frame, &[])
        }
        "udp" => {
            l4.only(&["sport", "dport"])?;
            step.udp(l4.get("sport", 1024)?, l4.get("dport", 53)?)
                .write(&mut frame, &[0; 8])
        }
        "icmp" | "icmp6" => {
            l4.only(&["id", "seq"])?;
            let (id, seq) = (l4.get("id", 1)?, l4.get("seq", 1)?);
            match from {
                IpAddr::V4(_) => step.icmpv4_echo_request(id, seq).write(&mut frame, &[0; 8]),
                IpAddr::V6(_) => step.icmpv6_echo_request(id, seq).write(&mut frame, &[0; 8]),
            }
        }
        other => return err(format!("unknown transport `{other}` (tcp, udp, icmp)")),
    };
    written.or_else(|e| err(format!("the frame could not be built: {e}")))?;
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    #[test]
    fn a_tcp_syn_to_the_gateway_by_default() {
        let f = parse("ipv4(src=192.0.2.1,dst=198.51.100.2)/tcp(dport=8080)").unwrap();
        assert_eq!(&f[..6], &GATEWAY_MAC.0);
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        let Some(NetSlice::Ipv4(ip)) = p.net else {
            panic!("not IPv4")
        };
        assert_eq!(ip.header().destination(), [198, 51, 100, 2]);
        let Some(TransportSlice::Tcp(tcp)) = p.transport else {
            panic!("not TCP")
        };
        assert_eq!(tcp.destination_port(), 8080);
        assert!(tcp.syn() && !tcp.ack());
    }

    #[test]
    fn a_vlan_tag_goes_after_the_macs_and_frames_are_padded() {
        let f = parse(
            "eth(dst=ff:ff:ff:ff:ff:ff)/vlan(100)/ipv6(src=2001:db8::1,dst=2001:db8::2)/icmp",
        )
        .unwrap();
        assert_eq!(&f[12..16], &[0x81, 0x00, 0x00, 100]);
        assert_eq!(&f[16..18], &[0x86, 0xdd]);
        let arp = parse("arp(sip=192.0.2.1,tip=192.0.2.254)").unwrap();
        assert_eq!(arp.len(), MIN_FRAME);
        assert_eq!(&arp[12..14], &[0x08, 0x06]);
    }

    #[test]
    fn hex_is_a_frame_as_it_is() {
        let f = parse("ffffffffffff 020000000001 0800 4500 0014").unwrap();
        assert_eq!(f.len(), 18);
        assert!(parse("ffff").unwrap_err().0.contains("unknown layer"));
    }

    #[test]
    fn mistakes_are_named() {
        let e = |s: &str| parse(s).unwrap_err().to_string();
        assert!(e("ipv4(src=192.0.2.1)/tcp").contains("ipv4: needs dst="));
        assert!(e("ipv4(src=192.0.2.1,dst=2001:db8::1)/udp").contains("both be ipv4"));
        assert!(e("ipv4(src=192.0.2.1,dst=192.0.2.2)/tcp(port=1)").contains("no field `port`"));
        assert!(e("ipv4(src=192.0.2.1,dst=192.0.2.2)/tcp(flags=X)").contains("`X`"));
        assert!(e("vlan(5000)/ipv4(src=192.0.2.1,dst=192.0.2.2)/udp").contains("1 to 4094"));
        assert!(e("ipv4(src=192.0.2.1,dst=192.0.2.2").contains("missing `)`"));
    }
}
