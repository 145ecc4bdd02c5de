//! A policy of the model as the datapath matches it: each side a network or a prefix, the
//! protocol, a destination port range, the action. Parsing here is also the policy's
//! validation: every error names the policy and the fix.

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use crate::config::model::{Model, Policy};
use crate::config::snapshot::NetIdx;
use crate::packet::ipproto;
use crate::packet::prefix::Prefix;

/// One side of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The network the packet comes from (`from`) or goes to (`to`).
    Network(NetIdx),
    /// Any address in the prefix, whatever its network.
    Cidr(Prefix),
}

impl Side {
    #[inline]
    pub fn matches(&self, net: NetIdx, addr: IpAddr) -> bool {
        match self {
            Side::Network(n) => *n == net,
            Side::Cidr(p) => p.contains(addr),
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
    pub proto: Proto,
    /// Inclusive destination port range (0-65535 when the rule names none).
    pub ports: (u16, u16),
    pub action: Action,
    /// Allowed packets open a tracked connection (replies admitted by it).
    pub stateful: bool,
    pub priority: u32,
}

fn side(
    policy: &str,
    field: &str,
    text: &str,
    nets: &HashMap<&str, NetIdx>,
) -> Result<Side, String> {
    if let Some(&n) = nets.get(text) {
        return Ok(Side::Network(n));
    }
    if text.contains('/') {
        return Prefix::from_str(text).map(Side::Cidr).map_err(|()| {
            format!("policy {policy}: --{field} {text} is not a CIDR; write ADDR/LEN")
        });
    }
    Err(format!(
        "policy {policy}: --{field} {text} is neither a network nor a CIDR; add the network or write ADDR/LEN"
    ))
}

fn port_range(policy: &str, text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("policy {policy}: --port {text}: use N or N-M with 0 <= N <= M <= 65535");
    let (lo, hi) = match text.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u16>(), b.trim().parse::<u16>()),
        None => (text.trim().parse::<u16>(), text.trim().parse::<u16>()),
    };
    match (lo, hi) {
        (Ok(lo), Ok(hi)) if lo <= hi => Ok((lo, hi)),
        _ => Err(bad()),
    }
}

/// The typed rule of `p`; `nets` maps network names to their snapshot index.
pub fn parse(p: &Policy, nets: &HashMap<&str, NetIdx>) -> Result<Rule, String> {
    let name = p.name.as_str();
    let from = side(name, "from", &p.from, nets)?;
    let to = side(name, "to", &p.to, nets)?;
    if let (Side::Cidr(a), Side::Cidr(b)) = (from, to) {
        if a.addr().is_ipv4() != b.addr().is_ipv4() {
            return Err(format!(
                "policy {name}: --from {} and --to {} are of different address families",
                p.from, p.to
            ));
        }
    }
    let proto = match p.proto.as_deref().unwrap_or("any") {
        "any" => Proto::Any,
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "icmp" => Proto::Icmp,
        other => {
            return Err(format!(
                "policy {name}: --proto {other}: use tcp, udp, icmp or any"
            ))
        }
    };
    let ports = match &p.ports {
        None => (0, u16::MAX),
        Some(_) if !matches!(proto, Proto::Tcp | Proto::Udp) => {
            return Err(format!("policy {name}: --port needs --proto tcp or udp"))
        }
        Some(text) => port_range(name, text)?,
    };
    let action = match p.action.as_str() {
        "allow" => Action::Allow,
        "deny" => Action::Deny,
        "reject" => Action::Reject,
        other => {
            return Err(format!(
                "policy {name}: --action {other}: use allow, deny or reject"
            ))
        }
    };
    if p.stateless && action != Action::Allow {
        return Err(format!(
            "policy {name}: --stateless only applies to allow ({} never tracks)",
            action.name()
        ));
    }
    Ok(Rule {
        name: p.name.as_str().into(),
        from,
        to,
        proto,
        ports,
        action,
        stateful: action == Action::Allow && !p.stateless,
        priority: p.priority(),
    })
}

/// The network index of every network of the model, by name (as the snapshot numbers them).
pub fn network_index(model: &Model) -> HashMap<&str, NetIdx> {
    model
        .networks
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i as NetIdx))
        .collect()
}

/// Checks every policy of the model: names unique, each parses.
pub fn validate(model: &Model) -> Result<(), String> {
    let nets = network_index(model);
    let mut seen = std::collections::HashSet::new();
    for p in &model.policies {
        if !seen.insert(p.name.as_str()) {
            return Err(format!("policy {}: already exists", p.name));
        }
        parse(p, &nets)?;
    }
    Ok(())
}

/// The rules of the model in evaluation order: ascending priority, then as added.
pub fn compile(model: &Model) -> Vec<Rule> {
    let nets = network_index(model);
    let mut rules: Vec<Rule> = model
        .policies
        .iter()
        .filter_map(|p| parse(p, &nets).ok())
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
        assert_eq!(rules[0].ports, (53, 54));
        assert_eq!(rules[0].action, Action::Reject);
        assert!(!rules[0].stateful);
        assert_eq!(rules[1].from, Side::Network(0));
        assert_eq!(rules[1].to, Side::Network(1));
        assert_eq!(rules[1].ports, (8080, 8080));
        assert!(rules[1].stateful);
    }

    #[test]
    fn bad_policies_name_the_policy_and_the_fix() {
        for (policy, needle) in [
            (
                r#"{"name":"p","from":"nope","to":"app","action":"allow"}"#,
                "neither a network nor a CIDR",
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
            let e = validate(&model(policy)).unwrap_err();
            assert!(e.starts_with("policy p: "), "{e}");
            assert!(e.contains(needle), "{e} should say {needle}");
        }
        let twice = r#"{"name":"p","from":"web","to":"app","action":"allow"},
                       {"name":"p","from":"app","to":"web","action":"allow"}"#;
        assert!(validate(&model(twice))
            .unwrap_err()
            .contains("already exists"));
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
