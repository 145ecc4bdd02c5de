//! FdbService: delegates to the bridge's api.

use tonic::{Request, Response, Status};

use super::pb::fdb_service_server::FdbService;
use super::pb::{
    AddFdbEntryRequest, DeleteFdbEntryRequest, DeleteFdbEntryResponse, FdbEntry, FlushFdbRequest,
    FlushFdbResponse, ListFdbRequest, ListFdbResponse,
};
use super::{status, Shared};
use crate::bridge::api;
use crate::model::StaticMac;

pub struct FdbApi(pub Shared);

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[tonic::async_trait]
impl FdbService for FdbApi {
    async fn list_fdb(
        &self,
        req: Request<ListFdbRequest>,
    ) -> Result<Response<ListFdbResponse>, Status> {
        let req = req.into_inner();
        let rows = api::list(&self.0.manager, opt(&req.network)).map_err(status)?;
        Ok(Response::new(ListFdbResponse {
            entries: rows
                .into_iter()
                .map(|r| FdbEntry {
                    network: r.network,
                    mac: r.mac.to_string(),
                    port: r.port,
                    r#static: r.is_static,
                    age_secs: r.age_secs,
                    remote: r.remote.map(|ip| ip.to_string()).unwrap_or_default(),
                })
                .collect(),
        }))
    }

    async fn flush_fdb(
        &self,
        req: Request<FlushFdbRequest>,
    ) -> Result<Response<FlushFdbResponse>, Status> {
        let req = req.into_inner();
        let flushed = api::flush(&self.0.manager, opt(&req.network)).map_err(status)?;
        Ok(Response::new(FlushFdbResponse { flushed }))
    }

    async fn add_fdb_entry(
        &self,
        req: Request<AddFdbEntryRequest>,
    ) -> Result<Response<FdbEntry>, Status> {
        let req = req.into_inner();
        let e = req
            .entry
            .ok_or_else(|| Status::invalid_argument("add fdb entry: the request has no entry"))?;
        let entry = StaticMac {
            network: e.network.clone(),
            mac: e.mac.clone(),
            port: e.port.clone(),
            remote: (!e.remote.is_empty()).then(|| e.remote.clone()),
        };
        api::add_static(&self.0.manager, entry, req.exist_ok).map_err(status)?;
        Ok(Response::new(FdbEntry {
            r#static: true,
            age_secs: 0,
            ..e
        }))
    }

    async fn delete_fdb_entry(
        &self,
        req: Request<DeleteFdbEntryRequest>,
    ) -> Result<Response<DeleteFdbEntryResponse>, Status> {
        let req = req.into_inner();
        api::delete_static(&self.0.manager, &req.network, &req.mac, req.missing_ok)
            .map_err(status)?;
        Ok(Response::new(DeleteFdbEntryResponse {}))
    }
}
