//! RouterService: delegates to the router's api.

use tonic::{Request, Response, Status};

use super::pb::router_service_server::RouterService;
use super::pb::{
    ListNeighborsRequest, ListNeighborsResponse, ListRoutesRequest, ListRoutesResponse,
    NeighborEntry, RouteEntry,
};
use super::{status, Shared};
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
                    network: r.network,
                })
                .collect(),
        }))
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
