//! The bridge's control handlers: FDB listing, flushing and static entries.

use std::collections::HashMap;

use crate::config::manager::ConfigManager;
use crate::config::validate::parse_static_mac;
use crate::forwarding::Dest;
use crate::model::error::{ConfigError, Result};
use crate::model::StaticMac;
use crate::packet::MacAddr;
use crate::pipeline::clock;

/// One FDB row as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdbRow {
    pub network: String,
    pub mac: MacAddr,
    /// The local port (empty for a MAC behind a remote VTEP).
    pub port: String,
    /// The remote VTEP, for a MAC behind one.
    pub remote: Option<std::net::Ipv4Addr>,
    pub is_static: bool,
    pub age_secs: u32,
}

fn check_network(mgr: &ConfigManager, network: Option<&str>) -> Result<()> {
    if let Some(net) = network {
        if mgr.model().0.network(net).is_none() {
            return Err(ConfigError::NotFound(format!(
                "network {net}: does not exist"
            )));
        }
    }
    Ok(())
}

/// Entries of one network (or all), sorted by network then MAC.
pub fn list(mgr: &ConfigManager, network: Option<&str>) -> Result<Vec<FdbRow>> {
    check_network(mgr, network)?;
    let names: HashMap<u16, String> = mgr
        .devices()
        .into_iter()
        .map(|(name, dev)| (dev.id, name))
        .collect();
    let now = clock::now_secs();
    let mut rows = Vec::new();
    for (net, table) in mgr.fdb_tables() {
        if network.is_some_and(|n| n != net) {
            continue;
        }
        for e in table.entries() {
            rows.push(FdbRow {
                network: net.clone(),
                mac: e.mac,
                port: match e.dest {
                    Dest::Port(p) => names.get(&p).cloned().unwrap_or_else(|| format!("#{p}")),
                    Dest::Remote(_) => String::new(),
                },
                remote: match e.dest {
                    Dest::Remote(ip) => Some(ip),
                    Dest::Port(_) => None,
                },
                is_static: e.is_static,
                age_secs: if e.is_static {
                    0
                } else {
                    now.saturating_sub(e.seen)
                },
            });
        }
    }
    rows.sort_by(|a, b| (&a.network, a.mac).cmp(&(&b.network, b.mac)));
    Ok(rows)
}

/// Removes learned entries; static ones stay (delete them by MAC).
pub fn flush(mgr: &ConfigManager, network: Option<&str>) -> Result<u64> {
    check_network(mgr, network)?;
    Ok(mgr
        .fdb_tables()
        .iter()
        .filter(|(net, _)| network.is_none_or(|n| n == net))
        .map(|(_, t)| t.flush_learned(None) as u64)
        .sum())
}

pub fn add_static(mgr: &ConfigManager, entry: StaticMac, exist_ok: bool) -> Result<()> {
    let mac = parse_static_mac(&entry.mac)?;
    let entry = StaticMac {
        mac: mac.to_string(),
        ..entry
    };
    mgr.apply(|m| {
        if let Some(existing) = m
            .fdb
            .iter()
            .find(|e| e.network == entry.network && e.mac == entry.mac)
        {
            if exist_ok && *existing == entry {
                return Ok(());
            }
            return Err(ConfigError::AlreadyExists(format!(
                "fdb entry {}: already exists in network {}",
                entry.mac, entry.network
            )));
        }
        m.fdb.push(entry);
        Ok(())
    })
    .map(|_| ())
}

pub fn delete_static(
    mgr: &ConfigManager,
    network: &str,
    mac: &str,
    missing_ok: bool,
) -> Result<()> {
    let mac = parse_static_mac(mac)?;
    let text = mac.to_string();
    mgr.apply(|m| {
        let before = m.fdb.len();
        m.fdb.retain(|e| !(e.network == network && e.mac == text));
        if m.fdb.len() == before && !missing_ok {
            return Err(ConfigError::NotFound(format!(
                "fdb entry {text}: no static entry in network {network}"
            )));
        }
        Ok(())
    })
    .map(|_| ())
}
