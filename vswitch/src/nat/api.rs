//! NAT's control handlers: SNAT rules and floating IPs (add, delete, list), and the bindings
//! of translated connections.

use std::sync::atomic::Ordering;

use super::bindings::Binding;
use crate::config::manager::ConfigManager;
use crate::model::error::{ConfigError, Result};
use crate::model::{FloatingIp, Snat};
use crate::pipeline::clock;

/// Most bindings a listing returns.
pub const LIST_MAX: usize = 10_000;

pub fn add_snat(mgr: &ConfigManager, rule: Snat, exist_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        if let Some(old) = m.snat.iter().find(|s| s.name == rule.name) {
            return match exist_ok && *old == rule {
                true => Ok(()),
                false => Err(ConfigError::AlreadyExists(format!(
                    "snat {}: already exists; delete it first to change it",
                    rule.name
                ))),
            };
        }
        m.snat.push(rule);
        Ok(())
    })
    .map(|_| ())
}

pub fn delete_snat(mgr: &ConfigManager, name: &str, missing_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        let before = m.snat.len();
        m.snat.retain(|s| s.name != name);
        match m.snat.len() < before || missing_ok {
            true => Ok(()),
            false => Err(ConfigError::NotFound(format!("snat {name}: no such rule"))),
        }
    })
    .map(|_| ())
}

/// A SNAT rule with what it holds now.
pub struct SnatView {
    pub rule: Snat,
    pub bindings: usize,
}

/// The rules, each with its bindings, and the connections refused for want of a port.
pub fn list_snat(mgr: &ConfigManager) -> (Vec<SnatView>, u64) {
    let (model, _) = mgr.model();
    let snap = mgr.snapshot_cell().load();
    let nat = &snap.tables.nat;
    let all = nat.bindings.list(usize::MAX, clock::now_secs());
    let views = model
        .snat
        .into_iter()
        .map(|rule| {
            let pool = nat.rules.iter().find(|r| r.name == rule.name);
            let bindings = pool.map_or(0, |p| {
                all.iter().filter(|b| p.pool.contains(b.outside.0)).count()
            });
            SnatView { rule, bindings }
        })
        .collect();
    (views, nat.bindings.exhausted.load(Ordering::Relaxed))
}

pub fn add_floating_ip(mgr: &ConfigManager, f: FloatingIp, exist_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        if let Some(old) = m.floating_ips.iter().find(|x| x.ip == f.ip) {
            return match exist_ok && *old == f {
                true => Ok(()),
                false => Err(ConfigError::AlreadyExists(format!(
                    "floating-ip {}: already used for {}; delete it first",
                    f.ip, old.endpoint
                ))),
            };
        }
        m.floating_ips.push(f);
        Ok(())
    })
    .map(|_| ())
}

pub fn delete_floating_ip(mgr: &ConfigManager, ip: &str, missing_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        let before = m.floating_ips.len();
        m.floating_ips.retain(|f| f.ip != ip);
        match m.floating_ips.len() < before || missing_ok {
            true => Ok(()),
            false => Err(ConfigError::NotFound(format!(
                "floating-ip {ip}: no such floating IP"
            ))),
        }
    })
    .map(|_| ())
}

pub fn list_floating_ips(mgr: &ConfigManager) -> Vec<FloatingIp> {
    mgr.model().0.floating_ips
}

/// Up to `LIST_MAX` bindings of translated connections.
pub fn bindings(mgr: &ConfigManager) -> Vec<Binding> {
    let snap = mgr.snapshot_cell().load();
    snap.tables.nat.bindings.list(LIST_MAX, clock::now_secs())
}
