//! `vsctl dhcp show`: the leases of the networks' DHCP servers.

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Table};
use crate::pb::dhcp_service_client::DhcpServiceClient;
use crate::pb::{ListLeasesRequest, ListLeasesResponse};

#[derive(Debug, Subcommand)]
pub enum DhcpCmd {
    /// List the leases.
    Show {
        /// Only this network [default: every network with --dhcp].
        #[arg(long, value_name = "NET")]
        network: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, cmd: DhcpCmd) -> Result<(), Error> {
    let mut client = crate::client!(DhcpServiceClient, ctx);
    let DhcpCmd::Show { network } = cmd;
    let request = ListLeasesRequest {
        network: network.unwrap_or_default(),
    };
    let list = client.list_leases(request).await?.into_inner();
    output::emit(ctx.json, &list, render)
}

fn render(list: &ListLeasesResponse) -> String {
    let mut table = Table::new(&["NETWORK", "IP", "MAC", "EXPIRES"]);
    for l in &list.leases {
        table.row(vec![
            l.network.clone(),
            l.ip.clone(),
            l.mac.clone(),
            format!("in {}s", l.expires_in_secs),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::Lease;

    #[test]
    fn renders_a_lease_per_row() {
        let list = ListLeasesResponse {
            leases: vec![Lease {
                network: "web".into(),
                mac: "02:00:00:00:00:0a".into(),
                ip: "198.51.100.50".into(),
                expires_in_secs: 3599,
            }],
        };
        let text = render(&list);
        assert!(
            text.contains("198.51.100.50") && text.contains("in 3599s"),
            "{text}"
        );
    }
}
