//! What the firewall keeps across snapshots: the connection table, each rule's hit counter
//! (by policy name), and the generation of the rules, bumped when the policies change so
//! that established connections are checked against the new ones.

use std::collections::HashMap;
use std::sync::Arc;

use super::classifier::{Classifier, RuleHits};
use super::conntrack::{Conntrack, DEFAULT_LIMIT, QUOTAS};
use super::log::FirewallLog;
use super::rule;
use super::security;
use super::stage::{Firewall, FirewallNet};
use crate::model::{vrf_names, vrf_of, AddressGroup, Model, Policy, SecurityGroup};
use crate::pipeline::snapshot::Topology;

#[derive(Debug, Default)]
pub struct FirewallState {
    pub conntrack: Arc<Conntrack>,
    pub log: Arc<FirewallLog>,
    hits: HashMap<String, Arc<RuleHits>>,
    policies: Vec<Policy>,
    groups: Vec<AddressGroup>,
    security_groups: Vec<SecurityGroup>,
    /// Ports and their security groups.
    attached: Vec<(String, Vec<String>)>,
    /// Each network's connection-table quota slot, kept for its lifetime.
    quotas: HashMap<String, u16>,
    next_quota: u16,
    generation: u32,
}

impl FirewallState {
    /// Follows a new model: the table's limit, counters for new policies, a new generation
    /// when the policies, groups or security groups (or the ports they are on) changed.
    pub fn sync(&mut self, model: &Model) {
        self.conntrack
            .set_limit(model.conntrack.limit.unwrap_or(DEFAULT_LIMIT));
        self.quotas
            .retain(|name, _| model.networks.iter().any(|n| n.name == *name));
        for n in &model.networks {
            let id = match self.quotas.get(&n.name) {
                Some(&id) => id,
                None => {
                    // Slots are handed out in turn (never 0), so that a new network does not
                    // inherit the connections of one just deleted.
                    self.next_quota = self.next_quota % (QUOTAS as u16 - 1) + 1;
                    self.quotas.insert(n.name.clone(), self.next_quota);
                    self.next_quota
                }
            };
            self.conntrack.set_quota_limit(id, n.conntrack_limit);
        }
        let names: std::collections::HashSet<&str> =
            model.policies.iter().map(|p| p.name.as_str()).collect();
        self.hits.retain(|name, _| names.contains(name.as_str()));
        for p in &model.policies {
            self.hits.entry(p.name.clone()).or_default();
        }
        let attached: Vec<(String, Vec<String>)> = model
            .ports
            .iter()
            .filter(|p| !p.security_groups.is_empty())
            .map(|p| (p.name.clone(), p.security_groups.clone()))
            .collect();
        if self.policies != model.policies
            || self.groups != model.groups
            || self.security_groups != model.security_groups
            || self.attached != attached
            || self.generation == 0
        {
            self.policies = model.policies.clone();
            self.groups = model.groups.clone();
            self.security_groups = model.security_groups.clone();
            self.attached = attached;
            self.generation = self.generation.wrapping_add(1);
        }
    }

    /// The firewall of a snapshot of `model` (after `sync`) over `topo`, its running ports and
    /// networks (in model order).
    pub fn build(&self, model: &Model, topo: &Topology) -> Firewall {
        let rules = rule::compile(model);
        let classifier = Classifier::new(rules, self.generation, |name| {
            self.hits.get(name).cloned().unwrap_or_default()
        });
        let vrfs = vrf_names(model);
        let nets = model
            .networks
            .iter()
            .enumerate()
            .map(|(i, n)| FirewallNet {
                isolated: n.isolated,
                conn_quota: self.quota_of(&n.name),
                zone: vrf_of(n)
                    .and_then(|v| vrfs.iter().position(|x| x == v))
                    .map_or(0x8000 | i as u16, |v| v as u16),
            })
            .collect();
        let mut groups = security::compile(model);
        let security: Vec<_> = topo
            .ports
            .iter()
            .map(|p| p.as_ref().and_then(|p| groups.remove(&*p.name)))
            .collect();
        Firewall {
            classifier,
            conntrack: self.conntrack.clone(),
            keep_on_policy_change: model.conntrack.keep_on_policy_change,
            log: self.log.clone(),
            secured_ports: security.iter().any(Option::is_some),
            nets,
            security,
        }
    }

    /// The connection-table quota slot of network `name` (0: none).
    pub fn quota_of(&self, name: &str) -> u16 {
        self.quotas.get(name).copied().unwrap_or(0)
    }

    /// Packets policy `name` has decided.
    pub fn hits(&self, name: &str) -> u64 {
        self.hits.get(name).map_or(0, |h| h.get())
    }
}
