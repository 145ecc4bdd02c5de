//! The DHCP servers' control handlers: the leases.

use crate::config::manager::ConfigManager;
use crate::model::error::{ConfigError, Result};

use super::server::{unix_now, Lease};

/// The leases of one network (or all), sorted by network then address.
pub fn leases(mgr: &ConfigManager, network: Option<&str>) -> Result<Vec<(String, Lease)>> {
    let snap = mgr.snapshot_cell().load();
    let servers = &snap.tables.dhcp.servers;
    let networks = || snap.topology.networks.iter().zip(servers);
    if let Some(name) = network {
        match networks().find(|(n, _)| *n.name == *name) {
            None => {
                return Err(ConfigError::NotFound(format!(
                    "network {name}: does not exist"
                )))
            }
            Some((_, None)) => {
                return Err(ConfigError::Precondition(format!(
                    "network {name}: has no DHCP server; add it with --dhcp"
                )))
            }
            Some(_) => {}
        }
    }
    let now = unix_now();
    let mut rows = Vec::new();
    for (n, srv) in networks().filter(|(n, _)| network.is_none_or(|x| *n.name == *x)) {
        let Some(srv) = srv else { continue };
        rows.extend(
            srv.leases
                .leases()
                .into_iter()
                .filter(|l| l.expires > now)
                .map(|l| (n.name.to_string(), l)),
        );
    }
    rows.sort_by(|a, b| (&a.0, a.1.ip).cmp(&(&b.0, b.1.ip)));
    Ok(rows)
}
