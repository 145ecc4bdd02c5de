//! `vsctl capture`: copies of a port's packets (received, sent, or dropped by the pipeline)
//! as pcapng, to a file or streamed to stdout (`-w -`) for tshark or Wireshark.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;

use crate::client::Ctx;
use crate::error::Error;
use crate::pb::trace_service_client::TraceServiceClient;
use crate::pb::CaptureRequest;
use crate::pcapng::{Direction, Writer};

/// What the daemon keeps of a packet.
const SNAP_LEN: u32 = 2048;

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The port to capture on.
    #[arg(long)]
    port: String,
    /// Received packets, sent packets, or both.
    #[arg(long, value_name = "rx|tx|both", default_value = "both", value_parser = ["rx", "tx", "both"])]
    direction: String,
    /// Only packets this capture filter keeps (pcap-filter syntax, as tcpdump takes).
    #[arg(long, value_name = "BPF")]
    filter: Option<String>,
    /// Stop after N packets [default: until interrupted].
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Capture what the pipeline drops of the packets the port receives, each with the drop
    /// reason as its comment.
    #[arg(long, conflicts_with = "direction")]
    drops: bool,
    /// Where the pcapng goes: a file, or `-` for stdout.
    #[arg(short = 'w', value_name = "FILE|-")]
    write: PathBuf,
}

pub async fn run(ctx: &Ctx, args: CaptureArgs) -> Result<(), Error> {
    if args.count == Some(0) {
        return Err(Error::Usage("capture: --count is 1 or more".into()));
    }
    let to_stdout = args.write.as_os_str() == "-";
    let sink: Box<dyn Write> = match to_stdout {
        true => Box::new(io::stdout().lock()),
        false => Box::new(
            File::create(&args.write)
                .map_err(|e| Error::Write(format!("{}: {e}", args.write.display())))?,
        ),
    };
    let mut client = crate::client!(TraceServiceClient, ctx);
    let request = CaptureRequest {
        port: args.port,
        direction: args.direction,
        filter: args.filter.unwrap_or_default(),
        count: args.count.unwrap_or(0),
        drops: args.drops,
    };
    let mut batches = client.capture(request).await?.into_inner();
    let failed = |e: io::Error| Error::Write(e.to_string());
    let mut pcap = Writer::new(BufWriter::new(sink), SNAP_LEN).map_err(failed)?;
    let (mut packets, mut lost) = (0u64, 0u64);
    loop {
        let next = tokio::select! {
            b = batches.message() => b?,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(batch) = next else {
            break;
        };
        lost = batch.lost;
        for p in &batch.packets {
            let (direction, comment) = match p.direction.as_str() {
                "tx" => (Direction::Outbound, None),
                "drop" => (Direction::Inbound, Some(p.drop_reason.as_str())),
                _ => (Direction::Inbound, None),
            };
            let written = pcap.packet(
                &batch.port,
                p.time_ns,
                direction,
                &p.frame,
                p.wire_length,
                comment,
            );
            match written {
                // The reader went away (`| head`): the capture is over, not failed.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                other => other.map_err(failed)?,
            }
            packets += 1;
        }
        match pcap.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            other => other.map_err(failed)?,
        }
    }
    if !to_stdout {
        eprintln!("{packets} packets captured, {lost} copies lost");
    }
    Ok(())
}
