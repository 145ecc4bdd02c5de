//! `vsctl vtep set|show|del` and `vsctl vtep remote add|del`: the switch's VXLAN tunnel
//! endpoint and the remote VTEPs each VNI floods to.

use clap::{Subcommand, ValueEnum};

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, or_dash, Fields, Table};
use crate::pb::vtep_service_client::VtepServiceClient;
use crate::pb::{
    AddVtepRemoteRequest, DeleteVtepAgentRequest, DeleteVtepRemoteRequest, DeleteVtepRequest,
    GetVtepAgentRequest, GetVtepRequest, SetVtepAgentRequest, SetVtepRequest, Vtep, VtepAgent,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Subcommand)]
pub enum VtepCmd {
    /// Set the VTEP (its flood lists stay): an underlay address on a port in no network.
    Set {
        /// Underlay address with its prefix length, e.g. 192.0.2.1/24.
        #[arg(long, value_name = "CIDR")]
        local_ip: String,
        /// The underlay port.
        #[arg(long, value_name = "PORT")]
        port: String,
        /// Underlay next hop to remote VTEPs outside the local prefix.
        #[arg(long, value_name = "IP")]
        gateway: Option<String>,
        /// VXLAN UDP port [default: 4789].
        #[arg(long, value_name = "N")]
        udp_port: Option<u16>,
        /// Accept and learn from VTEPs not in a VNI's flood list [default: on].
        #[arg(long, value_name = "on|off")]
        learning: Option<OnOff>,
    },
    /// The VTEP: settings, overlay MTU, networks and flood lists, underlay neighbors.
    Show,
    /// Remove the VTEP (the networks keep their VNIs).
    Del {
        /// Succeed if none is set.
        #[arg(long)]
        missing_ok: bool,
    },
    /// The flood lists: remote VTEPs per VNI.
    #[command(subcommand)]
    Remote(RemoteCmd),
    /// The hardware_vtep agent: this switch programmed through an OVSDB hardware_vtep
    /// database (vtep-ctl, ovn-controller-vtep).
    #[command(subcommand)]
    Agent(AgentCmd),
}

#[derive(Debug, Subcommand)]
pub enum AgentCmd {
    /// Connect to the database and mirror it, registered as physical switch NAME.
    Set {
        /// The OVSDB server: unix:PATH, tcp:IP:PORT or ssl:IP:PORT.
        #[arg(long, value_name = "TARGET")]
        db: String,
        /// The Physical_Switch this switch registers as.
        #[arg(long, value_name = "PHYSICAL_SWITCH")]
        name: String,
        /// Private key for ssl: (PEM).
        #[arg(long, value_name = "FILE")]
        tls_key: Option<String>,
        /// Certificate for ssl: (PEM).
        #[arg(long, value_name = "FILE")]
        tls_cert: Option<String>,
        /// CA certificate the server's must be signed by (PEM).
        #[arg(long, value_name = "FILE")]
        tls_ca: Option<String>,
    },
    /// The connection, the last transaction, what is mirrored, and errors.
    Show,
    /// Stop the agent and remove what it mirrored.
    Del {
        /// Succeed if none is set.
        #[arg(long)]
        missing_ok: bool,
    },
}

async fn run_agent(ctx: &Ctx, cmd: AgentCmd) -> Result<(), Error> {
    let mut client = crate::client!(VtepServiceClient, ctx);
    let agent = match cmd {
        AgentCmd::Set {
            db,
            name,
            tls_key,
            tls_cert,
            tls_ca,
        } => {
            let request = SetVtepAgentRequest {
                db,
                name,
                tls_key: tls_key.unwrap_or_default(),
                tls_cert: tls_cert.unwrap_or_default(),
                tls_ca: tls_ca.unwrap_or_default(),
            };
            client.set_vtep_agent(request).await?.into_inner()
        }
        AgentCmd::Show => client
            .get_vtep_agent(GetVtepAgentRequest {})
            .await?
            .into_inner(),
        AgentCmd::Del { missing_ok } => {
            let reply = client
                .delete_vtep_agent(DeleteVtepAgentRequest { missing_ok })
                .await?
                .into_inner();
            return output::emit(ctx.json, &reply, |_| String::new());
        }
    };
    output::emit(ctx.json, &agent, render_agent)
}

fn render_agent(a: &VtepAgent) -> String {
    let mut f = Fields::new();
    let last = match a.last_transaction.is_empty() {
        true => "-".to_string(),
        false => format!(
            "{} ({}s ago)",
            a.last_transaction, a.last_transaction_age_secs
        ),
    };
    f.add("database", &a.db)
        .add("physical switch", &a.name)
        .add("state", format!("{} for {}s", a.state, a.state_secs))
        .add("connects", a.connects)
        .add("transactions", a.transactions)
        .add("last transaction", last)
        .add("logical switches", a.logical_switches)
        .add("vlan bindings", a.bindings)
        .add("remote macs", a.remote_macs)
        .add("flood remotes", a.flood_remotes)
        .add("local macs", a.local_macs)
        .add("errors", a.error_count);
    let mut text = f.render();
    for e in &a.errors {
        text.push_str(&format!("\n  error: {e}"));
    }
    text
}

#[derive(Debug, Subcommand)]
pub enum RemoteCmd {
    /// Add remote VTEP IP to the flood list of VNI N.
    Add {
        ip: String,
        #[arg(long, value_name = "N")]
        vni: u32,
        /// Succeed if it is already there.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Remove remote VTEP IP from the flood list of VNI N (and forget the MACs behind it).
    Del {
        ip: String,
        #[arg(long, value_name = "N")]
        vni: u32,
        /// Succeed if it is not there.
        #[arg(long)]
        missing_ok: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: VtepCmd) -> Result<(), Error> {
    let mut client = crate::client!(VtepServiceClient, ctx);
    let vtep = match cmd {
        VtepCmd::Set {
            local_ip,
            port,
            gateway,
            udp_port,
            learning,
        } => {
            let request = SetVtepRequest {
                local_ip,
                port,
                gateway: gateway.unwrap_or_default(),
                udp_port: u32::from(udp_port.unwrap_or(0)),
                learning: learning.map(|l| l == OnOff::On),
            };
            client.set_vtep(request).await?.into_inner()
        }
        VtepCmd::Show => client.get_vtep(GetVtepRequest {}).await?.into_inner(),
        VtepCmd::Del { missing_ok } => {
            let reply = client
                .delete_vtep(DeleteVtepRequest { missing_ok })
                .await?
                .into_inner();
            return output::emit(ctx.json, &reply, |_| String::new());
        }
        VtepCmd::Remote(RemoteCmd::Add { ip, vni, exist_ok }) => {
            let request = AddVtepRemoteRequest { ip, vni, exist_ok };
            client.add_vtep_remote(request).await?.into_inner()
        }
        VtepCmd::Remote(RemoteCmd::Del {
            ip,
            vni,
            missing_ok,
        }) => {
            let request = DeleteVtepRemoteRequest {
                ip,
                vni,
                missing_ok,
            };
            client.delete_vtep_remote(request).await?.into_inner()
        }
        VtepCmd::Agent(cmd) => return run_agent(ctx, cmd).await,
    };
    output::emit(ctx.json, &vtep, render)
}

fn render(v: &Vtep) -> String {
    let mut f = Fields::new();
    f.add("local ip", &v.local_ip)
        .add("port", &v.port)
        .add("gateway", or_dash(&v.gateway))
        .add("udp port", v.udp_port)
        .add("learning", if v.learning { "on" } else { "off" })
        .add("mac", or_dash(&v.mac))
        .add("underlay mtu", v.underlay_mtu)
        .add("overlay mtu", v.overlay_mtu);
    let mut networks = Table::new(&["NETWORK", "VNI", "VLAN", "FLOOD LIST", "REMOTE MACS"]);
    for n in &v.networks {
        networks.row(vec![
            n.network.clone(),
            n.vni.to_string(),
            if n.vlan == 0 {
                "-".into()
            } else {
                n.vlan.to_string()
            },
            or_dash(&n.remotes.join(",")),
            n.remote_macs.to_string(),
        ]);
    }
    let mut neighbors = Table::new(&["UNDERLAY NEIGHBOR", "MAC", "AGE"]);
    for n in &v.neighbors {
        neighbors.row(vec![
            n.ip.clone(),
            n.mac.clone(),
            format!("{}s", n.age_secs),
        ]);
    }
    format!(
        "{}\n\n{}\n{}",
        f.render(),
        networks.render(),
        neighbors.render()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::VtepNetwork;

    #[test]
    fn shows_the_overlay_mtu_and_flood_lists() {
        let v = Vtep {
            local_ip: "198.51.100.1/24".into(),
            port: "up".into(),
            udp_port: 4789,
            learning: true,
            underlay_mtu: 1500,
            overlay_mtu: 1450,
            networks: vec![VtepNetwork {
                network: "blue".into(),
                vni: 5000,
                vlan: 100,
                remotes: vec!["198.51.100.2".into(), "203.0.113.9".into()],
                remote_macs: 3,
            }],
            ..Default::default()
        };
        let text = render(&v);
        assert!(text.contains("overlay mtu: 1450"), "{text}");
        assert!(text.contains("198.51.100.2,203.0.113.9"), "{text}");
        assert!(text.contains("5000"), "{text}");
    }
}
