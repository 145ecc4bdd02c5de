//! `vsctl status`: version, config generation, workers and their queues.

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Fields, Table};
use crate::pb::status_service_client::StatusServiceClient;
use crate::pb::{GetStatusRequest, Status, WorkerStatus};

pub async fn run(ctx: &Ctx) -> Result<(), Error> {
    let mut client = crate::client!(StatusServiceClient, ctx);
    let status = client.get_status(GetStatusRequest {}).await?.into_inner();
    output::emit(ctx.json, &status, render)
}

fn render(status: &Status) -> String {
    let mut fields = Fields::new();
    fields
        .add("version", output::or_dash(&status.version))
        .add("generation", status.generation)
        .add("uptime", output::duration(status.uptime_secs))
        .add("state-dir", output::or_dash(&status.state_dir))
        .add("hugepages", output::yes_no(status.hugepages))
        .add("ports", status.ports)
        .add("networks", status.networks);
    format!("{}\n\n{}", fields.render(), workers_table(&status.workers))
}

/// One row per worker: its core, how often its polls found packets, the queues it polls.
/// Also used by `stats show`.
pub fn workers_table(workers: &[WorkerStatus]) -> String {
    let mut table = Table::new(&[
        "WORKER",
        "CPU",
        "BUSY-POLLS",
        "IDLE-POLLS",
        "BUSY%",
        "CYC/PKT",
        "RX-QUEUES",
    ]);
    for w in workers {
        table.row(vec![
            w.id.to_string(),
            w.cpu.to_string(),
            w.busy_polls.to_string(),
            w.idle_polls.to_string(),
            busy_percent(w.busy_cycles, w.idle_cycles),
            cycles_per_packet(w.busy_cycles, w.rx_packets),
            output::list(&w.rx_queues),
        ]);
    }
    table.render()
}

/// Busy cycles per received packet; `-` before the first packet.
fn cycles_per_packet(busy_cycles: u64, packets: u64) -> String {
    if packets == 0 {
        "-".to_string()
    } else {
        format!("{:.0}", busy_cycles as f64 / packets as f64)
    }
}

/// Share of the worker's time (cycles) in polls that found packets, one decimal; `-` before
/// the first poll.
fn busy_percent(busy: u64, idle: u64) -> String {
    let total = busy as f64 + idle as f64;
    if total == 0.0 {
        "-".to_string()
    } else {
        format!("{:.1}", busy as f64 * 100.0 / total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_renders_fields_then_workers() {
        let status = Status {
            version: "0.1.0".into(),
            generation: 4,
            uptime_secs: 61,
            state_dir: "/var/lib/vswitch".into(),
            hugepages: false,
            ports: 2,
            networks: 1,
            workers: vec![WorkerStatus {
                id: 0,
                cpu: 1,
                busy_polls: 1,
                idle_polls: 3,
                busy_cycles: 25,
                idle_cycles: 75,
                rx_packets: 0,
                rx_queues: vec!["p0:0".into(), "p1:0".into()],
            }],
        };
        assert_eq!(
            render(&status),
            "version: 0.1.0\ngeneration: 4\nuptime: 1m 1s\nstate-dir: /var/lib/vswitch\n\
             hugepages: no\nports: 2\nnetworks: 1\n\n\
             WORKER  CPU  BUSY-POLLS  IDLE-POLLS  BUSY%  CYC/PKT  RX-QUEUES\n\
             0       1    1           3           25.0   -        p0:0,p1:0"
        );
    }

    #[test]
    fn busy_percent_handles_no_polls() {
        assert_eq!(busy_percent(0, 0), "-");
        assert_eq!(busy_percent(1, 1), "50.0");
    }
}
