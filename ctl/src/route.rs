//! `vsctl route add|del|show` and `vsctl arp show`: the route tables and the neighbors of the
//! VRFs.

use std::net::IpAddr;

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Table};
use crate::pb::router_service_client::RouterServiceClient;
use crate::pb::{
    AddNeighborRequest, AddRouteRequest, DeleteNeighborRequest, DeleteRouteRequest,
    ListNeighborsRequest, ListNeighborsResponse, ListRoutesRequest, ListRoutesResponse,
    NeighborEntry, RouteEntry,
};

#[derive(Debug, Subcommand)]
pub enum RouteCmd {
    /// Add a static route: PREFIX via one next hop, or several (ECMP, hashed per flow).
    Add {
        /// CIDR, e.g. 0.0.0.0/0 or 203.0.113.128/25.
        prefix: String,
        /// Next hops, each in a subnet of a network of the VRF: IP[,IP...].
        #[arg(
            long,
            value_name = "IP[,IP...]",
            value_delimiter = ',',
            required = true
        )]
        via: Vec<IpAddr>,
        /// The VRF [default: default].
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
        /// Succeed if the same route already exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Delete a static route.
    Del {
        prefix: String,
        /// The VRF [default: default].
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
        /// Succeed if the route does not exist.
        #[arg(long)]
        missing_ok: bool,
    },
    /// List the routes: connected (a network's subnet), local (a gateway address), static.
    Show {
        /// Only this VRF [default: every VRF].
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArpCmd {
    /// Add a static neighbor: IP is at MAC in NET (never ages; ARP/ND do not move it).
    Add {
        ip: IpAddr,
        #[arg(long, value_name = "MAC")]
        mac: String,
        #[arg(long, value_name = "NET")]
        network: String,
        /// Succeed if the same neighbor already exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Delete a static neighbor.
    Del {
        ip: IpAddr,
        #[arg(long, value_name = "NET")]
        network: String,
        /// Succeed if there is none.
        #[arg(long)]
        missing_ok: bool,
    },
    /// List the neighbors the gateways learned (ARP for IPv4).
    Show {
        /// Only this VRF [default: every VRF].
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
    },
}

pub async fn run_route(ctx: &Ctx, cmd: RouteCmd) -> Result<(), Error> {
    let mut client = crate::client!(RouterServiceClient, ctx);
    match cmd {
        RouteCmd::Add {
            prefix,
            via,
            vrf,
            exist_ok,
        } => {
            let request = AddRouteRequest {
                route: Some(RouteEntry {
                    vrf: vrf.unwrap_or_default(),
                    prefix,
                    next_hops: via.iter().map(ToString::to_string).collect(),
                    ..Default::default()
                }),
                exist_ok,
            };
            let entry = client.add_route(request).await?.into_inner();
            output::emit(ctx.json, &entry, |_| String::new())
        }
        RouteCmd::Del {
            prefix,
            vrf,
            missing_ok,
        } => {
            let request = DeleteRouteRequest {
                vrf: vrf.unwrap_or_default(),
                prefix,
                missing_ok,
            };
            let reply = client.delete_route(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        RouteCmd::Show { vrf } => {
            let request = ListRoutesRequest {
                vrf: vrf.unwrap_or_default(),
            };
            let list = client.list_routes(request).await?.into_inner();
            output::emit(ctx.json, &list, render_routes)
        }
    }
}

pub async fn run_arp(ctx: &Ctx, cmd: ArpCmd) -> Result<(), Error> {
    let mut client = crate::client!(RouterServiceClient, ctx);
    match cmd {
        ArpCmd::Add {
            ip,
            mac,
            network,
            exist_ok,
        } => {
            let request = AddNeighborRequest {
                neighbor: Some(NeighborEntry {
                    ip: ip.to_string(),
                    mac,
                    network,
                    ..Default::default()
                }),
                exist_ok,
            };
            let entry = client.add_neighbor(request).await?.into_inner();
            output::emit(ctx.json, &entry, |_| String::new())
        }
        ArpCmd::Del {
            ip,
            network,
            missing_ok,
        } => {
            let request = DeleteNeighborRequest {
                network,
                ip: ip.to_string(),
                missing_ok,
            };
            let reply = client.delete_neighbor(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        ArpCmd::Show { vrf } => {
            let request = ListNeighborsRequest {
                vrf: vrf.unwrap_or_default(),
            };
            let list = client.list_neighbors(request).await?.into_inner();
            output::emit(ctx.json, &list, render_neighbors)
        }
    }
}

fn render_routes(list: &ListRoutesResponse) -> String {
    let mut table = Table::new(&["VRF", "PREFIX", "TYPE", "VIA"]);
    for r in &list.routes {
        table.row(vec![
            r.vrf.clone(),
            r.prefix.clone(),
            r.kind.clone(),
            r.via.clone(),
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

    #[test]
    fn renders_routes_and_neighbors_as_tables() {
        let routes = ListRoutesResponse {
            routes: vec![RouteEntry {
                vrf: "t1".into(),
                prefix: "198.51.100.0/24".into(),
                kind: "connected".into(),
                via: "network web".into(),
                next_hops: Vec::new(),
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
