//! `vsctl route show` and `vsctl arp show`: the route tables and the neighbors of the VRFs.

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Table};
use crate::pb::router_service_client::RouterServiceClient;
use crate::pb::{
    ListNeighborsRequest, ListNeighborsResponse, ListRoutesRequest, ListRoutesResponse,
};

#[derive(Debug, Subcommand)]
pub enum RouteCmd {
    /// List the routes (a network's subnets are connected routes of its VRF).
    Show {
        /// Only this VRF [default: every VRF].
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArpCmd {
    /// List the neighbors the gateways learned (ARP for IPv4).
    Show {
        /// Only this VRF [default: every VRF].
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
    },
}

pub async fn run_route(ctx: &Ctx, cmd: RouteCmd) -> Result<(), Error> {
    let mut client = RouterServiceClient::new(ctx.channel().await?);
    let RouteCmd::Show { vrf } = cmd;
    let request = ListRoutesRequest {
        vrf: vrf.unwrap_or_default(),
    };
    let list = client.list_routes(request).await?.into_inner();
    output::emit(ctx.json, &list, render_routes)
}

pub async fn run_arp(ctx: &Ctx, cmd: ArpCmd) -> Result<(), Error> {
    let mut client = RouterServiceClient::new(ctx.channel().await?);
    let ArpCmd::Show { vrf } = cmd;
    let request = ListNeighborsRequest {
        vrf: vrf.unwrap_or_default(),
    };
    let list = client.list_neighbors(request).await?.into_inner();
    output::emit(ctx.json, &list, render_neighbors)
}

fn render_routes(list: &ListRoutesResponse) -> String {
    let mut table = Table::new(&["VRF", "PREFIX", "TYPE", "VIA"]);
    for r in &list.routes {
        table.row(vec![
            r.vrf.clone(),
            r.prefix.clone(),
            r.kind.clone(),
            format!("network {}", r.network),
        ]);
    }
    table.render()
}

fn render_neighbors(list: &ListNeighborsResponse) -> String {
    let mut table = Table::new(&["VRF", "IP", "MAC", "NETWORK", "AGE"]);
    for n in &list.neighbors {
        table.row(vec![
            n.vrf.clone(),
            n.ip.clone(),
            n.mac.clone(),
            n.network.clone(),
            format!("{}s", n.age_secs),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{NeighborEntry, RouteEntry};

    #[test]
    fn renders_routes_and_neighbors_as_tables() {
        let routes = ListRoutesResponse {
            routes: vec![RouteEntry {
                vrf: "t1".into(),
                prefix: "198.51.100.0/24".into(),
                kind: "connected".into(),
                network: "web".into(),
            }],
        };
        let text = render_routes(&routes);
        assert!(text.contains("198.51.100.0/24"), "{text}");
        assert!(text.contains("network web"), "{text}");
        let neighbors = ListNeighborsResponse {
            neighbors: vec![NeighborEntry {
                vrf: "t1".into(),
                ip: "198.51.100.5".into(),
                mac: "02:00:00:00:00:05".into(),
                network: "web".into(),
                age_secs: 3,
            }],
        };
        let text = render_neighbors(&neighbors);
        assert!(
            text.contains("02:00:00:00:00:05") && text.contains("3s"),
            "{text}"
        );
    }
}
