//! StatusService: version, generation, workers.

use tonic::{Request, Response, Status};

use super::pb::status_service_server::StatusService;
use super::pb::{GetStatusRequest, Status as StatusMsg, WorkerStatus};
use super::{Daemon, Shared};

pub struct StatusApi(pub Shared);

/// Every worker's poll counters and the queues it polls.
pub fn workers(shared: &Daemon) -> Vec<WorkerStatus> {
    let snap = shared.manager.snapshot_cell().load();
    let names = shared.manager.devices();
    let name_of = |id: u16| {
        names
            .iter()
            .find(|(_, d)| d.id == id)
            .map_or_else(|| format!("#{id}"), |(n, _)| n.clone())
    };
    shared
        .manager
        .worker_counters()
        .iter()
        .enumerate()
        .map(|(i, c)| WorkerStatus {
            id: i as u32,
            cpu: shared.worker_cpus.get(i).copied().unwrap_or(0) as u32,
            busy_polls: c.busy_polls.get(),
            idle_polls: c.idle_polls.get(),
            busy_cycles: c.busy_cycles.get(),
            idle_cycles: c.idle_cycles.get(),
            rx_packets: c.rx_packets.get(),
            rx_queues: snap
                .workers
                .get(i)
                .map(|qs| {
                    qs.iter()
                        .map(|q| format!("{}:{}", name_of(q.port), q.queue))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

#[tonic::async_trait]
impl StatusService for StatusApi {
    async fn get_status(
        &self,
        _req: Request<GetStatusRequest>,
    ) -> Result<Response<StatusMsg>, Status> {
        let (model, generation) = self.0.manager.model();
        Ok(Response::new(StatusMsg {
            version: env!("CARGO_PKG_VERSION").to_string(),
            generation,
            uptime_secs: self.0.started.elapsed().as_secs(),
            state_dir: self
                .0
                .state_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            hugepages: self.0.hugepages,
            ports: model.ports.len() as u32,
            networks: model.networks.len() as u32,
            workers: workers(&self.0),
        }))
    }
}
