//! NAT's part of a model: SNAT rules and floating IPs name real networks, their addresses lie
//! in an external network's subnet and belong to no one else; a service's VIP lies outside
//! every subnet and its backends inside one.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use super::health::Check;
use super::pool::Pool;
use super::service::{locate, parse_addr, parse_proto};
use crate::model::error::{invalid, ConfigError, Result};
use crate::model::{vrf_names, vrf_of, Model, Network};
use crate::packet::prefix::Prefix;

/// The largest weight of a backend (its share against the others').
pub const MAX_WEIGHT: u32 = 100;

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
            check_outside(model, &owner, IpAddr::V4(ip))?;
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
        let ip: IpAddr =
            f.ip.parse()
                .map_err(|_| invalid(format!("{owner}: not an IP address")))?;
        if !floating.insert(ip) {
            return Err(ConfigError::AlreadyExists(format!(
                "{owner}: already exists"
            )));
        }
        check_outside(model, &owner, ip)?;
        let in_pool = |p: &Pool| matches!(ip, IpAddr::V4(v4) if p.contains(v4));
        if let Some((rule, _)) = pools.iter().find(|(_, p)| in_pool(p)) {
            return Err(invalid(format!(
                "{owner}: the address is used by snat {rule}; pick another"
            )));
        }
        let endpoint: IpAddr = f
            .endpoint
            .parse()
            .ok()
            .filter(|e: &IpAddr| e.is_ipv4() == ip.is_ipv4())
            .ok_or_else(|| {
                invalid(format!(
                    "{owner}: --endpoint {:?} is not an address of the floating IP's family",
                    f.endpoint
                ))
            })?;
        let inside = model
            .networks
            .iter()
            .any(|n| !n.external && vrf_of(n) == Some(f.vrf()) && holds(n, endpoint));
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
    validate_services(model)
}

fn validate_services(model: &Model) -> Result<()> {
    let mut names = HashSet::new();
    let mut vips = HashSet::new();
    let vrfs = vrf_names(model);
    for s in &model.services {
        let owner = format!("service {}", s.name);
        if s.name.is_empty() {
            return Err(invalid("service: the service needs a name"));
        }
        if !names.insert(s.name.as_str()) {
            return Err(ConfigError::AlreadyExists(format!(
                "{owner}: already exists"
            )));
        }
        if !vrfs.iter().any(|v| v == s.vrf()) {
            return Err(invalid(format!(
                "{owner}: VRF {} has no network; add a network with a subnet in it",
                s.vrf()
            )));
        }
        let proto = parse_proto(&s.proto)
            .ok_or_else(|| invalid(format!("{owner}: --proto {:?} is not tcp or udp", s.proto)))?;
        let vip = parse_addr(&s.vip).ok_or_else(|| {
            invalid(format!(
                "{owner}: --vip {:?} is not IP:PORT (IPv6: [IP]:PORT)",
                s.vip
            ))
        })?;
        if vip.1 == 0 {
            return Err(invalid(format!("{owner}: --vip {} needs a port", s.vip)));
        }
        if let Some(n) = model.networks.iter().find(|n| holds(n, vip.0)) {
            let what = match n.gateways.iter().any(|g| g.parse() == Ok(vip.0)) {
                true => "is the gateway",
                false => "is inside the subnet",
            };
            return Err(invalid(format!(
                "{owner}: --vip {} {what} of network {}; a VIP is an address outside every subnet",
                vip.0, n.name
            )));
        }
        if !vips.insert((s.vrf(), proto, vip)) {
            return Err(invalid(format!(
                "{owner}: {} {} is the VIP of another service; pick another address or port",
                s.proto, s.vip
            )));
        }
        if let Err(e) = Check::parse(s.health_check.as_deref()) {
            return Err(invalid(format!("{owner}: --health-check {e}")));
        }
        let t = &s.health_timing;
        let refuse = |what: &str| Err(invalid(format!("{owner}: {what}")));
        if !(1..=3600).contains(&t.interval) {
            return refuse("--health-interval is 1 to 3600 seconds");
        }
        if !(1..=t.interval).contains(&t.timeout) {
            return refuse("--health-timeout is 1 second to the interval");
        }
        if !(1..=10).contains(&t.rise) || !(1..=10).contains(&t.fall) {
            return refuse("--health-rise and --health-fall are 1 to 10 probes");
        }
        let mut seen = HashSet::new();
        for b in &s.backends {
            let addr = parse_addr(&b.addr).filter(|a| a.1 != 0).ok_or_else(|| {
                invalid(format!(
                    "{owner}: backend {:?} is not IP:PORT (IPv6: [IP]:PORT)",
                    b.addr
                ))
            })?;
            if addr.0.is_ipv4() != vip.0.is_ipv4() {
                return Err(invalid(format!(
                    "{owner}: backend {} and the VIP {} are of two address families",
                    b.addr, s.vip
                )));
            }
            if !seen.insert(addr) {
                return Err(invalid(format!(
                    "{owner}: backend {} is listed twice",
                    b.addr
                )));
            }
            if locate(model, s.vrf(), addr.0).is_none() {
                return Err(invalid(format!(
                    "{owner}: backend {} is in no network of VRF {}; add its network first",
                    b.addr,
                    s.vrf()
                )));
            }
            if b.weight > MAX_WEIGHT {
                return Err(invalid(format!(
                    "{owner}: backend {} has weight {}; weights go from 0 to {MAX_WEIGHT}",
                    b.addr, b.weight
                )));
            }
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
fn check_outside(model: &Model, owner: &str, ip: IpAddr) -> Result<()> {
    let Some(net) = model.networks.iter().find(|n| n.external && holds(n, ip)) else {
        return Err(invalid(format!(
            "{owner}: {ip} is in no external network's subnet; {ADD_EXTERNAL}"
        )));
    };
    if net.gateways.iter().any(|g| g.parse() == Ok(ip)) {
        return Err(invalid(format!(
            "{owner}: {ip} is the gateway of network {}; pick another address",
            net.name
        )));
    }
    Ok(())
}

/// A subnet of network `n` holds `ip`.
pub(super) fn subnet_holds(n: &Network, ip: Ipv4Addr) -> bool {
    holds(n, IpAddr::V4(ip))
}

/// A subnet of network `n` (of either family) holds `ip`.
pub(super) fn holds(n: &Network, ip: IpAddr) -> bool {
    n.subnets
        .iter()
        .filter_map(|s| s.parse::<Prefix>().ok())
        .any(|p| p.contains(ip))
}
