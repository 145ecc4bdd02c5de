//! The router's control handlers: the routes and the neighbors of each VRF, as the running
//! snapshot has them.

use std::net::IpAddr;

use crate::config::manager::ConfigManager;
use crate::datapath::Snapshot;
use crate::model::error::{ConfigError, Result};
use crate::packet::MacAddr;
use crate::pipeline::clock;

use super::build::vrf_of;
use super::table::Vrf;
use crate::model::{StaticNeighbor, StaticRoute};
use crate::packet::prefix::Prefix;

/// One route as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRow {
    pub vrf: String,
    pub prefix: Prefix,
    /// `connected` (a network's subnet), `local` (a gateway address), `static`.
    pub kind: &'static str,
    /// `network NAME` for connected and local routes, the next hops of a static one.
    pub via: String,
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
        .tables
        .router
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
    snap.topology
        .networks
        .get(usize::from(net))
        .map_or_else(|| format!("#{net}"), |n| n.name.to_string())
}

/// Routes of one VRF (or all), sorted by VRF then prefix: the subnets of its networks
/// (connected), its gateway addresses (local) and its static routes.
pub fn routes(mgr: &ConfigManager, vrf: Option<&str>) -> Result<Vec<RouteRow>> {
    let (model, _) = mgr.model();
    let snap = mgr.snapshot_cell().load();
    let shown: Vec<String> = vrfs(&snap, vrf)?
        .iter()
        .map(|v| v.name.to_string())
        .collect();
    let mut rows = Vec::new();
    for n in &model.networks {
        let Some(v) = vrf_of(n).filter(|v| shown.iter().any(|s| s == v)) else {
            continue;
        };
        let row = |prefix: Prefix, kind: &'static str| RouteRow {
            vrf: v.to_string(),
            prefix,
            kind,
            via: format!("network {}", n.name),
        };
        rows.extend(
            n.subnets
                .iter()
                .filter_map(|s| s.parse().ok())
                .map(|p| row(p, "connected")),
        );
        for g in n.gateways.iter().filter_map(|g| g.parse::<IpAddr>().ok()) {
            let host = Prefix::new(g, if g.is_ipv4() { 32 } else { 128 });
            rows.extend(host.map(|p| row(p, "local")));
        }
    }
    for r in model
        .routes
        .iter()
        .filter(|r| shown.iter().any(|s| s == r.vrf()))
    {
        if let Ok(prefix) = r.prefix.parse() {
            rows.push(RouteRow {
                vrf: r.vrf().to_string(),
                prefix,
                kind: "static",
                via: r.via.join(","),
            });
        }
    }
    rows.sort_by(|a, b| (&a.vrf, a.prefix, a.kind).cmp(&(&b.vrf, b.prefix, b.kind)));
    Ok(rows)
}

/// Adds a static route (`exist_ok`: an identical one may exist).
pub fn add_route(mgr: &ConfigManager, route: StaticRoute, exist_ok: bool) -> Result<()> {
    let route = normalized(route)?;
    mgr.apply(|m| {
        if let Some(existing) = m
            .routes
            .iter()
            .find(|r| r.vrf() == route.vrf() && r.prefix == route.prefix)
        {
            if exist_ok && existing.via == route.via {
                return Ok(());
            }
            return Err(ConfigError::AlreadyExists(format!(
                "route {} in vrf {}: already exists",
                route.prefix,
                route.vrf()
            )));
        }
        m.routes.push(route);
        Ok(())
    })
    .map(|_| ())
}

/// Deletes the static route of `prefix` in `vrf`.
pub fn delete_route(mgr: &ConfigManager, vrf: &str, prefix: &str, missing_ok: bool) -> Result<()> {
    let prefix = normalized(StaticRoute {
        vrf: None,
        prefix: prefix.to_string(),
        via: Vec::new(),
    })?
    .prefix;
    mgr.apply(|m| {
        let before = m.routes.len();
        m.routes.retain(|r| !(r.vrf() == vrf && r.prefix == prefix));
        if m.routes.len() == before && !missing_ok {
            return Err(ConfigError::NotFound(format!(
                "route {prefix} in vrf {vrf}: no such static route"
            )));
        }
        Ok(())
    })
    .map(|_| ())
}

/// Adds a static neighbor (`exist_ok`: an identical one may exist).
pub fn add_neighbor(mgr: &ConfigManager, entry: StaticNeighbor, exist_ok: bool) -> Result<()> {
    let entry = StaticNeighbor {
        ip: canonical_ip(&entry.ip, &entry.network)?,
        mac: entry
            .mac
            .parse::<MacAddr>()
            .map(|m| m.to_string())
            .unwrap_or(entry.mac),
        ..entry
    };
    mgr.apply(|m| {
        if let Some(existing) = m
            .neighbors
            .iter()
            .find(|e| e.network == entry.network && e.ip == entry.ip)
        {
            if exist_ok && *existing == entry {
                return Ok(());
            }
            return Err(ConfigError::AlreadyExists(format!(
                "neighbor {} in network {}: already exists",
                entry.ip, entry.network
            )));
        }
        m.neighbors.push(entry);
        Ok(())
    })
    .map(|_| ())
}

/// Deletes the static neighbor `ip` of `network`.
pub fn delete_neighbor(
    mgr: &ConfigManager,
    network: &str,
    ip: &str,
    missing_ok: bool,
) -> Result<()> {
    let ip = canonical_ip(ip, network)?;
    mgr.apply(|m| {
        let before = m.neighbors.len();
        m.neighbors
            .retain(|e| !(e.network == network && e.ip == ip));
        if m.neighbors.len() == before && !missing_ok {
            return Err(ConfigError::NotFound(format!(
                "neighbor {ip} in network {network}: no such static neighbor"
            )));
        }
        Ok(())
    })
    .map(|_| ())
}

fn canonical_ip(ip: &str, network: &str) -> Result<String> {
    ip.parse::<IpAddr>().map(|a| a.to_string()).map_err(|_| {
        ConfigError::Invalid(format!(
            "neighbor {ip:?} in network {network}: not an IP address"
        ))
    })
}

/// The route with its prefix in canonical form (host bits cleared), so that one route has one
/// spelling in the model.
fn normalized(route: StaticRoute) -> Result<StaticRoute> {
    let prefix: Prefix = route.prefix.parse().map_err(|()| {
        ConfigError::Invalid(format!(
            "route {:?}: the prefix is not a CIDR (like 203.0.113.0/24 or 0.0.0.0/0)",
            route.prefix
        ))
    })?;
    Ok(StaticRoute {
        prefix: prefix.to_string(),
        ..route
    })
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
