//! The daemon's life: EAL, mempool, pinned workers, the config manager restoring the saved
//! model, the control socket, housekeeping, and a clean shutdown on SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::manager::ConfigManager;
use crate::config::persist::StateDir;
use crate::control::{self, Daemon};
use crate::datapath::{Graph, Snapshot, SnapshotCell};
use crate::dpdk::backend::DpdkBackend;
use crate::dpdk::eal::{self, Eal};
use crate::dpdk::io::DpdkIo;
use crate::dpdk::mempool::Mempool;
use crate::pipeline::clock;
use crate::pipeline::counters::WorkerCounters;
use crate::pipeline::tap::Taps;
use crate::pipeline::worker::{SharedTxLocks, Worker};

pub const DEFAULT_MBUFS: u32 = 65_535;
/// A PCI address no machine has (domain ffff is never enumerated).
const NO_PCI_DEVICE: &str = "ffff:ff:1f.7";
const MBUF_CACHE: u32 = 256;

#[derive(Debug, Clone)]
pub struct Options {
    pub socket: PathBuf,
    pub state_dir: Option<PathBuf>,
    /// CPUs of the forwarding workers.
    pub worker_cpus: Vec<usize>,
    pub no_huge: bool,
    pub mbufs: u32,
    pub eal_args: Vec<String>,
    /// Where the metrics endpoint listens (off when none).
    pub metrics: Option<std::net::SocketAddr>,
}

/// Hugepages are usable: a hugetlbfs mount and enough free 2 MB pages for the mbuf pool.
pub fn hugepages_available() -> bool {
    let mounted = std::fs::read_to_string("/proc/mounts")
        .map(|m| {
            m.lines()
                .any(|l| l.split_whitespace().nth(2) == Some("hugetlbfs"))
        })
        .unwrap_or(false);
    let free = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("HugePages_Free:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    mounted && free >= 256
}

/// Parses a CPU list: `1`, `1,3`, `2-5`.
pub fn parse_cpu_list(s: &str) -> Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let bad = || format!("--lcores {s:?}: {part:?} is not a CPU or a range like 2-3");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    if cpus.is_empty() {
        return Err(format!("--lcores {s:?}: no CPU given"));
    }
    let online = online_cpus();
    if let Some(c) = cpus.iter().find(|c| **c >= online) {
        return Err(format!(
            "--lcores {s:?}: CPU {c} does not exist (this machine has CPUs 0-{})",
            online - 1
        ));
    }
    Ok(cpus)
}

/// CPUs this process may run on.
fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The default forwarding core: the last CPU, leaving CPU 0 to control and the kernel.
pub fn default_worker_cpus() -> Vec<usize> {
    vec![online_cpus() - 1]
}

/// The CPU the EAL main thread (control) runs on: the first one no worker uses, or when the
/// workers take every CPU, the first worker's (control sleeps; it does not spin).
fn main_cpu(workers: &[usize]) -> usize {
    let online = online_cpus();
    (0..online)
        .find(|c| !workers.contains(c))
        .unwrap_or_else(|| workers.first().copied().unwrap_or(0))
}

pub struct Workers {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            let _ = h.join();
        }
    }
}

pub fn spawn_workers(
    cpus: &[usize],
    cell: &Arc<SnapshotCell>,
    counters: &[Arc<WorkerCounters>],
    pool: &Arc<Mempool>,
    taps: &Arc<Taps>,
) -> Result<Workers, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let locks = Arc::new(SharedTxLocks::default());
    let mut handles = Vec::new();
    for (id, cpu) in cpus.iter().copied().enumerate() {
        let worker: Worker<DpdkIo, Graph> = Worker::new(
            id,
            cpus.len(),
            DpdkIo::new(id, pool.clone()),
            cell.clone(),
            counters[id].clone(),
            locks.clone(),
            stop.clone(),
        )
        .with_taps(taps.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::Builder::new()
            .name(format!("vs-worker{id}"))
            .spawn(move || {
                let ready = eal::pin_current_thread(cpu).and_then(|_| eal::register_thread());
                let ok = ready.is_ok();
                let _ = tx.send(ready);
                if ok {
                    worker.run();
                    eal::unregister_thread();
                }
            })
            .map_err(|e| format!("cannot start worker {id}: {e}"))?;
        match rx.recv() {
            Ok(Ok(lcore)) => {
                tracing::info!("worker {id}: CPU {cpu}, lcore {lcore}");
                handles.push(handle);
            }
            Ok(Err(e)) => return Err(format!("worker {id}: {e}")),
            Err(_) => return Err(format!("worker {id} died while starting")),
        }
    }
    Ok(Workers { stop, handles })
}

/// Runs the switch until SIGINT/SIGTERM. `ready` is called once the control socket serves.
pub fn run(opts: Options, ready: impl FnOnce()) -> Result<(), String> {
    clock::tick();
    let listener_std = {
        // Bind before anything else: a second daemon must fail before it touches DPDK.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio: {e}"))?;
        let l = rt.block_on(async { control::bind(&opts.socket) })?;
        l.into_std().map_err(|e| format!("control socket: {e}"))?
    };
    let store = match &opts.state_dir {
        Some(dir) => Some(StateDir::open(dir)?),
        None => None,
    };

    let hugepages = !opts.no_huge && hugepages_available();
    let mut args = vec![
        "vswitchd".to_string(),
        "-l".into(),
        main_cpu(&opts.worker_cpus).to_string(),
        "--file-prefix".into(),
        format!("vswitchd-{}", std::process::id()),
        "--no-telemetry".into(),
        // vhost-user's per-message chatter belongs in a debug log, not the daemon's.
        "--log-level=lib.vhost.config:warning".into(),
    ];
    if hugepages {
        // Hugepage memory in memfds: nothing left in hugetlbfs after exit.
        args.push("--in-memory".into());
    } else {
        // --no-huge implies legacy memory, which --in-memory refuses; --no-shconf keeps the
        // runtime dir empty instead.
        args.extend([
            "--no-huge".into(),
            "-m".into(),
            "1024".into(),
            "--no-shconf".into(),
        ]);
    }
    // PCI devices are attached only when a port names them, never all at start (which would
    // grab every vfio-bound NIC, also for a second daemon); an allowlist entry that matches no
    // device puts the PCI bus in allowlist mode, and each `--type pci` port adds its own.
    let pci_policy_given = opts.eal_args.iter().any(|a| {
        matches!(a.as_str(), "-a" | "-b" | "--allow" | "--block" | "--no-pci")
            || a.starts_with("--allow=")
            || a.starts_with("--block=")
    });
    if !pci_policy_given {
        args.extend(["-a".into(), NO_PCI_DEVICE.into()]);
    }
    args.extend(opts.eal_args.iter().cloned());
    let eal = Eal::init(&args).map_err(|e| e.to_string())?;
    tracing::info!(
        "EAL up ({}), TSC {} MHz",
        if hugepages {
            "hugepages"
        } else {
            "no hugepages"
        },
        eal.tsc_hz() / 1_000_000
    );
    let pool =
        Arc::new(Mempool::new("vs_mbufs", opts.mbufs, MBUF_CACHE).map_err(|e| e.to_string())?);

    let n = opts.worker_cpus.len();
    let cell = Arc::new(SnapshotCell::new(Snapshot::empty(n)));
    let counters: Vec<Arc<WorkerCounters>> = (0..n)
        .map(|_| Arc::new(WorkerCounters::default()))
        .collect();
    let taps = Arc::new(Taps::default());
    let workers = spawn_workers(&opts.worker_cpus, &cell, &counters, &pool, &taps)?;

    let manager = ConfigManager::new(
        Box::new(DpdkBackend::new(pool.clone(), n)),
        cell,
        counters,
        store,
    );
    if let Err(e) = manager.restore() {
        workers.stop();
        return Err(e);
    }
    let shared = Arc::new(Daemon {
        manager,
        started: Instant::now(),
        state_dir: opts.state_dir.clone(),
        hugepages,
        worker_cpus: opts.worker_cpus.clone(),
        vtep_agent: Default::default(),
        ipfix: Default::default(),
        taps,
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("vs-control")
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    let result = rt.block_on(async {
        let listener = tokio::net::UnixListener::from_std(listener_std)
            .map_err(|e| format!("control socket: {e}"))?;
        let metrics = match opts.metrics {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("--metrics {addr}: {e}"))?;
                tracing::info!("metrics at http://{addr}/metrics");
                Some(tokio::spawn(control::http::serve(shared.clone(), listener)))
            }
            None => None,
        };
        let housekeeping = tokio::spawn(housekeeping(shared.clone()));
        let exporter = {
            let shared = shared.clone();
            tokio::spawn(async move { shared.ipfix.run(&shared.manager).await })
        };
        shared.vtep_agent.sync(&shared);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(control::serve(shared.clone(), listener, async {
            let _ = stop_rx.await;
        }));
        ready();
        wait_for_signal().await;
        tracing::info!("stopping");
        let _ = stop_tx.send(());
        let served = server.await.map_err(|e| format!("control server: {e}"))?;
        housekeeping.abort();
        exporter.abort();
        if let Some(m) = metrics {
            m.abort();
        }
        shared.vtep_agent.stop();
        served
    });
    drop(rt);
    shared.manager.shutdown();
    workers.stop();
    let _ = std::fs::remove_file(&opts.socket);
    drop(shared);
    drop(pool);
    drop(eal);
    result
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

/// The clock tick, FDB and neighbor aging, and saving DHCP leases that changed (once a second).
async fn housekeeping(shared: Arc<Daemon>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_age = 0;
    loop {
        tick.tick().await;
        let now = clock::tick();
        if now != last_age {
            last_age = now;
            shared.manager.housekeep(now);
            shared.manager.save_learned();
        }
    }
}
