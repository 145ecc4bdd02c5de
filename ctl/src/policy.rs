//! `vsctl policy add|del|show|list|log` and `vsctl conntrack show|flush|stats`: the
//! firewall's policies, its log, and its connection table.

use clap::{Subcommand, ValueEnum};

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Fields, Table};
use crate::pb::firewall_service_client::FirewallServiceClient;
use crate::pb::{
    AddPolicyRequest, ConntrackStatsRequest, ConntrackStatsResponse, DeletePolicyRequest,
    FlushConnectionsRequest, ListConnectionsRequest, ListConnectionsResponse, ListPoliciesRequest,
    ListPoliciesResponse, PolicyEntry, ReadLogRequest, ReadLogResponse,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Any,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Action {
    Allow,
    Deny,
    Reject,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Add a rule: traffic from NET|GROUP|CIDR to NET|GROUP|CIDR (proto, destination ports or
    /// ICMP type) gets ACTION. Between networks, what no rule allows is dropped; replies of
    /// allowed connections pass.
    Add {
        name: String,
        #[arg(long, value_name = "NET|GROUP|CIDR")]
        from: String,
        #[arg(long, value_name = "NET|GROUP|CIDR")]
        to: String,
        #[arg(long, value_enum, default_value = "any")]
        proto: Proto,
        /// Destination port or range (tcp and udp).
        #[arg(long, value_name = "N[-M]")]
        port: Option<String>,
        /// ICMP (or ICMPv6) type (icmp), e.g. 8 for echo request.
        #[arg(long, value_name = "N")]
        icmp_type: Option<u8>,
        #[arg(long, value_enum)]
        action: Action,
        /// Allow packets one by one, without tracking connections (replies need a rule too).
        #[arg(long)]
        stateless: bool,
        /// Lower first; equal priorities in the order added [default: 1000].
        #[arg(long, value_name = "N")]
        priority: Option<u32>,
        /// Record what it decides in the firewall log (`vsctl policy log`).
        #[arg(long)]
        log: bool,
        /// Succeed if the same policy already exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Delete a policy (its connections are cut unless the model keeps them).
    Del {
        name: String,
        /// Succeed if it does not exist.
        #[arg(long)]
        missing_ok: bool,
    },
    /// One policy, with how many connections it admitted or refused.
    Show { name: String },
    /// Every policy in evaluation order.
    List,
    /// The latest decisions of the policies that log, oldest first.
    Log {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        max: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConntrackCmd {
    /// The tracked connections: who opened them, state, policy, packets and bytes each way.
    Show {
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        max: u32,
        /// The flow records of the latest ended connections instead (newest first), with
        /// why and how long ago they ended.
        #[arg(long)]
        ended: bool,
    },
    /// End every tracked connection (or those of one VRF); their next packets are new.
    Flush {
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
    },
    /// Connections now, the limit, and how many were created, ended and refused (table full).
    Stats,
}

pub(crate) fn proto_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Icmp => "icmp",
        Proto::Any => "any",
    }
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Allow => "allow",
        Action::Deny => "deny",
        Action::Reject => "reject",
    }
}

pub async fn run_policy(ctx: &Ctx, cmd: PolicyCmd) -> Result<(), Error> {
    let mut client = crate::client!(FirewallServiceClient, ctx);
    match cmd {
        PolicyCmd::Add {
            name,
            from,
            to,
            proto,
            port,
            icmp_type,
            action,
            stateless,
            priority,
            log,
            exist_ok,
        } => {
            let request = AddPolicyRequest {
                policy: Some(PolicyEntry {
                    name,
                    from,
                    to,
                    proto: proto_name(proto).into(),
                    ports: port.unwrap_or_default(),
                    action: action_name(action).into(),
                    stateless,
                    priority: priority.unwrap_or(0),
                    hits: 0,
                    icmp_type: icmp_type.map(u32::from),
                    log,
                }),
                exist_ok,
            };
            let entry = client.add_policy(request).await?.into_inner();
            output::emit(ctx.json, &entry, |_| String::new())
        }
        PolicyCmd::Del { name, missing_ok } => {
            let request = DeletePolicyRequest { name, missing_ok };
            let reply = client.delete_policy(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        PolicyCmd::Show { name } => {
            let list = client
                .list_policies(ListPoliciesRequest {})
                .await?
                .into_inner();
            let Some(p) = list.policies.into_iter().find(|p| p.name == name) else {
                return Err(
                    tonic::Status::not_found(format!("policy {name}: does not exist")).into(),
                );
            };
            output::emit(ctx.json, &p, render_policy)
        }
        PolicyCmd::List => {
            let list = client
                .list_policies(ListPoliciesRequest {})
                .await?
                .into_inner();
            output::emit(ctx.json, &list, render_policies)
        }
        PolicyCmd::Log { max } => {
            let log = client.read_log(ReadLogRequest { max }).await?.into_inner();
            output::emit(ctx.json, &log, render_log)
        }
    }
}

pub async fn run_conntrack(ctx: &Ctx, cmd: ConntrackCmd) -> Result<(), Error> {
    let mut client = crate::client!(FirewallServiceClient, ctx);
    match cmd {
        ConntrackCmd::Show { max, ended } => {
            let list = client
                .list_connections(ListConnectionsRequest { max, ended })
                .await?
                .into_inner();
            output::emit(ctx.json, &list, render_connections)
        }
        ConntrackCmd::Flush { vrf } => {
            let reply = client
                .flush_connections(FlushConnectionsRequest {
                    vrf: vrf.unwrap_or_default(),
                })
                .await?
                .into_inner();
            output::emit(ctx.json, &reply, |r| {
                format!("flushed {} connections", r.flushed)
            })
        }
        ConntrackCmd::Stats => {
            let s = client
                .conntrack_stats(ConntrackStatsRequest {})
                .await?
                .into_inner();
            output::emit(ctx.json, &s, render_stats)
        }
    }
}

/// The ports, or the ICMP type, a policy matches.
fn ports(p: &PolicyEntry) -> String {
    match p.icmp_type {
        Some(t) => format!("type {t}"),
        None => output::or_dash(&p.ports),
    }
}

fn render_log(log: &ReadLogResponse) -> String {
    let mut table = Table::new(&[
        "AGE", "POLICY", "ACTION", "PROTO", "SRC", "DST", "FROM", "TO",
    ]);
    for e in &log.entries {
        table.row(vec![
            format!("{}s", e.age_secs),
            e.policy.clone(),
            e.action.clone(),
            e.proto.clone(),
            format!("{}:{}", e.src, e.sport),
            format!("{}:{}", e.dst, e.dport),
            e.from_network.clone(),
            e.to_network.clone(),
        ]);
    }
    let mut text = table.render();
    if log.lost > 0 {
        text.push_str(&format!(
            "\n({} entries lost while the log was read)",
            log.lost
        ));
    }
    text
}

fn render_policies(list: &ListPoliciesResponse) -> String {
    let mut table = Table::new(&[
        "NAME", "PRIORITY", "FROM", "TO", "PROTO", "PORTS", "ACTION", "STATE", "HITS",
    ]);
    for p in &list.policies {
        table.row(vec![
            p.name.clone(),
            p.priority.to_string(),
            p.from.clone(),
            p.to.clone(),
            p.proto.clone(),
            ports(p),
            p.action.clone(),
            if p.stateless { "stateless" } else { "stateful" }.into(),
            p.hits.to_string(),
        ]);
    }
    table.render()
}

fn render_policy(p: &PolicyEntry) -> String {
    let mut f = Fields::new();
    f.add("name", &p.name)
        .add("priority", p.priority)
        .add("from", &p.from)
        .add("to", &p.to)
        .add("proto", &p.proto)
        .add("ports", ports(p))
        .add("action", &p.action)
        .add("stateless", output::yes_no(p.stateless))
        .add("log", output::yes_no(p.log))
        .add("hits", p.hits);
    f.render()
}

fn render_connections(list: &ListConnectionsResponse) -> String {
    let mut table = Table::new(&[
        "VRF", "PROTO", "SRC", "DST", "STATE", "FROM", "TO", "POLICY", "PACKETS", "BYTES", "IDLE",
        "ENDED",
    ]);
    for c in &list.connections {
        let ended = match c.ended.as_str() {
            "" => "-".to_string(),
            why => format!("{}s ago ({why})", c.ended_secs),
        };
        table.row(vec![
            c.vrf.clone(),
            c.proto.clone(),
            format!("{}:{}", c.src, c.sport),
            format!("{}:{}", c.dst, c.dport),
            c.state.clone(),
            c.from_network.clone(),
            c.to_network.clone(),
            c.policy.clone(),
            format!("{}/{}", c.packets_orig, c.packets_reply),
            format!("{}/{}", c.bytes_orig, c.bytes_reply),
            format!("{}s", c.idle_secs),
            ended,
        ]);
    }
    table.render()
}

fn render_stats(s: &ConntrackStatsResponse) -> String {
    let mut f = Fields::new();
    f.add("connections", s.connections)
        .add("limit", s.limit)
        .add("created", s.created)
        .add("ended", s.ended)
        .add("refused (table full)", s.refused_full);
    let mut text = f.render();
    if !s.networks.is_empty() {
        let mut table = Table::new(&["NETWORK", "CONNECTIONS", "LIMIT", "REFUSED"]);
        for n in &s.networks {
            table.row(vec![
                n.network.clone(),
                n.connections.to_string(),
                output::nonzero_or_dash(n.limit),
                n.refused_full.to_string(),
            ]);
        }
        text.push_str("\n\n");
        text.push_str(&table.render());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::Connection;

    #[test]
    fn renders_policies_and_connections() {
        let list = ListPoliciesResponse {
            policies: vec![PolicyEntry {
                name: "web-app".into(),
                from: "web".into(),
                to: "app".into(),
                proto: "tcp".into(),
                ports: "8080".into(),
                action: "allow".into(),
                stateless: false,
                priority: 1000,
                hits: 7,
                ..Default::default()
            }],
        };
        let text = render_policies(&list);
        assert!(text.contains("web-app") && text.contains("8080"), "{text}");
        assert!(text.contains("stateful"), "{text}");
        let conns = ListConnectionsResponse {
            connections: vec![Connection {
                vrf: "default".into(),
                proto: "tcp".into(),
                src: "198.51.100.10".into(),
                sport: 40000,
                dst: "203.0.113.20".into(),
                dport: 8080,
                state: "ESTABLISHED".into(),
                policy: "web-app".into(),
                packets_orig: 3,
                packets_reply: 2,
                ..Default::default()
            }],
        };
        let text = render_connections(&conns);
        assert!(text.contains("198.51.100.10:40000"), "{text}");
        assert!(text.contains("3/2"), "{text}");
    }
}
