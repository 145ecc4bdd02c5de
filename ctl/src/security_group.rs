//! `vsctl security-group add|del|show|list` and `vsctl security-group rule add|del`: per-port
//! allow lists (`vsctl port set NAME --security-groups ...` puts them on a port).

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Fields, Table};
use crate::pb::firewall_service_client::FirewallServiceClient;
use crate::pb::{
    AddSecurityGroupRequest, AddSecurityRuleRequest, DeleteSecurityGroupRequest,
    DeleteSecurityRuleRequest, ListSecurityGroupsRequest, ListSecurityGroupsResponse,
    SecurityGroup, SecurityRule,
};
use crate::policy::{proto_name, Proto};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Direction {
    /// Traffic to the port's endpoint.
    Ingress,
    /// Traffic from the port's endpoint.
    Egress,
}

#[derive(Debug, Subcommand)]
pub enum SecurityGroupCmd {
    /// Add an empty security group (a port with only empty groups passes no IP traffic).
    Add {
        name: String,
        /// Succeed if it already exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Delete a security group no port uses.
    Del {
        name: String,
        /// Succeed if it does not exist.
        #[arg(long)]
        missing_ok: bool,
    },
    /// One security group and its numbered rules.
    Show { name: String },
    /// Every security group.
    List,
    /// A security group's rules.
    #[command(subcommand)]
    Rule(RuleCmd),
}

#[derive(Debug, Subcommand)]
pub enum RuleCmd {
    /// Allow traffic to (ingress) or from (egress) the ports of the group.
    Add {
        group: String,
        #[arg(long, value_enum)]
        direction: Direction,
        #[arg(long, value_enum, default_value = "any")]
        proto: Proto,
        /// Destination port or range (tcp and udp).
        #[arg(long, value_name = "N[-M]")]
        port: Option<String>,
        /// ICMP (or ICMPv6) type (icmp).
        #[arg(long, value_name = "N")]
        icmp_type: Option<u8>,
        /// The other end: a CIDR or an address group [default: any].
        #[arg(long, value_name = "CIDR|GROUP")]
        remote: Option<String>,
    },
    /// Delete rule INDEX (as `show` numbers them).
    Del { group: String, index: u32 },
}

pub async fn run(ctx: &Ctx, cmd: SecurityGroupCmd) -> Result<(), Error> {
    let mut client = crate::client!(FirewallServiceClient, ctx);
    match cmd {
        SecurityGroupCmd::Add { name, exist_ok } => {
            let request = AddSecurityGroupRequest { name, exist_ok };
            let g = client.add_security_group(request).await?.into_inner();
            output::emit(ctx.json, &g, |_| String::new())
        }
        SecurityGroupCmd::Del { name, missing_ok } => {
            let request = DeleteSecurityGroupRequest { name, missing_ok };
            let reply = client.delete_security_group(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        SecurityGroupCmd::Show { name } => {
            let list = client
                .list_security_groups(ListSecurityGroupsRequest {})
                .await?
                .into_inner();
            let Some(g) = list.groups.into_iter().find(|g| g.name == name) else {
                return Err(tonic::Status::not_found(format!(
                    "security group {name}: does not exist"
                ))
                .into());
            };
            output::emit(ctx.json, &g, render_group)
        }
        SecurityGroupCmd::List => {
            let list = client
                .list_security_groups(ListSecurityGroupsRequest {})
                .await?
                .into_inner();
            output::emit(ctx.json, &list, render_groups)
        }
        SecurityGroupCmd::Rule(RuleCmd::Add {
            group,
            direction,
            proto,
            port,
            icmp_type,
            remote,
        }) => {
            let rule = SecurityRule {
                direction: match direction {
                    Direction::Ingress => "ingress",
                    Direction::Egress => "egress",
                }
                .into(),
                proto: proto_name(proto).into(),
                ports: port.unwrap_or_default(),
                icmp_type: icmp_type.map(u32::from),
                remote: remote.unwrap_or_default(),
            };
            let request = AddSecurityRuleRequest {
                group,
                rule: Some(rule),
            };
            let g = client.add_security_rule(request).await?.into_inner();
            output::emit(ctx.json, &g, |_| String::new())
        }
        SecurityGroupCmd::Rule(RuleCmd::Del { group, index }) => {
            let request = DeleteSecurityRuleRequest { group, index };
            let g = client.delete_security_rule(request).await?.into_inner();
            output::emit(ctx.json, &g, |_| String::new())
        }
    }
}

/// `ingress tcp 22 from 198.51.100.0/24`, `egress any to any`.
fn describe(r: &SecurityRule) -> String {
    let what = match (r.ports.as_str(), r.icmp_type) {
        (_, Some(t)) => format!("{} type {t}", r.proto),
        ("", None) => r.proto.clone(),
        (ports, None) => format!("{} {ports}", r.proto),
    };
    let way = if r.direction == "ingress" {
        "from"
    } else {
        "to"
    };
    let remote = if r.remote.is_empty() {
        "any"
    } else {
        &r.remote
    };
    format!("{} {what} {way} {remote}", r.direction)
}

fn render_groups(list: &ListSecurityGroupsResponse) -> String {
    let mut table = Table::new(&["NAME", "RULES"]);
    for g in &list.groups {
        let rules: Vec<String> = g.rules.iter().map(describe).collect();
        table.row(vec![g.name.clone(), output::or_dash(&rules.join("; "))]);
    }
    table.render()
}

fn render_group(g: &SecurityGroup) -> String {
    let mut f = Fields::new();
    f.add("name", &g.name);
    for (i, r) in g.rules.iter().enumerate() {
        f.add(&format!("rule {}", i + 1), describe(r));
    }
    f.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rules_readably() {
        let g = SecurityGroup {
            name: "web".into(),
            rules: vec![
                SecurityRule {
                    direction: "ingress".into(),
                    proto: "tcp".into(),
                    ports: "80".into(),
                    remote: "198.51.100.0/24".into(),
                    ..Default::default()
                },
                SecurityRule {
                    direction: "egress".into(),
                    proto: "any".into(),
                    ..Default::default()
                },
            ],
        };
        let text = render_group(&g);
        assert!(
            text.contains("ingress tcp 80 from 198.51.100.0/24"),
            "{text}"
        );
        assert!(text.contains("egress any to any"), "{text}");
    }
}
