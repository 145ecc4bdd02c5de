//! StatsService: per-port software and hardware counters, drops by reason, workers.

use std::collections::HashMap;

use tonic::{Request, Response, Status};

use super::pb::stats_service_server::StatsService;
use super::pb::{DropReason, GetStatsRequest, HardwareStats, PortStats, Stats};
use super::{Daemon, Shared};
use crate::dpdk;

pub struct StatsApi(pub Shared);

#[tonic::async_trait]
impl StatsService for StatsApi {
    async fn get_stats(&self, req: Request<GetStatsRequest>) -> Result<Response<Stats>, Status> {
        gather(&self.0, &req.into_inner().port).map(Response::new)
    }
}

/// The counters of port `want` (every port when empty), the drops summed over every port,
/// the workers', and what each drop reason means.
pub fn gather(shared: &Daemon, want: &str) -> Result<Stats, Status> {
    // The port names only: the model is not copied (a million routes) for a scrape.
    let names: Vec<String> = shared
        .manager
        .read(|m| m.ports.iter().map(|p| p.name.clone()).collect());
    if !want.is_empty() && !names.iter().any(|n| n == want) {
        return Err(Status::not_found(format!("port {want}: does not exist")));
    }
    let devices = shared.manager.devices();
    let mut total: HashMap<String, u64> = HashMap::new();
    let mut ports = Vec::new();
    for port in &names {
        let Some(dev) = devices.get(port) else {
            continue;
        };
        let t = shared.manager.port_totals(dev.id);
        let mut drops = HashMap::new();
        for (r, name, _) in crate::datapath::drops::all() {
            let n = t.drops[r.index()];
            if n > 0 {
                drops.insert(name.to_string(), n);
                *total.entry(name.to_string()).or_default() += n;
            }
        }
        if !want.is_empty() && want != port {
            continue;
        }
        let hw = dpdk::port::stats(dev.id);
        ports.push(PortStats {
            name: port.clone(),
            rx_packets: t.rx_packets,
            rx_bytes: t.rx_bytes,
            tx_packets: t.tx_packets,
            tx_bytes: t.tx_bytes,
            drops,
            hw: Some(HardwareStats {
                ipackets: hw.ipackets,
                opackets: hw.opackets,
                ibytes: hw.ibytes,
                obytes: hw.obytes,
                imissed: hw.imissed,
                ierrors: hw.ierrors,
                oerrors: hw.oerrors,
                rx_nombuf: hw.rx_nombuf,
            }),
            xstats: dpdk::port::xstats(dev.id).into_iter().collect(),
        });
    }
    let reasons = crate::datapath::drops::all()
        .map(|(_, name, meaning)| DropReason {
            name: name.to_string(),
            meaning: meaning.to_string(),
        })
        .collect();
    Ok(Stats {
        ports,
        drops: total,
        workers: super::status::workers(shared),
        reasons,
    })
}
