//! VtepService: set, show and remove the VTEP; edit the flood lists of its VNIs.

use tonic::{Request, Response, Status};

use super::pb::vtep_service_server::VtepService;
use super::pb::{
    AddVtepRemoteRequest, DeleteVtepAgentRequest, DeleteVtepAgentResponse, DeleteVtepRemoteRequest,
    DeleteVtepRequest, DeleteVtepResponse, GetVtepAgentRequest, GetVtepRequest,
    SetVtepAgentRequest, SetVtepRequest, Vtep, VtepAgent, VtepNeighbor, VtepNetwork,
};
use super::{status, Shared};
use crate::vtep_agent::api::{self as agent, AgentSettings};
use crate::vxlan::api::{self, VtepSettings, VtepView};

pub struct VtepApi(pub Shared);

impl VtepApi {
    fn get(&self) -> Result<Vtep, Status> {
        api::show(&self.0.manager).map(to_pb).map_err(status)
    }

    fn agent(&self) -> Result<VtepAgent, Status> {
        let s = agent::settings(&self.0.manager).map_err(status)?;
        let v = self.0.vtep_agent.view().unwrap_or_default();
        let (last, age) = v.last_transaction.unwrap_or_default();
        Ok(VtepAgent {
            db: s.db,
            name: s.name,
            state: v.state.to_string(),
            state_secs: v.state_secs,
            connects: v.connects,
            transactions: v.transactions,
            last_transaction: last,
            last_transaction_age_secs: age,
            logical_switches: v.counts.logical_switches as u64,
            bindings: v.counts.bindings as u64,
            remote_macs: v.counts.remote_macs as u64,
            flood_remotes: v.counts.flood_remotes as u64,
            local_macs: v.local_macs as u64,
            errors: v.errors,
            error_count: v.error_count,
        })
    }
}

fn nonempty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn to_pb(v: VtepView) -> Vtep {
    let s = v.settings;
    Vtep {
        local_ip: s.local_ip,
        port: s.port,
        gateway: s.gateway.unwrap_or_default(),
        udp_port: u32::from(s.udp_port.unwrap_or_default()),
        learning: s.learning.unwrap_or(true),
        mac: v.mac.map(|m| m.to_string()).unwrap_or_default(),
        underlay_mtu: u32::from(v.underlay_mtu),
        overlay_mtu: v.overlay_mtu as u32,
        networks: v
            .networks
            .into_iter()
            .map(|n| VtepNetwork {
                network: n.network,
                vni: n.vni,
                vlan: u32::from(n.vlan.unwrap_or(0)),
                remotes: n.remotes.iter().map(|r| r.to_string()).collect(),
                remote_macs: n.remote_macs as u64,
            })
            .collect(),
        neighbors: v
            .neighbors
            .into_iter()
            .map(|n| VtepNeighbor {
                ip: n.ip.to_string(),
                mac: n.mac.to_string(),
                age_secs: n.age_secs,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl VtepService for VtepApi {
    async fn set_vtep(&self, req: Request<SetVtepRequest>) -> Result<Response<Vtep>, Status> {
        let r = req.into_inner();
        let udp_port = match r.udp_port {
            0 => None,
            p => Some(u16::try_from(p).map_err(|_| {
                Status::invalid_argument(format!("vtep: UDP port {p} is out of range; use 1-65535"))
            })?),
        };
        let settings = VtepSettings {
            local_ip: r.local_ip,
            port: r.port,
            gateway: (!r.gateway.is_empty()).then_some(r.gateway),
            udp_port,
            learning: r.learning,
        };
        api::set(&self.0.manager, settings).map_err(status)?;
        self.get().map(Response::new)
    }

    async fn get_vtep(&self, _req: Request<GetVtepRequest>) -> Result<Response<Vtep>, Status> {
        self.get().map(Response::new)
    }

    async fn delete_vtep(
        &self,
        req: Request<DeleteVtepRequest>,
    ) -> Result<Response<DeleteVtepResponse>, Status> {
        api::delete(&self.0.manager, req.into_inner().missing_ok).map_err(status)?;
        Ok(Response::new(DeleteVtepResponse {}))
    }

    async fn add_vtep_remote(
        &self,
        req: Request<AddVtepRemoteRequest>,
    ) -> Result<Response<Vtep>, Status> {
        let r = req.into_inner();
        api::add_remote(&self.0.manager, &r.ip, r.vni, r.exist_ok).map_err(status)?;
        self.get().map(Response::new)
    }

    async fn delete_vtep_remote(
        &self,
        req: Request<DeleteVtepRemoteRequest>,
    ) -> Result<Response<Vtep>, Status> {
        let r = req.into_inner();
        api::delete_remote(&self.0.manager, &r.ip, r.vni, r.missing_ok).map_err(status)?;
        self.get().map(Response::new)
    }

    async fn set_vtep_agent(
        &self,
        req: Request<SetVtepAgentRequest>,
    ) -> Result<Response<VtepAgent>, Status> {
        let r = req.into_inner();
        let settings = AgentSettings {
            db: r.db,
            name: r.name,
            tls_key: nonempty(r.tls_key),
            tls_cert: nonempty(r.tls_cert),
            tls_ca: nonempty(r.tls_ca),
        };
        agent::set(&self.0.manager, settings).map_err(status)?;
        self.0.vtep_agent.sync(&self.0);
        self.agent().map(Response::new)
    }

    async fn get_vtep_agent(
        &self,
        _req: Request<GetVtepAgentRequest>,
    ) -> Result<Response<VtepAgent>, Status> {
        self.agent().map(Response::new)
    }

    async fn delete_vtep_agent(
        &self,
        req: Request<DeleteVtepAgentRequest>,
    ) -> Result<Response<DeleteVtepAgentResponse>, Status> {
        agent::delete(&self.0.manager, req.into_inner().missing_ok).map_err(status)?;
        self.0.vtep_agent.sync(&self.0);
        Ok(Response::new(DeleteVtepAgentResponse {}))
    }
}
