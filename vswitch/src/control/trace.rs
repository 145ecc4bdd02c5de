//! TraceService: a described frame through the current snapshot (`datapath::trace`), every
//! stage's note in the answer.

use std::time::{SystemTime, UNIX_EPOCH};

use tonic::{Request, Response, Status};

use super::pb::trace_service_server::TraceService;
use super::pb::{SimulateRequest, Trace, TraceNote, TraceSent};
use super::Shared;
use crate::datapath::trace::simulate;
use crate::datapath::Snapshot;
use crate::pipeline::clock;
use crate::pipeline::trace::Trail;
use crate::telemetry::packet_spec;

pub struct TraceApi(pub Shared);

/// The id of the port named `name` in `snap`.
pub fn port_id(snap: &Snapshot, name: &str) -> Result<u16, Status> {
    snap.topology
        .ports
        .iter()
        .flatten()
        .find(|p| &*p.name == name)
        .map(|p| p.id)
        .ok_or_else(|| {
            Status::not_found(format!(
                "port {name}: no such port; `vsctl port list` shows them"
            ))
        })
}

fn port_name(snap: &Snapshot, id: u16) -> String {
    snap.port(id)
        .map_or_else(|| format!("port {id}"), |p| p.name.to_string())
}

/// The trace as the API answers it.
pub fn to_pb(snap: &Snapshot, port: &str, trail: &Trail, sent: &[(u16, usize)]) -> Trace {
    Trace {
        port: port.to_owned(),
        time_ns: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
        notes: trail
            .notes()
            .iter()
            .map(|n| TraceNote {
                stage: n.stage.to_owned(),
                text: n.text().to_owned(),
            })
            .collect(),
        cut: trail.cut,
        sent: sent
            .iter()
            .map(|&(id, len)| TraceSent {
                port: port_name(snap, id),
                length: len as u32,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl TraceService for TraceApi {
    async fn simulate(&self, req: Request<SimulateRequest>) -> Result<Response<Trace>, Status> {
        let req = req.into_inner();
        let frame =
            packet_spec::parse(&req.packet).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let snap = self.0.manager.snapshot_cell().load();
        let port = port_id(&snap, &req.port)?;
        let done = simulate(&snap, port, &frame, clock::now_secs());
        let sent: Vec<_> = done.sent.iter().map(|(p, f)| (*p, f.len())).collect();
        Ok(Response::new(to_pb(&snap, &req.port, &done.trail, &sent)))
    }
}
