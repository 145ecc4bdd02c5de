//! Turns a model port into a DPDK device: devargs per port type, checks that give a precise
//! error before DPDK is asked, and the queue layout the workers need.

use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::mempool::Mempool;
use super::port::{self, PortConfig};
use super::vhost;
use crate::config::build::PortDevice;
use crate::config::manager::PortBackend;
use crate::model::error::DeviceError;
use crate::model::{Port, PortType};

/// Unique suffix for vdev names (DPDK matches drivers by name prefix, so names must be unique).
static NEXT_VDEV: AtomicU32 = AtomicU32::new(0);

pub struct DpdkBackend {
    pool: Arc<Mempool>,
    workers: u16,
}

impl DpdkBackend {
    pub fn new(pool: Arc<Mempool>, workers: usize) -> Self {
        DpdkBackend {
            pool,
            workers: u16::try_from(workers.max(1)).unwrap_or(1),
        }
    }

    /// The DPDK attach request for `p`.
    pub fn port_config(&self, p: &Port) -> Result<PortConfig, DeviceError> {
        let seq = NEXT_VDEV.fetch_add(1, Ordering::Relaxed);
        let queues = p.queues();
        // Every worker needs a TX queue of its own on every port.
        let txq = self.workers;
        let err = |reason: String| DeviceError {
            port: p.name.clone(),
            reason,
        };
        let (devargs, name, rxq) = match p.kind {
            PortType::Tap => {
                let iface = p.iface.as_deref().unwrap_or_default();
                if Path::new("/sys/class/net").join(iface).exists() {
                    return Err(err(format!(
                        "interface {iface} already exists; a tap port creates its interface (use --type af-packet to attach to an existing one)"
                    )));
                }
                let name = format!("net_tap_vs{seq}");
                (format!("{name},iface={iface}"), name, queues)
            }
            PortType::AfPacket => {
                let iface = p.iface.as_deref().unwrap_or_default();
                if !Path::new("/sys/class/net").join(iface).exists() {
                    return Err(err(format!(
                        "interface {iface} does not exist; create it first, or use --type tap to have one made"
                    )));
                }
                // Every queue pair's socket receives (fanout), so every one must be polled.
                let pairs = queues.max(txq);
                let name = format!("net_af_packet_vs{seq}");
                (format!("{name},iface={iface},qpairs={pairs}"), name, pairs)
            }
            PortType::VhostUser | PortType::VhostUserClient => {
                let path = p.path.as_deref().unwrap_or_default();
                let client = p.kind == PortType::VhostUserClient;
                // sun_path holds 108 bytes with the terminating NUL.
                if path.len() > 107 {
                    return Err(err(format!(
                        "socket path {path} is {} bytes long, more than a Unix socket path can hold (107); use a shorter path",
                        path.len()
                    )));
                }
                if client {
                    // The server may come later (the port keeps retrying), but a path that
                    // exists must be a socket.
                    if let Ok(meta) = Path::new(path).metadata() {
                        if !meta.file_type().is_socket() {
                            return Err(err(format!(
                                "{path} is not a socket; give the path of the server's vhost-user socket"
                            )));
                        }
                    }
                } else {
                    clear_stale_socket(path).map_err(err)?;
                    let dir = Path::new(path).parent().unwrap_or(Path::new("/"));
                    if !dir.is_dir() {
                        return Err(err(format!(
                            "directory {} of the socket path does not exist; create it first",
                            dir.display()
                        )));
                    }
                }
                let qs = queues.max(txq);
                let name = format!("net_vhost_vs{seq}");
                (
                    format!(
                        "{name},iface={path},queues={qs},client={}",
                        u8::from(client)
                    ),
                    name,
                    qs,
                )
            }
            PortType::Pci => {
                let bdf = p.pci.as_deref().unwrap_or_default();
                let full = if bdf.matches(':').count() == 1 {
                    format!("0000:{bdf}")
                } else {
                    bdf.to_string()
                };
                if !Path::new("/sys/bus/pci/devices").join(&full).exists() {
                    return Err(err(format!(
                        "no PCI device at {full}; check the address with lspci"
                    )));
                }
                (full.clone(), full, queues)
            }
            PortType::Vdev => {
                let devargs = p.devargs.clone().unwrap_or_default();
                let name = devargs.split(',').next().unwrap_or_default().to_string();
                (devargs, name, queues)
            }
        };
        Ok(PortConfig {
            devargs,
            name,
            rx_queues: rxq,
            tx_queues: txq,
            mtu: p.mtu(),
        })
    }
}

impl PortBackend for DpdkBackend {
    fn create(&mut self, p: &Port) -> Result<PortDevice, DeviceError> {
        let cfg = self.port_config(p)?;
        let hint = match p.kind {
            PortType::Pci => "; is the NIC bound to vfio-pci (dpdk-devbind.py -b vfio-pci BDF)?",
            PortType::Vdev => "; check the driver name (a DPDK net_* driver) and its arguments",
            _ => "",
        };
        let device = |reason: String| DeviceError {
            port: p.name.clone(),
            reason,
        };
        let eth = port::attach(&cfg, &self.pool).map_err(|e| device(format!("{e}{hint}")))?;
        if matches!(p.kind, PortType::VhostUser | PortType::VhostUserClient) {
            if let Err(e) = vhost::watch(eth.id, p.path.as_deref().unwrap_or_default()) {
                port::detach(eth.id);
                return Err(device(e.to_string()));
            }
        }
        tracing::info!(
            "port {}: attached {} as DPDK port {} ({} RX / {} TX queues)",
            p.name,
            cfg.devargs,
            eth.id,
            eth.rx_queues,
            eth.tx_queues
        );
        Ok(PortDevice {
            id: eth.id,
            rx_queues: eth.rx_queues,
            tx_queues: eth.tx_queues,
        })
    }

    fn destroy(&mut self, name: &str, dev: PortDevice) {
        vhost::unwatch(dev.id);
        port::detach(dev.id);
        tracing::info!("port {name}: detached DPDK port {}", dev.id);
    }

    fn set_mtu(&mut self, p: &Port, dev: PortDevice) -> Result<(), DeviceError> {
        port::set_mtu(dev.id, p.mtu()).map_err(|e| DeviceError {
            port: p.name.clone(),
            reason: e.to_string(),
        })
    }
}

/// A server socket path must be free. A socket nobody listens on is what a killed vswitchd
/// leaves behind: it is removed, so that the port comes back on restart. Anything else at the
/// path is refused.
fn clear_stale_socket(path: &str) -> Result<(), String> {
    let Ok(meta) = Path::new(path).symlink_metadata() else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(format!(
            "{path} exists and is not a socket; remove it or pick another --path"
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(format!(
            "socket path {path} is in use (another process listens on it); pick another --path"
        )),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot remove the stale socket {path}: {e}"))?;
            tracing::info!("removed stale vhost-user socket {path}");
            Ok(())
        }
        Err(e) => Err(format!("cannot use socket path {path}: {e}")),
    }
}
