//! NatService: SNAT rules, floating IPs and the bindings of translated connections.

use tonic::{Request, Response, Status};

use super::pb::nat_service_server::NatService;
use super::pb::{
    AddFloatingIpRequest, AddSnatRequest, DeleteFloatingIpRequest, DeleteFloatingIpResponse,
    DeleteSnatRequest, DeleteSnatResponse, FloatingIp, ListFloatingIpsRequest,
    ListFloatingIpsResponse, ListNatBindingsRequest, ListNatBindingsResponse, ListSnatRequest,
    ListSnatResponse, NatBinding, Snat,
};
use super::{status, Shared};
use crate::model;
use crate::nat::api;
use crate::nat::bindings::Addr;
use crate::packet::ipproto;

pub struct NatApi(pub Shared);

fn opt(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn snat_to_pb(rule: model::Snat, bindings: usize) -> Snat {
    Snat {
        name: rule.name,
        from: rule.from,
        to: rule.to,
        port_range: rule.port_range.unwrap_or_default(),
        bindings: bindings as u64,
    }
}

fn floating_to_pb(f: model::FloatingIp) -> FloatingIp {
    FloatingIp {
        ip: f.ip,
        endpoint: f.endpoint,
        vrf: f.vrf.unwrap_or_default(),
    }
}

fn endpoint(a: Addr) -> String {
    format!("{}:{}", a.0, a.1)
}

fn proto_name(p: u8) -> String {
    match p {
        ipproto::TCP => "tcp".into(),
        ipproto::UDP => "udp".into(),
        ipproto::ICMP => "icmp".into(),
        other => other.to_string(),
    }
}

#[tonic::async_trait]
impl NatService for NatApi {
    async fn add_snat(&self, req: Request<AddSnatRequest>) -> Result<Response<Snat>, Status> {
        let r = req.into_inner();
        let s = r
            .snat
            .ok_or_else(|| Status::invalid_argument("snat: the request has no rule"))?;
        let rule = model::Snat {
            name: s.name,
            from: s.from,
            to: s.to,
            port_range: opt(s.port_range),
        };
        api::add_snat(&self.0.manager, rule.clone(), r.exist_ok).map_err(status)?;
        Ok(Response::new(snat_to_pb(rule, 0)))
    }

    async fn delete_snat(
        &self,
        req: Request<DeleteSnatRequest>,
    ) -> Result<Response<DeleteSnatResponse>, Status> {
        let r = req.into_inner();
        api::delete_snat(&self.0.manager, &r.name, r.missing_ok).map_err(status)?;
        Ok(Response::new(DeleteSnatResponse {}))
    }

    async fn list_snat(
        &self,
        _req: Request<ListSnatRequest>,
    ) -> Result<Response<ListSnatResponse>, Status> {
        let (views, exhausted) = api::list_snat(&self.0.manager);
        Ok(Response::new(ListSnatResponse {
            rules: views
                .into_iter()
                .map(|v| snat_to_pb(v.rule, v.bindings))
                .collect(),
            ports_exhausted: exhausted,
        }))
    }

    async fn add_floating_ip(
        &self,
        req: Request<AddFloatingIpRequest>,
    ) -> Result<Response<FloatingIp>, Status> {
        let r = req.into_inner();
        let f = r
            .floating_ip
            .ok_or_else(|| Status::invalid_argument("floating-ip: the request has none"))?;
        let f = model::FloatingIp {
            ip: f.ip,
            endpoint: f.endpoint,
            vrf: opt(f.vrf),
        };
        api::add_floating_ip(&self.0.manager, f.clone(), r.exist_ok).map_err(status)?;
        Ok(Response::new(floating_to_pb(f)))
    }

    async fn delete_floating_ip(
        &self,
        req: Request<DeleteFloatingIpRequest>,
    ) -> Result<Response<DeleteFloatingIpResponse>, Status> {
        let r = req.into_inner();
        api::delete_floating_ip(&self.0.manager, &r.ip, r.missing_ok).map_err(status)?;
        Ok(Response::new(DeleteFloatingIpResponse {}))
    }

    async fn list_floating_ips(
        &self,
        _req: Request<ListFloatingIpsRequest>,
    ) -> Result<Response<ListFloatingIpsResponse>, Status> {
        let all = api::list_floating_ips(&self.0.manager);
        Ok(Response::new(ListFloatingIpsResponse {
            floating_ips: all.into_iter().map(floating_to_pb).collect(),
        }))
    }

    async fn list_nat_bindings(
        &self,
        _req: Request<ListNatBindingsRequest>,
    ) -> Result<Response<ListNatBindingsResponse>, Status> {
        let bindings = api::bindings(&self.0.manager)
            .into_iter()
            .map(|b| NatBinding {
                proto: proto_name(b.proto),
                inside: endpoint(b.inside),
                outside: endpoint(b.outside),
                remote: endpoint(b.remote),
                idle_secs: b.idle_secs,
            })
            .collect();
        Ok(Response::new(ListNatBindingsResponse { bindings }))
    }
}
