//! `vsctl port add|del|set|show|list`: DPDK devices attached at run time.

use clap::{Args, Subcommand, ValueEnum};

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, Fields, Table};
use crate::pb::firewall_service_client::FirewallServiceClient;
use crate::pb::port_service_client::PortServiceClient;
use crate::pb::{
    AddPortRequest, DeletePortRequest, GetPortRequest, ListPortsRequest, ListPortsResponse, Port,
    PortState, SetPortSecurityGroupsRequest, VhostState,
};

#[derive(Debug, Subcommand)]
pub enum PortCmd {
    /// Attach a port.
    Add(AddArgs),
    /// Detach a port.
    Del {
        /// Port name.
        name: String,
        /// Succeed if the port does not exist.
        #[arg(long)]
        missing_ok: bool,
    },
    /// Change what can change without touching the device: the port's security groups.
    Set {
        /// Port name.
        name: String,
        /// Security groups (comma-separated; "" for none): with any, the port passes only
        /// the IP traffic their rules allow.
        #[arg(long, value_name = "GROUP,...", value_delimiter = ',', required = true)]
        security_groups: Vec<String>,
    },
    /// Show one port, with its run-time state.
    Show {
        /// Port name.
        name: String,
    },
    /// List the ports.
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PortType {
    /// A kernel TAP interface named by --iface, created by vswitchd.
    Tap,
    /// An existing kernel interface (--iface), through AF_PACKET.
    AfPacket,
    /// vswitchd is the vhost-user server on the socket --path.
    VhostUser,
    /// vswitchd connects (and reconnects) to the vhost-user server on --path, e.g. QEMU.
    VhostUserClient,
    /// A PCI device (--pci BDF).
    Pci,
    /// Any DPDK virtual device (--devargs).
    Vdev,
}

impl PortType {
    /// The name the API uses, the same as on the command line.
    fn api_name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Port name.
    name: String,
    /// What kind of device this is.
    #[arg(long = "type", value_name = "TYPE")]
    kind: PortType,
    /// Kernel interface (tap, af-packet).
    #[arg(long, value_name = "IFNAME")]
    iface: Option<String>,
    /// vhost-user socket path.
    #[arg(long, value_name = "SOCKET")]
    path: Option<String>,
    /// PCI address, e.g. 0000:03:00.0.
    #[arg(long, value_name = "BDF")]
    pci: Option<String>,
    /// Extra DPDK device arguments.
    #[arg(long, value_name = "STR")]
    devargs: Option<String>,
    /// Number of RX queues [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    queues: Option<u32>,
    /// L3 MTU [default: 1500].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    mtu: Option<u32>,
    /// Untagged access port of this network.
    #[arg(long, value_name = "NET", conflicts_with_all = ["vlan", "trunk"])]
    network: Option<String>,
    /// Access port of the network whose VLAN id is N.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4094),
          conflicts_with = "trunk")]
    vlan: Option<u32>,
    /// Trunk carrying the networks with these VLAN ids, tagged.
    #[arg(long, value_name = "N,N,...", value_parser = parse_vlan_list)]
    trunk: Option<VlanList>,
    /// Security groups: with any, the port passes only the IP traffic their rules allow.
    #[arg(long, value_name = "GROUP,...", value_delimiter = ',')]
    security_groups: Vec<String>,
    /// Succeed if the port already exists.
    #[arg(long)]
    exist_ok: bool,
}

impl AddArgs {
    fn into_request(self) -> AddPortRequest {
        AddPortRequest {
            port: Some(Port {
                name: self.name,
                r#type: self.kind.api_name(),
                iface: self.iface.unwrap_or_default(),
                path: self.path.unwrap_or_default(),
                pci: self.pci.unwrap_or_default(),
                devargs: self.devargs.unwrap_or_default(),
                queues: self.queues.unwrap_or(0),
                mtu: self.mtu.unwrap_or(0),
                network: self.network.unwrap_or_default(),
                vlan: self.vlan.unwrap_or(0),
                trunk: self.trunk.map(|t| t.0).unwrap_or_default(),
                security_groups: self.security_groups,
                state: None,
            }),
            exist_ok: self.exist_ok,
        }
    }
}

/// A parsed `--trunk` list (its own type so that clap keeps it as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanList(Vec<u32>);

/// Parses `N,N,...` and ranges `N-M`; each id in 1..=4094, no repeats, order kept.
fn parse_vlan_list(s: &str) -> Result<VlanList, String> {
    let mut ids: Vec<u32> = Vec::new();
    for item in s.split(',').map(str::trim) {
        let (first, last) = match item.split_once('-') {
            Some((a, b)) => (parse_vlan_id(a)?, parse_vlan_id(b)?),
            None => {
                let id = parse_vlan_id(item)?;
                (id, id)
            }
        };
        if first > last {
            return Err(format!("VLAN range {item:?} runs backwards"));
        }
        for id in first..=last {
            if ids.contains(&id) {
                return Err(format!("VLAN {id} is listed twice"));
            }
            ids.push(id);
        }
    }
    Ok(VlanList(ids))
}

fn parse_vlan_id(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(id) if (1..=4094).contains(&id) => Ok(id),
        Ok(id) => Err(format!("VLAN id {id} is not in 1..=4094")),
        Err(_) if s.trim().is_empty() => Err("empty VLAN id in the list".to_string()),
        Err(_) => Err(format!("{s:?} is not a VLAN id")),
    }
}

pub async fn run(ctx: &Ctx, cmd: PortCmd) -> Result<(), Error> {
    let mut client = crate::client!(PortServiceClient, ctx);
    match cmd {
        PortCmd::Add(args) => {
            let port = client.add_port(args.into_request()).await?.into_inner();
            output::emit(ctx.json, &port, |_| String::new())
        }
        PortCmd::Del { name, missing_ok } => {
            let request = DeletePortRequest { name, missing_ok };
            let reply = client.delete_port(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        PortCmd::Set {
            name,
            security_groups,
        } => {
            let groups = security_groups
                .into_iter()
                .filter(|g| !g.is_empty())
                .collect();
            let mut fw = crate::client!(FirewallServiceClient, ctx);
            let request = SetPortSecurityGroupsRequest { port: name, groups };
            let reply = fw.set_port_security_groups(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        PortCmd::Show { name } => {
            let port = client.get_port(GetPortRequest { name }).await?.into_inner();
            output::emit(ctx.json, &port, render_show)
        }
        PortCmd::List => {
            let list = client.list_ports(ListPortsRequest {}).await?.into_inner();
            output::emit(ctx.json, &list, render_list)
        }
    }
}

/// What the port does in the switch: the daemon's word for it, or derived from the config.
fn mode(port: &Port) -> String {
    match &port.state {
        Some(state) if !state.mode.is_empty() => state.mode.clone(),
        _ if !port.network.is_empty() => format!("access {}", port.network),
        _ if port.vlan != 0 => format!("access vlan {}", port.vlan),
        _ if !port.trunk.is_empty() => format!("trunk vlan {}", output::list(&port.trunk)),
        _ => "switch".to_string(),
    }
}

fn link(state: &PortState) -> String {
    match (state.link_up, state.link_speed_mbps) {
        (false, _) => "down".to_string(),
        (true, 0) => "up".to_string(),
        (true, mbps) => format!("up {mbps}M"),
    }
}

/// A vhost-user port's connection in words: a client port keeps retrying its server.
fn vhost(p: &Port, v: &VhostState) -> String {
    match (v.connected, p.r#type == "vhost-user-client") {
        (true, _) => "connected".to_string(),
        (false, true) => "reconnecting (every second)".to_string(),
        (false, false) => "waiting for a guest".to_string(),
    }
}

fn render_list(list: &ListPortsResponse) -> String {
    let mut table = Table::new(&[
        "NAME", "TYPE", "MODE", "LINK", "MAC", "DRIVER", "QUEUES", "MTU",
    ]);
    for p in &list.ports {
        let state = p.state.clone().unwrap_or_default();
        let queues = match (state.rx_queues, state.tx_queues) {
            (0, 0) => p.queues.max(1).to_string(),
            (rx, tx) => format!("{rx}/{tx}"),
        };
        table.row(vec![
            p.name.clone(),
            p.r#type.clone(),
            mode(p),
            p.state.as_ref().map_or_else(|| "-".to_string(), link),
            output::or_dash(&state.mac),
            output::or_dash(&state.driver),
            queues,
            mtu(p.mtu),
        ]);
    }
    table.render()
}

fn mtu(mtu: u32) -> String {
    if mtu == 0 {
        "1500".to_string()
    } else {
        mtu.to_string()
    }
}

fn render_show(p: &Port) -> String {
    let mut fields = Fields::new();
    fields
        .add("name", &p.name)
        .add("type", &p.r#type)
        .add_nonempty("iface", &p.iface)
        .add_nonempty("path", &p.path)
        .add_nonempty("pci", &p.pci)
        .add_nonempty("devargs", &p.devargs)
        .add("queues", p.queues.max(1))
        .add("mtu", mtu(p.mtu))
        .add("network", output::or_dash(&p.network))
        .add("vlan", output::nonzero_or_dash(p.vlan))
        .add("trunk", output::list(&p.trunk))
        .add_nonempty("security-groups", &p.security_groups.join(","))
        .add("mode", mode(p));
    if let Some(state) = &p.state {
        fields
            .add("dpdk-port-id", state.dpdk_port_id)
            .add("driver", output::or_dash(&state.driver))
            .add("mac", output::or_dash(&state.mac))
            .add("link", link(state))
            .add("rx-queues", state.rx_queues)
            .add("tx-queues", state.tx_queues);
        if let Some(v) = &state.vhost {
            fields
                .add("vhost", vhost(p, v))
                .add(
                    "guest-queues",
                    format!(
                        "{} rx / {} tx enabled",
                        v.rx_queues_enabled, v.tx_queues_enabled
                    ),
                )
                .add("guest-mtu", guest_mtu(p, v))
                .add("connects", v.connects)
                .add("disconnects", v.disconnects);
        }
    }
    fields.render()
}

/// The guest's MTU, flagged when it is not the port's.
fn guest_mtu(p: &Port, v: &VhostState) -> String {
    let port_mtu = if p.mtu == 0 { 1500 } else { p.mtu };
    match v.guest_mtu {
        0 if v.connected => "not set by QEMU (host_mtu)".to_string(),
        0 => "-".to_string(),
        m if m != port_mtu => format!("{m} (port MTU is {port_mtu}: set QEMU host_mtu={port_mtu})"),
        m => m.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cli;
    use clap::Parser;

    #[test]
    fn trunk_list_parses_ids_and_ranges_in_order() {
        assert_eq!(parse_vlan_list("10"), Ok(VlanList(vec![10])));
        assert_eq!(parse_vlan_list("30,10, 20"), Ok(VlanList(vec![30, 10, 20])));
        assert_eq!(
            parse_vlan_list("5,100-102"),
            Ok(VlanList(vec![5, 100, 101, 102]))
        );
        assert_eq!(parse_vlan_list("1,4094"), Ok(VlanList(vec![1, 4094])));
    }

    #[test]
    fn trunk_list_rejects_bad_ids() {
        for bad in [
            "", "0", "4095", "10,,20", "10,", "x", "10,10", "5-3", "1-2,2", "-5",
        ] {
            assert!(parse_vlan_list(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn port_types_use_the_api_names() {
        let names: Vec<String> = PortType::value_variants()
            .iter()
            .map(|t| t.api_name())
            .collect();
        assert_eq!(
            names,
            [
                "tap",
                "af-packet",
                "vhost-user",
                "vhost-user-client",
                "pci",
                "vdev"
            ]
        );
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["vsctl", "port", "add"].iter().chain(args))
    }

    #[test]
    fn network_vlan_and_trunk_are_mutually_exclusive() {
        let base = ["p0", "--type", "tap"];
        for extra in [
            &["--network", "web", "--vlan", "10"][..],
            &["--network", "web", "--trunk", "10,20"],
            &["--vlan", "10", "--trunk", "10,20"],
        ] {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            assert!(parse(&args).is_err(), "{args:?} was accepted");
        }
    }

    #[test]
    fn add_builds_the_request() {
        let cli = parse(&[
            "vm1",
            "--type",
            "vhost-user",
            "--path",
            "/run/vm1.sock",
            "--trunk",
            "10,20",
        ]);
        let Ok(Cli {
            command: crate::Command::Port(PortCmd::Add(args)),
            ..
        }) = cli
        else {
            panic!("did not parse: {cli:?}");
        };
        let port = args.into_request().port.unwrap_or_default();
        assert_eq!(port.r#type, "vhost-user");
        assert_eq!(port.path, "/run/vm1.sock");
        assert_eq!(port.trunk, [10, 20]);
        assert_eq!((port.network.as_str(), port.vlan), ("", 0));
    }

    #[test]
    fn type_is_required_and_checked() {
        assert!(parse(&["p0"]).is_err());
        assert!(parse(&["p0", "--type", "vxlan"]).is_err());
    }

    #[test]
    fn list_shows_state_or_derived_mode() {
        let list = ListPortsResponse {
            ports: vec![
                Port {
                    name: "p0".into(),
                    r#type: "tap".into(),
                    network: "web".into(),
                    state: Some(PortState {
                        driver: "net_tap".into(),
                        mac: "02:00:00:00:00:01".into(),
                        link_up: true,
                        link_speed_mbps: 10_000,
                        rx_queues: 1,
                        tx_queues: 2,
                        mode: "access web".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Port {
                    name: "up0".into(),
                    r#type: "af-packet".into(),
                    trunk: vec![10, 20],
                    mtu: 9000,
                    ..Default::default()
                },
            ],
        };
        assert_eq!(
            render_list(&list),
            "NAME  TYPE       MODE              LINK       MAC                DRIVER   QUEUES  MTU\n\
             p0    tap        access web        up 10000M  02:00:00:00:00:01  net_tap  1/2     1500\n\
             up0   af-packet  trunk vlan 10,20  -          -                  -        1       9000"
        );
    }

    #[test]
    fn show_skips_unused_attachment_fields() {
        let port = Port {
            name: "vm1".into(),
            r#type: "vhost-user".into(),
            path: "/run/vm1.sock".into(),
            vlan: 10,
            ..Default::default()
        };
        assert_eq!(
            render_show(&port),
            "name: vm1\ntype: vhost-user\npath: /run/vm1.sock\nqueues: 1\nmtu: 1500\n\
             network: -\nvlan: 10\ntrunk: -\nmode: access vlan 10"
        );
    }
}
