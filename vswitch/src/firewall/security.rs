//! Per-port security groups: allow lists on top of the policies between networks. A port with
//! security groups passes only the IP traffic one of their rules allows: `egress` rules what
//! its endpoint sends, `ingress` rules what it receives. They are stateful: a connection they
//! admit is tracked, and its replies pass.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::classifier::Query;
use super::error::RuleError;
use super::rule::{self, Names, Side, L4};
use crate::model::Model;
use crate::packet::ipproto;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// To the port's endpoint.
    Ingress,
    /// From the port's endpoint.
    Egress,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityRule {
    /// The security group it belongs to (what a connection it admits names).
    pub group: Arc<str>,
    pub l4: L4,
    /// The other end's address (`None`: any).
    pub remote: Option<Side>,
}

impl SecurityRule {
    fn matches(&self, q: &Query, remote: IpAddr) -> bool {
        self.l4.matches(q.proto, q.dport, q.icmp_type)
            && self.remote.as_ref().is_none_or(|s| s.matches(0, remote))
    }
}

/// The rules of all the security groups of one port.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PortSecurity {
    pub ingress: Vec<SecurityRule>,
    pub egress: Vec<SecurityRule>,
}

impl PortSecurity {
    /// The group whose rule admits `q` in direction `dir`, or `None` (refused).
    pub fn admits(&self, dir: Direction, q: &Query) -> Option<&Arc<str>> {
        let (rules, remote) = match dir {
            Direction::Ingress => (&self.ingress, q.src),
            Direction::Egress => (&self.egress, q.dst),
        };
        rules
            .iter()
            .find(|r| r.matches(q, remote))
            .map(|r| &r.group)
    }
}

/// Traffic a port needs to get an address and find its neighbors, never filtered: DHCP and
/// IPv6 neighbor discovery (router and neighbor solicitations and advertisements, redirects).
pub fn exempt(q: &Query) -> bool {
    match q.proto {
        ipproto::UDP => matches!(q.dport, 67 | 68 | 546 | 547),
        ipproto::ICMPV6 => (133..=137).contains(&q.icmp_type),
        _ => false,
    }
}

/// Checks every security group of the model and every port's list of them.
pub fn validate(model: &Model) -> Result<(), RuleError> {
    let mut seen = std::collections::HashSet::new();
    for g in &model.security_groups {
        if !seen.insert(g.name.as_str()) {
            return Err(RuleError::SecurityGroupExists(g.name.clone()));
        }
    }
    compile_groups(model)?;
    for p in &model.ports {
        if let Some(missing) = p
            .security_groups
            .iter()
            .find(|g| model.security_group(g).is_none())
        {
            return Err(RuleError::UnknownSecurityGroup {
                port: p.name.clone(),
                group: missing.clone(),
            });
        }
    }
    Ok(())
}

fn compile_groups(model: &Model) -> Result<HashMap<&str, PortSecurity>, RuleError> {
    let names = Names::of(model);
    let mut out = HashMap::new();
    for g in &model.security_groups {
        let group: Arc<str> = g.name.as_str().into();
        let mut sec = PortSecurity::default();
        for (i, r) in g.rules.iter().enumerate() {
            let owner = format!("security group {} rule {}", g.name, i + 1);
            let l4 = rule::l4(&owner, r.proto.as_deref(), r.ports.as_deref(), r.icmp_type)?;
            let remote = match r.remote.as_deref() {
                None => None,
                Some(text) => match rule::side(&owner, "remote", text, &names)? {
                    Side::Network(_) => {
                        return Err(RuleError::RemoteIsNetwork {
                            owner,
                            text: text.to_string(),
                        })
                    }
                    side => Some(side),
                },
            };
            let rule = SecurityRule {
                group: group.clone(),
                l4,
                remote,
            };
            match r.direction.as_str() {
                "ingress" => sec.ingress.push(rule),
                "egress" => sec.egress.push(rule),
                other => {
                    return Err(RuleError::Direction {
                        owner,
                        direction: other.to_string(),
                    })
                }
            }
        }
        out.insert(g.name.as_str(), sec);
    }
    Ok(out)
}

/// Each port with security groups, by name, with the rules of all its groups.
pub fn compile(model: &Model) -> HashMap<String, Arc<PortSecurity>> {
    let groups = compile_groups(model).unwrap_or_default();
    model
        .ports
        .iter()
        .filter(|p| !p.security_groups.is_empty())
        .map(|p| {
            let mut sec = PortSecurity::default();
            for name in &p.security_groups {
                if let Some(g) = groups.get(name.as_str()) {
                    sec.ingress.extend(g.ingress.iter().cloned());
                    sec.egress.extend(g.egress.iter().cloned());
                }
            }
            (p.name.clone(), Arc::new(sec))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(groups: &str, port_groups: &str) -> Model {
        Model::parse(
            "json",
            &format!(
                r#"{{"networks":[{{"name":"web"}}],
                    "groups":[{{"name":"admins","cidrs":["198.51.100.7/32"]}}],
                    "security_groups":[{groups}],
                    "ports":[{{"name":"vm1","type":"tap","iface":"vm1","network":"web","security_groups":[{port_groups}]}}]}}"#
            ),
        )
        .unwrap()
    }

    fn query(src: &str, dst: &str, proto: u8, dport: u16) -> Query {
        Query {
            from_net: 0,
            to_net: 0,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto,
            dport,
            icmp_type: 0,
        }
    }

    #[test]
    fn rules_admit_by_direction_protocol_port_and_remote() {
        let m = model(
            r#"{"name":"ssh","rules":[{"direction":"ingress","proto":"tcp","ports":"22","remote":"admins"}]},
               {"name":"out","rules":[{"direction":"egress"}]}"#,
            r#""ssh","out""#,
        );
        validate(&m).unwrap();
        let sec = compile(&m).remove("vm1").unwrap();
        let ssh = query("198.51.100.7", "198.51.100.20", ipproto::TCP, 22);
        assert_eq!(
            sec.admits(Direction::Ingress, &ssh).map(|g| &**g),
            Some("ssh")
        );
        let stranger = query("198.51.100.8", "198.51.100.20", ipproto::TCP, 22);
        assert_eq!(sec.admits(Direction::Ingress, &stranger), None);
        let web = query("198.51.100.7", "198.51.100.20", ipproto::TCP, 80);
        assert_eq!(sec.admits(Direction::Ingress, &web), None);
        assert_eq!(
            sec.admits(Direction::Egress, &web).map(|g| &**g),
            Some("out")
        );
    }

    #[test]
    fn bad_groups_and_references_name_the_fix() {
        for (groups, port_groups, needle) in [
            (
                r#"{"name":"g","rules":[{"direction":"up"}]}"#,
                "",
                "security group g rule 1: --direction up",
            ),
            (
                r#"{"name":"g","rules":[{"direction":"ingress","remote":"web"}]}"#,
                "",
                "is a network",
            ),
            (
                r#"{"name":"g","rules":[{"direction":"ingress","ports":"22"}]}"#,
                "",
                "--port needs --proto",
            ),
            (
                r#"{"name":"g"},{"name":"g"}"#,
                "",
                "security group g: already exists",
            ),
            (
                "",
                r#""nope""#,
                "port vm1: security group nope does not exist",
            ),
        ] {
            let e = validate(&model(groups, port_groups))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e} should say {needle}");
        }
    }
}
