//! NAT's part of a model: SNAT rules and floating IPs name real networks, their addresses lie
//! in an external network's subnet and belong to no one else.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use super::pool::Pool;
use crate::model::error::{invalid, ConfigError, Result};
use crate::model::{vrf_of, Model, Network};
use crate::packet::prefix::Prefix;

const ADD_EXTERNAL: &str =
    "add one with `vsctl network add NAME --subnet CIDR --gateway IP --external`";

pub fn validate(model: &Model) -> Result<()> {
    let mut pools: Vec<(&str, Pool)> = Vec::new();
    let mut sources = HashSet::new();
    for s in &model.snat {
        let owner = format!("snat {}", s.name);
        if s.name.is_empty() {
            return Err(invalid("snat: the rule needs a name"));
        }
        if pools.iter().any(|(n, _)| *n == s.name) {
            return Err(ConfigError::AlreadyExists(format!(
                "{owner}: already exists"
            )));
        }
        let pool = Pool::parse(&s.to, s.port_range.as_deref())
            .map_err(|e| invalid(format!("{owner}: {e}")))?;
        check_source(model, &owner, &s.from)?;
        if !sources.insert(s.from.as_str()) {
            return Err(invalid(format!(
                "{owner}: {} already leaves by another SNAT rule; remove that one first",
                s.from
            )));
        }
        for ip in pool.addresses() {
            check_outside(model, &owner, ip)?;
        }
        if let Some((other, _)) = pools.iter().find(|(_, p)| p.overlaps(&pool)) {
            return Err(invalid(format!(
                "{owner}: --to {} overlaps the addresses of snat {other}; give each rule its own",
                s.to
            )));
        }
        pools.push((&s.name, pool));
    }
    let mut floating = HashSet::new();
    let mut endpoints = HashSet::new();
    for f in &model.floating_ips {
        let owner = format!("floating-ip {}", f.ip);
        let ip: Ipv4Addr =
            f.ip.parse()
                .map_err(|_| invalid(format!("{owner}: not an IPv4 address")))?;
        if !floating.insert(ip) {
            return Err(ConfigError::AlreadyExists(format!(
                "{owner}: already exists"
            )));
        }
        check_outside(model, &owner, ip)?;
        if let Some((rule, _)) = pools.iter().find(|(_, p)| p.contains(ip)) {
            return Err(invalid(format!(
                "{owner}: the address is used by snat {rule}; pick another"
            )));
        }
        let endpoint: Ipv4Addr = f.endpoint.parse().map_err(|_| {
            invalid(format!(
                "{owner}: --endpoint {:?} is not an IPv4 address",
                f.endpoint
            ))
        })?;
        let inside = model
            .networks
            .iter()
            .any(|n| !n.external && vrf_of(n) == Some(f.vrf()) && subnet_holds(n, endpoint));
        if !inside {
            return Err(invalid(format!(
                "{owner}: --endpoint {endpoint} is in no internal network of VRF {}",
                f.vrf()
            )));
        }
        if !endpoints.insert((f.vrf(), endpoint)) {
            return Err(invalid(format!(
                "{owner}: endpoint {endpoint} already has a floating IP; remove that one first"
            )));
        }
    }
    Ok(())
}

/// `from` is an internal network with a subnet, or an IPv4 CIDR.
fn check_source(model: &Model, owner: &str, from: &str) -> Result<()> {
    if let Some(n) = model.network(from) {
        if n.external {
            return Err(invalid(format!(
                "{owner}: --from {from} is an external network; name an internal one"
            )));
        }
        if n.subnets.is_empty() {
            return Err(invalid(format!(
                "{owner}: network {from} has no subnet to route from; add --subnet"
            )));
        }
        return Ok(());
    }
    match from.parse::<Prefix>() {
        Ok(p) if p.is_ipv4() => Ok(()),
        _ => Err(invalid(format!(
            "{owner}: --from {from:?} is neither a network nor an IPv4 CIDR"
        ))),
    }
}

/// An outside address: in an external network's subnet, not its gateway.
fn check_outside(model: &Model, owner: &str, ip: Ipv4Addr) -> Result<()> {
    let Some(net) = model
        .networks
        .iter()
        .find(|n| n.external && subnet_holds(n, ip))
    else {
        return Err(invalid(format!(
            "{owner}: {ip} is in no external network's subnet; {ADD_EXTERNAL}"
        )));
    };
    if net.gateways.iter().any(|g| g.parse() == Ok(IpAddr::V4(ip))) {
        return Err(invalid(format!(
            "{owner}: {ip} is the gateway of network {}; pick another address",
            net.name
        )));
    }
    Ok(())
}

/// A subnet of network `n` holds `ip`.
pub(super) fn subnet_holds(n: &Network, ip: Ipv4Addr) -> bool {
    n.subnets
        .iter()
        .filter_map(|s| s.parse::<Prefix>().ok())
        .any(|p| p.contains(IpAddr::V4(ip)))
}
