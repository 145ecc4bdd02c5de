//! `vsctl snat add|del|list|bindings` and `vsctl floating-ip add|del|list`: NAT toward the
//! external networks.

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, or_dash, Table};
use crate::pb::nat_service_client::NatServiceClient;
use crate::pb::{
    AddFloatingIpRequest, AddSnatRequest, DeleteFloatingIpRequest, DeleteSnatRequest, FloatingIp,
    ListFloatingIpsRequest, ListFloatingIpsResponse, ListNatBindingsRequest,
    ListNatBindingsResponse, ListSnatRequest, ListSnatResponse, Snat,
};

#[derive(Debug, Subcommand)]
pub enum SnatCmd {
    /// Connections from an internal network (or CIDR) into external networks leave from
    /// an address of --to.
    Add {
        name: String,
        /// An internal network, or an IPv4 CIDR of internal sources.
        #[arg(long, value_name = "NET|CIDR")]
        from: String,
        /// External addresses, in an external network's subnet.
        #[arg(long, value_name = "IP[-IP]")]
        to: String,
        /// Source ports handed out [default: 1024-65535].
        #[arg(long, value_name = "A-B")]
        port_range: Option<String>,
        /// Succeed if the same rule exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Remove a rule (its connections' bindings expire).
    Del {
        name: String,
        /// Succeed if there is no such rule.
        #[arg(long)]
        missing_ok: bool,
    },
    /// The rules, with the connections each translates now.
    List,
    /// The translated connections: inside, outside and remote endpoints.
    Bindings,
}

#[derive(Debug, Subcommand)]
pub enum FloatingIpCmd {
    /// External address IP stands for internal endpoint --endpoint, both ways.
    Add {
        ip: String,
        #[arg(long, value_name = "IP")]
        endpoint: String,
        /// The VRF of both [default: default].
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
        /// Succeed if the same floating IP exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Remove a floating IP.
    Del {
        ip: String,
        /// Succeed if there is no such floating IP.
        #[arg(long)]
        missing_ok: bool,
    },
    /// The floating IPs.
    List,
}

pub async fn run_snat(ctx: &Ctx, cmd: SnatCmd) -> Result<(), Error> {
    let mut client = crate::client!(NatServiceClient, ctx);
    match cmd {
        SnatCmd::Add {
            name,
            from,
            to,
            port_range,
            exist_ok,
        } => {
            let snat = Snat {
                name,
                from,
                to,
                port_range: port_range.unwrap_or_default(),
                bindings: 0,
            };
            let request = AddSnatRequest {
                snat: Some(snat),
                exist_ok,
            };
            let reply = client.add_snat(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        SnatCmd::Del { name, missing_ok } => {
            let request = DeleteSnatRequest { name, missing_ok };
            let reply = client.delete_snat(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        SnatCmd::List => {
            let reply = client.list_snat(ListSnatRequest {}).await?.into_inner();
            output::emit(ctx.json, &reply, render_snat)
        }
        SnatCmd::Bindings => {
            let request = ListNatBindingsRequest {};
            let reply = client.list_nat_bindings(request).await?.into_inner();
            output::emit(ctx.json, &reply, render_bindings)
        }
    }
}

pub async fn run_floating_ip(ctx: &Ctx, cmd: FloatingIpCmd) -> Result<(), Error> {
    let mut client = crate::client!(NatServiceClient, ctx);
    match cmd {
        FloatingIpCmd::Add {
            ip,
            endpoint,
            vrf,
            exist_ok,
        } => {
            let floating_ip = FloatingIp {
                ip,
                endpoint,
                vrf: vrf.unwrap_or_default(),
            };
            let request = AddFloatingIpRequest {
                floating_ip: Some(floating_ip),
                exist_ok,
            };
            let reply = client.add_floating_ip(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        FloatingIpCmd::Del { ip, missing_ok } => {
            let request = DeleteFloatingIpRequest { ip, missing_ok };
            let reply = client.delete_floating_ip(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        FloatingIpCmd::List => {
            let request = ListFloatingIpsRequest {};
            let reply = client.list_floating_ips(request).await?.into_inner();
            output::emit(ctx.json, &reply, render_floating)
        }
    }
}

fn render_snat(list: &ListSnatResponse) -> String {
    let mut table = Table::new(&["NAME", "FROM", "TO", "PORTS", "BINDINGS"]);
    for r in &list.rules {
        table.row(vec![
            r.name.clone(),
            r.from.clone(),
            r.to.clone(),
            if r.port_range.is_empty() {
                "1024-65535".into()
            } else {
                r.port_range.clone()
            },
            r.bindings.to_string(),
        ]);
    }
    format!(
        "{}\nports exhausted: {}",
        table.render(),
        list.ports_exhausted
    )
}

fn render_bindings(list: &ListNatBindingsResponse) -> String {
    let mut table = Table::new(&["PROTO", "INSIDE", "OUTSIDE", "REMOTE", "IDLE"]);
    for b in &list.bindings {
        table.row(vec![
            b.proto.clone(),
            b.inside.clone(),
            b.outside.clone(),
            b.remote.clone(),
            b.idle_secs.to_string(),
        ]);
    }
    table.render()
}

fn render_floating(list: &ListFloatingIpsResponse) -> String {
    let mut table = Table::new(&["IP", "ENDPOINT", "VRF"]);
    for f in &list.floating_ips {
        table.row(vec![f.ip.clone(), f.endpoint.clone(), or_dash(&f.vrf)]);
    }
    table.render()
}
