//! `vsctl ipfix set|show|del`: IPFIX export of the connection table to a collector.

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Fields};
use crate::pb::ipfix_service_client::IpfixServiceClient;
use crate::pb::{DeleteIpfixRequest, GetIpfixRequest, Ipfix};

#[derive(Debug, Subcommand)]
pub enum IpfixCmd {
    /// Export flow records of the tracked connections to a collector (replaces the export).
    Set {
        /// The collector: IP:PORT (UDP).
        #[arg(long, value_name = "IP:PORT")]
        collector: String,
        /// Export one connection in N [default: 1, every one].
        #[arg(long, value_name = "N")]
        sampling: Option<u32>,
        /// Seconds after which a long-lived connection's counts are exported again [default: 60].
        #[arg(long, value_name = "S")]
        active_timeout: Option<u32>,
        /// Seconds without a packet after which a connection's counts are exported [default: 15].
        #[arg(long, value_name = "S")]
        idle_timeout: Option<u32>,
    },
    /// The export's settings and what it sent.
    Show,
    /// Stop exporting.
    Del {
        /// Succeed if there is no export.
        #[arg(long)]
        missing_ok: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: IpfixCmd) -> Result<(), Error> {
    let mut client = crate::client!(IpfixServiceClient, ctx);
    match cmd {
        IpfixCmd::Set {
            collector,
            sampling,
            active_timeout,
            idle_timeout,
        } => {
            // 0 means "the default" on the wire: refused here rather than taken as it.
            if sampling == Some(0) {
                return Err(Error::Usage(
                    "ipfix: --sampling is 1 (every connection) or more".into(),
                ));
            }
            if active_timeout == Some(0) || idle_timeout == Some(0) {
                return Err(Error::Usage(
                    "ipfix: --active-timeout and --idle-timeout are 1 to 3600 seconds".into(),
                ));
            }
            let request = Ipfix {
                collector,
                sampling: sampling.unwrap_or(0),
                active_timeout: active_timeout.unwrap_or(0),
                idle_timeout: idle_timeout.unwrap_or(0),
                ..Ipfix::default()
            };
            let reply = client.set_ipfix(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        IpfixCmd::Show => {
            let reply = client.get_ipfix(GetIpfixRequest {}).await?.into_inner();
            output::emit(ctx.json, &reply, render)
        }
        IpfixCmd::Del { missing_ok } => {
            let reply = client
                .delete_ipfix(DeleteIpfixRequest { missing_ok })
                .await?
                .into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
    }
}

fn render(x: &Ipfix) -> String {
    let mut f = Fields::new();
    f.add("collector", &x.collector)
        .add("sampling", format!("1 in {}", x.sampling))
        .add("active timeout", format!("{}s", x.active_timeout))
        .add("idle timeout", format!("{}s", x.idle_timeout))
        .add("messages", x.messages)
        .add("records", x.records)
        .add("send errors", x.errors)
        .add("records lost", x.lost);
    f.render()
}
