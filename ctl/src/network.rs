//! `vsctl network add|del|show|list`: virtual networks (bridge domains).

use std::net::IpAddr;

use clap::{Args, Subcommand};

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Fields, Table};
use crate::pb::network_service_client::NetworkServiceClient;
use crate::pb::{
    AddNetworkRequest, DeleteNetworkRequest, GetNetworkRequest, ListNetworksRequest,
    ListNetworksResponse, Network,
};

#[derive(Debug, Subcommand)]
pub enum NetworkCmd {
    /// Create a network.
    Add(AddArgs),
    /// Delete a network.
    Del {
        /// Network name.
        name: String,
        /// Succeed if the network does not exist.
        #[arg(long)]
        missing_ok: bool,
    },
    /// Show one network.
    Show {
        /// Network name.
        name: String,
    },
    /// List the networks.
    List,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Network name.
    name: String,
    /// 802.1Q id for access (--vlan) and trunk ports; with --vni, bridges this VLAN to that VNI.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4094))]
    vlan: Option<u32>,
    /// VXLAN network identifier.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16_777_215))]
    vni: Option<u32>,
    /// IPv4 or IPv6 subnet (repeatable).
    #[arg(long = "subnet", value_name = "CIDR", value_parser = parse_cidr)]
    subnets: Vec<String>,
    /// Anycast gateway address (repeatable).
    #[arg(long = "gateway", value_name = "IP")]
    gateways: Vec<IpAddr>,
    /// The VRF this network routes in; networks in the same VRF route to each other.
    #[arg(long, value_name = "NAME")]
    vrf: Option<String>,
    /// Serve DHCP to the network's endpoints (needs an IPv4 --subnet and --gateway).
    #[arg(long)]
    dhcp: bool,
    /// Addresses DHCP hands out [default: the whole IPv4 subnet].
    #[arg(long, value_name = "FIRST-LAST")]
    dhcp_range: Option<String>,
    /// DNS server DHCP tells clients (repeatable).
    #[arg(long = "dns", value_name = "IP")]
    dns: Vec<std::net::Ipv4Addr>,
    /// Fixed DHCP address for a MAC (repeatable).
    #[arg(long = "dhcp-host", value_name = "MAC=IP")]
    dhcp_hosts: Vec<String>,
    /// IP between this network's endpoints passes only where a policy from it to itself allows.
    #[arg(long)]
    isolated: bool,
    /// The outside: SNAT and floating IPs translate what crosses into it.
    #[arg(long)]
    external: bool,
    /// Most MACs the FDB learns in this network [default: the daemon's].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    mac_limit: Option<u32>,
    /// FDB aging time in seconds [default: 300].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u32).range(1..))]
    fdb_aging: Option<u32>,
    /// Most tracked connections this network's endpoints open at once [default: only the
    /// switch-wide limit].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    conntrack_limit: Option<u32>,
    /// Succeed if the network already exists.
    #[arg(long)]
    exist_ok: bool,
}

impl AddArgs {
    fn into_request(self) -> AddNetworkRequest {
        AddNetworkRequest {
            network: Some(Network {
                name: self.name,
                vlan: self.vlan.unwrap_or(0),
                vni: self.vni.unwrap_or(0),
                subnets: self.subnets,
                gateways: self.gateways.iter().map(ToString::to_string).collect(),
                vrf: self.vrf.unwrap_or_default(),
                dhcp: self.dhcp,
                dhcp_range: self.dhcp_range.unwrap_or_default(),
                dns: self.dns.iter().map(ToString::to_string).collect(),
                dhcp_hosts: self.dhcp_hosts,
                isolated: self.isolated,
                external: self.external,
                mac_limit: self.mac_limit.unwrap_or(0),
                fdb_aging_secs: self.fdb_aging.unwrap_or(0),
                conntrack_limit: self.conntrack_limit.unwrap_or(0),
                ports: Vec::new(),
            }),
            exist_ok: self.exist_ok,
        }
    }
}

pub async fn run(ctx: &Ctx, cmd: NetworkCmd) -> Result<(), Error> {
    let mut client = crate::client!(NetworkServiceClient, ctx);
    match cmd {
        NetworkCmd::Add(args) => {
            let network = client.add_network(args.into_request()).await?.into_inner();
            output::emit(ctx.json, &network, |_| String::new())
        }
        NetworkCmd::Del { name, missing_ok } => {
            let request = DeleteNetworkRequest { name, missing_ok };
            let reply = client.delete_network(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        NetworkCmd::Show { name } => {
            let network = client
                .get_network(GetNetworkRequest { name })
                .await?
                .into_inner();
            output::emit(ctx.json, &network, render_show)
        }
        NetworkCmd::List => {
            let list = client
                .list_networks(ListNetworksRequest {})
                .await?
                .into_inner();
            output::emit(ctx.json, &list, render_list)
        }
    }
}

fn render_list(list: &ListNetworksResponse) -> String {
    let mut table = Table::new(&[
        "NAME", "VLAN", "VNI", "VRF", "SUBNETS", "GATEWAYS", "DHCP", "ISOLATED", "PORTS",
    ]);
    for n in &list.networks {
        table.row(vec![
            n.name.clone(),
            output::nonzero_or_dash(n.vlan),
            output::nonzero_or_dash(n.vni),
            output::or_dash(&n.vrf),
            output::list(&n.subnets),
            output::list(&n.gateways),
            output::yes_no(n.dhcp).to_string(),
            output::yes_no(n.isolated).to_string(),
            output::list(&n.ports),
        ]);
    }
    table.render()
}

fn render_show(n: &Network) -> String {
    let or_default = |v: u32| {
        if v == 0 {
            "default".to_string()
        } else {
            v.to_string()
        }
    };
    let mut fields = Fields::new();
    fields
        .add("name", &n.name)
        .add("vlan", output::nonzero_or_dash(n.vlan))
        .add("vni", output::nonzero_or_dash(n.vni))
        .add("vrf", output::or_dash(&n.vrf))
        .add("subnets", output::list(&n.subnets))
        .add("gateways", output::list(&n.gateways))
        .add("dhcp", output::yes_no(n.dhcp))
        .add("dhcp-range", output::or_dash(&n.dhcp_range))
        .add("dns", output::list(&n.dns))
        .add("dhcp-hosts", output::list(&n.dhcp_hosts))
        .add("isolated", output::yes_no(n.isolated))
        .add("external", output::yes_no(n.external))
        .add("mac-limit", or_default(n.mac_limit))
        .add("fdb-aging", or_default(n.fdb_aging_secs))
        .add(
            "conntrack-limit",
            output::nonzero_or_dash(n.conntrack_limit),
        )
        .add("ports", output::list(&n.ports));
    fields.render()
}

/// Checks `ADDR/LEN` syntax (IPv4 or IPv6, LEN within the family); the daemon checks the rest.
fn parse_cidr(s: &str) -> Result<String, String> {
    let (addr, len) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not ADDR/LEN, e.g. 10.0.0.0/24"))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IPv4 or IPv6 address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    match len.parse::<u8>() {
        Ok(len) if len <= max => Ok(format!("{addr}/{len}")),
        _ => Err(format!("prefix length {len:?} is not in 0..={max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_accepts_both_families_and_normalises() {
        assert_eq!(parse_cidr("10.0.0.0/24"), Ok("10.0.0.0/24".into()));
        assert_eq!(parse_cidr("fd00:0::/64"), Ok("fd00::/64".into()));
    }

    #[test]
    fn cidr_rejects_bad_syntax() {
        assert!(parse_cidr("10.0.0.0").is_err());
        assert!(parse_cidr("10.0.0/24").is_err());
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("fd00::/129").is_err());
        assert!(parse_cidr("10.0.0.0/").is_err());
    }

    fn web() -> Network {
        Network {
            name: "web".into(),
            vlan: 100,
            vni: 5000,
            subnets: vec!["10.1.0.0/24".into()],
            gateways: vec!["10.1.0.1".into()],
            vrf: "blue".into(),
            dhcp: true,
            dhcp_range: String::new(),
            dns: Vec::new(),
            dhcp_hosts: Vec::new(),
            isolated: false,
            external: false,
            mac_limit: 0,
            fdb_aging_secs: 60,
            conntrack_limit: 0,
            ports: vec!["vm1".into(), "vm2".into()],
        }
    }

    #[test]
    fn list_renders_one_row_per_network() {
        let list = ListNetworksResponse {
            networks: vec![web()],
        };
        assert_eq!(
            render_list(&list),
            "NAME  VLAN  VNI   VRF   SUBNETS      GATEWAYS  DHCP  ISOLATED  PORTS\n\
             web   100   5000  blue  10.1.0.0/24  10.1.0.1  yes   no        vm1,vm2"
        );
    }

    #[test]
    fn show_renders_every_field() {
        let text = render_show(&web());
        assert!(
            text.starts_with("name: web\nvlan: 100\nvni: 5000\n"),
            "{text}"
        );
        assert!(
            text.contains("mac-limit: default\nfdb-aging: 60\n"),
            "{text}"
        );
        assert!(text.ends_with("ports: vm1,vm2"), "{text}");
    }

    #[test]
    fn json_is_the_message() {
        let json = serde_json::to_value(web()).map_err(|e| e.to_string());
        assert_eq!(json.map(|v| v["vni"].clone()), Ok(serde_json::json!(5000)));
    }
}
