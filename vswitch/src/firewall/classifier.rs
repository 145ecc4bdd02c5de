//! The compiled rule set of a snapshot: which rule decides a new connection.
//!
//! Rules are tried in evaluation order (priority, then as added) and the first that matches
//! decides. Only the first packet of a connection gets here: established traffic is admitted
//! by connection tracking.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::rule::{Action, Rule};
use crate::config::snapshot::NetIdx;

/// What the classifier looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub from_net: NetIdx,
    pub to_net: NetIdx,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    /// Destination port (0 for protocols without ports).
    pub dport: u16,
}

/// Packets a rule decided, kept across snapshots by rule name so that a republish does not
/// reset them.
#[derive(Debug, Default)]
pub struct RuleHits(AtomicU64);

impl RuleHits {
    #[inline]
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Classifier {
    rules: Vec<Rule>,
    hits: Vec<Arc<RuleHits>>,
    /// Bumped by every publish that changed the rules: connections opened under an older
    /// generation are checked again (see the conntrack stage).
    pub generation: u64,
}

impl Classifier {
    /// `hits(name)` gives each rule its (possibly existing) counter.
    pub fn new(rules: Vec<Rule>, generation: u64, hits: impl Fn(&str) -> Arc<RuleHits>) -> Self {
        let hits = rules.iter().map(|r| hits(&r.name)).collect();
        Classifier {
            rules,
            hits,
            generation,
        }
    }

    /// The index of the rule that decides `q`, or `None` (no rule: denied between networks).
    #[inline]
    pub fn classify(&self, q: &Query) -> Option<usize> {
        self.rules.iter().position(|r| {
            r.proto.matches(q.proto)
                && (r.ports.0..=r.ports.1).contains(&q.dport)
                && r.from.matches(q.from_net, q.src)
                && r.to.matches(q.to_net, q.dst)
        })
    }

    #[inline]
    pub fn rule(&self, i: usize) -> &Rule {
        &self.rules[i]
    }

    /// Packets rule `i` decided so far.
    pub fn hits(&self, i: usize) -> u64 {
        self.hits.get(i).map_or(0, |h| h.get())
    }

    #[inline]
    pub fn hit(&self, i: usize) {
        if let Some(h) = self.hits.get(i) {
            h.add();
        }
    }

    /// The action for `q` and the rule that decided it.
    #[inline]
    pub fn decide(&self, q: &Query) -> Option<(usize, Action)> {
        self.classify(q).map(|i| (i, self.rules[i].action))
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}
