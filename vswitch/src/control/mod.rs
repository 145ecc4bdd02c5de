//! The gRPC control service (`vswitch.v1`) on a Unix socket. Handlers translate between the
//! protobuf messages and the model, and go through the config manager for every change.

pub mod config;
pub mod convert;
pub mod dhcp;
pub mod fdb;
pub mod firewall;
pub mod http;
pub mod ipfix;
pub mod metrics;
pub mod nat;
pub mod network;
pub mod port;
pub mod router;
pub mod stats;
pub mod status;
pub mod trace;
pub mod vtep;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;

use crate::config::manager::ConfigManager;
use crate::model::error::ConfigError;

pub mod pb {
    tonic::include_proto!("vswitch.v1");
}

/// What the handlers share.
pub struct Daemon {
    pub manager: ConfigManager,
    pub started: Instant,
    pub state_dir: Option<PathBuf>,
    pub hugepages: bool,
    /// CPU of each worker.
    pub worker_cpus: Vec<usize>,
    /// The hardware_vtep agent, when the model sets one.
    pub vtep_agent: crate::vtep_agent::Supervisor,
    /// The IPFIX exporter's counts (it runs while the model sets an export).
    pub ipfix: crate::telemetry::Exporter,
    /// The workers' captures and live traces.
    pub taps: Arc<crate::pipeline::tap::Taps>,
}

impl AsRef<ConfigManager> for Daemon {
    fn as_ref(&self) -> &ConfigManager {
        &self.manager
    }
}

pub type Shared = Arc<Daemon>;

/// The gRPC status for a refused change.
pub fn status(e: ConfigError) -> tonic::Status {
    let msg = e.to_string();
    match e {
        ConfigError::Invalid(_) => tonic::Status::invalid_argument(msg),
        ConfigError::NotFound(_) => tonic::Status::not_found(msg),
        ConfigError::AlreadyExists(_) => tonic::Status::already_exists(msg),
        ConfigError::Precondition(_) => tonic::Status::failed_precondition(msg),
        ConfigError::Device(_) | ConfigError::Runtime(_) => tonic::Status::failed_precondition(msg),
    }
}

/// Binds the control socket with mode 0600. A socket left by a dead daemon is replaced; one a
/// live daemon answers on is an error.
pub fn bind(path: &Path) -> Result<UnixListener, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("control socket dir {}: {e}", dir.display()))?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "control socket {}: another vswitchd is listening there; stop it or pass --socket",
                path.display()
            ));
        }
        std::fs::remove_file(path).map_err(|e| {
            format!(
                "control socket {}: cannot remove stale socket: {e}",
                path.display()
            )
        })?;
    }
    let listener =
        UnixListener::bind(path).map_err(|e| format!("control socket {}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("control socket {}: {e}", path.display()))?;
    Ok(listener)
}

/// Serves the control API until `shutdown` resolves.
pub async fn serve(
    shared: Shared,
    listener: UnixListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    use pb::config_service_server::ConfigServiceServer;
    use pb::dhcp_service_server::DhcpServiceServer;
    use pb::fdb_service_server::FdbServiceServer;
    use pb::firewall_service_server::FirewallServiceServer;
    use pb::ipfix_service_server::IpfixServiceServer;
    use pb::nat_service_server::NatServiceServer;
    use pb::network_service_server::NetworkServiceServer;
    use pb::port_service_server::PortServiceServer;
    use pb::router_service_server::RouterServiceServer;
    use pb::stats_service_server::StatsServiceServer;
    use pb::status_service_server::StatusServiceServer;
    use pb::trace_service_server::TraceServiceServer;
    use pb::vtep_service_server::VtepServiceServer;

    // Whole models, 100 000 policies or a million routes travel in one message.
    const MAX_MESSAGE: usize = 512 << 20;
    macro_rules! sized {
        ($service:expr) => {
            $service
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE)
        };
    }
    tonic::transport::Server::builder()
        .add_service(sized!(StatusServiceServer::new(status::StatusApi(
            shared.clone()
        ))))
        .add_service(sized!(NetworkServiceServer::new(network::NetworkApi(
            shared.clone()
        ))))
        .add_service(sized!(PortServiceServer::new(port::PortApi(
            shared.clone()
        ))))
        .add_service(sized!(FdbServiceServer::new(fdb::FdbApi(shared.clone()))))
        .add_service(sized!(RouterServiceServer::new(router::RouterApi(
            shared.clone()
        ))))
        .add_service(sized!(FirewallServiceServer::new(firewall::FirewallApi(
            shared.clone()
        ))))
        .add_service(sized!(DhcpServiceServer::new(dhcp::DhcpApi(
            shared.clone()
        ))))
        .add_service(sized!(StatsServiceServer::new(stats::StatsApi(
            shared.clone()
        ))))
        .add_service(sized!(VtepServiceServer::new(vtep::VtepApi(
            shared.clone()
        ))))
        .add_service(sized!(NatServiceServer::new(nat::NatApi(shared.clone()))))
        .add_service(sized!(IpfixServiceServer::new(ipfix::IpfixApi(
            shared.clone()
        ))))
        .add_service(sized!(TraceServiceServer::new(trace::TraceApi(
            shared.clone()
        ))))
        .add_service(sized!(ConfigServiceServer::new(config::ConfigApi(shared))))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await
        .map_err(|e| format!("control server: {e}"))
}
