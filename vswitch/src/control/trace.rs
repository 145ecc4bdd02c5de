//! TraceService: a described frame through the current snapshot (`datapath::trace`), the
//! live trace of real packets and captures of a port's packets (the workers' taps,
//! `pipeline::tap`), streamed as the workers hand them over.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::pb::trace_service_server::TraceService;
use super::pb::{
    CaptureBatch, CaptureRequest, LiveRequest, SimulateRequest, Trace, TraceNote, TraceSent,
};
use super::Shared;
use crate::datapath::trace::simulate;
use crate::datapath::{drops, Snapshot};
use crate::pipeline::bpf::Program;
use crate::pipeline::clock;
use crate::pipeline::tap::SNAP_LEN;
use crate::pipeline::tap::{now_ns, Capture, LiveTrace, Seen};
use crate::pipeline::trace::Trail;
use crate::telemetry::packet_spec;
use crate::telemetry::pcapng::{self, Direction};

/// How often the control thread collects what the workers handed over.
const COLLECT_EVERY: Duration = Duration::from_millis(10);

pub struct TraceApi(pub Shared);

/// The id of the port named `name` in `snap`.
pub fn port_id(snap: &Snapshot, name: &str) -> Result<u16, Status> {
    snap.topology.port_named(name).map(|p| p.id).ok_or_else(|| {
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
        live: false,
        time_ns: now_ns(),
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

/// The capture filter `expr` (empty: none), or a one-line error naming it.
fn filter(expr: &str) -> Result<Option<Program>, Status> {
    match expr.trim() {
        "" => Ok(None),
        e => Program::compile(e)
            .map(Some)
            .map_err(|why| Status::invalid_argument(format!("filter `{e}`: {why}"))),
    }
}

type Streamed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Runs `collect` every few milliseconds until it says it is done or the client went away,
/// then `disarm`; what `collect` sends reaches the client as a stream.
fn stream<T: Send + 'static>(
    mut collect: impl FnMut(&mpsc::Sender<Result<T, Status>>) -> bool + Send + 'static,
    disarm: impl FnOnce() + Send + 'static,
) -> Streamed<T> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(COLLECT_EVERY).await;
            if collect(&tx) || tx.is_closed() {
                break;
            }
        }
        disarm();
    });
    Box::pin(ReceiverStream::new(rx))
}

fn direction(d: &str) -> Result<(bool, bool), Status> {
    match d {
        "" | "both" => Ok((true, true)),
        "rx" => Ok((true, false)),
        "tx" => Ok((false, true)),
        other => Err(Status::invalid_argument(format!(
            "capture: direction `{other}`: rx, tx or both"
        ))),
    }
}

#[tonic::async_trait]
impl TraceService for TraceApi {
    type LiveStream = Streamed<Trace>;
    type CaptureStream = Streamed<CaptureBatch>;

    async fn live(&self, req: Request<LiveRequest>) -> Result<Response<Self::LiveStream>, Status> {
        let req = req.into_inner();
        let snap = self.0.manager.snapshot_cell().load();
        let port = port_id(&snap, &req.port)?;
        let trace = Arc::new(LiveTrace::new(
            port,
            filter(&req.filter)?,
            u64::from(req.count.max(1)),
        ));
        if !self.0.taps.add_trace(trace.clone()) {
            return Err(Status::failed_precondition(format!(
                "port {}: a live trace of it runs already; wait for it to end",
                req.port
            )));
        }
        let shared = self.0.clone();
        let (armed, name) = (trace.clone(), req.port);
        let collect = move |tx: &mpsc::Sender<Result<Trace, Status>>| {
            let snap = shared.manager.snapshot_cell().load();
            let mut done = Vec::new();
            trace.drain(|t| done.push(t));
            for t in done {
                let mut pb = to_pb(&snap, &name, &t.trail, &[]);
                pb.live = true;
                pb.time_ns = t.time_ns;
                if tx.try_send(Ok(pb)).is_err() {
                    return true;
                }
            }
            trace.done() && trace.is_drained()
        };
        let taps = self.0.taps.clone();
        let disarm = move || taps.remove_trace(&armed);
        Ok(Response::new(stream(collect, disarm)))
    }

    async fn capture(
        &self,
        req: Request<CaptureRequest>,
    ) -> Result<Response<Self::CaptureStream>, Status> {
        let req = req.into_inner();
        let snap = self.0.manager.snapshot_cell().load();
        let port = port_id(&snap, &req.port)?;
        let (rx, tx) = direction(&req.direction)?;
        let what = match req.drops {
            true => (false, false, true),
            false => (rx, tx, false),
        };
        let count = (req.count > 0).then_some(req.count);
        let snaplen = match req.snaplen {
            0 => SNAP_LEN,
            n => (n as usize).min(SNAP_LEN),
        };
        let capture = Arc::new(Capture::new(
            port,
            what,
            filter(&req.filter)?,
            count,
            snaplen,
        ));
        self.0.taps.add_capture(capture.clone());
        let (armed, name) = (capture.clone(), req.port);
        let mut pcap = pcapng::Writer::new(Vec::new(), snaplen as u32)
            .map_err(|e| Status::internal(format!("capture: {e}")))?;
        let mut started = false;
        let collect = move |out: &mpsc::Sender<Result<CaptureBatch, Status>>| {
            // A client slower than the capture: copies wait in the ring, which loses (and
            // counts) what it has no room for.
            if out.capacity() == 0 {
                return false;
            }
            let mut packets = 0;
            capture.drain(|c| {
                let (direction, reason) = match c.seen {
                    Seen::Received => (Direction::Inbound, None),
                    Seen::Sent => (Direction::Outbound, None),
                    Seen::Dropped(r) => (Direction::Inbound, Some(drops::name(r))),
                };
                // Writing into memory does not fail.
                let _ = pcap.packet(&name, c.time_ns, direction, c.bytes(), c.wire_len, reason);
                packets += 1;
            });
            let done = capture.done() && capture.is_drained();
            // The first part carries the section header, even with no packet yet: a reader
            // of `-w -` sees a pcapng stream at once.
            if packets > 0 || !started {
                started = true;
                let batch = CaptureBatch {
                    pcapng: pcap.take(),
                    packets,
                    lost: capture.lost.load(Ordering::Relaxed),
                };
                if out.try_send(Ok(batch)).is_err() {
                    return true;
                }
            }
            done
        };
        let taps = self.0.taps.clone();
        let disarm = move || taps.remove_capture(&armed);
        Ok(Response::new(stream(collect, disarm)))
    }

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
