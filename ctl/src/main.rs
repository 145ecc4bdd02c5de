//! vsctl: the operator's command line for vswitchd.
//!
//! Global options, the command tree and error printing live here; each noun (status, network,
//! port, fdb, stats, config) has its own file with its arguments and its handlers.

mod capture;
mod client;
mod config;
mod dhcp;
mod error;
mod fdb;
mod group;
mod ipfix;
mod nat;
mod network;
mod output;
mod pcap;
mod policy;
mod port;
mod route;
mod security_group;
mod service;
mod stats;
mod status;
mod trace;
mod vtep;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::Ctx;
use crate::error::Error;

/// The gRPC API, generated from `vswitch/proto/vswitch/v1/*.proto`.
pub mod pb {
    tonic::include_proto!("vswitch.v1");
}

/// Where vswitchd listens unless `--socket` or `VSCTL_SOCKET` say otherwise.
pub const DEFAULT_SOCKET: &str = "/run/vswitch/vswitchd.sock";

#[derive(Debug, Parser)]
#[command(
    name = "vsctl",
    version,
    about = "Configure and inspect vswitchd",
    max_term_width = 100
)]
struct Cli {
    /// vswitchd's control socket.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "VSCTL_SOCKET",
        default_value = DEFAULT_SOCKET,
        value_name = "PATH"
    )]
    socket: PathBuf,

    /// Print the response as JSON instead of a table.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Daemon status: version, config generation, workers.
    Status,
    /// Virtual networks (bridge domains).
    #[command(subcommand)]
    Network(network::NetworkCmd),
    /// Ports: TAP, af-packet, vhost-user, PCI, any vdev.
    #[command(subcommand)]
    Port(port::PortCmd),
    /// The MAC tables of the networks.
    #[command(subcommand)]
    Fdb(fdb::FdbCmd),
    /// The routes of the VRFs.
    #[command(subcommand)]
    Route(route::RouteCmd),
    /// The neighbors (ARP) the gateways learned.
    #[command(subcommand)]
    Arp(route::ArpCmd),
    /// Firewall policies between networks, groups and address ranges.
    #[command(subcommand)]
    Policy(policy::PolicyCmd),
    /// Address groups that policies name.
    #[command(subcommand)]
    Group(group::GroupCmd),
    /// Per-port allow lists.
    #[command(subcommand)]
    SecurityGroup(security_group::SecurityGroupCmd),
    /// The firewall's connection table.
    #[command(subcommand)]
    Conntrack(policy::ConntrackCmd),
    /// The leases of the networks' DHCP servers.
    #[command(subcommand)]
    Dhcp(dhcp::DhcpCmd),
    /// Counters: per port, per drop reason, per worker.
    #[command(subcommand)]
    Stats(stats::StatsCmd),
    /// Source NAT toward external networks.
    #[command(subcommand)]
    Snat(nat::SnatCmd),
    /// Floating IPs: external addresses for internal endpoints, both ways.
    #[command(subcommand, name = "floating-ip")]
    FloatingIp(nat::FloatingIpCmd),
    /// Service VIPs: new connections balanced over backends, with health checks.
    #[command(subcommand)]
    Service(service::ServiceCmd),
    /// The VXLAN tunnel endpoint and its flood lists.
    #[command(subcommand)]
    Vtep(vtep::VtepCmd),
    /// IPFIX export of the tracked connections to a collector.
    #[command(subcommand)]
    Ipfix(ipfix::IpfixCmd),
    /// What every stage decides about a packet: a described one, sent nowhere, or the next
    /// real ones (--live).
    Trace(trace::TraceArgs),
    /// Copies of a port's packets as pcapng (tshark, Wireshark).
    Capture(capture::CaptureArgs),
    /// Apply a whole desired model from a TOML or JSON file.
    Apply(config::ApplyArgs),
    /// The whole model.
    #[command(subcommand)]
    Config(config::ConfigCmd),
}

async fn run(cli: Cli) -> Result<(), Error> {
    let ctx = Ctx::new(cli.socket, cli.json);
    match cli.command {
        Command::Status => status::run(&ctx).await,
        Command::Network(cmd) => network::run(&ctx, cmd).await,
        Command::Port(cmd) => port::run(&ctx, cmd).await,
        Command::Fdb(cmd) => fdb::run(&ctx, cmd).await,
        Command::Route(cmd) => route::run_route(&ctx, cmd).await,
        Command::Arp(cmd) => route::run_arp(&ctx, cmd).await,
        Command::Policy(cmd) => policy::run_policy(&ctx, cmd).await,
        Command::Group(cmd) => group::run(&ctx, cmd).await,
        Command::SecurityGroup(cmd) => security_group::run(&ctx, cmd).await,
        Command::Conntrack(cmd) => policy::run_conntrack(&ctx, cmd).await,
        Command::Vtep(cmd) => vtep::run(&ctx, cmd).await,
        Command::Snat(cmd) => nat::run_snat(&ctx, cmd).await,
        Command::FloatingIp(cmd) => nat::run_floating_ip(&ctx, cmd).await,
        Command::Service(cmd) => service::run(&ctx, cmd).await,
        Command::Dhcp(cmd) => dhcp::run(&ctx, cmd).await,
        Command::Stats(cmd) => stats::run(&ctx, cmd).await,
        Command::Ipfix(cmd) => ipfix::run(&ctx, cmd).await,
        Command::Trace(args) => trace::run(&ctx, args).await,
        Command::Capture(args) => capture::run(&ctx, args).await,
        Command::Apply(args) => config::apply(&ctx, args).await,
        Command::Config(cmd) => config::run(&ctx, cmd).await,
    }
}

/// Argument errors in the contract's shape: one line, `vsctl: ...`, exit 2. Help and version
/// print as clap formats them.
fn parse_args() -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    Cli::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("vsctl: {}", usage_error_line(&e.to_string()));
            ExitCode::from(2)
        }
    })
}

/// The first line of clap's message without its `error: ` prefix, plus where to get help.
fn usage_error_line(text: &str) -> String {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    let first = first.trim().strip_prefix("error: ").unwrap_or(first.trim());
    format!("{first} (see vsctl --help)")
}

fn main() -> ExitCode {
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vsctl: {}", error::one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_fold_to_one_line() {
        let e =
            Cli::try_parse_from(["vsctl", "network", "add", "x", "--vlan", "5000"]).unwrap_err();
        let line = usage_error_line(&e.to_string());
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("5000"), "{line}");
        assert!(!line.starts_with("error:"), "{line}");
    }
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let before = Cli::try_parse_from(["vsctl", "--json", "--socket", "/s", "port", "list"]);
        let after = Cli::try_parse_from(["vsctl", "port", "list", "--json", "--socket", "/s"]);
        for cli in [before, after] {
            let cli = cli.map_err(|e| e.to_string());
            assert!(matches!(
                cli,
                Ok(Cli { json: true, ref socket, command: Command::Port(port::PortCmd::List) })
                    if socket == &PathBuf::from("/s")
            ));
        }
    }

    #[test]
    fn status_takes_no_arguments() {
        assert!(Cli::try_parse_from(["vsctl", "status", "extra"]).is_err());
    }
}
