//! ConfigService: apply a whole model, show the current one.

use tonic::{Request, Response, Status};

use super::pb::config_service_server::ConfigService;
use super::pb::{ApplyRequest, ApplyResponse, ShowRequest, ShowResponse};
use super::{status, Shared};
use crate::model::error::ConfigError;
use crate::model::Model;

pub struct ConfigApi(pub Shared);

#[tonic::async_trait]
impl ConfigService for ConfigApi {
    async fn apply(&self, req: Request<ApplyRequest>) -> Result<Response<ApplyResponse>, Status> {
        let req = req.into_inner();
        let model = Model::parse(&req.format, &req.text)
            .map_err(|e| status(ConfigError::Invalid(e.to_string())))?;
        let shared = self.0.clone();
        let generation = tokio::task::spawn_blocking(move || shared.manager.replace(model))
            .await
            .map_err(|e| Status::internal(format!("apply: {e}")))?
            .map_err(status)?;
        Ok(Response::new(ApplyResponse { generation }))
    }

    async fn show(&self, _req: Request<ShowRequest>) -> Result<Response<ShowResponse>, Status> {
        let (model, generation) = self.0.manager.model();
        Ok(Response::new(ShowResponse {
            generation,
            json: model.to_json(),
        }))
    }
}
