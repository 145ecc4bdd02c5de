//! The firewall's control handlers: policies and address groups (kept in the model), the
//! firewall log and the connection table (live in the running snapshot).

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use crate::config::manager::ConfigManager;
use crate::firewall::conntrack::{Conn, ConnKey};
use crate::firewall::log::LogEntry;
use crate::model::edit::{add_named, remove_named};
use crate::model::error::{ConfigError, Result};
use crate::model::{AddressGroup, Policy, SecurityGroup, SecurityRule};
use crate::pipeline::clock;

/// A policy with how many connections (or stateless packets) it decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub policy: Policy,
    pub hits: u64,
}

/// Policies in evaluation order.
pub fn policies(mgr: &ConfigManager) -> Vec<PolicyRow> {
    let (model, _) = mgr.model();
    let snap = mgr.snapshot_cell().load();
    let classifier = &snap.tables.firewall.classifier;
    let index: std::collections::HashMap<&str, usize> = classifier
        .rules()
        .iter()
        .enumerate()
        .map(|(i, r)| (&*r.name, i))
        .collect();
    let mut rows: Vec<PolicyRow> = model
        .policies
        .iter()
        .map(|p| PolicyRow {
            policy: p.clone(),
            hits: index
                .get(p.name.as_str())
                .map_or(0, |&i| classifier.hits(i)),
        })
        .collect();
    rows.sort_by_key(|r| r.policy.priority());
    rows
}

pub fn add_policy(mgr: &ConfigManager, policy: Policy, exist_ok: bool) -> Result<()> {
    mgr.apply(|m| add_named(&mut m.policies, policy, |p| &p.name, "policy", exist_ok))
        .map(|_| ())
}

pub fn delete_policy(mgr: &ConfigManager, name: &str, missing_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        remove_named(&mut m.policies, name, |p| &p.name, "policy", missing_ok).map(|_| ())
    })
    .map(|_| ())
}

pub fn groups(mgr: &ConfigManager) -> Vec<AddressGroup> {
    mgr.model().0.groups.clone()
}

/// Adds `group`, or replaces the ranges of the group of that name when `replace`.
pub fn set_group(
    mgr: &ConfigManager,
    group: AddressGroup,
    replace: bool,
    exist_ok: bool,
) -> Result<()> {
    mgr.apply(|m| {
        match m.groups.iter_mut().find(|g| g.name == group.name) {
            Some(g) if replace => g.cidrs = group.cidrs.clone(),
            Some(g) if exist_ok && *g == group => {}
            Some(_) => {
                return Err(ConfigError::AlreadyExists(format!(
                    "group {}: already exists; use group set to change its ranges",
                    group.name
                )))
            }
            None if replace => {
                return Err(ConfigError::NotFound(format!(
                    "group {}: does not exist; add it first",
                    group.name
                )))
            }
            None => m.groups.push(group.clone()),
        }
        Ok(())
    })
    .map(|_| ())
}

pub fn delete_group(mgr: &ConfigManager, name: &str, missing_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        if let Some(p) = m.policies.iter().find(|p| p.from == name || p.to == name) {
            return Err(ConfigError::Precondition(format!(
                "group {name}: policy {} names it; delete that policy first",
                p.name
            )));
        }
        for g in &m.security_groups {
            if let Some(i) = g
                .rules
                .iter()
                .position(|r| r.remote.as_deref() == Some(name))
            {
                return Err(ConfigError::Precondition(format!(
                    "group {name}: security group {} rule {} names it; delete that rule first",
                    g.name,
                    i + 1
                )));
            }
        }
        remove_named(&mut m.groups, name, |g| &g.name, "group", missing_ok).map(|_| ())
    })
    .map(|_| ())
}

pub fn security_groups(mgr: &ConfigManager) -> Vec<SecurityGroup> {
    mgr.model().0.security_groups.clone()
}

pub fn add_security_group(mgr: &ConfigManager, name: &str, exist_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        if m.security_group(name).is_some() {
            return match exist_ok {
                true => Ok(()),
                false => Err(ConfigError::AlreadyExists(format!(
                    "security group {name}: already exists"
                ))),
            };
        }
        m.security_groups.push(SecurityGroup {
            name: name.to_string(),
            rules: Vec::new(),
        });
        Ok(())
    })
    .map(|_| ())
}

pub fn delete_security_group(mgr: &ConfigManager, name: &str, missing_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        if let Some(p) = m
            .ports
            .iter()
            .find(|p| p.security_groups.iter().any(|g| g == name))
        {
            return Err(ConfigError::Precondition(format!(
                "security group {name}: port {} uses it; take it off the port first",
                p.name
            )));
        }
        remove_named(
            &mut m.security_groups,
            name,
            |g| &g.name,
            "security group",
            missing_ok,
        )
        .map(|_| ())
    })
    .map(|_| ())
}

/// Edits security group `name` with `edit`; returns the group as it ends up.
fn edit_security_group(
    mgr: &ConfigManager,
    name: &str,
    edit: impl FnOnce(&mut SecurityGroup) -> Result<()>,
) -> Result<SecurityGroup> {
    let mut result = None;
    mgr.apply(|m| {
        let g = m
            .security_groups
            .iter_mut()
            .find(|g| g.name == name)
            .ok_or_else(|| {
                ConfigError::NotFound(format!("security group {name}: does not exist"))
            })?;
        edit(g)?;
        result = Some(g.clone());
        Ok(())
    })?;
    result.ok_or_else(|| ConfigError::NotFound(format!("security group {name}: does not exist")))
}

pub fn add_security_rule(
    mgr: &ConfigManager,
    group: &str,
    rule: SecurityRule,
) -> Result<SecurityGroup> {
    edit_security_group(mgr, group, |g| {
        g.rules.push(rule);
        Ok(())
    })
}

/// Deletes rule `index` (from 1, as `show` numbers them) of `group`.
pub fn delete_security_rule(
    mgr: &ConfigManager,
    group: &str,
    index: usize,
) -> Result<SecurityGroup> {
    edit_security_group(mgr, group, |g| {
        if index == 0 || index > g.rules.len() {
            return Err(ConfigError::NotFound(format!(
                "security group {group}: has no rule {index}; it has {}",
                g.rules.len()
            )));
        }
        g.rules.remove(index - 1);
        Ok(())
    })
}

/// Puts `groups` on port `port` (none: the port is not filtered). The port keeps running.
pub fn set_port_security_groups(
    mgr: &ConfigManager,
    port: &str,
    groups: Vec<String>,
) -> Result<()> {
    mgr.apply(|m| {
        let p = m
            .ports
            .iter_mut()
            .find(|p| p.name == port)
            .ok_or_else(|| ConfigError::NotFound(format!("port {port}: does not exist")))?;
        p.security_groups = groups;
        Ok(())
    })
    .map(|_| ())
}

/// A logged decision as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    pub age_secs: u32,
    pub entry: LogEntry,
    pub from_network: String,
    pub to_network: String,
}

/// The newest `max` entries of the firewall log (oldest first) and how many were lost.
pub fn read_log(mgr: &ConfigManager, max: usize) -> (Vec<LogRow>, u64) {
    let snap = mgr.snapshot_cell().load();
    let now = clock::now_secs();
    let (entries, lost) = snap.tables.firewall.log.read(max);
    let rows = entries
        .into_iter()
        .map(|e| LogRow {
            age_secs: now.saturating_sub(e.at),
            from_network: network_name(&snap, e.from_net),
            to_network: network_name(&snap, e.to_net),
            entry: e,
        })
        .collect();
    (rows, lost)
}

fn network_name(snap: &crate::datapath::Snapshot, net: u16) -> String {
    snap.topology
        .networks
        .get(usize::from(net))
        .map_or_else(|| format!("#{net}"), |n| n.name.to_string())
}

/// One tracked connection as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnRow {
    pub vrf: String,
    pub proto: u8,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub state: &'static str,
    pub from_network: String,
    pub to_network: String,
    pub rule: String,
    pub age_secs: u32,
    pub idle_secs: u32,
    /// Original direction, then reply.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// For an ended connection (a flow record): seconds since it ended, and why (timeout,
    /// flush, policy).
    pub ended: Option<Ended>,
}

/// Seconds since a connection ended, and why.
pub type Ended = (u32, &'static str);

/// Which connections to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Live,
    /// The flow records of the latest ended ones, newest first.
    Ended,
}

/// Up to `max` live connections, or flow records of ended ones.
pub fn connections(mgr: &ConfigManager, max: usize, which: Which) -> Vec<ConnRow> {
    let snap = mgr.snapshot_cell().load();
    let now = clock::now_secs();
    let name = |net: u16| network_name(&snap, net);
    let vrf = |zone: u16| {
        snap.tables
            .router
            .vrfs
            .get(usize::from(zone))
            .map_or_else(|| format!("#{zone}"), |v| v.name.to_string())
    };
    let ct = &snap.tables.firewall.conntrack;
    let picked: Vec<(ConnKey, Conn, Option<Ended>)> = match which {
        Which::Live => ct
            .list(max)
            .into_iter()
            .map(|(k, c)| (k, c, None))
            .collect(),
        Which::Ended => ct
            .ended_flows(max)
            .into_iter()
            .map(|r| (r.key, r.conn, Some((now.saturating_sub(r.ended), r.why))))
            .collect(),
    };
    let mut rows: Vec<ConnRow> = picked
        .into_iter()
        .map(|(k, c, ended)| ConnRow {
            vrf: vrf(k.zone),
            proto: k.proto,
            src: c.orig_src(&k).ip(),
            sport: c.orig_src(&k).port,
            dst: c.orig_dst(&k).ip(),
            dport: c.orig_dst(&k).port,
            state: c.state.name(),
            from_network: name(c.from_net),
            to_network: name(c.to_net),
            rule: c.rule.to_string(),
            age_secs: now.saturating_sub(c.created),
            packets: c.packets,
            bytes: c.bytes,
            // An ended connection was idle from its last packet to its end.
            idle_secs: ended
                .map_or(now, |(ago, _)| now.saturating_sub(ago))
                .saturating_sub(c.last_seen),
            ended,
        })
        .collect();
    if which == Which::Live {
        rows.sort_by(|a, b| (&a.vrf, a.src, a.sport).cmp(&(&b.vrf, b.src, b.sport)));
    }
    rows
}

/// Ends every tracked connection (or those of one VRF); returns how many.
pub fn flush(mgr: &ConfigManager, vrf: Option<&str>) -> Result<usize> {
    let snap = mgr.snapshot_cell().load();
    let zone = match vrf {
        None => None,
        Some(name) => Some(
            snap.tables
                .router
                .vrfs
                .iter()
                .position(|v| *v.name == *name)
                .ok_or_else(|| ConfigError::NotFound(format!("vrf {name}: does not exist")))?
                as u16,
        ),
    };
    Ok(snap
        .tables
        .firewall
        .conntrack
        .flush(clock::now_secs(), zone))
}

/// The table's size, limit and lifetime counters, and each network's share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConntrackStats {
    pub connections: u32,
    pub limit: u32,
    pub created: u64,
    pub ended: u64,
    pub refused_full: u64,
    pub networks: Vec<NetworkConnections>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConnections {
    pub network: String,
    pub connections: u32,
    pub limit: Option<u32>,
    pub refused_full: u64,
}

pub fn stats(mgr: &ConfigManager) -> ConntrackStats {
    let snap = mgr.snapshot_cell().load();
    let ct = &snap.tables.firewall.conntrack;
    ConntrackStats {
        connections: ct.len(),
        limit: ct.limit(),
        created: ct.stats.created.load(Ordering::Relaxed),
        ended: ct.stats.ended.load(Ordering::Relaxed),
        refused_full: ct.stats.full.load(Ordering::Relaxed),
        networks: snap
            .topology
            .networks
            .iter()
            .zip(&snap.tables.firewall.nets)
            .map(|(n, f)| {
                let (connections, limit, refused_full) = ct.quota(f.conn_quota);
                NetworkConnections {
                    network: n.name.to_string(),
                    connections,
                    limit,
                    refused_full,
                }
            })
            .collect(),
    }
}
