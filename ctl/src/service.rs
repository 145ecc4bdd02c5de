//! `vsctl service add|del|show|list` and `vsctl service backend add|del|drain`: service VIPs
//! whose new connections are balanced over backends.

use clap::Subcommand;

use crate::client::Ctx;
use crate::error::Error;
use crate::output::{self, or_dash, Table};
use crate::pb::edit_backend_request::Op;
use crate::pb::nat_service_client::NatServiceClient;
use crate::pb::{
    AddServiceRequest, Backend, DeleteServiceRequest, EditBackendRequest, HealthTiming,
    ListServicesRequest, ListServicesResponse, VipService,
};

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// New connections to --vip go to one of the backends (DNAT), by a consistent hash.
    Add {
        name: String,
        /// An IPv4 address outside every subnet, and a port.
        #[arg(long, value_name = "IP:PORT")]
        vip: String,
        #[arg(long, value_name = "tcp|udp")]
        proto: String,
        /// The backends, in networks of the service's VRF.
        #[arg(long, value_name = "IP:PORT[,IP:PORT...]", value_delimiter = ',')]
        backend: Vec<String>,
        /// Each backend's share against the others', in --backend's order [default: 1 each].
        #[arg(long, value_name = "N[,N...]", value_delimiter = ',')]
        weight: Vec<u32>,
        /// A client's new connections follow its address (session affinity).
        #[arg(long)]
        affinity: bool,
        /// Backend probes every 2 s, out after 3 failures, back after 2 successes: a TCP
        /// connect, or an HTTP GET of PATH that must answer 2xx or 3xx.
        #[arg(long, value_name = "tcp|http:PATH|none", default_value = "tcp")]
        health_check: String,
        /// Seconds between probes of a backend [default: 2].
        #[arg(long, value_name = "S")]
        health_interval: Option<u32>,
        /// Seconds a probe waits for its answer, at most the interval [default: 1].
        #[arg(long, value_name = "S")]
        health_timeout: Option<u32>,
        /// Successes in a row that bring a backend back [default: 2].
        #[arg(long, value_name = "N")]
        health_rise: Option<u32>,
        /// Failures in a row that take a backend out [default: 3].
        #[arg(long, value_name = "N")]
        health_fall: Option<u32>,
        /// The VRF of the VIP and its backends [default: default].
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
        /// Succeed if the same service exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Remove a service (its connections end).
    Del {
        name: String,
        /// Succeed if there is no such service.
        #[arg(long)]
        missing_ok: bool,
    },
    /// A service: its backends with their health, share of new connections and connections.
    Show { name: String },
    /// The services.
    List,
    /// Add, remove or drain one backend.
    #[command(subcommand)]
    Backend(BackendCmd),
}

#[derive(Debug, Subcommand)]
pub enum BackendCmd {
    /// A new backend: only its share of new connections moves to it.
    Add {
        service: String,
        addr: String,
        #[arg(long, default_value_t = 1)]
        weight: u32,
        /// Succeed if the same backend exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Remove a backend: its connections end, the others' stay where they are.
    Del {
        service: String,
        addr: String,
        /// Succeed if there is no such backend.
        #[arg(long)]
        missing_ok: bool,
    },
    /// No new connections to the backend; its current ones stay.
    Drain {
        service: String,
        addr: String,
        /// Take new connections again.
        #[arg(long)]
        undo: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: ServiceCmd) -> Result<(), Error> {
    let mut client = crate::client!(NatServiceClient, ctx);
    match cmd {
        ServiceCmd::Add {
            name,
            vip,
            proto,
            backend,
            weight,
            affinity,
            health_check,
            health_interval,
            health_timeout,
            health_rise,
            health_fall,
            vrf,
            exist_ok,
        } => {
            if !weight.is_empty() && weight.len() != backend.len() {
                return Err(Error::Usage(format!(
                    "service {name}: {} weights for {} backends; give one per backend",
                    weight.len(),
                    backend.len()
                )));
            }
            let backends = backend
                .into_iter()
                .enumerate()
                .map(|(i, addr)| Backend {
                    addr,
                    weight: weight.get(i).copied().unwrap_or(1),
                    ..Backend::default()
                })
                .collect();
            let service = VipService {
                name,
                vip,
                proto,
                backends,
                affinity,
                health_check,
                // 0: the default.
                health_timing: Some(HealthTiming {
                    interval: health_interval.unwrap_or(0),
                    timeout: health_timeout.unwrap_or(0),
                    rise: health_rise.unwrap_or(0),
                    fall: health_fall.unwrap_or(0),
                }),
                vrf: vrf.unwrap_or_default(),
                sessions: 0,
            };
            let request = AddServiceRequest {
                service: Some(service),
                exist_ok,
            };
            let reply = client.add_service(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        ServiceCmd::Del { name, missing_ok } => {
            let request = DeleteServiceRequest { name, missing_ok };
            let reply = client.delete_service(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
        ServiceCmd::Show { name } => {
            let request = ListServicesRequest { name };
            let reply = client.list_services(request).await?.into_inner();
            output::emit(ctx.json, &reply, render_show)
        }
        ServiceCmd::List => {
            let request = ListServicesRequest::default();
            let reply = client.list_services(request).await?.into_inner();
            output::emit(ctx.json, &reply, render_list)
        }
        ServiceCmd::Backend(cmd) => {
            let (service, op, addr, weight, exist_ok, missing_ok) = match cmd {
                BackendCmd::Add {
                    service,
                    addr,
                    weight,
                    exist_ok,
                } => (service, Op::Add, addr, weight, exist_ok, false),
                BackendCmd::Del {
                    service,
                    addr,
                    missing_ok,
                } => (service, Op::Delete, addr, 1, false, missing_ok),
                BackendCmd::Drain {
                    service,
                    addr,
                    undo,
                } => {
                    let op = if undo { Op::Undrain } else { Op::Drain };
                    (service, op, addr, 1, false, false)
                }
            };
            let request = EditBackendRequest {
                service,
                op: op.into(),
                backend: Some(Backend {
                    addr,
                    weight,
                    ..Backend::default()
                }),
                exist_ok,
                missing_ok,
            };
            let reply = client.edit_backend(request).await?.into_inner();
            output::emit(ctx.json, &reply, |_| String::new())
        }
    }
}

fn render_list(list: &ListServicesResponse) -> String {
    let mut table = Table::new(&["NAME", "VIP", "PROTO", "BACKENDS", "UP", "SESSIONS", "VRF"]);
    for s in &list.services {
        let up = s.backends.iter().filter(|b| b.health != "down").count();
        table.row(vec![
            s.name.clone(),
            s.vip.clone(),
            s.proto.clone(),
            s.backends.len().to_string(),
            up.to_string(),
            s.sessions.to_string(),
            or_dash(&s.vrf),
        ]);
    }
    table.render()
}

fn render_show(list: &ListServicesResponse) -> String {
    let mut out = Vec::new();
    for s in &list.services {
        let t = s.health_timing.unwrap_or_default();
        let check = match s.health_check.as_str() {
            "none" => "none".to_string(),
            c => format!(
                "{c} every {}s, timeout {}s, rise {}, fall {}",
                t.interval, t.timeout, t.rise, t.fall
            ),
        };
        out.push(format!(
            "service {}: {} {}  affinity {}  health check {check}  vrf {}  sessions {}",
            s.name,
            s.proto,
            s.vip,
            if s.affinity { "client-ip" } else { "none" },
            if s.vrf.is_empty() { "default" } else { &s.vrf },
            s.sessions
        ));
        let mut table = Table::new(&[
            "BACKEND",
            "WEIGHT",
            "STATE",
            "HEALTH",
            "SINCE",
            "LAST PROBE",
            "SHARE",
            "SESSIONS",
        ]);
        for b in &s.backends {
            table.row(vec![
                b.addr.clone(),
                b.weight.to_string(),
                (if b.drained { "drained" } else { "active" }).into(),
                or_dash(&b.health),
                since(b.since),
                or_dash(&b.last_probe),
                format!("{:.1}%", b.share * 100.0),
                b.sessions.to_string(),
            ]);
        }
        out.push(table.render());
    }
    out.join("\n")
}

/// How long ago Unix second `t` was.
fn since(t: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match t {
        0 => "-".into(),
        t => format!("{}s ago", now.saturating_sub(t)),
    }
}
