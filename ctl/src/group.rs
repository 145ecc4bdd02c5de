//! `vsctl group add|set|del|show|list`: named sets of address ranges that policies name on
//! either side (`--from GROUP`, `--to GROUP`).

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Fields, Table};
use crate::pb::firewall_service_client::FirewallServiceClient;
use crate::pb::{
    AddressGroup, DeleteGroupRequest, ListGroupsRequest, ListGroupsResponse, SetGroupRequest,
};

#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// Add a group of CIDRs (IPv4 and IPv6 may mix).
    Add {
        name: String,
        /// An address range; repeat or separate with commas.
        #[arg(long, value_name = "CIDR", value_delimiter = ',', required = true)]
        cidr: Vec<String>,
        /// Succeed if the same group already exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Replace a group's ranges; policies naming it apply the new ones at once, and tracked
    /// connections they no longer allow are cut (unless the model keeps them).
    Set {
        name: String,
        #[arg(long, value_name = "CIDR", value_delimiter = ',', required = true)]
        cidr: Vec<String>,
    },
    /// Delete a group no policy names.
    Del {
        name: String,
        /// Succeed if it does not exist.
        #[arg(long)]
        missing_ok: bool,
    },
    /// One group.
    Show { name: String },
    /// Every group.
    List,
}

pub async fn run(ctx: &Ctx, cmd: GroupCmd) -> Result<(), Error> {
    let mut client = crate::client!(FirewallServiceClient, ctx);
    let set = |name: String, cidrs: Vec<String>, replace: bool, exist_ok: bool| SetGroupRequest {
        group: Some(AddressGroup { name, cidrs }),
        replace,
        exist_ok,
    };
    match cmd {
        GroupCmd::Add {
            name,
            cidr,
            exist_ok,
        } => {
            let reply = client.set_group(set(name, cidr, false, exist_ok)).await?;
            output::emit(ctx.json, &reply.into_inner(), |_| String::new())
        }
        GroupCmd::Set { name, cidr } => {
            let reply = client.set_group(set(name, cidr, true, false)).await?;
            output::emit(ctx.json, &reply.into_inner(), |_| String::new())
        }
        GroupCmd::Del { name, missing_ok } => {
            let request = DeleteGroupRequest { name, missing_ok };
            let reply = client.delete_group(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        GroupCmd::Show { name } => {
            let list = client.list_groups(ListGroupsRequest {}).await?.into_inner();
            let Some(g) = list.groups.into_iter().find(|g| g.name == name) else {
                return Err(
                    tonic::Status::not_found(format!("group {name}: does not exist")).into(),
                );
            };
            output::emit(ctx.json, &g, render_group)
        }
        GroupCmd::List => {
            let list = client.list_groups(ListGroupsRequest {}).await?.into_inner();
            output::emit(ctx.json, &list, render_groups)
        }
    }
}

fn render_groups(list: &ListGroupsResponse) -> String {
    let mut table = Table::new(&["NAME", "CIDRS"]);
    for g in &list.groups {
        table.row(vec![g.name.clone(), g.cidrs.join(",")]);
    }
    table.render()
}

fn render_group(g: &AddressGroup) -> String {
    let mut f = Fields::new();
    f.add("name", &g.name).add("cidrs", g.cidrs.join(","));
    f.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_groups() {
        let list = ListGroupsResponse {
            groups: vec![AddressGroup {
                name: "admins".into(),
                cidrs: vec!["198.51.100.7/32".into(), "2001:db8::/64".into()],
            }],
        };
        let text = render_groups(&list);
        assert!(text.contains("admins"), "{text}");
        assert!(text.contains("198.51.100.7/32,2001:db8::/64"), "{text}");
    }
}
