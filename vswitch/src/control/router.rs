//! RouterService: delegates to the router's api.

use tonic::{Request, Response, Status};

use super::pb::router_service_server::RouterService;
use super::pb::{
    AddNeighborRequest, AddRouteRequest, DeleteNeighborRequest, DeleteNeighborResponse,
    DeleteRouteRequest, DeleteRouteResponse, ListNeighborsRequest, ListNeighborsResponse,
    ListRoutesRequest, ListRoutesResponse, NeighborEntry, RouteEntry,
};
use super::{status, Shared};
use crate::model::{StaticNeighbor, StaticRoute, DEFAULT_VRF};
use crate::router::api;

pub struct RouterApi(pub Shared);

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[tonic::async_trait]
impl RouterService for RouterApi {
    async fn list_routes(
        &self,
        req: Request<ListRoutesRequest>,
    ) -> Result<Response<ListRoutesResponse>, Status> {
        let req = req.into_inner();
        let rows = api::routes(&self.0.manager, opt(&req.vrf)).map_err(status)?;
        Ok(Response::new(ListRoutesResponse {
            routes: rows
                .into_iter()
                .map(|r| RouteEntry {
                    vrf: r.vrf,
                    prefix: r.prefix.to_string(),
                    kind: r.kind.to_string(),
                    next_hops: if r.kind == "static" {
                        r.via.split(',').map(str::to_string).collect()
                    } else {
                        Vec::new()
                    },
                    via: r.via,
                })
                .collect(),
        }))
    }

    async fn add_neighbor(
        &self,
        req: Request<AddNeighborRequest>,
    ) -> Result<Response<NeighborEntry>, Status> {
        let req = req.into_inner();
        let n = req
            .neighbor
            .ok_or_else(|| Status::invalid_argument("add neighbor: the request has no neighbor"))?;
        let entry = StaticNeighbor {
            network: n.network.clone(),
            ip: n.ip.clone(),
            mac: n.mac.clone(),
        };
        api::add_neighbor(&self.0.manager, entry, req.exist_ok).map_err(status)?;
        Ok(Response::new(n))
    }

    async fn delete_neighbor(
        &self,
        req: Request<DeleteNeighborRequest>,
    ) -> Result<Response<DeleteNeighborResponse>, Status> {
        let req = req.into_inner();
        api::delete_neighbor(&self.0.manager, &req.network, &req.ip, req.missing_ok)
            .map_err(status)?;
        Ok(Response::new(DeleteNeighborResponse {}))
    }

    async fn add_route(
        &self,
        req: Request<AddRouteRequest>,
    ) -> Result<Response<RouteEntry>, Status> {
        let req = req.into_inner();
        let r = req
            .route
            .ok_or_else(|| Status::invalid_argument("add route: the request has no route"))?;
        let route = StaticRoute {
            vrf: opt(&r.vrf).map(str::to_string),
            prefix: r.prefix.clone(),
            via: r.next_hops.clone(),
        };
        api::add_route(&self.0.manager, route, req.exist_ok).map_err(status)?;
        Ok(Response::new(RouteEntry {
            kind: "static".to_string(),
            via: r.next_hops.join(","),
            ..r
        }))
    }

    async fn delete_route(
        &self,
        req: Request<DeleteRouteRequest>,
    ) -> Result<Response<DeleteRouteResponse>, Status> {
        let req = req.into_inner();
        let vrf = opt(&req.vrf).unwrap_or(DEFAULT_VRF);
        api::delete_route(&self.0.manager, vrf, &req.prefix, req.missing_ok).map_err(status)?;
        Ok(Response::new(DeleteRouteResponse {}))
    }

    async fn list_neighbors(
        &self,
        req: Request<ListNeighborsRequest>,
    ) -> Result<Response<ListNeighborsResponse>, Status> {
        let req = req.into_inner();
        let rows = api::neighbors(&self.0.manager, opt(&req.vrf)).map_err(status)?;
        Ok(Response::new(ListNeighborsResponse {
            neighbors: rows
                .into_iter()
                .map(|r| NeighborEntry {
                    vrf: r.vrf,
                    ip: r.ip.to_string(),
                    mac: r.mac.to_string(),
                    network: r.network,
                    age_secs: r.age_secs,
                })
                .collect(),
        }))
    }
}
