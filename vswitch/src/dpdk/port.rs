//! Ethernet ports: attach a device at run time (`rte_dev_probe`), configure and start it, read
//! its link and counters, and detach it again without touching other ports.

use std::ffi::{CStr, CString};

use super::mempool::Mempool;
use super::{errno_text, last_error};

const RX_DESC: u16 = 1024;
const TX_DESC: u16 = 1024;

/// What to attach and how to set it up.
#[derive(Debug, Clone)]
pub struct PortConfig {
    /// Device arguments for `rte_dev_probe`: `net_tap_x,iface=...` or a PCI address.
    pub devargs: String,
    /// The ethdev name DPDK gives the device (the vdev name, or the PCI address).
    pub name: String,
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub mtu: u16,
}

#[derive(Debug, Clone, Default)]
pub struct PortInfo {
    pub driver: String,
    pub mac: [u8; 6],
    pub link_up: bool,
    pub link_speed_mbps: u32,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct HwStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

/// A started port; `detach` undoes `attach`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthPort {
    pub id: u16,
    pub rx_queues: u16,
    pub tx_queues: u16,
}

fn find_port(name: &str) -> Option<u16> {
    let cname = CString::new(name).ok()?;
    let mut id = 0u16;
    // SAFETY: valid C string and out pointer.
    let ret = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
    (ret == 0).then_some(id)
}

/// Why DPDK would not attach, set up or change a port: DPDK's words and what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("device {0} is already attached")]
    AlreadyAttached(String),
    #[error("devargs {0:?} contain a NUL byte")]
    NulInDevargs(String),
    #[error("DPDK could not attach {devargs:?}: {why}")]
    Probe { devargs: String, why: String },
    #[error("DPDK attached {devargs:?} but made no ethdev named {name}")]
    NoEthdev { devargs: String, name: String },
    #[error("cannot read device info: {0}")]
    Info(String),
    #[error("cannot configure {rx} RX / {tx} TX queues: {why}")]
    Configure { rx: u16, tx: u16, why: String },
    #[error("cannot set up RX queue {queue}: {why}")]
    RxQueue { queue: u16, why: String },
    #[error("cannot set up TX queue {queue}: {why}")]
    TxQueue { queue: u16, why: String },
    #[error("cannot start: {0}")]
    Start(String),
    #[error("cannot set MTU {mtu}: {why}")]
    Mtu { mtu: u16, why: String },
}

/// Probes the device, configures `rx_queues`/`tx_queues` and starts it. On failure the device
/// is removed again and the error names what DPDK said.
pub fn attach(cfg: &PortConfig, pool: &Mempool) -> Result<EthPort, PortError> {
    if find_port(&cfg.name).is_some() {
        return Err(PortError::AlreadyAttached(cfg.name.clone()));
    }
    let cargs = CString::new(cfg.devargs.as_str())
        .map_err(|_| PortError::NulInDevargs(cfg.devargs.clone()))?;
    // SAFETY: valid C string; probing a vdev/PCI device at run time is supported by the EAL.
    let ret = unsafe { dpdk_sys::rte_dev_probe(cargs.as_ptr()) };
    if ret < 0 {
        return Err(PortError::Probe {
            devargs: cfg.devargs.clone(),
            why: errno_text(ret),
        });
    }
    let Some(id) = find_port(&cfg.name) else {
        return Err(PortError::NoEthdev {
            devargs: cfg.devargs.clone(),
            name: cfg.name.clone(),
        });
    };
    match setup(id, cfg, pool) {
        Ok(port) => Ok(port),
        Err(e) => {
            detach(id);
            Err(e)
        }
    }
}

fn setup(id: u16, cfg: &PortConfig, pool: &Mempool) -> Result<EthPort, PortError> {
    let mut info = dpdk_sys::rte_eth_dev_info::default();
    // SAFETY: valid port id and out struct.
    let ret = unsafe { dpdk_sys::rte_eth_dev_info_get(id, &mut info) };
    if ret != 0 {
        return Err(PortError::Info(errno_text(ret)));
    }
    let rxq = cfg.rx_queues.clamp(1, info.max_rx_queues.max(1));
    let txq = cfg.tx_queues.clamp(1, info.max_tx_queues.max(1));
    let mut conf = dpdk_sys::rte_eth_conf::default();
    conf.rxmode.mtu = u32::from(cfg.mtu);
    // SAFETY: valid port id and conf.
    let ret = unsafe { dpdk_sys::rte_eth_dev_configure(id, rxq, txq, &conf) };
    if ret != 0 {
        return Err(PortError::Configure {
            rx: rxq,
            tx: txq,
            why: errno_text(ret),
        });
    }
    let (mut nb_rx, mut nb_tx) = (RX_DESC, TX_DESC);
    // SAFETY: valid port id and out values.
    unsafe { dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut nb_rx, &mut nb_tx) };
    // SAFETY: plain getter.
    let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(id) };
    let socket = if socket < 0 { 0 } else { socket as u32 };
    for q in 0..rxq {
        // SAFETY: configured port, queue in range, valid pool; null conf = driver defaults.
        let ret = unsafe {
            dpdk_sys::rte_eth_rx_queue_setup(id, q, nb_rx, socket, std::ptr::null(), pool.as_ptr())
        };
        if ret != 0 {
            return Err(PortError::RxQueue {
                queue: q,
                why: errno_text(ret),
            });
        }
    }
    for q in 0..txq {
        // SAFETY: configured port, queue in range; null conf = driver defaults.
        let ret =
            unsafe { dpdk_sys::rte_eth_tx_queue_setup(id, q, nb_tx, socket, std::ptr::null()) };
        if ret != 0 {
            return Err(PortError::TxQueue {
                queue: q,
                why: errno_text(ret),
            });
        }
    }
    // SAFETY: configured port. Promiscuous mode is what a bridge port needs; some PMDs lack it.
    unsafe { dpdk_sys::rte_eth_promiscuous_enable(id) };
    // SAFETY: configured port with all queues set up.
    let ret = unsafe { dpdk_sys::rte_eth_dev_start(id) };
    if ret != 0 {
        return Err(PortError::Start(errno_text(ret)));
    }
    Ok(EthPort {
        id,
        rx_queues: rxq,
        tx_queues: txq,
    })
}

/// Stops the port and removes its device. Only once no worker polls it.
pub fn detach(id: u16) {
    let mut info = dpdk_sys::rte_eth_dev_info::default();
    // SAFETY: valid port id; the device pointer stays valid until rte_dev_remove.
    unsafe {
        dpdk_sys::rte_eth_dev_stop(id);
        if dpdk_sys::rte_eth_dev_info_get(id, &mut info) == 0 && !info.device.is_null() {
            if dpdk_sys::rte_dev_remove(info.device) == 0 {
                return;
            }
            tracing::warn!("port {id}: rte_dev_remove failed: {}", last_error());
        }
        dpdk_sys::rte_eth_dev_close(id);
    }
}

pub fn set_mtu(id: u16, mtu: u16) -> Result<(), PortError> {
    // SAFETY: valid port id.
    let ret = unsafe { dpdk_sys::rte_eth_dev_set_mtu(id, mtu) };
    match ret {
        0 => Ok(()),
        r if r == -libc::ENOTSUP => Ok(()),
        r => Err(PortError::Mtu {
            mtu,
            why: errno_text(r),
        }),
    }
}

pub fn info(id: u16) -> PortInfo {
    let mut out = PortInfo::default();
    let mut info = dpdk_sys::rte_eth_dev_info::default();
    let mut link = dpdk_sys::rte_eth_link::default();
    let mut mac = dpdk_sys::rte_ether_addr::default();
    // SAFETY: valid port id and out structs; driver_name is a static C string.
    unsafe {
        if dpdk_sys::rte_eth_dev_info_get(id, &mut info) == 0 && !info.driver_name.is_null() {
            out.driver = CStr::from_ptr(info.driver_name)
                .to_string_lossy()
                .into_owned();
        }
        if dpdk_sys::rte_eth_link_get_nowait(id, &mut link) == 0 {
            out.link_up = link.link_status() != 0;
            out.link_speed_mbps = link.link_speed;
        }
        if dpdk_sys::rte_eth_macaddr_get(id, &mut mac) == 0 {
            out.mac = mac.addr_bytes;
        }
    }
    out
}

pub fn stats(id: u16) -> HwStats {
    let mut s = dpdk_sys::rte_eth_stats::default();
    // SAFETY: valid port id and out struct.
    if unsafe { dpdk_sys::rte_eth_stats_get(id, &mut s) } != 0 {
        return HwStats::default();
    }
    HwStats {
        ipackets: s.ipackets,
        opackets: s.opackets,
        ibytes: s.ibytes,
        obytes: s.obytes,
        imissed: s.imissed,
        ierrors: s.ierrors,
        oerrors: s.oerrors,
        rx_nombuf: s.rx_nombuf,
    }
}

/// The driver's extended counters, by name (non-zero ones only).
pub fn xstats(id: u16) -> Vec<(String, u64)> {
    // SAFETY: a null buffer asks for the count; then both arrays are sized to it.
    unsafe {
        let n = dpdk_sys::rte_eth_xstats_get(id, std::ptr::null_mut(), 0);
        if n <= 0 {
            return Vec::new();
        }
        let n = n as usize;
        let mut names = vec![dpdk_sys::rte_eth_xstat_name::default(); n];
        let mut values = vec![dpdk_sys::rte_eth_xstat::default(); n];
        let got_names = dpdk_sys::rte_eth_xstats_get_names(id, names.as_mut_ptr(), n as u32);
        let got = dpdk_sys::rte_eth_xstats_get(id, values.as_mut_ptr(), n as u32);
        if got_names < 0 || got < 0 {
            return Vec::new();
        }
        values
            .iter()
            .take(got as usize)
            .filter(|v| v.value != 0)
            .filter_map(|v| {
                let name = names.get(v.id as usize)?;
                let s = CStr::from_ptr(name.name.as_ptr())
                    .to_string_lossy()
                    .into_owned();
                Some((s, v.value))
            })
            .collect()
    }
}
