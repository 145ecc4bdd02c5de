//! FirewallService: delegates to the firewall's api.

use tonic::{Request, Response, Status};

use super::pb::firewall_service_server::FirewallService;
use super::pb::{
    AddPolicyRequest, AddressGroup as GroupEntry, Connection, ConntrackStatsRequest,
    ConntrackStatsResponse, DeleteGroupRequest, DeleteGroupResponse, DeletePolicyRequest,
    DeletePolicyResponse, FlushConnectionsRequest, FlushConnectionsResponse,
    ListConnectionsRequest, ListConnectionsResponse, ListGroupsRequest, ListGroupsResponse,
    ListPoliciesRequest, ListPoliciesResponse, LogEntry, NetworkConnections, PolicyEntry,
    ReadLogRequest, ReadLogResponse, SetGroupRequest,
};
use super::pb::{
    AddSecurityGroupRequest, AddSecurityRuleRequest, DeleteSecurityGroupRequest,
    DeleteSecurityGroupResponse, DeleteSecurityRuleRequest, ListSecurityGroupsRequest,
    ListSecurityGroupsResponse, SecurityGroup as SecurityGroupEntry,
    SecurityRule as SecurityRuleEntry, SetPortSecurityGroupsRequest, SetPortSecurityGroupsResponse,
};
use super::{status, Shared};
use crate::firewall::api;
use crate::model::{AddressGroup, Policy, SecurityGroup, SecurityRule};
use crate::packet::ipproto;

pub struct FirewallApi(pub Shared);

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn proto_name(p: u8) -> String {
    match p {
        ipproto::TCP => "tcp".into(),
        ipproto::UDP => "udp".into(),
        ipproto::ICMP => "icmp".into(),
        ipproto::ICMPV6 => "icmpv6".into(),
        other => other.to_string(),
    }
}

fn entry(p: &Policy, hits: u64) -> PolicyEntry {
    PolicyEntry {
        name: p.name.clone(),
        from: p.from.clone(),
        to: p.to.clone(),
        proto: p.proto.clone().unwrap_or_else(|| "any".into()),
        ports: p.ports.clone().unwrap_or_default(),
        action: p.action.clone(),
        stateless: p.stateless,
        priority: p.priority(),
        hits,
        icmp_type: p.icmp_type.map(u32::from),
        log: p.log,
    }
}

fn icmp_type(owner: &str, t: Option<u32>) -> Result<Option<u8>, Status> {
    t.map(|t| {
        u8::try_from(t)
            .map_err(|_| Status::invalid_argument(format!("{owner}: --icmp-type {t}: use 0-255")))
    })
    .transpose()
}

fn security_group_entry(g: &SecurityGroup) -> SecurityGroupEntry {
    SecurityGroupEntry {
        name: g.name.clone(),
        rules: g
            .rules
            .iter()
            .map(|r| SecurityRuleEntry {
                direction: r.direction.clone(),
                proto: r.proto.clone().unwrap_or_else(|| "any".into()),
                ports: r.ports.clone().unwrap_or_default(),
                icmp_type: r.icmp_type.map(u32::from),
                remote: r.remote.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

fn group_entry(g: &AddressGroup) -> GroupEntry {
    GroupEntry {
        name: g.name.clone(),
        cidrs: g.cidrs.clone(),
    }
}

#[tonic::async_trait]
impl FirewallService for FirewallApi {
    async fn list_policies(
        &self,
        _req: Request<ListPoliciesRequest>,
    ) -> Result<Response<ListPoliciesResponse>, Status> {
        let rows = api::policies(&self.0.manager);
        Ok(Response::new(ListPoliciesResponse {
            policies: rows.iter().map(|r| entry(&r.policy, r.hits)).collect(),
        }))
    }

    async fn add_policy(
        &self,
        req: Request<AddPolicyRequest>,
    ) -> Result<Response<PolicyEntry>, Status> {
        let req = req.into_inner();
        let p = req
            .policy
            .ok_or_else(|| Status::invalid_argument("add policy: the request has no policy"))?;
        let policy = Policy {
            name: p.name.clone(),
            from: p.from.clone(),
            to: p.to.clone(),
            proto: opt(&p.proto).filter(|p| p != "any"),
            ports: opt(&p.ports),
            action: p.action.clone(),
            stateless: p.stateless,
            priority: (p.priority != 0).then_some(p.priority),
            icmp_type: icmp_type(&format!("policy {}", p.name), p.icmp_type)?,
            log: p.log,
        };
        api::add_policy(&self.0.manager, policy.clone(), req.exist_ok).map_err(status)?;
        Ok(Response::new(entry(&policy, 0)))
    }

    async fn delete_policy(
        &self,
        req: Request<DeletePolicyRequest>,
    ) -> Result<Response<DeletePolicyResponse>, Status> {
        let req = req.into_inner();
        api::delete_policy(&self.0.manager, &req.name, req.missing_ok).map_err(status)?;
        Ok(Response::new(DeletePolicyResponse {}))
    }

    async fn list_groups(
        &self,
        _req: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsResponse>, Status> {
        Ok(Response::new(ListGroupsResponse {
            groups: api::groups(&self.0.manager)
                .iter()
                .map(group_entry)
                .collect(),
        }))
    }

    async fn set_group(
        &self,
        req: Request<SetGroupRequest>,
    ) -> Result<Response<GroupEntry>, Status> {
        let req = req.into_inner();
        let g = req
            .group
            .ok_or_else(|| Status::invalid_argument("set group: the request has no group"))?;
        let group = AddressGroup {
            name: g.name.clone(),
            cidrs: g.cidrs.clone(),
        };
        api::set_group(&self.0.manager, group, req.replace, req.exist_ok).map_err(status)?;
        Ok(Response::new(g))
    }

    async fn delete_group(
        &self,
        req: Request<DeleteGroupRequest>,
    ) -> Result<Response<DeleteGroupResponse>, Status> {
        let req = req.into_inner();
        api::delete_group(&self.0.manager, &req.name, req.missing_ok).map_err(status)?;
        Ok(Response::new(DeleteGroupResponse {}))
    }

    async fn list_security_groups(
        &self,
        _req: Request<ListSecurityGroupsRequest>,
    ) -> Result<Response<ListSecurityGroupsResponse>, Status> {
        let groups = api::security_groups(&self.0.manager);
        Ok(Response::new(ListSecurityGroupsResponse {
            groups: groups.iter().map(security_group_entry).collect(),
        }))
    }

    async fn add_security_group(
        &self,
        req: Request<AddSecurityGroupRequest>,
    ) -> Result<Response<SecurityGroupEntry>, Status> {
        let req = req.into_inner();
        api::add_security_group(&self.0.manager, &req.name, req.exist_ok).map_err(status)?;
        Ok(Response::new(SecurityGroupEntry {
            name: req.name,
            rules: Vec::new(),
        }))
    }

    async fn delete_security_group(
        &self,
        req: Request<DeleteSecurityGroupRequest>,
    ) -> Result<Response<DeleteSecurityGroupResponse>, Status> {
        let req = req.into_inner();
        api::delete_security_group(&self.0.manager, &req.name, req.missing_ok).map_err(status)?;
        Ok(Response::new(DeleteSecurityGroupResponse {}))
    }

    async fn add_security_rule(
        &self,
        req: Request<AddSecurityRuleRequest>,
    ) -> Result<Response<SecurityGroupEntry>, Status> {
        let req = req.into_inner();
        let r = req.rule.ok_or_else(|| {
            Status::invalid_argument("add security rule: the request has no rule")
        })?;
        let rule = SecurityRule {
            direction: r.direction,
            proto: opt(&r.proto).filter(|p| p != "any"),
            ports: opt(&r.ports),
            icmp_type: icmp_type(&format!("security group {}", req.group), r.icmp_type)?,
            remote: opt(&r.remote),
        };
        let g = api::add_security_rule(&self.0.manager, &req.group, rule).map_err(status)?;
        Ok(Response::new(security_group_entry(&g)))
    }

    async fn delete_security_rule(
        &self,
        req: Request<DeleteSecurityRuleRequest>,
    ) -> Result<Response<SecurityGroupEntry>, Status> {
        let req = req.into_inner();
        let g = api::delete_security_rule(&self.0.manager, &req.group, req.index as usize)
            .map_err(status)?;
        Ok(Response::new(security_group_entry(&g)))
    }

    async fn set_port_security_groups(
        &self,
        req: Request<SetPortSecurityGroupsRequest>,
    ) -> Result<Response<SetPortSecurityGroupsResponse>, Status> {
        let req = req.into_inner();
        api::set_port_security_groups(&self.0.manager, &req.port, req.groups).map_err(status)?;
        Ok(Response::new(SetPortSecurityGroupsResponse {}))
    }

    async fn read_log(
        &self,
        req: Request<ReadLogRequest>,
    ) -> Result<Response<ReadLogResponse>, Status> {
        let max = match req.into_inner().max {
            0 => usize::MAX,
            n => n as usize,
        };
        let (rows, lost) = api::read_log(&self.0.manager, max);
        Ok(Response::new(ReadLogResponse {
            entries: rows
                .into_iter()
                .map(|r| LogEntry {
                    age_secs: r.age_secs,
                    policy: r.entry.rule.to_string(),
                    action: r.entry.action.name().into(),
                    proto: proto_name(r.entry.tuple.proto),
                    src: r.entry.tuple.src.to_string(),
                    sport: u32::from(r.entry.tuple.sport),
                    dst: r.entry.tuple.dst.to_string(),
                    dport: u32::from(r.entry.tuple.dport),
                    from_network: r.from_network,
                    to_network: r.to_network,
                })
                .collect(),
            lost,
        }))
    }

    async fn list_connections(
        &self,
        req: Request<ListConnectionsRequest>,
    ) -> Result<Response<ListConnectionsResponse>, Status> {
        let req = req.into_inner();
        let max = match req.max {
            0 => 1000,
            n => n as usize,
        };
        let which = if req.ended {
            api::Which::Ended
        } else {
            api::Which::Live
        };
        let rows = api::connections(&self.0.manager, max, which);
        Ok(Response::new(ListConnectionsResponse {
            connections: rows
                .into_iter()
                .map(|c| Connection {
                    vrf: c.vrf,
                    proto: proto_name(c.proto),
                    src: c.src.to_string(),
                    sport: u32::from(c.sport),
                    dst: c.dst.to_string(),
                    dport: u32::from(c.dport),
                    state: c.state.to_string(),
                    from_network: c.from_network,
                    to_network: c.to_network,
                    policy: c.rule,
                    age_secs: c.age_secs,
                    idle_secs: c.idle_secs,
                    packets_orig: c.packets[0],
                    packets_reply: c.packets[1],
                    bytes_orig: c.bytes[0],
                    bytes_reply: c.bytes[1],
                    ended: c.ended.map(|e| e.1.to_string()).unwrap_or_default(),
                    ended_secs: c.ended.map_or(0, |e| e.0),
                })
                .collect(),
        }))
    }

    async fn flush_connections(
        &self,
        req: Request<FlushConnectionsRequest>,
    ) -> Result<Response<FlushConnectionsResponse>, Status> {
        let vrf = opt(&req.into_inner().vrf);
        let n = api::flush(&self.0.manager, vrf.as_deref()).map_err(status)?;
        Ok(Response::new(FlushConnectionsResponse {
            flushed: n as u64,
        }))
    }

    async fn conntrack_stats(
        &self,
        _req: Request<ConntrackStatsRequest>,
    ) -> Result<Response<ConntrackStatsResponse>, Status> {
        let s = api::stats(&self.0.manager);
        Ok(Response::new(ConntrackStatsResponse {
            connections: s.connections,
            limit: s.limit,
            created: s.created,
            ended: s.ended,
            refused_full: s.refused_full,
            networks: s
                .networks
                .into_iter()
                .map(|n| NetworkConnections {
                    network: n.network,
                    connections: n.connections,
                    limit: n.limit.unwrap_or(0),
                    refused_full: n.refused_full,
                })
                .collect(),
        }))
    }
}
