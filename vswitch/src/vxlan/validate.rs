//! Checks of the VTEP in a model: its underlay address, port and next hop, and the flood list
//! of each VNI.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use crate::model::error::ConfigError;
use crate::model::{Model, Network, Vtep};
use crate::packet::MacAddr;

/// The VTEP's underlay address, prefix length and next hop, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Underlay {
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
}

impl Underlay {
    /// Whether `ip` is in the VTEP's own underlay prefix (reached without the gateway).
    pub fn on_link(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0);
        u32::from(ip) & mask == u32::from(self.ip) & mask
    }
}

/// Whether `ip` can be a VTEP's underlay address: unicast IPv4, and never 0.x.x.x (which the
/// FDB could not tell from a port).
#[inline]
pub fn is_vtep_address(ip: Ipv4Addr) -> bool {
    !(ip.octets()[0] == 0 || ip.is_multicast() || ip.is_broadcast() || ip.is_loopback())
}

/// Why an address cannot be a VTEP's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("{0:?} is not an IPv4 address")]
    NotIpv4(String),
    #[error("{0} is not a unicast underlay address")]
    NotUnicast(Ipv4Addr),
}

/// Why the VTEP of a model is refused: one line naming the object and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VtepError {
    #[error("vtep: local IP {0:?} needs a prefix length, e.g. 192.0.2.1/24")]
    NoPrefixLength(String),
    #[error("vtep: local IP {0}")]
    LocalIp(AddressError),
    #[error("vtep: local IP {0:?}: prefix length must be 1-32")]
    PrefixLength(String),
    #[error("vtep: gateway {0}")]
    Gateway(AddressError),
    #[error("vtep: gateway {gateway} must be another address in {ip}/{prefix_len}")]
    GatewayOffLink {
        gateway: Ipv4Addr,
        ip: Ipv4Addr,
        prefix_len: u8,
    },
    #[error(
        "vtep: its underlay port {0} does not exist; add it (in no network), or remove the vtep first (vsctl vtep del)"
    )]
    NoPort(String),
    #[error("vtep: port {0} carries networks; the underlay port must be in none")]
    PortInNetwork(String),
    #[error("vtep: UDP port 0 is not a port; use 1-65535 (default 4789)")]
    UdpPortZero,
    #[error("vtep remote {ip}: {why}")]
    Remote { ip: String, why: AddressError },
    #[error("vtep remote {0}: that is the local VTEP address")]
    RemoteIsLocal(Ipv4Addr),
    #[error(
        "vtep remote {ip} vni {vni}: no network has VNI {vni}; add one with `vsctl network add NAME --vni {vni}`"
    )]
    UnknownVni { ip: Ipv4Addr, vni: u32 },
    #[error("vtep remote {ip} vni {vni}: listed twice")]
    ListedTwice { ip: Ipv4Addr, vni: u32 },
    #[error("remote {0}")]
    StaticRemote(AddressError),
    #[error("network {0} has no VNI on a VTEP; give it --vni and set the vtep first")]
    NoVni(String),
    #[error("fdb entry {mac}: {why}")]
    StaticMac { mac: MacAddr, why: Box<VtepError> },
}

impl From<VtepError> for ConfigError {
    fn from(e: VtepError) -> Self {
        ConfigError::Invalid(e.to_string())
    }
}

/// A remote VTEP address, parsed and checked.
pub fn remote_ip(text: &str) -> Result<Ipv4Addr, AddressError> {
    let ip: Ipv4Addr = text
        .parse()
        .map_err(|_| AddressError::NotIpv4(text.to_string()))?;
    if !is_vtep_address(ip) {
        return Err(AddressError::NotUnicast(ip));
    }
    Ok(ip)
}

/// Parses the VTEP's address (`IP/LEN`) and gateway.
pub fn underlay(v: &Vtep) -> Result<Underlay, VtepError> {
    let (addr, len) = v
        .local_ip
        .split_once('/')
        .ok_or_else(|| VtepError::NoPrefixLength(v.local_ip.clone()))?;
    let ip = remote_ip(addr).map_err(VtepError::LocalIp)?;
    let prefix_len: u8 = len
        .parse()
        .ok()
        .filter(|l| (1..=32).contains(l))
        .ok_or_else(|| VtepError::PrefixLength(v.local_ip.clone()))?;
    let mut u = Underlay {
        ip,
        prefix_len,
        gateway: None,
    };
    if let Some(g) = &v.gateway {
        let g = remote_ip(g).map_err(VtepError::Gateway)?;
        if g == ip || !u.on_link(g) {
            return Err(VtepError::GatewayOffLink {
                gateway: g,
                ip: u.ip,
                prefix_len,
            });
        }
        u.gateway = Some(g);
    }
    Ok(u)
}

/// The whole VTEP of `model`, if it has one, and the static MACs behind remote VTEPs.
pub fn validate(model: &Model) -> Result<(), VtepError> {
    let networks = model.network_index();
    for e in model.fdb.iter().filter(|e| e.port.is_empty()) {
        // What is not a MAC of a network is the bridge's to refuse.
        let (Some(remote), Some(network), Ok(mac)) = (
            &e.remote,
            networks
                .get(e.network.as_str())
                .map(|i| &model.networks[usize::from(*i)]),
            e.mac.parse::<MacAddr>(),
        ) else {
            continue;
        };
        static_remote(model, network, remote).map_err(|why| VtepError::StaticMac {
            mac,
            why: Box::new(why),
        })?;
    }
    let Some(v) = &model.vtep else {
        return Ok(());
    };
    let u = underlay(v)?;
    let port = model
        .port(&v.port)
        .ok_or_else(|| VtepError::NoPort(v.port.clone()))?;
    if !model.port_networks(port).is_empty() || port.network.is_some() {
        return Err(VtepError::PortInNetwork(v.port.clone()));
    }
    if v.udp_port == Some(0) {
        return Err(VtepError::UdpPortZero);
    }
    let mut seen = HashSet::new();
    let vnis: HashSet<u32> = model.networks.iter().filter_map(|n| n.vni).collect();
    for r in &v.remotes {
        let ip = remote_ip(&r.ip).map_err(|why| VtepError::Remote {
            ip: r.ip.clone(),
            why,
        })?;
        if ip == u.ip {
            return Err(VtepError::RemoteIsLocal(ip));
        }
        if !vnis.contains(&r.vni) {
            return Err(VtepError::UnknownVni { ip, vni: r.vni });
        }
        if !seen.insert((ip, r.vni)) {
            return Err(VtepError::ListedTwice { ip, vni: r.vni });
        }
    }
    Ok(())
}

/// A static FDB entry behind remote VTEP `remote` in `network`.
pub fn static_remote(model: &Model, network: &Network, remote: &str) -> Result<(), VtepError> {
    remote_ip(remote).map_err(VtepError::StaticRemote)?;
    if model.vtep.is_none() || network.vni.is_none() {
        return Err(VtepError::NoVni(network.name.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(json: &str) -> Model {
        Model::parse("json", json).unwrap()
    }

    const BASE: &str = r#""networks":[{"name":"blue","vni":5000}],
        "ports":[{"name":"up","type":"af-packet","iface":"u0"},
                 {"name":"a","type":"af-packet","iface":"a0","network":"blue"}]"#;

    fn with_vtep(vtep: &str) -> Result<(), String> {
        validate(&model(&format!("{{{BASE},\"vtep\":{vtep}}}"))).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_a_vtep_with_remotes() {
        with_vtep(
            r#"{"local_ip":"198.51.100.1/24","port":"up","gateway":"198.51.100.254",
                "remotes":[{"ip":"203.0.113.2","vni":5000}]}"#,
        )
        .unwrap();
    }

    #[test]
    fn refusals_name_the_object_and_the_fix() {
        let cases = [
            (
                r#"{"local_ip":"198.51.100.1","port":"up"}"#,
                "prefix length",
            ),
            (
                r#"{"local_ip":"198.51.100.1/24","port":"nope"}"#,
                "port nope does not exist",
            ),
            (
                r#"{"local_ip":"198.51.100.1/24","port":"a"}"#,
                "carries networks",
            ),
            (
                r#"{"local_ip":"198.51.100.1/24","port":"up","gateway":"203.0.113.1"}"#,
                "gateway 203.0.113.1 must be another address",
            ),
            (
                r#"{"local_ip":"198.51.100.1/24","port":"up","remotes":[{"ip":"203.0.113.2","vni":7}]}"#,
                "no network has VNI 7",
            ),
            (
                r#"{"local_ip":"198.51.100.1/24","port":"up","remotes":[{"ip":"198.51.100.1","vni":5000}]}"#,
                "local VTEP address",
            ),
            (
                r#"{"local_ip":"198.51.100.1/24","port":"up","remotes":[{"ip":"0.0.0.9","vni":5000}]}"#,
                "not a unicast",
            ),
            (
                r#"{"local_ip":"198.51.100.1/24","port":"up","remotes":[{"ip":"203.0.113.2","vni":5000},{"ip":"203.0.113.2","vni":5000}]}"#,
                "listed twice",
            ),
            (
                r#"{"local_ip":"198.51.100.1/24","port":"up","udp_port":0}"#,
                "UDP port 0",
            ),
        ];
        for (vtep, want) in cases {
            let err = with_vtep(vtep).unwrap_err();
            assert!(err.contains(want), "{vtep}: {err}");
        }
    }

    #[test]
    fn on_link_follows_the_prefix() {
        let u = Underlay {
            ip: "198.51.100.1".parse().unwrap(),
            prefix_len: 24,
            gateway: None,
        };
        assert!(u.on_link("198.51.100.200".parse().unwrap()));
        assert!(!u.on_link("203.0.113.2".parse().unwrap()));
    }
}
