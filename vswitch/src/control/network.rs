//! NetworkService: add/delete/get/list networks.

use tonic::{Request, Response, Status};

use super::convert::{network_from_pb, network_to_pb};
use super::pb::network_service_server::NetworkService;
use super::pb::{
    AddNetworkRequest, DeleteNetworkRequest, DeleteNetworkResponse, GetNetworkRequest,
    ListNetworksRequest, ListNetworksResponse, Network,
};
use super::{status, Shared};

pub struct NetworkApi(pub Shared);

impl NetworkApi {
    fn get(&self, name: &str) -> Result<Network, Status> {
        let (model, _) = self.0.manager.model();
        model
            .network(name)
            .map(|n| network_to_pb(&model, n))
            .ok_or_else(|| Status::not_found(format!("network {name}: does not exist")))
    }
}

#[tonic::async_trait]
impl NetworkService for NetworkApi {
    async fn add_network(
        &self,
        req: Request<AddNetworkRequest>,
    ) -> Result<Response<Network>, Status> {
        let req = req.into_inner();
        let net = req
            .network
            .ok_or_else(|| Status::invalid_argument("add network: the request has no network"))?;
        let net = network_from_pb(&net).map_err(status)?;
        let name = net.name.clone();
        self.0
            .manager
            .apply(|m| m.add_network(net, req.exist_ok))
            .map_err(status)?;
        self.get(&name).map(Response::new)
    }

    async fn delete_network(
        &self,
        req: Request<DeleteNetworkRequest>,
    ) -> Result<Response<DeleteNetworkResponse>, Status> {
        let req = req.into_inner();
        self.0
            .manager
            .apply(|m| m.delete_network(&req.name, req.missing_ok))
            .map_err(status)?;
        Ok(Response::new(DeleteNetworkResponse {}))
    }

    async fn get_network(
        &self,
        req: Request<GetNetworkRequest>,
    ) -> Result<Response<Network>, Status> {
        self.get(&req.into_inner().name).map(Response::new)
    }

    async fn list_networks(
        &self,
        _req: Request<ListNetworksRequest>,
    ) -> Result<Response<ListNetworksResponse>, Status> {
        let (model, _) = self.0.manager.model();
        Ok(Response::new(ListNetworksResponse {
            networks: model
                .networks
                .iter()
                .map(|n| network_to_pb(&model, n))
                .collect(),
        }))
    }
}
