//! NatService: SNAT rules, floating IPs and the bindings of translated connections.

use tonic::{Request, Response, Status};

use super::pb::edit_backend_request::Op;
use super::pb::nat_service_server::NatService;
use super::pb::{
    AddFloatingIpRequest, AddServiceRequest, AddSnatRequest, Backend, DeleteFloatingIpRequest,
    DeleteFloatingIpResponse, DeleteServiceRequest, DeleteServiceResponse, DeleteSnatRequest,
    DeleteSnatResponse, EditBackendRequest, FloatingIp, HealthTiming, ListFloatingIpsRequest,
    ListFloatingIpsResponse, ListNatBindingsRequest, ListNatBindingsResponse, ListServicesRequest,
    ListServicesResponse, ListSnatRequest, ListSnatResponse, NatBinding, Snat, VipService,
};
use super::{status, Shared};
use crate::model;
use crate::nat::api::{self, BackendOp, ServiceView};
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

fn backend_from_pb(b: Backend) -> model::Backend {
    model::Backend {
        addr: b.addr,
        weight: if b.weight == 0 { 1 } else { b.weight },
        drained: b.drained,
    }
}

fn service_from_pb(s: VipService) -> model::Service {
    model::Service {
        name: s.name,
        vip: s.vip,
        proto: s.proto,
        backends: s.backends.into_iter().map(backend_from_pb).collect(),
        affinity: s.affinity,
        health_check: opt(s.health_check),
        health_timing: timing_from_pb(s.health_timing.unwrap_or_default()),
        vrf: opt(s.vrf),
    }
}

/// A timing's fields left 0 take their defaults.
fn timing_from_pb(t: HealthTiming) -> model::HealthTiming {
    let d = model::HealthTiming::default();
    let or = |v: u32, default: u32| if v == 0 { default } else { v };
    model::HealthTiming {
        interval: or(t.interval, d.interval),
        timeout: or(t.timeout, d.timeout),
        rise: or(t.rise, d.rise),
        fall: or(t.fall, d.fall),
    }
}

fn service_to_pb(v: ServiceView) -> VipService {
    let s = v.service;
    VipService {
        name: s.name,
        vip: s.vip,
        proto: s.proto,
        affinity: s.affinity,
        health_check: s.health_check.unwrap_or_else(|| "tcp".into()),
        health_timing: Some(HealthTiming {
            interval: s.health_timing.interval,
            timeout: s.health_timing.timeout,
            rise: s.health_timing.rise,
            fall: s.health_timing.fall,
        }),
        vrf: s.vrf.unwrap_or_default(),
        sessions: v.sessions as u64,
        backends: v
            .backends
            .into_iter()
            .map(|b| {
                let h = b.health;
                Backend {
                    addr: b.backend.addr,
                    weight: b.backend.weight,
                    drained: b.backend.drained,
                    health: h
                        .as_ref()
                        .map_or(String::new(), |h| (if h.up { "up" } else { "down" }).into()),
                    since: h.as_ref().map_or(0, |h| h.since),
                    last_probe: h.map_or(String::new(), |h| h.last),
                    share: b.share,
                    sessions: b.sessions as u64,
                }
            })
            .collect(),
    }
}

/// The service as it is now.
fn current(shared: &Shared, name: &str) -> Result<VipService, Status> {
    let views = api::list_services(&shared.manager, Some(name)).map_err(status)?;
    views
        .into_iter()
        .next()
        .map(service_to_pb)
        .ok_or_else(|| Status::not_found(format!("service {name}: no such service")))
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

    async fn add_service(
        &self,
        req: Request<AddServiceRequest>,
    ) -> Result<Response<VipService>, Status> {
        let r = req.into_inner();
        let s = r
            .service
            .ok_or_else(|| Status::invalid_argument("service: the request has none"))?;
        let svc = service_from_pb(s);
        let name = svc.name.clone();
        api::add_service(&self.0.manager, svc, r.exist_ok).map_err(status)?;
        Ok(Response::new(current(&self.0, &name)?))
    }

    async fn delete_service(
        &self,
        req: Request<DeleteServiceRequest>,
    ) -> Result<Response<DeleteServiceResponse>, Status> {
        let r = req.into_inner();
        api::delete_service(&self.0.manager, &r.name, r.missing_ok).map_err(status)?;
        Ok(Response::new(DeleteServiceResponse {}))
    }

    async fn list_services(
        &self,
        req: Request<ListServicesRequest>,
    ) -> Result<Response<ListServicesResponse>, Status> {
        let name = opt(req.into_inner().name);
        let views = api::list_services(&self.0.manager, name.as_deref()).map_err(status)?;
        Ok(Response::new(ListServicesResponse {
            services: views.into_iter().map(service_to_pb).collect(),
        }))
    }

    async fn edit_backend(
        &self,
        req: Request<EditBackendRequest>,
    ) -> Result<Response<VipService>, Status> {
        let r = req.into_inner();
        let op = match r.op() {
            Op::Add => BackendOp::Add,
            Op::Delete => BackendOp::Delete,
            Op::Drain => BackendOp::Drain,
            Op::Undrain => BackendOp::Undrain,
        };
        let b = r
            .backend
            .ok_or_else(|| Status::invalid_argument("service backend: the request has none"))?;
        let flags = (r.exist_ok, r.missing_ok);
        api::edit_backend(&self.0.manager, &r.service, op, backend_from_pb(b), flags)
            .map_err(status)?;
        Ok(Response::new(current(&self.0, &r.service)?))
    }
}
