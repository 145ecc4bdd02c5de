//! The tunnel gateway's cases of stage-bench: the whole pipeline encapsulating 64-byte frames
//! from a local port to a remote VTEP, and decapsulating the remote VTEP's VXLAN to the local
//! port, against the plain L2 bridge between two local ports of the same network, measured in
//! turn in every round (the ratio is the median of the rounds' ratios).

use vswitch::config::build::offline_snapshot;
use vswitch::datapath::Snapshot;
use vswitch::model::Model;
use vswitch::packet::{arp, eth, ethertype, MacAddr};
use vswitch::pipeline::buf::{PacketBuf, TestBuf};
use vswitch::pipeline::meta::BURST;
use vswitch::vxlan::encap::{Outer, HEADERS_LEN};
use vswitch::vxlan::table::vtep_mac;

use super::{frame, measure, median, Runner, Sink};

const LOCAL_VTEP: [u8; 4] = [203, 0, 113, 1];
const REMOTE_VTEP: [u8; 4] = [203, 0, 113, 2];
const REMOTE_MAC: [u8; 6] = [2, 0x22, 0, 0, 0, 2];
/// The host behind the remote VTEP (as `frame` numbers hosts).
const REMOTE_HOST: u32 = 0xffff;

/// Ports 0 and 2: access ports of network blue (VNI 5000); port 1: the underlay.
fn snapshot() -> Snapshot {
    let model = Model::parse(
        "json",
        r#"{"networks":[{"name":"blue","vni":5000}],
            "ports":[{"name":"a","type":"vdev","devargs":"net_null0","network":"blue"},
                     {"name":"up","type":"vdev","devargs":"net_null1"},
                     {"name":"b","type":"vdev","devargs":"net_null2","network":"blue"}],
            "vtep":{"local_ip":"203.0.113.1/24","port":"up",
                    "remotes":[{"ip":"203.0.113.2","vni":5000}]}}"#,
    )
    .expect("model");
    vswitch::config::validate::validate(&model).expect("valid model");
    offline_snapshot(&model, 1)
}

/// The remote VTEP's gratuitous ARP: the local one learns where it is.
fn announce() -> TestBuf {
    let mut f = vec![0u8; eth::HEADER_LEN + arp::HEADER_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&REMOTE_MAC);
    f[12..14].copy_from_slice(&ethertype::ARP.to_be_bytes());
    let mut p = arp::Packet::new_unchecked(&mut f[eth::HEADER_LEN..]);
    p.set_hardware_type(arp::HTYPE_ETHERNET);
    p.set_protocol_type(ethertype::IPV4);
    p.set_hardware_len(6);
    p.set_protocol_len(4);
    p.set_operation(arp::Operation::REPLY);
    p.set_sender_hardware_addr(MacAddr(REMOTE_MAC));
    p.set_sender_protocol_addr(REMOTE_VTEP.into());
    p.set_target_protocol_addr(REMOTE_VTEP.into());
    TestBuf::new(1, &f)
}

/// Frame `n` of a flow between local host `n % hosts` and the remote host: out through the
/// tunnel (encapsulated by the switch), or back in from it (VXLAN to decapsulate).
fn packet(n: u32, hosts: u32, back: bool) -> (u16, TestBuf) {
    let local = 1 + n % hosts;
    if !back {
        return (0, frame(local, REMOTE_HOST));
    }
    let inner = frame(REMOTE_HOST, local);
    let outer = Outer {
        src_mac: MacAddr(REMOTE_MAC),
        dst_mac: vtep_mac(LOCAL_VTEP.into()),
        src: REMOTE_VTEP.into(),
        dst: LOCAL_VTEP.into(),
        sport: 49152 + (n % 1024) as u16,
        dport: 4789,
        vni: 5000,
    };
    (1, TestBuf::new(1, &outer.encapsulate(inner.data())))
}

/// Bursts between local hosts 1 (port 0) and 2 (port 2), in turn each way: the L2 bridge.
fn bridged(n: usize) -> Vec<(u16, Vec<TestBuf>)> {
    (0..n)
        .map(|b| match b % 2 {
            0 => (0, (0..BURST).map(|_| frame(1, 2)).collect()),
            _ => (2, (0..BURST).map(|_| frame(2, 1)).collect()),
        })
        .collect()
}

fn bursts(n: usize, hosts: u32, back: bool) -> Vec<(u16, Vec<TestBuf>)> {
    (0..n)
        .map(|b| {
            let pkts: Vec<(u16, TestBuf)> = (0..BURST as u32)
                .map(|k| packet(b as u32 * BURST as u32 + k, hosts, back))
                .collect();
            (pkts[0].0, pkts.into_iter().map(|(_, p)| p).collect())
        })
        .collect()
}

pub fn run(bursts_n: usize, rounds: usize) {
    measure_rounds(bursts_n, rounds.max(5));
}

/// `--only vxlan`: the encap, decap and L2 cases `rounds` times each (for a profiler).
pub fn only(bursts_n: usize, rounds: usize) {
    measure_rounds(bursts_n, rounds);
}

fn measure_rounds(bursts_n: usize, rounds: usize) {
    let snap = snapshot();
    let mut run = Runner::new(&snap);
    let mut sink = Sink(Vec::with_capacity(4 * BURST));
    run.burst(1, &mut vec![announce()], &mut sink);
    let hosts = 1;
    // Learn the local hosts, then the remote one, and check each direction comes out whole.
    let l2_work = bridged(bursts_n.max(8));
    for (port, burst) in l2_work.iter().take(2) {
        run.burst(*port, &mut burst.clone(), &mut sink);
    }
    let (out, back) = (
        bursts(bursts_n.max(8), hosts, false),
        bursts(bursts_n.max(8), hosts, true),
    );
    for (work, len) in [(&back, 64), (&out, 64 + HEADERS_LEN)] {
        for (port, burst) in work.iter().take(8) {
            sink.0.clear();
            run.burst(*port, &mut burst.clone(), &mut sink);
            if sink.0.len() != BURST || sink.0.iter().any(|b| b.pkt_len() != len) {
                eprintln!(
                    "stage-bench: vxlan: {} of {BURST} frames came out {len} bytes long",
                    sink.0.iter().filter(|b| b.pkt_len() == len).count()
                );
                std::process::exit(1);
            }
        }
    }
    sink.0.clear();
    let (mut enc, mut dec, mut l2, mut ratio) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cycles = |work: &[(u16, Vec<TestBuf>)]| {
        measure(work, 1, 1, &mut sink, |port, pkts, sink| {
            run.burst(port, pkts, sink)
        })
    };
    for _ in 0..rounds {
        let (b, e, d) = (cycles(&l2_work), cycles(&out), cycles(&back));
        enc.push(e);
        dec.push(d);
        l2.push(b);
        ratio.push((e + d) / 2.0 / b);
    }
    let (enc, dec, l2) = (median(enc), median(dec), median(l2));
    println!(
        "vxlan pipeline cycles/packet: encap {enc:.1}, decap {dec:.1}, both ways {:.1}; {:.2} x the L2 pipeline ({l2:.1})",
        (enc + dec) / 2.0,
        median(ratio)
    );
}
