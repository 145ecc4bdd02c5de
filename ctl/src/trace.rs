//! `vsctl trace`: what every stage of the pipeline decides about a packet: a described one,
//! run through the current configuration without being sent.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;

use crate::client::Ctx;
use crate::error::Error;
use crate::output;
use crate::pb::trace_service_client::TraceServiceClient;
use crate::pb::{SimulateRequest, Trace};
use crate::pcap;

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The port the packet arrives on.
    #[arg(long)]
    port: String,
    /// The packet: a spec such as
    /// `eth(src=..)/vlan(100)/ipv4(src=..,dst=..)/tcp(dport=80,flags=S)`, or the frame in hex.
    #[arg(
        long,
        value_name = "SPEC|HEX",
        conflicts_with = "pcap",
        required_unless_present = "pcap"
    )]
    packet: Option<String>,
    /// Take the frame from a capture file (pcap or pcapng).
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Which frame of the capture file (1 = the first).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "pcap")]
    index: usize,
}

pub async fn run(ctx: &Ctx, args: TraceArgs) -> Result<(), Error> {
    let packet = match (args.packet, &args.pcap) {
        (Some(p), _) => p,
        (None, Some(file)) => hex(&pcap::read_frame(file, args.index)?),
        (None, None) => return Err(Error::Usage("trace: give --packet or --pcap".into())),
    };
    let mut client = crate::client!(TraceServiceClient, ctx);
    let request = SimulateRequest {
        port: args.port,
        packet,
    };
    let reply = client.simulate(request).await?.into_inner();
    output::emit(ctx.json, &reply, render)
}

fn hex(frame: &[u8]) -> String {
    frame.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One trace as lines: each stage's decision, then where copies went.
pub fn render(t: &Trace) -> String {
    let mut s = format!("packet on port {}\n", t.port);
    for n in &t.notes {
        let _ = writeln!(s, "  {:<9} {}", n.stage, n.text);
    }
    if t.cut {
        s.push_str("  (more stages decided than a trace keeps)\n");
    }
    match t.sent.len() {
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
