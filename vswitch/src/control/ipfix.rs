//! IpfixService: the flow export's settings in the model, and what the exporter sent.

use std::sync::atomic::Ordering;

use tonic::{Request, Response, Status};

use super::pb::ipfix_service_server::IpfixService;
use super::pb::{DeleteIpfixRequest, DeleteIpfixResponse, GetIpfixRequest, Ipfix};
use super::{status, Daemon, Shared};
use crate::model::{self, error::ConfigError};

pub struct IpfixApi(pub Shared);

/// The settings as the model keeps them (0: the default).
fn from_pb(x: Ipfix) -> model::Ipfix {
    let or = |v: u32, default: u32| if v == 0 { default } else { v };
    model::Ipfix {
        collector: x.collector,
        sampling: or(x.sampling, 1),
        active_timeout: or(x.active_timeout, model::Ipfix::ACTIVE_TIMEOUT),
        idle_timeout: or(x.idle_timeout, model::Ipfix::IDLE_TIMEOUT),
    }
}

fn to_pb(x: model::Ipfix, d: &Daemon) -> Ipfix {
    Ipfix {
        collector: x.collector,
        sampling: x.sampling,
        active_timeout: x.active_timeout,
        idle_timeout: x.idle_timeout,
        messages: d.ipfix.messages.load(Ordering::Relaxed),
        records: d.ipfix.records.load(Ordering::Relaxed),
        errors: d.ipfix.errors.load(Ordering::Relaxed),
        lost: d.ipfix.lost.load(Ordering::Relaxed),
    }
}

#[tonic::async_trait]
impl IpfixService for IpfixApi {
    async fn set_ipfix(&self, req: Request<Ipfix>) -> Result<Response<Ipfix>, Status> {
        let x = from_pb(req.into_inner());
        let set = x.clone();
        self.0
            .manager
            .apply(move |m| {
                m.ipfix = Some(set);
                Ok(())
            })
            .map_err(status)?;
        Ok(Response::new(to_pb(x, &self.0)))
    }

    async fn get_ipfix(&self, _req: Request<GetIpfixRequest>) -> Result<Response<Ipfix>, Status> {
        match self.0.manager.read(|m| m.ipfix.clone()) {
            Some(x) => Ok(Response::new(to_pb(x, &self.0))),
            None => Err(Status::not_found(
                "ipfix: no export; set one with `vsctl ipfix set --collector IP:PORT`",
            )),
        }
    }

    async fn delete_ipfix(
        &self,
        req: Request<DeleteIpfixRequest>,
    ) -> Result<Response<DeleteIpfixResponse>, Status> {
        let missing_ok = req.into_inner().missing_ok;
        self.0
            .manager
            .apply(|m| match m.ipfix.take() {
                Some(_) => Ok(()),
                None if missing_ok => Ok(()),
                None => Err(ConfigError::NotFound("ipfix: no export to delete".into())),
            })
            .map_err(status)?;
        Ok(Response::new(DeleteIpfixResponse {}))
    }
}
