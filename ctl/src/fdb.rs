//! `vsctl fdb show|flush|add|del`: the learned and static MAC tables of the networks.

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Table};
use crate::pb::fdb_service_client::FdbServiceClient;
use crate::pb::{
    AddFdbEntryRequest, DeleteFdbEntryRequest, FdbEntry, FlushFdbRequest, FlushFdbResponse,
    ListFdbRequest, ListFdbResponse,
};

#[derive(Debug, Subcommand)]
pub enum FdbCmd {
    /// List the MAC table entries.
    Show {
        /// Only this network [default: every network].
        #[arg(long, value_name = "NET")]
        network: Option<String>,
    },
    /// Forget the learned entries.
    Flush {
        /// Only this network [default: every network].
        #[arg(long, value_name = "NET")]
        network: Option<String>,
    },
    /// Add a static entry: MAC in NET is behind PORT, or behind the remote VTEP at IP.
    Add {
        /// MAC address, e.g. 02:00:00:00:00:01.
        #[arg(value_parser = parse_mac)]
        mac: String,
        /// The network the entry is in.
        #[arg(long, value_name = "NET")]
        network: String,
        /// The port the MAC is behind.
        #[arg(
            long,
            value_name = "PORT",
            required_unless_present = "remote",
            conflicts_with = "remote"
        )]
        port: Option<String>,
        /// The remote VTEP (underlay IPv4 address) the MAC is behind, in NET's VNI.
        #[arg(long, value_name = "IP")]
        remote: Option<String>,
        /// Succeed if the entry already exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Delete an entry.
    Del {
        /// MAC address.
        #[arg(value_parser = parse_mac)]
        mac: String,
        /// The network the entry is in.
        #[arg(long, value_name = "NET")]
        network: String,
        /// Succeed if the entry does not exist.
        #[arg(long)]
        missing_ok: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: FdbCmd) -> Result<(), Error> {
    let mut client = crate::client!(FdbServiceClient, ctx);
    match cmd {
        FdbCmd::Show { network } => {
            let request = ListFdbRequest {
                network: network.unwrap_or_default(),
            };
            let list = client.list_fdb(request).await?.into_inner();
            output::emit(ctx.json, &list, render_list)
        }
        FdbCmd::Flush { network } => {
            let request = FlushFdbRequest {
                network: network.unwrap_or_default(),
            };
            let reply = client.flush_fdb(request).await?.into_inner();
            output::emit(ctx.json, &reply, render_flush)
        }
        FdbCmd::Add {
            mac,
            network,
            port,
            remote,
            exist_ok,
        } => {
            let request = AddFdbEntryRequest {
                entry: Some(FdbEntry {
                    network,
                    mac,
                    port: port.unwrap_or_default(),
                    r#static: true,
                    age_secs: 0,
                    remote: remote.unwrap_or_default(),
                }),
                exist_ok,
            };
            let entry = client.add_fdb_entry(request).await?.into_inner();
            output::emit(ctx.json, &entry, |_| String::new())
        }
        FdbCmd::Del {
            mac,
            network,
            missing_ok,
        } => {
            let request = DeleteFdbEntryRequest {
                network,
                mac,
                missing_ok,
            };
            let reply = client.delete_fdb_entry(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
    }
}

/// Entries sorted by network then MAC, static ones without an age.
fn render_list(list: &ListFdbResponse) -> String {
    let mut entries: Vec<&FdbEntry> = list.entries.iter().collect();
    entries.sort_by(|a, b| (&a.network, &a.mac).cmp(&(&b.network, &b.mac)));
    let mut table = Table::new(&["NETWORK", "MAC", "PORT", "TYPE", "AGE"]);
    for e in entries {
        let (kind, age) = if e.r#static {
            ("static", "-".to_string())
        } else {
            ("learned", format!("{}s", e.age_secs))
        };
        table.row(vec![
            e.network.clone(),
            e.mac.clone(),
            if e.remote.is_empty() {
                e.port.clone()
            } else {
                format!("vtep {}", e.remote)
            },
            kind.to_string(),
            age,
        ]);
    }
    table.render()
}

fn render_flush(reply: &FlushFdbResponse) -> String {
    match reply.flushed {
        1 => "flushed 1 entry".to_string(),
        n => format!("flushed {n} entries"),
    }
}

/// Parses a unicast or multicast MAC as six hex octets separated by `:` or `-`; prints it
/// lower-case with `:`.
fn parse_mac(s: &str) -> Result<String, String> {
    let octets: Vec<&str> = s.split([':', '-']).collect();
    let valid = octets.len() == 6
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.chars().all(|c| c.is_ascii_hexdigit()));
    if valid {
        Ok(octets.join(":").to_ascii_lowercase())
    } else {
        Err(format!("{s:?} is not a MAC address like 02:00:00:00:00:01"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_is_normalised() {
        assert_eq!(
            parse_mac("02:AB:cd:00:00:01"),
            Ok("02:ab:cd:00:00:01".into())
        );
        assert_eq!(
            parse_mac("02-ab-cd-00-00-01"),
            Ok("02:ab:cd:00:00:01".into())
        );
    }

    #[test]
    fn bad_macs_are_rejected() {
        for bad in [
            "",
            "02:00:00:00:00",
            "02:00:00:00:00:01:02",
            "2:0:0:0:0:1",
            "0g:00:00:00:00:01",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn list_is_sorted_and_static_entries_have_no_age() {
        let entry = |network: &str, mac: &str, port: &str, stat: bool, age| FdbEntry {
            network: network.into(),
            mac: mac.into(),
            port: port.into(),
            r#static: stat,
            age_secs: age,
            remote: String::new(),
        };
        let mut behind_vtep = entry("web", "02:00:00:00:00:03", "", false, 5);
        behind_vtep.remote = "198.51.100.2".into();
        let list = ListFdbResponse {
            entries: vec![
                behind_vtep,
                entry("web", "02:00:00:00:00:02", "vm2", false, 12),
                entry("app", "02:00:00:00:00:09", "vm9", true, 0),
                entry("web", "02:00:00:00:00:01", "vm1", false, 3),
            ],
        };
        assert_eq!(
            render_list(&list),
            "NETWORK  MAC                PORT               TYPE     AGE\n\
             app      02:00:00:00:00:09  vm9                static   -\n\
             web      02:00:00:00:00:01  vm1                learned  3s\n\
             web      02:00:00:00:00:02  vm2                learned  12s\n\
             web      02:00:00:00:00:03  vtep 198.51.100.2  learned  5s"
        );
    }

    #[test]
    fn flush_counts_entries() {
        assert_eq!(
            render_flush(&FlushFdbResponse { flushed: 1 }),
            "flushed 1 entry"
        );
        assert_eq!(
            render_flush(&FlushFdbResponse { flushed: 0 }),
            "flushed 0 entries"
        );
    }
}
