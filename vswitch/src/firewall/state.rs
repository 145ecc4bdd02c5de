//! What the firewall keeps across snapshots: the connection table, each rule's hit counter
//! (by policy name), and the generation of the rules, bumped when the policies change so
//! that established connections are checked against the new ones.

use std::collections::HashMap;
use std::sync::Arc;

use super::classifier::{Classifier, RuleHits};
use super::conntrack::{Conntrack, DEFAULT_LIMIT, QUOTAS};
use super::log::FirewallLog;
use super::rule;
use super::stage::Firewall;
use crate::model::{AddressGroup, Model, Policy, SecurityGroup};

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

    /// The firewall of a snapshot of `model` (after `sync`).
    pub fn build(&self, model: &Model) -> Firewall {
        let rules = rule::compile(model);
        let classifier = Classifier::new(rules, self.generation, |name| {
            self.hits.get(name).cloned().unwrap_or_default()
        });
        Firewall {
            classifier,
            conntrack: self.conntrack.clone(),
            keep_on_policy_change: model.conntrack.keep_on_policy_change,
            log: self.log.clone(),
            secured_ports: false,
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
