//! The router's part of a model: VRF subnets that do not overlap, static routes and static
//! neighbors.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::model::error::{invalid, ConfigError, Result};
use crate::model::{vrf_names, vrf_of, Model};
use crate::packet::prefix::Prefix;
use crate::packet::MacAddr;

pub fn validate(model: &Model) -> Result<()> {
    validate_vrf_subnets(model)?;
    validate_routes(model)?;
    validate_neighbors(model)
}

/// The subnets of the networks of one VRF are its connected routes: they must not overlap
/// (in different VRFs they may).
fn validate_vrf_subnets(model: &Model) -> Result<()> {
    let mut seen: Vec<(&str, Prefix, &str)> = Vec::new();
    for n in &model.networks {
        let Some(vrf) = vrf_of(n) else { continue };
        for s in &n.subnets {
            let Ok(p) = s.parse::<Prefix>() else { continue };
            if let Some((_, q, other)) = seen.iter().find(|(v, q, _)| *v == vrf && q.overlaps(&p)) {
                return Err(invalid(format!(
                    "network {}: subnet {p} overlaps {q} of network {other} in vrf {vrf}; \
                     use another subnet or another --vrf",
                    n.name
                )));
            }
            seen.push((vrf, p, &n.name));
        }
    }
    Ok(())
}

/// Most next hops of one route (the ECMP group size).
pub const MAX_NEXT_HOPS: usize = 16;

/// Static routes: in a VRF that exists, next hops of the prefix's family on a connected subnet
/// of that VRF, no prefix twice and none equal to a connected subnet.
fn validate_routes(model: &Model) -> Result<()> {
    let vrfs = vrf_names(model);
    let mut seen: HashSet<(&str, Prefix)> = HashSet::new();
    for r in &model.routes {
        let vrf = r.vrf();
        let prefix: Prefix = r.prefix.parse().map_err(|()| {
            invalid(format!(
                "route {:?}: the prefix is not a CIDR (like 203.0.113.0/24 or 0.0.0.0/0)",
                r.prefix
            ))
        })?;
        let name = format!("route {prefix} in vrf {vrf}");
        if !vrfs.iter().any(|v| v == vrf) {
            return Err(invalid(format!(
                "{name}: vrf {vrf} does not exist; give a network --subnet and --vrf {vrf} first"
            )));
        }
        if !seen.insert((vrf, prefix)) {
            return Err(ConfigError::AlreadyExists(format!(
                "{name}: already exists"
            )));
        }
        let subnets = || {
            model
                .networks
                .iter()
                .filter(move |n| vrf_of(n) == Some(vrf))
                .flat_map(|n| n.subnets.iter().map(move |s| (n, s)))
                .filter_map(|(n, s)| s.parse::<Prefix>().ok().map(|p| (n, p)))
        };
        if let Some((n, _)) = subnets().find(|(_, p)| *p == prefix) {
            return Err(invalid(format!(
                "{name}: overlaps the connected subnet of network {}; remove one of them",
                n.name
            )));
        }
        if r.via.is_empty() || r.via.len() > MAX_NEXT_HOPS {
            return Err(invalid(format!(
                "{name}: give 1-{MAX_NEXT_HOPS} next hops (--via IP[,IP...])"
            )));
        }
        for hop in &r.via {
            let ip: IpAddr = hop
                .parse()
                .map_err(|_| invalid(format!("{name}: next hop {hop:?} is not an IP address")))?;
            if ip.is_ipv4() != prefix.is_ipv4() {
                return Err(invalid(format!(
                    "{name}: next hop {ip} is not of the prefix's address family"
                )));
            }
            if !subnets().any(|(_, p)| p.contains(ip)) {
                return Err(invalid(format!(
                    "{name}: next hop {ip} is in no subnet of vrf {vrf}; use an address of a \
                     network of the vrf"
                )));
            }
        }
    }
    Ok(())
}

/// Static neighbors: in a routed network, on one of its subnets, a unicast MAC, one per address
/// in a VRF.
fn validate_neighbors(model: &Model) -> Result<()> {
    let mut seen = HashSet::new();
    for e in &model.neighbors {
        let name = format!("neighbor {} in network {}", e.ip, e.network);
        let net = model
            .network(&e.network)
            .ok_or_else(|| ConfigError::NotFound(format!("{name}: the network does not exist")))?;
        let ip: IpAddr =
            e.ip.parse()
                .map_err(|_| invalid(format!("{name}: not an IP address")))?;
        let on_link = net
            .subnets
            .iter()
            .filter_map(|s| s.parse::<Prefix>().ok())
            .any(|p| p.contains(ip));
        if !on_link {
            return Err(invalid(format!(
                "{name}: the address is in no --subnet of the network"
            )));
        }
        match e.mac.parse::<MacAddr>() {
            Ok(m) if m.is_unicast() && !m.is_zero() => {}
            _ => {
                return Err(invalid(format!(
                    "{name}: MAC {:?} is not a unicast MAC address",
                    e.mac
                )))
            }
        }
        if !seen.insert((vrf_of(net), ip)) {
            return Err(ConfigError::AlreadyExists(format!(
                "{name}: the address already has a static neighbor"
            )));
        }
    }
    Ok(())
}
