//! PortService: add/delete/get/list ports, with their run-time state.

use tonic::{Request, Response, Status};

use super::convert::{port_from_pb, port_to_pb};
use super::pb::port_service_server::PortService;
use super::pb::{
    AddPortRequest, DeletePortRequest, DeletePortResponse, GetPortRequest, ListPortsRequest,
    ListPortsResponse, Port, VhostState,
};
use super::{status, Shared};
use crate::dpdk;
use crate::model::Model;
use crate::packet::MacAddr;

pub struct PortApi(pub Shared);

fn with_state(shared: &Shared, model: &Model, p: &crate::model::Port) -> Port {
    let mut out = port_to_pb(model, p);
    if let (Some(dev), Some(state)) = (shared.manager.devices().get(&p.name), out.state.as_mut()) {
        let info = dpdk::port::info(dev.id);
        state.dpdk_port_id = u32::from(dev.id);
        state.driver = info.driver;
        state.mac = MacAddr(info.mac).to_string();
        state.link_up = info.link_up;
        state.link_speed_mbps = info.link_speed_mbps;
        state.rx_queues = u32::from(dev.rx_queues);
        state.tx_queues = u32::from(dev.tx_queues);
        state.vhost = dpdk::vhost::status(dev.id).map(|v| VhostState {
            connected: v.connected,
            rx_queues_enabled: v.rx_queues_enabled,
            tx_queues_enabled: v.tx_queues_enabled,
            connects: v.connects,
            disconnects: v.disconnects,
            guest_mtu: v.guest_mtu.map_or(0, u32::from),
        });
    }
    out
}

impl PortApi {
    fn get(&self, name: &str) -> Result<Port, Status> {
        let (model, _) = self.0.manager.model();
        model
            .port(name)
            .map(|p| with_state(&self.0, &model, p))
            .ok_or_else(|| Status::not_found(format!("port {name}: does not exist")))
    }
}

#[tonic::async_trait]
impl PortService for PortApi {
    async fn add_port(&self, req: Request<AddPortRequest>) -> Result<Response<Port>, Status> {
        let req = req.into_inner();
        let port = req
            .port
            .ok_or_else(|| Status::invalid_argument("add port: the request has no port"))?;
        let port = port_from_pb(&port).map_err(status)?;
        let name = port.name.clone();
        let shared = self.0.clone();
        tokio::task::spawn_blocking(move || {
            shared.manager.apply(|m| m.add_port(port, req.exist_ok))
        })
        .await
        .map_err(|e| Status::internal(format!("add port: {e}")))?
        .map_err(status)?;
        self.get(&name).map(Response::new)
    }

    async fn delete_port(
        &self,
        req: Request<DeletePortRequest>,
    ) -> Result<Response<DeletePortResponse>, Status> {
        let req = req.into_inner();
        let shared = self.0.clone();
        tokio::task::spawn_blocking(move || {
            shared
                .manager
                .apply(|m| m.delete_port(&req.name, req.missing_ok))
        })
        .await
        .map_err(|e| Status::internal(format!("delete port: {e}")))?
        .map_err(status)?;
        Ok(Response::new(DeletePortResponse {}))
    }

    async fn get_port(&self, req: Request<GetPortRequest>) -> Result<Response<Port>, Status> {
        self.get(&req.into_inner().name).map(Response::new)
    }

    async fn list_ports(
        &self,
        _req: Request<ListPortsRequest>,
    ) -> Result<Response<ListPortsResponse>, Status> {
        let (model, _) = self.0.manager.model();
        Ok(Response::new(ListPortsResponse {
            ports: model
                .ports
                .iter()
                .map(|p| with_state(&self.0, &model, p))
                .collect(),
        }))
    }
}
