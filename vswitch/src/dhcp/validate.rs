//! The DHCP server's part of a model.

use std::collections::HashSet;

use crate::model::error::{invalid, Result};
use crate::model::{Model, Network};
use crate::packet::prefix::Prefix;

/// Every network's DHCP settings.
pub fn validate(model: &Model) -> Result<()> {
    for n in &model.networks {
        // The network's subnets parse (checked with the network).
        let subnets: Vec<Prefix> = n.subnets.iter().filter_map(|s| s.parse().ok()).collect();
        validate_dhcp(n, &subnets)?;
    }
    Ok(())
}

/// DHCP needs an IPv4 subnet with the gateway (the router option); its range, DNS servers and
/// fixed addresses must parse and lie in that subnet.
fn validate_dhcp(n: &Network, subnets: &[Prefix]) -> Result<()> {
    let name = &n.name;
    if !n.dhcp {
        if n.dhcp_range.is_some() || !n.dns.is_empty() || !n.dhcp_hosts.is_empty() {
            return Err(invalid(format!(
                "network {name}: --dhcp-range, --dns and --dhcp-host need --dhcp"
            )));
        }
        return Ok(());
    }
    let gateway = n
        .gateways
        .iter()
        .find_map(|g| g.parse::<std::net::Ipv4Addr>().ok());
    let subnet = gateway.and_then(|g| subnets.iter().find(|p| p.contains(g.into())));
    // IPv4 gets DHCP; IPv6 /64 subnets get router advertisements (SLAAC).
    let v6 = n
        .gateways
        .iter()
        .any(|g| g.parse::<std::net::Ipv6Addr>().is_ok());
    let Some(subnet) = subnet else {
        if v6 && n.dhcp_range.is_none() && n.dns.is_empty() && n.dhcp_hosts.is_empty() {
            return Ok(());
        }
        return Err(invalid(format!(
            "network {name}: --dhcp needs an IPv4 --subnet and a --gateway in it (or, for \
             router advertisements only, an IPv6 one)"
        )));
    };
    let in_subnet = |ip: u32| subnet.contains(std::net::Ipv4Addr::from(ip).into());
    match super::server::range(n, subnet) {
        Some((a, b)) if a <= b && in_subnet(a) && in_subnet(b) => {}
        _ => {
            return Err(invalid(format!(
                "network {name}: DHCP range {:?} is not FIRST-LAST inside {subnet}",
                n.dhcp_range.as_deref().unwrap_or("")
            )))
        }
    }
    for d in &n.dns {
        if d.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(invalid(format!(
                "network {name}: DNS server {d:?} is not an IPv4 address"
            )));
        }
    }
    let hosts: Vec<_> = super::server::hosts(n).collect();
    if hosts.len() != n.dhcp_hosts.len() {
        return Err(invalid(format!(
            "network {name}: a --dhcp-host is not MAC=IP (like 02:00:00:00:00:01=198.51.100.5)"
        )));
    }
    let mut macs = HashSet::new();
    for (mac, ip) in hosts {
        if !subnet.contains(ip.into()) || !macs.insert(mac) {
            return Err(invalid(format!(
                "network {name}: --dhcp-host {mac}={ip} is outside {subnet} or its MAC is given twice"
            )));
        }
    }
    Ok(())
}
