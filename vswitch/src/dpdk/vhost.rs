//! vhost-user ports on the fast path. The net_vhost PMD keeps the socket and the device's life
//! cycle, but its burst functions add per-packet statistics and a free loop that cost about a
//! tenth of a worker's cycles in the vhost-user loop; the workers call the vhost library's
//! enqueue and dequeue directly instead (as OVS does), with our own counters.
//!
//! The PMD's link and queue events tell which device (vid) is connected and which virtqueues
//! the guest enabled. When a device goes away, the event handler withdraws the vid and waits
//! until every worker has passed a quiescent point, so no worker still uses the old device when
//! the vhost library frees it (what the PMD does with its per-queue busy flags).

use std::ffi::{c_void, CString};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use dpdk_sys::{rte_eth_event_type, rte_mbuf};

use super::mbuf::Mbuf;
use super::mempool::Mempool;
use crate::packet::l4_checksum;
use crate::pipeline::counters::MAX_PORTS;

/// The port is not a vhost-user port: the workers use its ethdev queues.
const NOT_VHOST: i32 = i32::MIN;
/// A vhost-user port with no connected device.
const DISCONNECTED: i32 = -1;

/// Worker slots for quiescence tracking (more than any box's forwarding cores).
const MAX_WORKERS: usize = 128;

/// How long a withdrawing device waits for a worker before giving up on it.
const QUIESCE_TIMEOUT: Duration = Duration::from_secs(1);

struct VhostPort {
    vid: AtomicI32,
    /// Bit q: the guest enabled its TX virtqueue of queue pair q (our RX queue q).
    rx_enabled: AtomicU64,
    /// Bit q: the guest enabled its RX virtqueue of queue pair q (our TX queue q).
    tx_enabled: AtomicU64,
    /// Guests that connected and that went away since the port was made.
    connects: AtomicU64,
    disconnects: AtomicU64,
    /// The MTU QEMU gave the guest (`host_mtu`, VIRTIO_NET_F_MTU); 0 when it gave none.
    guest_mtu: AtomicU32,
}

impl VhostPort {
    const fn new() -> Self {
        VhostPort {
            vid: AtomicI32::new(NOT_VHOST),
            rx_enabled: AtomicU64::new(0),
            tx_enabled: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            guest_mtu: AtomicU32::new(0),
        }
    }

    /// No guest queue is enabled (no guest, or a new one that has not enabled any yet).
    fn clear_queues(&self) {
        self.rx_enabled.store(0, Ordering::SeqCst);
        self.tx_enabled.store(0, Ordering::SeqCst);
        self.guest_mtu.store(0, Ordering::Relaxed);
    }
}

/// A vhost-user port's connection, as the operator sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VhostStatus {
    pub connected: bool,
    /// Queue pairs whose guest TX ring (our RX) / guest RX ring (our TX) the guest enabled.
    pub rx_queues_enabled: u32,
    pub tx_queues_enabled: u32,
    pub connects: u64,
    pub disconnects: u64,
    /// The connected guest's MTU, when QEMU set one (`host_mtu`).
    pub guest_mtu: Option<u16>,
}

/// `port`'s connection state; `None` for ports that are not vhost-user ports.
pub fn status(port: u16) -> Option<VhostStatus> {
    let p = PORTS.get(usize::from(port))?;
    let vid = p.vid.load(Ordering::SeqCst);
    (vid != NOT_VHOST).then(|| VhostStatus {
        connected: vid >= 0,
        rx_queues_enabled: p.rx_enabled.load(Ordering::Relaxed).count_ones(),
        tx_queues_enabled: p.tx_enabled.load(Ordering::Relaxed).count_ones(),
        connects: p.connects.load(Ordering::Relaxed),
        disconnects: p.disconnects.load(Ordering::Relaxed),
        guest_mtu: u16::try_from(p.guest_mtu.load(Ordering::Relaxed))
            .ok()
            .filter(|&m| m != 0),
    })
}

/// A worker's quiescent-point counter, on a cache line of its own.
#[repr(align(64))]
struct Epoch {
    count: AtomicU64,
    /// The worker is not polling (not started yet, or stopped): nothing to wait for.
    parked: AtomicBool,
}

impl Epoch {
    const fn new() -> Self {
        Epoch {
            count: AtomicU64::new(0),
            parked: AtomicBool::new(true),
        }
    }
}

static PORTS: [VhostPort; MAX_PORTS] = [const { VhostPort::new() }; MAX_PORTS];
static EPOCHS: [Epoch; MAX_WORKERS] = [const { Epoch::new() }; MAX_WORKERS];
/// Worker slots in use (the highest worker id + 1).
static WORKERS: AtomicUsize = AtomicUsize::new(0);

/// The vhost device and queue pair to use for `queue` of `port`: `None` when the port is not a
/// vhost-user port (use its ethdev queues), `Some(None)` when no device is connected or the
/// guest enabled no queue of that direction.
#[inline]
fn device(port: u16, queue: u16, rx: bool) -> Option<Option<(i32, u16)>> {
    let p = PORTS.get(usize::from(port))?;
    // SeqCst pairs with `withdraw`: a worker either sees the device gone or is waited for.
    let vid = p.vid.load(Ordering::SeqCst);
    if vid == NOT_VHOST {
        return None;
    }
    if vid < 0 {
        return Some(None);
    }
    let mask = if rx { &p.rx_enabled } else { &p.tx_enabled };
    let enabled = mask.load(Ordering::Relaxed);
    if enabled & (1u64 << (queue % 64)) != 0 {
        return Some(Some((vid, queue)));
    }
    if rx || enabled == 0 {
        return Some(None);
    }
    // The guest uses fewer queues than we have workers: share one of its queues (the vhost
    // library serialises enqueues on a queue).
    let nth = u32::from(queue) % enabled.count_ones();
    let mut bits = enabled;
    for _ in 0..nth {
        bits &= bits - 1;
    }
    Some(Some((vid, bits.trailing_zeros() as u16)))
}

/// Dequeues up to `max` packets the guest sent on queue pair `queue` into `out`; `None` when
/// `port` is not a vhost-user port.
#[inline]
pub fn rx(port: u16, queue: u16, pool: &Mempool, out: &mut Vec<Mbuf>, max: usize) -> Option<usize> {
    let Some((vid, queue)) = device(port, queue, true)? else {
        return Some(0);
    };
    let start = out.len();
    let room = (out.capacity() - start).min(max).min(usize::from(u16::MAX)) as u16;
    // SAFETY: vid is a live device (see `withdraw`); the library writes at most `room` owned
    // mbuf pointers (allocated from `pool`) into the spare capacity, and we set the length to
    // match. Virtqueue 2q+1 is the guest's TX ring of pair q.
    unsafe {
        let dst = out.as_mut_ptr().add(start) as *mut *mut rte_mbuf;
        let n = dpdk_sys::rte_vhost_dequeue_burst(vid, queue * 2 + 1, pool.as_ptr(), dst, room);
        out.set_len(start + usize::from(n));
    }
    for m in &mut out[start..] {
        complete_checksum(m);
    }
    Some(out.len() - start)
}

/// Finishes a checksum the guest left partial (we offer it checksum offload); what cannot be
/// completed (not TCP/UDP, a fragment) goes on as the guest sent it.
#[inline]
fn complete_checksum(m: &mut Mbuf) {
    if m.l4_checksum_partial() {
        let (head, tail) = m.segments_mut();
        if l4_checksum::complete_chained(head, tail).is_ok() {
            m.set_l4_checksum_good();
        }
    }
}

/// Copies `pkts` into the guest's RX ring of queue pair `queue` and frees them all (the library
/// copies). Returns how many the guest took, leaving `pkts` empty; `None` (and `pkts` untouched)
/// when `port` is not a vhost-user port.
#[inline]
pub fn tx(port: u16, queue: u16, pkts: &mut Vec<Mbuf>) -> Option<usize> {
    let target = device(port, queue, false)?;
    let len = pkts.len().min(usize::from(u16::MAX));
    let ptr = pkts.as_mut_ptr() as *mut *mut rte_mbuf;
    let sent = match target {
        // SAFETY: vid is a live device; the library reads the first `len` mbufs and keeps none.
        Some((vid, queue)) => unsafe {
            usize::from(dpdk_sys::rte_vhost_enqueue_burst(
                vid,
                queue * 2,
                ptr,
                len as u16,
            ))
        },
        None => 0,
    };
    // SAFETY: the Vec owned all its mbufs; they go to DPDK's bulk free and the Vec forgets them.
    unsafe {
        let all = pkts.len();
        pkts.set_len(0);
        dpdk_sys::rte_pktmbuf_free_bulk(ptr, all as u32);
    }
    Some(sent)
}

/// A worker starts polling in slot `worker`.
pub fn worker_started(worker: usize) {
    if let Some(e) = EPOCHS.get(worker) {
        e.parked.store(false, Ordering::SeqCst);
        WORKERS.fetch_max(worker + 1, Ordering::SeqCst);
    }
}

/// A worker finished one poll: it holds no device from before this point.
#[inline]
pub fn quiescent(worker: usize) {
    if let Some(e) = EPOCHS.get(worker) {
        // A full barrier: the next poll's loads of a vid cannot move above this point.
        e.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// A worker stopped polling.
pub fn worker_stopped(worker: usize) {
    if let Some(e) = EPOCHS.get(worker) {
        e.parked.store(true, Ordering::SeqCst);
    }
}

/// Waits until every polling worker has passed a quiescent point after now.
fn wait_quiescent() {
    let n = WORKERS.load(Ordering::SeqCst).min(MAX_WORKERS);
    let seen: Vec<u64> = EPOCHS[..n]
        .iter()
        .map(|e| e.count.load(Ordering::SeqCst))
        .collect();
    let deadline = Instant::now() + QUIESCE_TIMEOUT;
    for (w, (e, before)) in EPOCHS[..n].iter().zip(seen).enumerate() {
        while !e.parked.load(Ordering::SeqCst) && e.count.load(Ordering::SeqCst) == before {
            if Instant::now() > deadline {
                tracing::warn!("vhost: worker {w} passed no quiescent point within 1 s");
                break;
            }
            std::hint::spin_loop();
        }
    }
}

/// Takes `port`'s device away from the workers and waits until none uses it.
fn withdraw(p: &VhostPort, to: i32) {
    p.vid.store(to, Ordering::SeqCst);
    wait_quiescent();
}

/// Serialises `sync` and `unwatch`: the PMD's event thread and the control thread both call
/// them.
static SYNC: Mutex<()> = Mutex::new(());

/// Reads the PMD's link state and pending queue events for `port` into our state.
fn sync(port: u16) {
    let Some(p) = PORTS.get(usize::from(port)) else {
        return;
    };
    let _serial = SYNC.lock().unwrap_or_else(PoisonError::into_inner);
    // A late event for a port that is being detached must not bring it back.
    if p.vid.load(Ordering::SeqCst) == NOT_VHOST {
        return;
    }
    let mut link = dpdk_sys::rte_eth_link::default();
    // SAFETY: valid port id and out struct; the vhost PMD's link read does not block.
    unsafe { dpdk_sys::rte_eth_link_get_nowait(port, &mut link) };
    let up = link.link_status() != 0;
    // SAFETY: plain getter on a vhost port; returns -1 without a device.
    let vid = if up {
        unsafe { dpdk_sys::rte_eth_vhost_get_vid_from_port_id(port) }
    } else {
        DISCONNECTED
    };
    let current = p.vid.load(Ordering::SeqCst);
    if current != vid {
        if current >= 0 {
            withdraw(p, DISCONNECTED);
            p.disconnects.fetch_add(1, Ordering::Relaxed);
        }
        let state = if vid >= 0 {
            p.connects.fetch_add(1, Ordering::Relaxed);
            learn_guest_mtu(port, vid, p);
            "connected"
        } else {
            p.clear_queues();
            "disconnected"
        };
        p.vid.store(vid.max(DISCONNECTED), Ordering::SeqCst);
        tracing::info!("vhost port {port}: device {state}");
    }
    let mut ev = dpdk_sys::rte_eth_vhost_queue_event::default();
    // SAFETY: valid port id and out struct; returns non-zero when no event is pending.
    while unsafe { dpdk_sys::rte_eth_vhost_get_queue_event(port, &mut ev) } == 0 {
        let mask = if ev.rx { &p.rx_enabled } else { &p.tx_enabled };
        let bit = 1u64 << (ev.queue_id % 64);
        if ev.enable {
            mask.fetch_or(bit, Ordering::SeqCst);
        } else {
            mask.fetch_and(!bit, Ordering::SeqCst);
            wait_quiescent();
        }
    }
}

/// Records the MTU QEMU gave the new guest (it sends it before the device starts) and warns
/// when it differs from the port's: a larger guest MTU means frames the port drops (counted as
/// `mtu`), a smaller one means the guest never uses the port's full MTU.
fn learn_guest_mtu(port: u16, vid: i32, p: &VhostPort) {
    let mut guest = 0u16;
    // SAFETY: vid is the device the PMD just reported connected; out pointer valid. Fails with
    // -ENOTSUP when QEMU set no MTU.
    if unsafe { dpdk_sys::rte_vhost_get_mtu(vid, &mut guest) } != 0 {
        guest = 0;
    }
    p.guest_mtu.store(u32::from(guest), Ordering::Relaxed);
    let mut own = 0u16;
    // SAFETY: valid port id and out pointer.
    let known = unsafe { dpdk_sys::rte_eth_dev_get_mtu(port, &mut own) } == 0;
    if guest != 0 && known && guest != own {
        tracing::warn!(
            "vhost port {port}: the guest's MTU is {guest} but the port's is {own}; \
             start QEMU with host_mtu={own} on the virtio-net device"
        );
    }
}

const EVENTS: [rte_eth_event_type; 2] = [
    dpdk_sys::rte_eth_event_type_RTE_ETH_EVENT_INTR_LSC,
    dpdk_sys::rte_eth_event_type_RTE_ETH_EVENT_QUEUE_STATE,
];

unsafe extern "C" fn on_event(
    port: u16,
    _event: rte_eth_event_type,
    _arg: *mut c_void,
    _ret: *mut c_void,
) -> i32 {
    sync(port);
    0
}

/// virtio-net feature bits (virtio spec 5.1.3) a guest may use to hand us UDP fragmentation
/// offload super-frames (and ECN on TSO): the datapath does not segment, so they are not
/// offered. TSO itself is off in the vhost PMD by default; checksum offload is finished in `rx`.
const VIRTIO_NET_F_HOST_ECN: u32 = 13;
const VIRTIO_NET_F_HOST_UFO: u32 = 14;

/// Hands `port`'s queues to the workers through the vhost library (call after the port started
/// on socket `path`).
pub fn watch(port: u16, path: &str) -> Result<(), String> {
    let cpath =
        CString::new(path).map_err(|_| format!("socket path {path:?} contains a NUL byte"))?;
    let unsupported = (1u64 << VIRTIO_NET_F_HOST_UFO) | (1u64 << VIRTIO_NET_F_HOST_ECN);
    // SAFETY: valid C string; the vhost PMD registered this path when the port started, and a
    // guest that connects later negotiates without these features.
    if unsafe { dpdk_sys::rte_vhost_driver_disable_features(cpath.as_ptr(), unsupported) } != 0 {
        return Err(format!("the vhost library does not know the socket {path}"));
    }
    let p = PORTS
        .get(usize::from(port))
        .ok_or_else(|| format!("port id {port} is beyond {MAX_PORTS}"))?;
    p.clear_queues();
    p.connects.store(0, Ordering::Relaxed);
    p.disconnects.store(0, Ordering::Relaxed);
    p.vid.store(DISCONNECTED, Ordering::SeqCst);
    for ev in EVENTS {
        // SAFETY: valid port; the callback is a plain function without argument.
        let ret = unsafe {
            dpdk_sys::rte_eth_dev_callback_register(port, ev, Some(on_event), ptr::null_mut())
        };
        if ret != 0 {
            unwatch(port);
            return Err(format!(
                "cannot follow the vhost device's events: {}",
                super::errno_text(ret)
            ));
        }
    }
    // The guest may have connected before the callbacks were in place.
    sync(port);
    Ok(())
}

/// Gives `port` back to its ethdev queues (call before the port is detached).
pub fn unwatch(port: u16) {
    let Some(p) = PORTS.get(usize::from(port)) else {
        return;
    };
    for ev in EVENTS {
        // SAFETY: unregistering a callback that may or may not be registered is allowed; it
        // answers -EAGAIN while the callback runs, which then finishes (we hold no lock here).
        while unsafe {
            dpdk_sys::rte_eth_dev_callback_unregister(port, ev, Some(on_event), ptr::null_mut())
        } == -libc::EAGAIN
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let _serial = SYNC.lock().unwrap_or_else(PoisonError::into_inner);
    withdraw(p, NOT_VHOST);
    p.clear_queues();
}
