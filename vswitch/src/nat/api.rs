//! NAT's control handlers: SNAT rules and floating IPs (add, delete, list), the bindings of
//! translated connections, and the services with their backends.

use std::sync::atomic::Ordering;

use super::bindings::Binding;
use super::health::BackendHealth;
use super::service::parse_addr;
use crate::config::manager::ConfigManager;
use crate::model::error::{ConfigError, Result};
use crate::model::{Backend, FloatingIp, Service, Snat};
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

pub fn add_service(mgr: &ConfigManager, svc: Service, exist_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        if let Some(old) = m.services.iter().find(|s| s.name == svc.name) {
            return match exist_ok && *old == svc {
                true => Ok(()),
                false => Err(ConfigError::AlreadyExists(format!(
                    "service {}: already exists; change its backends with `vsctl service backend`",
                    svc.name
                ))),
            };
        }
        m.services.push(svc);
        Ok(())
    })
    .map(|_| ())
}

pub fn delete_service(mgr: &ConfigManager, name: &str, missing_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        let before = m.services.len();
        m.services.retain(|s| s.name != name);
        match m.services.len() < before || missing_ok {
            true => Ok(()),
            false => Err(ConfigError::NotFound(format!(
                "service {name}: no such service"
            ))),
        }
    })
    .map(|_| ())
}

/// What `service backend` does to one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendOp {
    Add,
    Delete,
    Drain,
    Undrain,
}

/// Adds, removes, drains or undrains backend `b` of service `name`.
pub fn edit_backend(
    mgr: &ConfigManager,
    name: &str,
    op: BackendOp,
    b: Backend,
    (exist_ok, missing_ok): (bool, bool),
) -> Result<()> {
    mgr.apply(|m| {
        let svc = m
            .services
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| ConfigError::NotFound(format!("service {name}: no such service")))?;
        let at = svc.backends.iter().position(|x| x.addr == b.addr);
        let missing = || {
            ConfigError::NotFound(format!(
                "service {name}: no backend {}; add it with `vsctl service backend add`",
                b.addr
            ))
        };
        match (op, at) {
            (BackendOp::Add, Some(i)) if exist_ok && svc.backends[i] == b => {}
            (BackendOp::Add, Some(_)) => {
                return Err(ConfigError::AlreadyExists(format!(
                    "service {name}: backend {} already exists",
                    b.addr
                )))
            }
            (BackendOp::Add, None) => svc.backends.push(b),
            (BackendOp::Delete, Some(i)) => {
                svc.backends.remove(i);
            }
            (BackendOp::Delete, None) if missing_ok => {}
            (_, None) => return Err(missing()),
            (BackendOp::Drain, Some(i)) => svc.backends[i].drained = true,
            (BackendOp::Undrain, Some(i)) => svc.backends[i].drained = false,
        }
        Ok(())
    })
    .map(|_| ())
}

/// A backend with what the switch knows of it now.
pub struct BackendView {
    pub backend: Backend,
    pub health: Option<BackendHealth>,
    pub share: f64,
    pub sessions: usize,
}

/// A service with its backends' state.
pub struct ServiceView {
    pub service: Service,
    pub backends: Vec<BackendView>,
    pub sessions: usize,
}

/// The services (or the one named), each with its backends' health, share and sessions.
pub fn list_services(mgr: &ConfigManager, name: Option<&str>) -> Result<Vec<ServiceView>> {
    let (model, _) = mgr.model();
    let snap = mgr.snapshot_cell().load();
    let nat = &snap.tables.nat;
    let now = clock::now_secs();
    let mut sessions = nat.sessions.list(usize::MAX, now);
    sessions.extend(nat.sessions6.list(usize::MAX, now));
    if let Some(n) = name.filter(|n| !model.services.iter().any(|s| s.name == *n)) {
        return Err(ConfigError::NotFound(format!(
            "service {n}: no such service"
        )));
    }
    let views = model
        .services
        .into_iter()
        .filter(|s| name.is_none_or(|n| n == s.name))
        .map(|service| {
            let built = nat.services.list.iter().find(|e| e.name == service.name);
            let shares = built.map(|e| e.shares()).unwrap_or_default();
            let vip = built.map(|e| (e.vrf, e.proto, e.vip));
            let mine: Vec<_> = sessions
                .iter()
                .filter(|s| vip.is_some_and(|(_, p, v)| s.proto == p && s.vip == v))
                .collect();
            let backends = service
                .backends
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let addr = parse_addr(&b.addr);
                    BackendView {
                        backend: b.clone(),
                        health: addr.and_then(|a| nat.health.of(&service.name, a)),
                        share: shares.get(i).copied().unwrap_or(0.0),
                        sessions: mine.iter().filter(|s| Some(s.backend) == addr).count(),
                    }
                })
                .collect();
            ServiceView {
                sessions: mine.len(),
                service,
                backends,
            }
        })
        .collect();
    Ok(views)
}
