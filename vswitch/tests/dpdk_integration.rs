//! DPDK integration: the real daemon pieces (EAL, mempool, DPDK backend, a pinned worker, the
//! config manager) bridging between vhost-user ports, driven from virtio_user ports in the same
//! process. Needs root and hugepages (virtio_user shares hugepage memory with the vhost side);
//! `make deps` sets both up.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vswitch::pipeline::drop::EngineDrop;

use etherparse::PacketBuilder;
use vswitch::config::manager::ConfigManager;
use vswitch::daemon::{hugepages_available, spawn_workers};
use vswitch::datapath::{Snapshot, SnapshotCell};
use vswitch::dpdk::backend::DpdkBackend;
use vswitch::dpdk::eal::Eal;
use vswitch::dpdk::mbuf::{rx_burst, tx_burst, Mbuf};
use vswitch::dpdk::mempool::Mempool;
use vswitch::dpdk::port::{self, EthPort, PortConfig};
use vswitch::dpdk::vhost;
use vswitch::model::Model;
use vswitch::pipeline::buf::PacketBuf;
use vswitch::pipeline::counters::WorkerCounters;
use vswitch::pipeline::drop::DropReason;

fn frame(src: u8, dst: [u8; 6], len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, src], dst)
        .ipv4([198, 51, 100, src], [198, 51, 100, 99], 64)
        .udp(1000, 2000)
        .write(&mut out, &vec![src; len])
        .unwrap();
    out
}

/// A virtio_user port: the test's end of a vhost-user port of the switch.
fn guest(pool: &Mempool, name: &str, sock: &str) -> EthPort {
    let cfg = PortConfig {
        devargs: format!("net_virtio_user_{name},path={sock},queues=1"),
        name: format!("net_virtio_user_{name}"),
        rx_queues: 1,
        tx_queues: 1,
        mtu: 1500,
    };
    port::attach(&cfg, pool).unwrap_or_else(|e| panic!("virtio_user {name}: {e}"))
}

fn send(pool: &Mempool, port: u16, frames: &[Vec<u8>]) {
    let mut pkts: Vec<Mbuf> = frames
        .iter()
        .map(|f| Mbuf::from_bytes(pool, f).expect("mbuf"))
        .collect();
    let n = pkts.len();
    assert_eq!(
        tx_burst(port, 0, &mut pkts),
        n,
        "virtio_user TX refused packets"
    );
}

/// Everything `port` receives within `wait`.
fn receive(port: u16, want: usize, wait: Duration) -> Vec<Vec<u8>> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut rx = Vec::with_capacity(32);
    while got.len() < want && start.elapsed() < wait {
        rx_burst(port, 0, &mut rx, 32);
        got.extend(rx.drain(..).map(|m| m.data().to_vec()));
        std::thread::sleep(Duration::from_millis(1));
    }
    got
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn wait_link(id: u16) {
    let start = Instant::now();
    while !port::info(id).link_up && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(port::info(id).link_up, "port {id} link never came up");
}

#[test]
fn bridges_between_vhost_user_ports_and_hotplugs_ports() {
    if !is_root() {
        eprintln!("SKIPPED: needs root (DPDK vdevs and hugepages); CI runs as root");
        return;
    }
    if !hugepages_available() {
        eprintln!("SKIPPED: no hugepages (run `make deps` as root); virtio_user needs shared hugepage memory");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vs-dpdk-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let args: Vec<String> = [
        "vswitch-it",
        "-l",
        "0",
        "--in-memory",
        "--single-file-segments",
        "--no-telemetry",
        "--no-pci",
        "--log-level=lib.vhost.config:warning",
        "--file-prefix",
        &format!("vs-it-{}", std::process::id()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let eal = Eal::init(&args).expect("EAL init");
    let pool = Arc::new(Mempool::new("it_pool", 8191, 256).unwrap());

    let cpus = vec![std::thread::available_parallelism().map_or(0, |n| n.get() - 1)];
    let cell = Arc::new(SnapshotCell::new(Snapshot::empty(1)));
    let counters = vec![Arc::new(WorkerCounters::default())];
    let workers = spawn_workers(&cpus, &cell, &counters, &pool, &Default::default()).unwrap();
    let mgr = ConfigManager::new(
        Box::new(DpdkBackend::new(pool.clone(), 1)),
        cell,
        counters.clone(),
        None,
    );

    let sock = |n: &str| dir.join(n).display().to_string();
    let model = format!(
        r#"{{"networks":[{{"name":"red"}}],
            "ports":[{{"name":"v0","type":"vhost-user","path":"{}","network":"red"}},
                     {{"name":"v1","type":"vhost-user","path":"{}","network":"red"}}]}}"#,
        sock("v0.sock"),
        sock("v1.sock")
    );
    mgr.replace(Model::parse("json", &model).unwrap())
        .expect("vhost-user ports");
    let g0 = guest(&pool, "g0", &sock("v0.sock"));
    let g1 = guest(&pool, "g1", &sock("v1.sock"));
    let devs = mgr.devices();
    wait_link(devs["v0"].id);
    wait_link(devs["v1"].id);

    // Broadcast from g0 reaches g1 unchanged; the switch learns g0's MAC.
    let bcast = frame(1, [0xff; 6], 40);
    send(&pool, g0.id, std::slice::from_ref(&bcast));
    assert_eq!(receive(g1.id, 1, Duration::from_secs(2)), vec![bcast]);

    // A burst of unicast to the learned MAC from g1 arrives at g0, nothing leaks back to g1.
    let burst: Vec<Vec<u8>> = (0..20)
        .map(|i| frame(2, [2, 0, 0, 0, 0, 1], 30 + i))
        .collect();
    send(&pool, g1.id, &burst);
    assert_eq!(receive(g0.id, 20, Duration::from_secs(2)), burst);
    assert!(receive(g1.id, 1, Duration::from_millis(100)).is_empty());

    // A runt is dropped and counted.
    send(&pool, g0.id, &[vec![0u8; 12]]);
    std::thread::sleep(Duration::from_millis(200));
    let t = mgr.port_totals(devs["v0"].id);
    assert_eq!(t.drops[DropReason::from(EngineDrop::Runt).index()], 1);
    assert_eq!(t.rx_packets, 2);
    assert_eq!(mgr.port_totals(devs["v1"].id).tx_packets, 1);

    // Hot-plug: a third port comes and goes while v0 <-> v1 keeps forwarding.
    mgr.apply(|m| {
        let mut p = m.ports[0].clone();
        p.name = "v2".into();
        p.path = Some(sock("v2.sock"));
        m.ports.push(p);
        Ok(())
    })
    .expect("add v2");
    let g2 = guest(&pool, "g2", &sock("v2.sock"));
    wait_link(mgr.devices()["v2"].id);
    let unknown = frame(1, [2, 0, 0, 0, 0, 0x77], 10);
    send(&pool, g0.id, std::slice::from_ref(&unknown));
    assert_eq!(
        receive(g1.id, 1, Duration::from_secs(2)),
        vec![unknown.clone()]
    );
    assert_eq!(receive(g2.id, 1, Duration::from_secs(2)), vec![unknown]);
    port::detach(g2.id);
    mgr.apply(|m| {
        m.ports.retain(|p| p.name != "v2");
        Ok(())
    })
    .expect("delete v2");
    assert!(
        !std::path::Path::new(&sock("v2.sock")).exists(),
        "v2's socket was not removed"
    );
    send(&pool, g1.id, &burst);
    assert_eq!(receive(g0.id, 20, Duration::from_secs(2)), burst);

    // g1's guest goes away and a new one connects to the same socket: the port follows the
    // device and unicast to g1's MAC reaches the new guest.
    let v1 = devs["v1"].id;
    port::detach(g1.id);
    let start = Instant::now();
    while port::info(v1).link_up && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!port::info(v1).link_up, "v1 stayed up without its guest");
    let g1 = guest(&pool, "g1b", &sock("v1.sock"));
    wait_link(v1);
    let to_g1 = frame(1, [2, 0, 0, 0, 0, 2], 20);
    let mut got = Vec::new();
    for _ in 0..20 {
        send(&pool, g0.id, std::slice::from_ref(&to_g1));
        got = receive(g1.id, 1, Duration::from_millis(100));
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(
        got,
        vec![to_g1.clone()],
        "no traffic to the reconnected guest"
    );
    let st = vhost::status(v1).expect("v1 is a vhost-user port");
    assert!(st.connected);
    assert_eq!((st.connects, st.disconnects), (2, 1));

    // A guest that stops draining its RX ring: what does not fit is dropped and counted on its
    // port, and the worker keeps forwarding for the others.
    let before = mgr.port_totals(v1).drops[DropReason::from(EngineDrop::TxFull).index()];
    for _ in 0..40 {
        let mut pkts: Vec<Mbuf> = (0..32)
            .map(|_| Mbuf::from_bytes(&pool, &to_g1).expect("mbuf"))
            .collect();
        tx_burst(g0.id, 0, &mut pkts);
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        mgr.port_totals(v1).drops[DropReason::from(EngineDrop::TxFull).index()] > before,
        "no tx_full drops counted for the stalled guest"
    );
    send(&pool, g1.id, &burst);
    assert_eq!(receive(g0.id, 20, Duration::from_secs(2)), burst);

    port::detach(g0.id);
    port::detach(g1.id);
    mgr.shutdown();
    workers.stop();
    drop(pool);
    drop(eal);
    let _ = std::fs::remove_dir_all(&dir);
}
