//! A policy of the model as the datapath matches it: each side a network, a prefix or an
//! address group, the protocol, a destination port range or ICMP type, the action. Parsing here is also the policy's
//! validation: every error names the policy and the fix.

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use super::classifier::Query;
use super::error::RuleError;
use crate::model::{AddressGroup, Model, Policy};
use crate::packet::ipproto;
use crate::packet::prefix::Prefix;
use crate::pipeline::snapshot::NetIdx;

/// An address group as rules share it.
#[derive(Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub prefixes: Vec<Prefix>,
}

/// One side of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// The network the packet comes from (`from`) or goes to (`to`).
    Network(NetIdx),
    /// Any address in the prefix, whatever its network.
    Cidr(Prefix),
    /// Any address in any prefix of the group.
    Group(Arc<Group>),
}

impl Side {
    pub fn matches(&self, net: NetIdx, addr: IpAddr) -> bool {
        match self {
            Side::Network(n) => *n == net,
            Side::Cidr(p) => p.contains(addr),
            Side::Group(g) => g.prefixes.iter().any(|p| p.contains(addr)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Any,
    Tcp,
    Udp,
    Icmp,
}

impl Proto {
    /// Whether an IP packet of protocol `p` (ICMP or ICMPv6 for `Icmp`) matches.
    #[inline]
    pub fn matches(self, p: u8) -> bool {
        match self {
            Proto::Any => true,
            Proto::Tcp => p == ipproto::TCP,
            Proto::Udp => p == ipproto::UDP,
            Proto::Icmp => p == ipproto::ICMP || p == ipproto::ICMPV6,
        }
    }

    /// TCP and UDP rules can name destination ports.
    pub fn has_ports(self) -> bool {
        matches!(self, Proto::Tcp | Proto::Udp)
    }

    pub fn name(self) -> &'static str {
        match self {
            Proto::Any => "any",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    Deny,
    Reject,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
            Action::Reject => "reject",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Shared with the connections it admits (no allocation per connection).
    pub name: Arc<str>,
    pub from: Side,
    pub to: Side,
    pub l4: L4,
    pub action: Action,
    /// Allowed packets open a tracked connection (replies admitted by it).
    pub stateful: bool,
    pub priority: u32,
    /// Decisions are recorded in the firewall log.
    pub log: bool,
}

impl Rule {
    /// Whether the rule matches `q`, read field by field (what the tuple space must agree with).
    pub fn matches(&self, q: &Query) -> bool {
        self.l4.matches(q.proto, q.dport, q.icmp_type)
            && self.from.matches(q.from_net, q.src)
            && self.to.matches(q.to_net, q.dst)
    }
}

/// What a policy side can name: networks by snapshot index, address groups by name.
pub struct Names<'a> {
    pub networks: HashMap<&'a str, NetIdx>,
    pub groups: HashMap<&'a str, Arc<Group>>,
}

impl<'a> Names<'a> {
    /// The groups of `model` whose prefixes all parse (`validate` reports the others).
    pub fn of(model: &'a Model) -> Names<'a> {
        let groups = model
            .groups
            .iter()
            .filter_map(|g| {
                let prefixes = group_prefixes(g).ok()?;
                Some((
                    g.name.as_str(),
                    Arc::new(Group {
                        name: g.name.clone(),
                        prefixes,
                    }),
                ))
            })
            .collect();
        Names {
            networks: model.network_index(),
            groups,
        }
    }
}

fn group_prefixes(g: &AddressGroup) -> Result<Vec<Prefix>, RuleError> {
    if g.cidrs.is_empty() {
        return Err(RuleError::GroupEmpty(g.name.clone()));
    }
    g.cidrs
        .iter()
        .map(|c| {
            Prefix::from_str(c).map_err(|()| RuleError::GroupCidr {
                group: g.name.clone(),
                cidr: c.clone(),
            })
        })
        .collect()
}

/// A side naming a network, an address group or a CIDR; `owner` starts the error ("policy p").
pub(crate) fn side(
    owner: &str,
    field: &'static str,
    text: &str,
    names: &Names,
) -> Result<Side, RuleError> {
    if let Some(&n) = names.networks.get(text) {
        return Ok(Side::Network(n));
    }
    if let Some(g) = names.groups.get(text) {
        return Ok(Side::Group(g.clone()));
    }
    if text.contains('/') {
        return Prefix::from_str(text)
            .map(Side::Cidr)
            .map_err(|()| RuleError::SideCidr {
                owner: owner.to_string(),
                field,
                text: text.to_string(),
            });
    }
    Err(RuleError::SideUnknown {
        owner: owner.to_string(),
        field,
        text: text.to_string(),
    })
}

fn port_range(owner: &str, text: &str) -> Result<(u16, u16), RuleError> {
    let bad = || RuleError::PortRange {
        owner: owner.to_string(),
        text: text.to_string(),
    };
    let (lo, hi) = match text.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u16>(), b.trim().parse::<u16>()),
        None => (text.trim().parse::<u16>(), text.trim().parse::<u16>()),
    };
    match (lo, hi) {
        (Ok(lo), Ok(hi)) if lo <= hi => Ok((lo, hi)),
        _ => Err(bad()),
    }
}

/// What a rule matches beyond its sides: protocol, destination ports, ICMP type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L4 {
    pub proto: Proto,
    /// Inclusive destination port range (0-65535 when the rule names none).
    pub ports: (u16, u16),
    pub icmp_type: Option<u8>,
}

impl L4 {
    #[inline]
    pub fn matches(&self, proto: u8, dport: u16, icmp_type: u8) -> bool {
        self.proto.matches(proto)
            && (!self.proto.has_ports() || (self.ports.0..=self.ports.1).contains(&dport))
            && self.icmp_type.is_none_or(|t| t == icmp_type)
    }
}

/// Parses `--proto`, `--port` and `--icmp-type`; `owner` starts the error ("policy p").
pub(crate) fn l4(
    owner: &str,
    proto: Option<&str>,
    ports: Option<&str>,
    icmp_type: Option<u8>,
) -> Result<L4, RuleError> {
    let proto = match proto.unwrap_or("any") {
        "any" => Proto::Any,
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "icmp" => Proto::Icmp,
        other => {
            return Err(RuleError::Proto {
                owner: owner.to_string(),
                proto: other.to_string(),
            })
        }
    };
    let ports = match ports {
        None => (0, u16::MAX),
        Some(_) if !proto.has_ports() => {
            return Err(RuleError::PortWithoutProto(owner.to_string()))
        }
        Some(text) => port_range(owner, text)?,
    };
    if icmp_type.is_some() && proto != Proto::Icmp {
        return Err(RuleError::IcmpTypeWithoutIcmp(owner.to_string()));
    }
    Ok(L4 {
        proto,
        ports,
        icmp_type,
    })
}

/// The typed rule of `p`.
pub fn parse(p: &Policy, names: &Names) -> Result<Rule, RuleError> {
    let name = p.name.as_str();
    let owner = format!("policy {name}");
    let from = side(&owner, "from", &p.from, names)?;
    let to = side(&owner, "to", &p.to, names)?;
    if let (Side::Cidr(a), Side::Cidr(b)) = (&from, &to) {
        if a.addr().is_ipv4() != b.addr().is_ipv4() {
            return Err(RuleError::Families {
                name: name.to_string(),
                from: p.from.clone(),
                to: p.to.clone(),
            });
        }
    }
    let l4 = l4(&owner, p.proto.as_deref(), p.ports.as_deref(), p.icmp_type)?;
    let action = match p.action.as_str() {
        "allow" => Action::Allow,
        "deny" => Action::Deny,
        "reject" => Action::Reject,
        other => {
            return Err(RuleError::Action {
                name: name.to_string(),
                action: other.to_string(),
            })
        }
    };
    if p.stateless && action != Action::Allow {
        return Err(RuleError::StatelessRefusal {
            name: name.to_string(),
            action: action.name(),
        });
    }
    Ok(Rule {
        name: p.name.as_str().into(),
        from,
        to,
        l4,
        action,
        stateful: action == Action::Allow && !p.stateless,
        priority: p.priority(),
        log: p.log,
    })
}

/// Checks every group and policy of the model: names unique (a group never shadows a
/// network), each parses.
pub fn validate(model: &Model) -> Result<(), RuleError> {
    let mut seen = std::collections::HashSet::new();
    for g in &model.groups {
        if !seen.insert(g.name.as_str()) {
            return Err(RuleError::GroupExists(g.name.clone()));
        }
        if model.network(&g.name).is_some() {
            return Err(RuleError::GroupIsNetwork(g.name.clone()));
        }
        group_prefixes(g)?;
    }
    let names = Names::of(model);
    seen.clear();
    for p in &model.policies {
        if !seen.insert(p.name.as_str()) {
            return Err(RuleError::PolicyExists(p.name.clone()));
        }
        parse(p, &names)?;
    }
    Ok(())
}

/// The rules of the model in evaluation order: ascending priority, then as added.
pub fn compile(model: &Model) -> Vec<Rule> {
    let names = Names::of(model);
    let mut rules: Vec<Rule> = model
        .policies
        .iter()
        .filter_map(|p| parse(p, &names).ok())
        .collect();
    rules.sort_by_key(|r| r.priority);
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(policies: &str) -> Model {
        Model::parse(
            "json",
            &format!(
                r#"{{"networks":[{{"name":"web"}},{{"name":"app"}}],"policies":[{policies}]}}"#
            ),
        )
        .unwrap()
    }

    #[test]
    fn parses_networks_cidrs_ports_and_actions() {
        let m = model(
            r#"{"name":"w2a","from":"web","to":"app","proto":"tcp","ports":"8080","action":"allow"},
               {"name":"out","from":"app","to":"203.0.113.0/24","proto":"udp","ports":"53-54","action":"reject","priority":5}"#,
        );
        validate(&m).unwrap();
        let rules = compile(&m);
        assert_eq!(&*rules[0].name, "out", "lower priority first");
        assert_eq!(rules[0].l4.ports, (53, 54));
        assert_eq!(rules[0].action, Action::Reject);
        assert!(!rules[0].stateful);
        assert_eq!(rules[1].from, Side::Network(0));
        assert_eq!(rules[1].to, Side::Network(1));
        assert_eq!(rules[1].l4.ports, (8080, 8080));
        assert!(rules[1].stateful);
    }

    #[test]
    fn bad_policies_name_the_policy_and_the_fix() {
        for (policy, needle) in [
            (
                r#"{"name":"p","from":"nope","to":"app","action":"allow"}"#,
                "neither a network, a group nor a CIDR",
            ),
            (
                r#"{"name":"p","from":"web","to":"app","proto":"sctp","action":"allow"}"#,
                "use tcp, udp, icmp or any",
            ),
            (
                r#"{"name":"p","from":"web","to":"app","ports":"80","action":"allow"}"#,
                "needs --proto tcp or udp",
            ),
            (
                r#"{"name":"p","from":"web","to":"app","proto":"tcp","ports":"90-80","action":"allow"}"#,
                "N <= M",
            ),
            (
                r#"{"name":"p","from":"web","to":"app","action":"permit"}"#,
                "use allow, deny or reject",
            ),
            (
                r#"{"name":"p","from":"web","to":"app","action":"deny","stateless":true}"#,
                "only applies to allow",
            ),
            (
                r#"{"name":"p","from":"198.51.100.0/24","to":"2001:db8::/64","action":"allow"}"#,
                "different address families",
            ),
            (
                r#"{"name":"p","from":"10.0.0.300/8","to":"app","action":"allow"}"#,
                "policy p: --from",
            ),
        ] {
            let e = validate(&model(policy)).unwrap_err().to_string();
            assert!(e.starts_with("policy p: "), "{e}");
            assert!(e.contains(needle), "{e} should say {needle}");
        }
        let twice = r#"{"name":"p","from":"web","to":"app","action":"allow"},
                       {"name":"p","from":"app","to":"web","action":"allow"}"#;
        assert!(validate(&model(twice))
            .unwrap_err()
            .to_string()
            .contains("already exists"));
    }

    #[test]
    fn groups_are_sides_and_are_checked() {
        let with_groups = |groups: &str, policies: &str| {
            Model::parse(
                "json",
                &format!(
                    r#"{{"networks":[{{"name":"web"}},{{"name":"app"}}],"groups":[{groups}],"policies":[{policies}]}}"#
                ),
            )
            .unwrap()
        };
        let m = with_groups(
            r#"{"name":"admins","cidrs":["198.51.100.7/32","2001:db8::/64"]}"#,
            r#"{"name":"p","from":"admins","to":"app","proto":"icmp","icmp_type":8,"action":"allow"}"#,
        );
        validate(&m).unwrap();
        let r = &compile(&m)[0];
        assert!(matches!(&r.from, Side::Group(g) if g.prefixes.len() == 2));
        assert!(r.from.matches(9, "2001:db8::5".parse().unwrap()));
        assert!(!r.from.matches(9, "198.51.100.8".parse().unwrap()));
        assert_eq!(r.l4.icmp_type, Some(8));
        for (groups, policies, needle) in [
            (
                r#"{"name":"web","cidrs":["198.51.100.0/24"]}"#,
                "",
                "group web: a network has that name",
            ),
            (r#"{"name":"g","cidrs":[]}"#, "", "group g: has no CIDR"),
            (
                r#"{"name":"g","cidrs":["198.51.100.0"]}"#,
                "",
                "group g: 198.51.100.0 is not a CIDR",
            ),
            (
                r#"{"name":"g","cidrs":["198.51.100.0/24"]},{"name":"g","cidrs":["198.51.100.0/24"]}"#,
                "",
                "group g: already exists",
            ),
            (
                "",
                r#"{"name":"p","from":"web","to":"app","proto":"tcp","icmp_type":3,"action":"allow"}"#,
                "policy p: --icmp-type needs --proto icmp",
            ),
        ] {
            let e = validate(&with_groups(groups, policies))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e} should say {needle}");
        }
    }

    #[test]
    fn sides_match_by_network_or_prefix() {
        let net = Side::Network(3);
        assert!(net.matches(3, "198.51.100.1".parse().unwrap()));
        assert!(!net.matches(2, "198.51.100.1".parse().unwrap()));
        let cidr = Side::Cidr("198.51.100.0/25".parse().unwrap());
        assert!(cidr.matches(9, "198.51.100.127".parse().unwrap()));
        assert!(!cidr.matches(9, "198.51.100.128".parse().unwrap()));
        assert!(Proto::Icmp.matches(ipproto::ICMPV6));
        assert!(!Proto::Tcp.matches(ipproto::UDP));
    }
}
