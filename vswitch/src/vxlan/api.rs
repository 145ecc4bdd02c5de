//! The VTEP's control handlers: set or remove it, edit the flood lists, and show it as it
//! runs (its overlay MTU, networks, remote VTEPs and underlay neighbors).

use std::net::{IpAddr, Ipv4Addr};

use crate::config::manager::ConfigManager;
use crate::forwarding::Dest;
use crate::model::error::{ConfigError, Result};
use crate::model::{Vtep, VtepRemote};
use crate::packet::MacAddr;
use crate::pipeline::clock;

/// The VTEP's settings as `vsctl vtep set` gives them (its flood lists stay as they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VtepSettings {
    pub local_ip: String,
    pub port: String,
    pub gateway: Option<String>,
    pub udp_port: Option<u16>,
    pub learning: Option<bool>,
}

/// Sets (or replaces) the VTEP.
pub fn set(mgr: &ConfigManager, s: VtepSettings) -> Result<()> {
    mgr.apply(|m| {
        let remotes = m.vtep.take().map(|v| v.remotes).unwrap_or_default();
        m.vtep = Some(Vtep {
            local_ip: s.local_ip,
            port: s.port,
            gateway: s.gateway,
            udp_port: s.udp_port,
            learning: s.learning,
            remotes,
        });
        Ok(())
    })
    .map(|_| ())
}

/// Removes the VTEP (and its flood lists); the networks keep their VNIs.
pub fn delete(mgr: &ConfigManager, missing_ok: bool) -> Result<()> {
    mgr.apply(|m| match m.vtep.take() {
        Some(_) => Ok(()),
        None if missing_ok => Ok(()),
        None => Err(ConfigError::NotFound(
            "vtep: none is set; set one with `vsctl vtep set --local-ip CIDR --port PORT`".into(),
        )),
    })
    .map(|_| ())
}

fn no_vtep() -> ConfigError {
    ConfigError::Precondition(
        "vtep: none is set; set one first with `vsctl vtep set --local-ip CIDR --port PORT`".into(),
    )
}

/// Adds remote VTEP `ip` to the flood list of `vni`.
pub fn add_remote(mgr: &ConfigManager, ip: &str, vni: u32, exist_ok: bool) -> Result<()> {
    let remote = VtepRemote {
        ip: ip.to_string(),
        vni,
    };
    mgr.apply(|m| {
        let v = m.vtep.as_mut().ok_or_else(no_vtep)?;
        if v.remotes.contains(&remote) {
            return match exist_ok {
                true => Ok(()),
                false => Err(ConfigError::AlreadyExists(format!(
                    "vtep remote {ip} vni {vni}: already exists"
                ))),
            };
        }
        v.remotes.push(remote);
        Ok(())
    })
    .map(|_| ())
}

/// Removes remote VTEP `ip` from the flood list of `vni`, and forgets the MACs learned behind
/// it in that VNI's network.
pub fn delete_remote(mgr: &ConfigManager, ip: &str, vni: u32, missing_ok: bool) -> Result<()> {
    let mut removed = false;
    mgr.apply(|m| {
        let v = m.vtep.as_mut().ok_or_else(no_vtep)?;
        let before = v.remotes.len();
        v.remotes.retain(|r| !(r.ip == ip && r.vni == vni));
        removed = v.remotes.len() != before;
        match removed || missing_ok {
            true => Ok(()),
            false => Err(ConfigError::NotFound(format!(
                "vtep remote {ip} vni {vni}: does not exist"
            ))),
        }
    })?;
    if let (true, Ok(addr)) = (removed, ip.parse::<Ipv4Addr>()) {
        let (model, _) = mgr.model();
        let name = model
            .networks
            .iter()
            .find(|n| n.vni == Some(vni))
            .map(|n| n.name.clone());
        for (net, table) in mgr.fdb_tables() {
            if Some(&net) == name.as_ref() {
                table.flush_learned(Some(Dest::Remote(addr)));
            }
        }
    }
    Ok(())
}

/// A network of the overlay as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayNetwork {
    pub network: String,
    pub vni: u32,
    pub vlan: Option<u16>,
    /// Its flood list.
    pub remotes: Vec<Ipv4Addr>,
    /// MACs it knows behind remote VTEPs, learned or static.
    pub remote_macs: usize,
}

/// An underlay neighbor of the VTEP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnderlayNeighbor {
    pub ip: IpAddr,
    pub mac: MacAddr,
    pub age_secs: u32,
}

/// The VTEP as it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VtepView {
    pub settings: VtepSettings,
    pub mac: Option<MacAddr>,
    pub underlay_mtu: u16,
    /// The largest inner L2 payload that fits the underlay (0 until the port runs).
    pub overlay_mtu: usize,
    pub networks: Vec<OverlayNetwork>,
    pub neighbors: Vec<UnderlayNeighbor>,
}

pub fn show(mgr: &ConfigManager) -> Result<VtepView> {
    let (model, _) = mgr.model();
    let v = model.vtep.as_ref().ok_or_else(|| {
        ConfigError::NotFound(
            "vtep: none is set; set one with `vsctl vtep set --local-ip CIDR --port PORT`".into(),
        )
    })?;
    let snap = mgr.snapshot_cell().load();
    let running = snap.tables.vxlan.vtep.as_ref();
    let now = clock::now_secs();
    let t = &snap.tables;
    let networks = model
        .networks
        .iter()
        .zip(t.bridge.nets.iter().zip(&t.vxlan.nets))
        .filter_map(|(n, (bridged, entry))| {
            let vni = n.vni?;
            let remote_macs = bridged
                .fdb
                .entries()
                .iter()
                .filter(|e| matches!(e.dest, Dest::Remote(_)))
                .count();
            Some(OverlayNetwork {
                network: n.name.clone(),
                vni,
                vlan: n.vlan,
                remotes: entry.remotes.clone(),
                remote_macs,
            })
        })
        .collect();
    let neighbors = running
        .map(|r| {
            r.neighbors
                .entries()
                .into_iter()
                .map(|e| UnderlayNeighbor {
                    ip: e.ip,
                    mac: e.mac,
                    age_secs: now.saturating_sub(e.seen),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(VtepView {
        settings: VtepSettings {
            local_ip: v.local_ip.clone(),
            port: v.port.clone(),
            gateway: v.gateway.clone(),
            udp_port: Some(v.udp_port()),
            learning: Some(v.learning()),
        },
        mac: running.map(|r| r.mac),
        underlay_mtu: model.port(&v.port).map_or(0, |p| p.mtu()),
        overlay_mtu: running.map_or(0, |r| r.overlay_mtu()),
        networks,
        neighbors,
    })
}
