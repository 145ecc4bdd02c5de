//! `vsctl stats show`: per-port traffic and drops, hardware counters, workers, drops in total;
//! `vsctl stats drops`: every drop by port and reason, most first, with what it means.

use std::collections::BTreeMap;

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Table};
use crate::pb::stats_service_client::StatsServiceClient;
use crate::pb::{GetStatsRequest, Stats};
use crate::status;

#[derive(Debug, Subcommand)]
pub enum StatsCmd {
    /// Show the counters: rx/tx packets and bytes, drops by reason, workers.
    Show {
        /// Only this port [default: every port].
        #[arg(long, value_name = "NAME")]
        port: Option<String>,
    },
    /// Every drop by port and reason, most first, with what the reason means and what to check.
    Drops {
        /// Only this port [default: every port].
        #[arg(long, value_name = "NAME")]
        port: Option<String>,
        /// Every reason the pipeline has, with its total over every port (zero too).
        #[arg(long, conflicts_with = "port")]
        all: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: StatsCmd) -> Result<(), Error> {
    let (StatsCmd::Show { port } | StatsCmd::Drops { port, .. }) = &cmd;
    let mut client = crate::client!(StatsServiceClient, ctx);
    let request = GetStatsRequest {
        port: port.clone().unwrap_or_default(),
    };
    let mut stats = client.get_stats(request).await?.into_inner();
    match cmd {
        StatsCmd::Show { .. } => {
            stats.reasons.clear();
            output::emit(ctx.json, &stats, render)
        }
        StatsCmd::Drops { all: false, .. } => {
            output::emit(ctx.json, &drops(&stats), |d| render_drops(d))
        }
        StatsCmd::Drops { all: true, .. } => {
            output::emit(ctx.json, &every_reason(&stats), |d| render_drops(d))
        }
    }
}

/// One port's drops of one reason.
#[derive(Debug, serde::Serialize)]
struct Drop {
    port: String,
    reason: String,
    packets: u64,
    meaning: String,
}

/// Every (port, reason) that dropped anything, most first.
fn drops(stats: &Stats) -> Vec<Drop> {
    let meaning = |r: &str| {
        let found = stats.reasons.iter().find(|m| m.name == r);
        found.map_or(String::new(), |m| m.meaning.clone())
    };
    let mut all: Vec<Drop> = stats
        .ports
        .iter()
        .flat_map(|p| {
            p.drops.iter().filter(|(_, n)| **n > 0).map(|(r, n)| Drop {
                port: p.name.clone(),
                reason: r.clone(),
                packets: *n,
                meaning: meaning(r),
            })
        })
        .collect();
    all.sort_by(|a, b| (b.packets, &a.port, &a.reason).cmp(&(a.packets, &b.port, &b.reason)));
    all
}

/// Every reason of the pipeline with its total over every port (port `*`), in pipeline order.
fn every_reason(stats: &Stats) -> Vec<Drop> {
    let reasons = stats.reasons.iter();
    reasons
        .map(|r| Drop {
            port: "*".into(),
            reason: r.name.clone(),
            packets: stats.drops.get(&r.name).copied().unwrap_or(0),
            meaning: r.meaning.clone(),
        })
        .collect()
}

fn render_drops(drops: &[Drop]) -> String {
    if drops.is_empty() {
        return "no drops".into();
    }
    let mut table = Table::new(&["PORT", "REASON", "PACKETS", "MEANING"]);
    for d in drops {
        table.row(vec![
            d.port.clone(),
            d.reason.clone(),
            d.packets.to_string(),
            d.meaning.clone(),
        ]);
    }
    table.render()
}

/// Sections separated by blank lines; sections with nothing to say are left out.
fn render(stats: &Stats) -> String {
    let mut sections = vec![traffic(stats)];
    let port_drops = port_drops(stats);
    sections.extend(port_drops);
    sections.extend(hardware(stats));
    if !stats.workers.is_empty() {
        sections.push(status::workers_table(&stats.workers));
    }
    sections.extend(total_drops(&stats.drops));
    sections.join("\n\n")
}

fn traffic(stats: &Stats) -> String {
    let mut table = Table::new(&[
        "PORT",
        "RX-PACKETS",
        "RX-BYTES",
        "TX-PACKETS",
        "TX-BYTES",
        "DROPS",
    ]);
    for p in &stats.ports {
        table.row(vec![
            p.name.clone(),
            p.rx_packets.to_string(),
            p.rx_bytes.to_string(),
            p.tx_packets.to_string(),
            p.tx_bytes.to_string(),
            p.drops
                .values()
                .fold(0u64, |a, b| a.saturating_add(*b))
                .to_string(),
        ]);
    }
    table.render()
}

/// Each port's non-zero drop reasons.
fn port_drops(stats: &Stats) -> Option<String> {
    let mut table = Table::new(&["PORT", "DROP-REASON", "PACKETS"]);
    let mut any = false;
    for p in &stats.ports {
        for (reason, count) in p.drops.iter().filter(|(_, n)| **n > 0) {
            table.row(vec![p.name.clone(), reason.clone(), count.to_string()]);
            any = true;
        }
    }
    any.then(|| table.render())
}

/// What the PMDs count, for ports that reported it.
fn hardware(stats: &Stats) -> Option<String> {
    let mut table = Table::new(&[
        "PORT",
        "HW-IPACKETS",
        "HW-OPACKETS",
        "HW-IBYTES",
        "HW-OBYTES",
        "IMISSED",
        "IERRORS",
        "OERRORS",
        "RX-NOMBUF",
    ]);
    let mut any = false;
    for p in &stats.ports {
        let Some(hw) = &p.hw else { continue };
        let counters = [
            hw.ipackets,
            hw.opackets,
            hw.ibytes,
            hw.obytes,
            hw.imissed,
            hw.ierrors,
            hw.oerrors,
            hw.rx_nombuf,
        ];
        let mut row = vec![p.name.clone()];
        row.extend(counters.iter().map(ToString::to_string));
        table.row(row);
        any = true;
    }
    any.then(|| table.render())
}

/// Drops over every port, non-zero reasons only.
fn total_drops(drops: &BTreeMap<String, u64>) -> Option<String> {
    let mut table = Table::new(&["DROP-REASON", "TOTAL"]);
    let mut any = false;
    for (reason, count) in drops.iter().filter(|(_, n)| **n > 0) {
        table.row(vec![reason.clone(), count.to_string()]);
        any = true;
    }
    any.then(|| table.render())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{HardwareStats, PortStats, WorkerStatus};

    fn stats() -> Stats {
        Stats {
            ports: vec![
                PortStats {
                    name: "p0".into(),
                    rx_packets: 10,
                    rx_bytes: 640,
                    tx_packets: 8,
                    tx_bytes: 512,
                    drops: BTreeMap::from([("no_network".into(), 2), ("tx_full".into(), 0)]),
                    hw: Some(HardwareStats {
                        ipackets: 10,
                        ibytes: 640,
                        ..Default::default()
                    }),
                    xstats: BTreeMap::new(),
                },
                PortStats {
                    name: "p1".into(),
                    ..Default::default()
                },
            ],
            drops: BTreeMap::from([("no_network".into(), 2), ("ttl".into(), 0)]),
            workers: vec![WorkerStatus {
                id: 0,
                cpu: 1,
                busy_polls: 3,
                idle_polls: 1,
                busy_cycles: 300,
                idle_cycles: 100,
                rx_packets: 10,
                rx_queues: vec!["p0:0".into()],
            }],
            reasons: vec![crate::pb::DropReason {
                name: "no_network".into(),
                meaning: "The port is in no network.".into(),
            }],
        }
    }

    #[test]
    fn drops_are_listed_most_first_with_their_meaning() {
        let mut s = stats();
        s.ports[1].drops.insert("tx_full".into(), 5);
        assert_eq!(
            render_drops(&drops(&s)),
            "PORT  REASON      PACKETS  MEANING\n\
             p1    tx_full     5\n\
             p0    no_network  2        The port is in no network."
        );
        assert_eq!(render_drops(&[]), "no drops");
        let every = every_reason(&s);
        assert_eq!(
            (every.len(), every[0].packets),
            (1, 2),
            "no_network's total"
        );
    }

    #[test]
    fn renders_every_section_with_non_zero_reasons_only() {
        assert_eq!(
            render(&stats()),
            "PORT  RX-PACKETS  RX-BYTES  TX-PACKETS  TX-BYTES  DROPS\n\
             p0    10          640       8           512       2\n\
             p1    0           0         0           0         0\n\
             \n\
             PORT  DROP-REASON  PACKETS\n\
             p0    no_network   2\n\
             \n\
             PORT  HW-IPACKETS  HW-OPACKETS  HW-IBYTES  HW-OBYTES  IMISSED  IERRORS  OERRORS  RX-NOMBUF\n\
             p0    10           0            640        0          0        0        0        0\n\
             \n\
             WORKER  CPU  BUSY-POLLS  IDLE-POLLS  BUSY%  CYC/PKT  RX-QUEUES\n\
             0       1    3           1           75.0   30       p0:0\n\
             \n\
             DROP-REASON  TOTAL\n\
             no_network   2"
        );
    }

    #[test]
    fn quiet_switch_prints_only_the_traffic_table() {
        let quiet = Stats {
            ports: vec![PortStats {
                name: "p0".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            render(&quiet),
            "PORT  RX-PACKETS  RX-BYTES  TX-PACKETS  TX-BYTES  DROPS\n\
             p0    0           0         0           0         0"
        );
    }

    #[test]
    fn json_maps_are_sorted() {
        let text = serde_json::to_string(&stats()).unwrap_or_default();
        let no_network = text.find("\"no_network\":2,\"ttl\"");
        assert!(no_network.is_some(), "{text}");
    }
}
