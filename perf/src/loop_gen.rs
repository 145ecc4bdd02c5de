//! The generator of the routed vhost-user loop: two virtio_user ports that each send 64-byte
//! UDP/IPv4 frames from their host to the other port's host, through the switch under test,
//! and count what the switch delivers to them.
//!
//!   loop-gen --sock0 PATH --sock1 PATH --mac0 MAC --mac1 MAC --peer MAC
//!            --ip0 IP --ip1 IP [--flows N] [--replies [--nat IP | --vip IP]]
//!            [--vxlan LOCAL,REMOTE,VNI]
//!            [--seconds N] [--server] -- EAL-ARGS...
//!
//! A circulating loop (testpmd `mac` forwarding) cannot carry routed traffic: every pass
//! decrements the TTL, so a frame dies after 64 passes. This one makes fresh frames (TTL 64,
//! Ethernet destination `--peer`, the gateway's MAC) and keeps each port's TX queue full, so
//! the switch always finds a full ring; the RX rate is what the switch forwards.
//! Flow n of port 0 goes from UDP port 1024+n to 5001 (past 64 511 flows the source ports
//! start again toward 5002, and so on: a million flows need 16 destination ports); port 1's
//! flow n is its reply with `--replies` (the ports swapped: a stateful firewall sees N
//! connections both ways), and otherwise a flow of its own (as port 0's). `--nat IP`: the replies go to IP, the address
//! a source NAT under test gives host 0's flows (which keep their ports). `--vip IP`: host 0's
//! flows go to IP (a service VIP on UDP port 5001 whose backend is host 1) and host 1's replies
//! come back from it.
//! With `--vxlan`, port 1 is an underlay and host 1 sits behind the remote VTEP REMOTE: port
//! 0 sends 64-byte frames to host 1's MAC (`--mac1`; the switch encapsulates them), port 1
//! sends the replies as VXLAN from REMOTE to LOCAL (the VTEP under test, whose MAC is
//! `--peer`) in VNI, each 64-byte inner frame in 114 bytes, and announces REMOTE (gratuitous
//! ARP, from REMOTE's MAC `02:00` + its address) once a second.
//! With `--server`, loop-gen serves the vhost-user sockets (virtio_user server mode, mergeable
//! RX buffers off, in-order rings: the settings of some real guests) and the switch connects.
//! Prints one line per second: `sample rx_pps=N tx_pps=N full=F` (F: the share of TX bursts
//! the switch's ring refused, near 1 when the switch and not the generator limits the loop).

use std::net::Ipv4Addr;
use std::str::FromStr;

use vswitch::dpdk::eal::Eal;
use vswitch::dpdk::mbuf::{rx_burst, tx_burst_keep, Mbuf};
use vswitch::dpdk::mempool::Mempool;
use vswitch::dpdk::port::{self, PortConfig};
use vswitch::packet::{arp, eth, ethertype, ipproto, ipv4, udp, MacAddr};
use vswitch::sys::cpu::rdtsc;
use vswitch::vxlan::encap::Outer;
use vswitch::vxlan::table::vtep_mac;

const FRAME: usize = 64;
const BURST: usize = 32;
const UDP_DST_PORT: u16 = 5001;
/// Source ports a flow's number runs through before the destination port moves on.
const SOURCE_PORTS: u32 = 65535 - 1024;

/// Flow `n`'s source and destination port (from host 0's side).
fn flow_ports(n: u32) -> (u16, u16) {
    let (sport, dport) = (
        1024 + n % SOURCE_PORTS,
        u32::from(UDP_DST_PORT) + n / SOURCE_PORTS,
    );
    (sport as u16, dport as u16)
}

struct Side {
    sock: String,
    mac: MacAddr,
    ip: Ipv4Addr,
}

struct Args {
    sides: [Side; 2],
    peer: MacAddr,
    flows: u32,
    replies: bool,
    /// Where the replies go instead of host 0 (its SNAT address).
    nat: Option<Ipv4Addr>,
    /// Where host 0's flows go instead of host 1 (a VIP host 1 is the backend of).
    vip: Option<Ipv4Addr>,
    vxlan: Option<Tunnel>,
    /// Serve the vhost-user sockets instead of connecting to them.
    server: bool,
    seconds: u64,
    eal: Vec<String>,
}

/// The tunnel of `--vxlan`.
#[derive(Clone, Copy)]
struct Tunnel {
    local: Ipv4Addr,
    remote: Ipv4Addr,
    vni: u32,
}

impl FromStr for Tunnel {
    type Err = ();
    fn from_str(s: &str) -> Result<Tunnel, ()> {
        let mut it = s.split(',');
        let (Some(l), Some(r), Some(v), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(());
        };
        Ok(Tunnel {
            local: l.parse().map_err(|_| ())?,
            remote: r.parse().map_err(|_| ())?,
            vni: v.parse().map_err(|_| ())?,
        })
    }
}

fn usage(why: &str) -> ! {
    eprintln!(
        "loop-gen: {why}; usage: loop-gen --sock0 PATH --sock1 PATH --mac0 MAC --mac1 MAC \
         --peer MAC --ip0 IP --ip1 IP [--flows N] [--replies [--nat IP | --vip IP]] \
         [--vxlan LOCAL,REMOTE,VNI] [--seconds N] [--server] -- EAL-ARGS..."
    );
    std::process::exit(2)
}

fn parse<T: FromStr>(flag: &str, v: Option<String>) -> T {
    v.and_then(|v| v.parse().ok())
        .unwrap_or_else(|| usage(&format!("{flag} needs a valid value")))
}

fn args() -> Args {
    let (mut sock, mut mac, mut ip) = ([None, None], [None, None], [None, None]);
    let (mut peer, mut flows, mut seconds, mut replies) = (None, 1024u32, 10u64, false);
    let (mut vxlan, mut server, mut nat, mut vip) = (None, false, None, None);
    let mut eal = vec!["loop-gen".to_string()];
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sock0" | "--sock1" => sock[usize::from(a.ends_with('1'))] = it.next(),
            "--mac0" | "--mac1" => {
                mac[usize::from(a.ends_with('1'))] = Some(parse::<MacAddr>(&a, it.next()))
            }
            "--ip0" | "--ip1" => {
                ip[usize::from(a.ends_with('1'))] = Some(parse::<Ipv4Addr>(&a, it.next()))
            }
            "--peer" => peer = Some(parse::<MacAddr>(&a, it.next())),
            "--flows" => flows = parse::<u32>(&a, it.next()).max(1),
            "--seconds" => seconds = parse(&a, it.next()),
            "--replies" => replies = true,
            "--nat" => nat = Some(parse::<Ipv4Addr>(&a, it.next())),
            "--vip" => vip = Some(parse::<Ipv4Addr>(&a, it.next())),
            "--server" => server = true,
            "--vxlan" => vxlan = Some(parse::<Tunnel>(&a, it.next())),
            "--" => {
                eal.extend(it.by_ref());
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let side = |i: usize| Side {
        sock: sock[i]
            .clone()
            .unwrap_or_else(|| usage(&format!("--sock{i} is required"))),
        mac: mac[i].unwrap_or_else(|| usage(&format!("--mac{i} is required"))),
        ip: ip[i].unwrap_or_else(|| usage(&format!("--ip{i} is required"))),
    };
    if vip.is_some() && flows > SOURCE_PORTS {
        usage("--vip takes up to 64 511 flows (its destination port is the VIP's)");
    }
    Args {
        sides: [side(0), side(1)],
        peer: peer.unwrap_or_else(|| usage("--peer is required")),
        flows,
        replies,
        nat,
        vip,
        vxlan,
        server,
        seconds,
        eal,
    }
}

/// A 64-byte UDP frame from `from` to `to`, flow `n` in its source port (in its destination
/// port for a reply).
fn frame(from: &Side, to: &Side, peer: MacAddr, n: u32, reply: bool) -> Vec<u8> {
    let mut f = [0u8; FRAME];
    let ip_len = FRAME - eth::HEADER_LEN;
    let udp_len = ip_len - ipv4::HEADER_LEN;
    eth::Repr {
        src: from.mac,
        dst: peer,
        ethertype: ethertype::IPV4,
    }
    .emit(&mut eth::Frame::new_unchecked(&mut f[..]));
    let l3 = &mut f[eth::HEADER_LEN..];
    ipv4::Repr {
        src_addr: from.ip,
        dst_addr: to.ip,
        next_header: ipproto::UDP,
        payload_len: udp_len,
        ttl: 64,
    }
    .emit(&mut ipv4::Packet::new_unchecked(&mut l3[..]));
    let l4 = &mut l3[ipv4::HEADER_LEN..];
    let mut dgram = udp::Packet::new_unchecked(&mut l4[..]);
    let (sport, dport) = flow_ports(n);
    let (src_port, dst_port) = if reply {
        (dport, sport)
    } else {
        (sport, dport)
    };
    udp::Repr {
        src_port,
        dst_port,
        payload_len: udp_len - udp::HEADER_LEN,
    }
    .emit(&mut dgram);
    dgram.fill_checksum_v4(from.ip, to.ip);
    f.to_vec()
}

/// Port `i`'s frame of flow `n`: bridged or routed to the other side, or with `--vxlan`, port
/// 1's encapsulated.
fn template(args: &Args, i: usize, n: u32) -> Vec<u8> {
    let (from, to) = (&args.sides[i], &args.sides[1 - i]);
    let Some(t) = args.vxlan else {
        let reply = args.replies && i == 1;
        let translated = match reply {
            true => args.nat,
            false => args.vip,
        };
        return match translated {
            Some(ip) => {
                let to = Side {
                    sock: String::new(),
                    mac: to.mac,
                    ip,
                };
                frame(from, &to, args.peer, n, reply)
            }
            None => frame(from, to, args.peer, n, reply),
        };
    };
    if i == 0 {
        return frame(from, to, to.mac, n, false);
    }
    let inner = frame(from, to, to.mac, n, true);
    Outer {
        src_mac: vtep_mac(t.remote),
        dst_mac: args.peer,
        src: t.remote,
        dst: t.local,
        sport: 49152 + (n % 16384) as u16,
        dport: 4789,
        vni: t.vni,
    }
    .encapsulate(&inner)
}

/// The remote VTEP's gratuitous ARP (with `--vxlan`), so that the VTEP under test can reach
/// it.
fn announce(t: &Tunnel) -> Vec<u8> {
    let mac = vtep_mac(t.remote);
    let mut f = vec![0u8; 60];
    eth::Repr {
        src: mac,
        dst: MacAddr::BROADCAST,
        ethertype: ethertype::ARP,
    }
    .emit(&mut eth::Frame::new_unchecked(&mut f[..]));
    let mut p = arp::Packet::new_unchecked(&mut f[eth::HEADER_LEN..]);
    p.set_hardware_type(arp::HTYPE_ETHERNET);
    p.set_protocol_type(ethertype::IPV4);
    p.set_hardware_len(6);
    p.set_protocol_len(4);
    p.set_operation(arp::Operation::REPLY);
    p.set_sender_hardware_addr(mac);
    p.set_sender_protocol_addr(t.remote);
    p.set_target_hardware_addr(mac);
    p.set_target_protocol_addr(t.remote);
    f
}

fn attach(i: usize, side: &Side, server: bool, pool: &Mempool) -> u16 {
    let name = format!("net_virtio_user{i}");
    let serve = if server {
        ",server=1,mrg_rxbuf=0,in_order=1"
    } else {
        ""
    };
    let cfg = PortConfig {
        devargs: format!(
            "{name},path={},queues=1,queue_size=1024,mac={}{serve}",
            side.sock, side.mac
        ),
        name,
        rx_queues: 1,
        tx_queues: 1,
        mtu: 1500,
    };
    match port::attach(&cfg, pool) {
        Ok(p) => p.id,
        Err(e) => {
            eprintln!("loop-gen: port {i} ({}): {e}", side.sock);
            std::process::exit(1)
        }
    }
}

fn main() {
    let args = args();
    let eal = Eal::init(&args.eal).unwrap_or_else(|e| {
        eprintln!("loop-gen: {e}");
        std::process::exit(1)
    });
    let pool = Mempool::new("loop_gen", 16383, 256).unwrap_or_else(|e| {
        eprintln!("loop-gen: {e}");
        std::process::exit(1)
    });
    let ports = [
        attach(0, &args.sides[0], args.server, &pool),
        attach(1, &args.sides[1], args.server, &pool),
    ];
    let templates: Vec<Vec<Vec<u8>>> = (0..2)
        .map(|i| (0..args.flows).map(|n| template(&args, i, n)).collect())
        .collect();
    let announcement = args.vxlan.as_ref().map(announce);
    let send_announcement = || {
        if let Some(m) = announcement
            .as_ref()
            .and_then(|a| Mbuf::from_bytes(&pool, a))
        {
            tx_burst_keep(ports[1], 0, &mut vec![m]);
        }
    };
    send_announcement();

    let hz = eal.tsc_hz();
    let end = rdtsc() + args.seconds * hz;
    let mut next_sample = rdtsc() + hz;
    let mut rx: Vec<Mbuf> = Vec::with_capacity(BURST);
    let mut pending: [Vec<Mbuf>; 2] = [Vec::with_capacity(BURST), Vec::with_capacity(BURST)];
    let mut flow = [0usize; 2];
    let (mut rx_n, mut tx_n, mut bursts, mut full) = (0u64, 0u64, 0u64, 0u64);
    loop {
        for (i, &port) in ports.iter().enumerate() {
            rx_n += rx_burst(port, 0, &mut rx, BURST) as u64;
            rx.clear();
            while pending[i].len() < BURST {
                let Some(m) = Mbuf::from_bytes(&pool, &templates[i][flow[i]]) else {
                    break; // the pool is empty until the switch drains the rings
                };
                pending[i].push(m);
                flow[i] = (flow[i] + 1) % templates[i].len();
            }
            tx_n += tx_burst_keep(port, 0, &mut pending[i]) as u64;
            bursts += 1;
            full += u64::from(!pending[i].is_empty());
        }
        let now = rdtsc();
        if now >= next_sample {
            send_announcement();
            println!(
                "sample rx_pps={rx_n} tx_pps={tx_n} full={:.3}",
                full as f64 / bursts.max(1) as f64
            );
            (rx_n, tx_n, bursts, full) = (0, 0, 0, 0);
            next_sample += hz;
            if now >= end {
                break;
            }
        }
    }
    for p in &mut pending {
        p.clear();
    }
    for p in ports {
        port::detach(p);
    }
}
