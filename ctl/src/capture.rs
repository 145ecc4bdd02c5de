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
    /// Bytes of each packet to keep (at most 2048; 128 keeps the headers of most).
    #[arg(short = 's', long, value_name = "N", default_value_t = 2048)]
    snaplen: u32,
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
    if !(1..=2048).contains(&args.snaplen) {
        return Err(Error::Usage("capture: --snaplen is 1 to 2048 bytes".into()));
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
        snaplen: args.snaplen,
    };
    let mut batches = client.capture(request).await?.into_inner();
    let mut out = BufWriter::new(sink);
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
        packets += batch.packets;
        match out.write_all(&batch.pcapng).and_then(|()| out.flush()) {
            // The reader went away (`| head`): the capture is over, not failed.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            other => other.map_err(|e| Error::Write(e.to_string()))?,
        }
    }
    if !to_stdout {
        eprintln!("{packets} packets captured, {lost} copies lost");
    }
    Ok(())
}
