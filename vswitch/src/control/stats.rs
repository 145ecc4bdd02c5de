//! StatsService: per-port software and hardware counters, drops by reason, workers.

use std::collections::HashMap;

use tonic::{Request, Response, Status};

use super::pb::stats_service_server::StatsService;
use super::pb::{GetStatsRequest, HardwareStats, PortStats, Stats};
use super::Shared;
use crate::dpdk;

pub struct StatsApi(pub Shared);

#[tonic::async_trait]
impl StatsService for StatsApi {
    async fn get_stats(&self, req: Request<GetStatsRequest>) -> Result<Response<Stats>, Status> {
        let want = req.into_inner().port;
        let (model, _) = self.0.manager.model();
        if !want.is_empty() && model.port(&want).is_none() {
            return Err(Status::not_found(format!("port {want}: does not exist")));
        }
        let devices = self.0.manager.devices();
        let mut total: HashMap<String, u64> = HashMap::new();
        let mut ports = Vec::new();
        for p in &model.ports {
            let Some(dev) = devices.get(&p.name) else {
                continue;
            };
            let t = self.0.manager.port_totals(dev.id);
            let mut drops = HashMap::new();
            for (r, name, _) in crate::datapath::drops::all() {
                let n = t.drops[r.index()];
                if n > 0 {
                    drops.insert(name.to_string(), n);
                    *total.entry(name.to_string()).or_default() += n;
                }
            }
            if !want.is_empty() && want != p.name {
                continue;
            }
            let hw = dpdk::port::stats(dev.id);
            ports.push(PortStats {
                name: p.name.clone(),
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
        Ok(Response::new(Stats {
            ports,
            drops: total,
            workers: super::status::workers(&self.0),
        }))
    }
}
