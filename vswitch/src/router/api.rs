//! The router's control handlers: the routes and the neighbors of each VRF, as the running
//! snapshot has them.

use std::net::IpAddr;

use crate::config::error::{ConfigError, Result};
use crate::config::manager::ConfigManager;
use crate::config::snapshot::Snapshot;
use crate::packet::MacAddr;
use crate::pipeline::clock;

use super::prefix::Prefix;
use super::table::{Route, Vrf};

/// One route as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRow {
    pub vrf: String,
    pub prefix: Prefix,
    /// `connected` for a network's subnet.
    pub kind: &'static str,
    pub network: String,
}

/// One neighbor as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborRow {
    pub vrf: String,
    pub ip: IpAddr,
    pub mac: MacAddr,
    pub network: String,
    pub age_secs: u32,
}

/// The VRFs to show: all, or the one named (which must exist).
fn vrfs<'a>(snap: &'a Snapshot, vrf: Option<&str>) -> Result<Vec<&'a Vrf>> {
    let chosen: Vec<&Vrf> = snap
        .vrfs
        .iter()
        .filter(|v| vrf.is_none_or(|name| *v.name == *name))
        .collect();
    match vrf {
        Some(name) if chosen.is_empty() => Err(ConfigError::NotFound(format!(
            "vrf {name}: no network routes in it; give a network --subnet and --vrf {name}"
        ))),
        _ => Ok(chosen),
    }
}

fn network_name(snap: &Snapshot, net: u16) -> String {
    snap.networks
        .get(usize::from(net))
        .map_or_else(|| format!("#{net}"), |n| n.name.to_string())
}

/// Routes of one VRF (or all), sorted by VRF then prefix.
pub fn routes(mgr: &ConfigManager, vrf: Option<&str>) -> Result<Vec<RouteRow>> {
    let snap = mgr.snapshot_cell().load();
    let mut rows = Vec::new();
    for v in vrfs(&snap, vrf)? {
        for n in &snap.networks {
            let Some(gw) = &n.gateway else { continue };
            if *snap.vrfs[usize::from(gw.vrf)].name != *v.name {
                continue;
            }
            for p in &gw.subnets {
                let lpm = if p.is_ipv4() { &v.v4 } else { &v.v6 };
                if let Some(Route::Connected(net)) = lpm.lookup(super::prefix::bits(p.addr())) {
                    rows.push(RouteRow {
                        vrf: v.name.to_string(),
                        prefix: *p,
                        kind: "connected",
                        network: network_name(&snap, net),
                    });
                }
            }
        }
    }
    rows.sort_by(|a, b| (&a.vrf, a.prefix).cmp(&(&b.vrf, b.prefix)));
    Ok(rows)
}

/// Neighbors of one VRF (or all), sorted by VRF then address.
pub fn neighbors(mgr: &ConfigManager, vrf: Option<&str>) -> Result<Vec<NeighborRow>> {
    let snap = mgr.snapshot_cell().load();
    let now = clock::now_secs();
    let mut rows = Vec::new();
    for v in vrfs(&snap, vrf)? {
        for e in v.neighbors.entries() {
            rows.push(NeighborRow {
                vrf: v.name.to_string(),
                ip: e.ip,
                mac: e.mac,
                network: network_name(&snap, e.net),
                age_secs: now.saturating_sub(e.seen),
            });
        }
    }
    rows.sort_by(|a, b| (&a.vrf, a.ip).cmp(&(&b.vrf, b.ip)));
    Ok(rows)
}
