//! The compiled rule set of a snapshot: which rule decides a new connection.
//!
//! The first rule in evaluation order (priority, then as added) that matches decides, found by
//! tuple-space search (`tuple_space`). Only the first packet of a connection gets here:
//! established traffic is admitted by connection tracking.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::open_pairs::OpenPairs;
use super::rule::{Action, Rule};
use super::tuple_space::TupleSpace;
use crate::pipeline::snapshot::NetIdx;

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
    /// ICMP or ICMPv6 type (0 for other protocols).
    pub icmp_type: u8,
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
    space: TupleSpace,
    hits: Vec<Arc<RuleHits>>,
    /// Network pairs whose first matching rule is, for every packet, a stateless allow of
    /// everything: they pass without being read.
    open_pairs: OpenPairs,
    /// Bumped by every publish that changed the rules: connections opened under an older
    /// generation are checked again (see the conntrack stage).
    pub generation: u32,
}

impl Classifier {
    /// `hits(name)` gives each rule its (possibly existing) counter.
    pub fn new(rules: Vec<Rule>, generation: u32, hits: impl Fn(&str) -> Arc<RuleHits>) -> Self {
        let hits = rules.iter().map(|r| hits(&r.name)).collect();
        let open_pairs = open_pairs(&rules);
        Classifier {
            space: TupleSpace::build(&rules),
            rules,
            hits,
            open_pairs,
            generation,
        }
    }

    /// Every packet from network `from` to `to` passes: no need to read it.
    #[inline]
    pub fn pair_is_open(&self, from: NetIdx, to: NetIdx) -> bool {
        self.open_pairs.contains(from, to)
    }

    /// The index of the rule that decides `q`, or `None` (no rule: denied between networks).
    #[inline]
    pub fn classify(&self, q: &Query) -> Option<usize> {
        self.space.lookup(q)
    }

    /// Distinct rule shapes (the tuple-space groups a lookup may probe).
    pub fn shapes(&self) -> usize {
        self.space.groups()
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

/// The network pairs a stateless allow-everything rule decides alone: no rule before it can
/// match any packet of the pair (one naming another network on a side, or a narrower
/// protocol, can only match fewer packets; a CIDR side may match some).
fn open_pairs(rules: &[Rule]) -> OpenPairs {
    use super::rule::{Proto, Side};
    let mut open = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let (Side::Network(from), Side::Network(to)) = (&r.from, &r.to) else {
            continue;
        };
        let everything = r.l4.proto == Proto::Any && r.l4.ports == (0, u16::MAX);
        if r.action != Action::Allow || r.stateful || !everything {
            continue;
        }
        let may_match = |s: &Side, net: NetIdx| match s {
            Side::Network(n) => *n == net,
            Side::Cidr(_) | Side::Group(_) => true,
        };
        let shadowed = rules[..i]
            .iter()
            .any(|e| may_match(&e.from, *from) && may_match(&e.to, *to));
        if !shadowed {
            open.push((*from, *to));
        }
    }
    OpenPairs::new(&open)
}

#[cfg(test)]
mod tests {
    use super::super::rule::{Group, Proto, Side, L4};
    use super::*;
    use crate::model::Model;
    use crate::packet::prefix::Prefix;
    use proptest::prelude::*;

    /// Addresses from a small space, so that random rules and packets meet.
    fn addr(v6: bool, host: u8) -> IpAddr {
        if v6 {
            IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(host)])
        } else {
            IpAddr::from([198, 51, 100, host])
        }
    }

    fn side() -> impl Strategy<Value = Side> {
        let prefix = (any::<bool>(), any::<u8>(), 0u8..=8).prop_map(|(v6, host, short)| {
            let a = addr(v6, host);
            Prefix::new(a, if v6 { 128 } else { 32 } - short).unwrap()
        });
        prop_oneof![
            (0u16..3).prop_map(Side::Network),
            prefix.clone().prop_map(Side::Cidr),
            proptest::collection::vec(prefix, 1..4).prop_map(|prefixes| Side::Group(Arc::new(
                Group {
                    name: "g".into(),
                    prefixes
                }
            ))),
        ]
    }

    fn rule() -> impl Strategy<Value = Rule> {
        let proto = prop_oneof![
            Just(Proto::Any),
            Just(Proto::Tcp),
            Just(Proto::Udp),
            Just(Proto::Icmp)
        ];
        (side(), side(), proto, 0u16..40, 0u16..40, 0u8..4, 0u32..3).prop_map(
            |(from, to, proto, a, b, t, priority)| {
                let ports = if proto.has_ports() {
                    (a.min(b), a.max(b))
                } else {
                    (0, u16::MAX)
                };
                Rule {
                    name: "r".into(),
                    from,
                    to,
                    l4: L4 {
                        proto,
                        ports,
                        icmp_type: (proto == Proto::Icmp && t > 0).then_some(t),
                    },
                    action: Action::Allow,
                    stateful: true,
                    priority,
                    log: false,
                }
            },
        )
    }

    fn query() -> impl Strategy<Value = Query> {
        let proto = prop_oneof![Just(6u8), Just(17), Just(1), Just(58), Just(47)];
        (
            (0u16..3, 0u16..3),
            (any::<bool>(), any::<u8>(), any::<u8>()),
            proto,
            0u16..40,
            0u8..4,
        )
            .prop_map(
                |((from_net, to_net), (v6, s, d), proto, dport, icmp_type)| Query {
                    from_net,
                    to_net,
                    src: addr(v6, s),
                    dst: addr(v6, d),
                    proto,
                    dport,
                    icmp_type,
                },
            )
    }

    proptest! {
        #[test]
        fn tuple_space_finds_the_first_rule_that_matches(
            mut rules in proptest::collection::vec(rule(), 0..40),
            queries in proptest::collection::vec(query(), 1..60),
        ) {
            rules.sort_by_key(|r| r.priority);
            let c = Classifier::new(rules.clone(), 1, |_| Arc::default());
            for q in &queries {
                prop_assert_eq!(c.classify(q), rules.iter().position(|r| r.matches(q)), "{:?}", q);
            }
        }
    }

    fn classifier(policies: &str) -> Classifier {
        let m = Model::parse(
            "json",
            &format!(
                r#"{{"networks":[{{"name":"a"}},{{"name":"b"}},{{"name":"c"}}],"policies":[{policies}]}}"#
            ),
        )
        .unwrap();
        Classifier::new(super::super::rule::compile(&m), 1, |_| Arc::default())
    }

    #[test]
    fn open_pairs_are_only_those_no_earlier_rule_can_touch() {
        let c = classifier(
            r#"{"name":"ab","from":"a","to":"b","action":"allow","stateless":true},
               {"name":"cb-ssh","from":"c","to":"b","proto":"tcp","ports":"22","action":"deny"},
               {"name":"cb","from":"c","to":"b","action":"allow","stateless":true},
               {"name":"ba","from":"b","to":"a","action":"allow"},
               {"name":"net","from":"a","to":"198.51.100.0/24","action":"deny"},
               {"name":"ac","from":"a","to":"c","action":"allow","stateless":true}"#,
        );
        assert!(c.pair_is_open(0, 1), "a -> b");
        assert!(!c.pair_is_open(2, 1), "c -> b: the ssh deny comes first");
        assert!(!c.pair_is_open(1, 0), "b -> a is stateful");
        assert!(
            !c.pair_is_open(0, 2),
            "a -> c: a CIDR rule before it may match"
        );
    }
}
