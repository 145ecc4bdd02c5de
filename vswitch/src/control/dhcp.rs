//! DhcpService: delegates to the DHCP feature's api.

use tonic::{Request, Response, Status};

use super::pb::dhcp_service_server::DhcpService;
use super::pb::{Lease, ListLeasesRequest, ListLeasesResponse};
use super::{status, Shared};
use crate::dhcp::api;
use crate::dhcp::server::unix_now;

pub struct DhcpApi(pub Shared);

#[tonic::async_trait]
impl DhcpService for DhcpApi {
    async fn list_leases(
        &self,
        req: Request<ListLeasesRequest>,
    ) -> Result<Response<ListLeasesResponse>, Status> {
        let req = req.into_inner();
        let network = (!req.network.is_empty()).then_some(req.network.as_str());
        let rows = api::leases(&self.0.manager, network).map_err(status)?;
        let now = unix_now();
        Ok(Response::new(ListLeasesResponse {
            leases: rows
                .into_iter()
                .map(|(network, l)| Lease {
                    network,
                    mac: l.mac.to_string(),
                    ip: l.ip.to_string(),
                    expires_in_secs: l.expires.saturating_sub(now),
                })
                .collect(),
        }))
    }
}
