//! `vsctl trace`: what every stage of the pipeline decides about a packet: a described one,
//! run through the current configuration without being sent, or (`--live`) the next real
//! packets of a port, as the workers forward them.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;

use crate::client::Ctx;
use crate::error::Error;
use crate::output;
use crate::pb::trace_service_client::TraceServiceClient;
use crate::pb::{LiveRequest, SimulateRequest, Trace};
use crate::pcap;

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The port the packet arrives on.
    #[arg(long)]
    port: String,
    /// The packet: a spec such as
    /// `eth(src=..)/vlan(100)/ipv4(src=..,dst=..)/tcp(dport=80,flags=S)`, or the frame in hex.
    #[arg(long, value_name = "SPEC|HEX", conflicts_with_all = ["pcap", "live"])]
    packet: Option<String>,
    /// Trace the next real packets the port receives instead, as they are forwarded.
    #[arg(long, conflicts_with = "pcap")]
    live: bool,
    /// With --live: how many packets to trace.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "live")]
    count: u32,
    /// With --live: trace only packets this capture filter keeps (pcap-filter syntax, as
    /// tcpdump takes).
    #[arg(long, value_name = "EXPR", requires = "live")]
    filter: Option<String>,
    /// Take the frame from a capture file (pcap or pcapng).
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Which frame of the capture file (1 = the first).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "pcap")]
    index: usize,
}

pub async fn run(ctx: &Ctx, args: TraceArgs) -> Result<(), Error> {
    if args.live {
        return live(ctx, args).await;
    }
    let packet = match (args.packet, &args.pcap) {
        (Some(p), _) => p,
        (None, Some(file)) => hex(&pcap::read_frame(file, args.index)?),
        (None, None) => {
            return Err(Error::Usage(
                "trace: give --packet, --pcap or --live".into(),
            ))
        }
    };
    let mut client = crate::client!(TraceServiceClient, ctx);
    let request = SimulateRequest {
        port: args.port,
        packet,
    };
    let reply = client.simulate(request).await?.into_inner();
    output::emit(ctx.json, &reply, render)
}

/// Prints each trace as the daemon streams it, until `--count` came or the user stops it.
async fn live(ctx: &Ctx, args: TraceArgs) -> Result<(), Error> {
    let mut client = crate::client!(TraceServiceClient, ctx);
    let request = LiveRequest {
        port: args.port,
        count: args.count,
        filter: args.filter.unwrap_or_default(),
    };
    let mut traces = client.live(request).await?.into_inner();
    loop {
        let next = tokio::select! {
            t = traces.message() => t?,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(t) = next else {
            return Ok(());
        };
        output::emit(ctx.json, &t, render)?;
    }
}

fn hex(frame: &[u8]) -> String {
    frame.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One trace as lines: each stage's decision, then where copies went.
pub fn render(t: &Trace) -> String {
    let mut s = match t.live {
        true => format!("packet on port {} at {}\n", t.port, clock(t.time_ns)),
        false => format!("packet on port {}\n", t.port),
    };
    for n in &t.notes {
        let _ = writeln!(s, "  {:<9} {}", n.stage, n.text);
    }
    if t.cut {
        s.push_str("  (more stages decided than a trace keeps)\n");
    }
    match t.sent.len() {
        // A live trace's outputs are in its notes.
        _ if t.live => {}
        0 => s.push_str("sent: nothing\n"),
        _ => {
            let out: Vec<_> = t
                .sent
                .iter()
                .map(|x| format!("{} ({} bytes)", x.port, x.length))
                .collect();
            let _ = writeln!(s, "sent: {}", out.join(", "));
        }
    }
    s
}

/// A time of day (UTC) with microseconds, from nanoseconds since the epoch.
fn clock(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        ns / 1000 % 1_000_000
    )
}
