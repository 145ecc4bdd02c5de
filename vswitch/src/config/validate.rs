//! Whole-model validation: every change is checked as a whole before anything is touched.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::model::error::{invalid, ConfigError, Result};
use crate::model::{Ipfix, Model, Network, Port, PortType};
use crate::packet::prefix::Prefix;
use crate::packet::MacAddr;

const MAX_NAME: usize = 64;
const MAX_QUEUES: u16 = 16;
const MIN_MTU: u16 = 68;
const MAX_MTU: u16 = 9000;
const MAX_VNI: u32 = (1 << 24) - 1;

pub fn validate(model: &Model) -> Result<()> {
    let mut names = HashSet::new();
    let mut vlans = HashSet::new();
    let mut vnis = HashSet::new();
    for n in &model.networks {
        check_name("network", &n.name)?;
        if !names.insert(n.name.as_str()) {
            return Err(ConfigError::AlreadyExists(format!(
                "network {}: already exists",
                n.name
            )));
        }
        validate_network(n)?;
        if let Some(v) = &n.vrf {
            check_name("vrf", v)?;
        }
        if let Some(v) = n.vlan {
            if !vlans.insert(v) {
                return Err(invalid(format!(
                    "network {}: VLAN {v} is already used by another network; pick another --vlan",
                    n.name
                )));
            }
        }
        if let Some(v) = n.vni {
            if !vnis.insert(v) {
                return Err(invalid(format!(
                    "network {}: VNI {v} is already used by another network; pick another --vni",
                    n.name
                )));
            }
        }
    }

    // Each feature's part (routes, DHCP, policies, the VTEP).
    crate::datapath::tables::validate(model)?;
    if let Some(x) = &model.ipfix {
        validate_ipfix(x)?;
    }

    let mut port_names = HashSet::new();
    let mut ifaces = HashSet::new();
    let mut paths = HashSet::new();
    let mut pcis = HashSet::new();
    for p in &model.ports {
        check_name("port", &p.name)?;
        if !port_names.insert(p.name.as_str()) {
            return Err(ConfigError::AlreadyExists(format!(
                "port {}: already exists",
                p.name
            )));
        }
        validate_port(p)?;
        validate_port_networks(model, p)?;
        validate_port_ipv6_mtu(model, p)?;
        let clash = match p.kind {
            PortType::Tap | PortType::AfPacket => {
                p.iface.as_deref().is_some_and(|i| !ifaces.insert(i))
            }
            PortType::VhostUser | PortType::VhostUserClient => {
                p.path.as_deref().is_some_and(|s| !paths.insert(s))
            }
            PortType::Pci => p.pci.as_deref().is_some_and(|s| !pcis.insert(s)),
            PortType::Vdev => false,
        };
        if clash {
            return Err(ConfigError::AlreadyExists(format!(
                "port {}: its device is already used by another port",
                p.name
            )));
        }
    }

    let mut macs = HashSet::new();
    // By name: a model may hold thousands of networks and a hundred thousand static MACs.
    let networks = model.network_index();
    for e in &model.fdb {
        let mac = parse_static_mac(&e.mac)?;
        if !mac.is_unicast() || mac.is_zero() {
            return Err(invalid(format!(
                "fdb entry {mac}: a static entry needs a unicast MAC"
            )));
        }
        if !networks.contains_key(e.network.as_str()) {
            return Err(ConfigError::NotFound(format!(
                "fdb entry {mac}: network {} does not exist",
                e.network
            )));
        }
        match (&e.remote, e.port.is_empty()) {
            // Behind a remote VTEP: the VTEP checks it (`vxlan::validate`).
            (Some(_), true) => {}
            (Some(_), false) => {
                return Err(invalid(format!(
                    "fdb entry {mac}: name a port or a remote VTEP, not both"
                )))
            }
            (None, _) => {
                let port = model.port(&e.port).ok_or_else(|| {
                    ConfigError::NotFound(format!(
                        "fdb entry {mac}: port {} does not exist",
                        e.port
                    ))
                })?;
                if !model
                    .port_networks(port)
                    .iter()
                    .any(|(n, _)| n.name == e.network)
                {
                    return Err(invalid(format!(
                        "fdb entry {mac}: port {} is not in network {}",
                        e.port, e.network
                    )));
                }
            }
        }
        if !macs.insert((e.network.as_str(), mac)) {
            return Err(ConfigError::AlreadyExists(format!(
                "fdb entry {mac}: already exists in network {}",
                e.network
            )));
        }
    }
    Ok(())
}

/// The MAC of a static FDB entry, or an error naming the text.
pub fn parse_static_mac(text: &str) -> Result<MacAddr> {
    text.parse().map_err(|_| {
        invalid(format!(
            "fdb entry {text}: not a MAC address (want aa:bb:cc:dd:ee:ff)"
        ))
    })
}

fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what} {name:?}: names are 1-{MAX_NAME} characters of letters, digits, '-', '_' and '.'"
        )))
    }
}

fn validate_ipfix(x: &Ipfix) -> Result<()> {
    if x.collector.parse::<std::net::SocketAddr>().is_err() {
        return Err(invalid(format!(
            "ipfix: --collector {:?} is not IP:PORT (IPv6: [IP]:PORT)",
            x.collector
        )));
    }
    if x.sampling == 0 {
        return Err(invalid("ipfix: --sampling is 1 (every connection) or more"));
    }
    if !(1..=3600).contains(&x.active_timeout) || !(1..=3600).contains(&x.idle_timeout) {
        return Err(invalid(
            "ipfix: --active-timeout and --idle-timeout are 1 to 3600 seconds",
        ));
    }
    Ok(())
}

fn validate_network(n: &Network) -> Result<()> {
    if let Some(v) = n.vlan {
        if !(1..=4094).contains(&v) {
            return Err(invalid(format!(
                "network {}: VLAN {v} is out of range; use 1-4094",
                n.name
            )));
        }
    }
    if let Some(v) = n.vni {
        if !(1..=MAX_VNI).contains(&v) {
            return Err(invalid(format!(
                "network {}: VNI {v} is out of range; use 1-{MAX_VNI}",
                n.name
            )));
        }
    }
    let mut subnets: Vec<Prefix> = Vec::new();
    for s in &n.subnets {
        subnets.push(s.parse().map_err(|()| {
            invalid(format!(
                "network {}: subnet {s:?} is not a CIDR (like 192.0.2.0/24)",
                n.name
            ))
        })?);
    }
    for g in &n.gateways {
        let ip: IpAddr = g.parse().map_err(|_| {
            invalid(format!(
                "network {}: gateway {g:?} is not an IP address",
                n.name
            ))
        })?;
        if !subnets.iter().any(|p| p.contains(ip)) {
            return Err(invalid(format!(
                "network {}: gateway {ip} is outside every --subnet of the network",
                n.name
            )));
        }
    }
    if n.conntrack_limit == Some(0) {
        return Err(invalid(format!(
            "network {}: conntrack limit must be at least 1 (leave it out for none)",
            n.name
        )));
    }
    if n.mac_limit == Some(0) {
        return Err(invalid(format!(
            "network {}: mac limit must be at least 1",
            n.name
        )));
    }
    if let Some(a) = n.fdb_aging_secs {
        if a == 0 {
            return Err(invalid(format!(
                "network {}: FDB aging must be at least 1 second",
                n.name
            )));
        }
    }
    Ok(())
}

fn require<'a>(p: &Port, field: Option<&'a str>, flag: &str) -> Result<&'a str> {
    match field {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(invalid(format!(
            "port {}: type {} needs {flag}",
            p.name,
            p.kind.name()
        ))),
    }
}

/// A PCI address, `DDDD:BB:DD.F` or `BB:DD.F`, hex digits.
pub fn is_pci_address(s: &str) -> bool {
    let hex =
        |part: &str, len: usize| part.len() == len && part.chars().all(|c| c.is_ascii_hexdigit());
    let (rest, func) = match s.rsplit_once('.') {
        Some(x) => x,
        None => return false,
    };
    if func.len() != 1 || !func.chars().all(|c| ('0'..='7').contains(&c)) {
        return false;
    }
    let parts: Vec<&str> = rest.split(':').collect();
    match parts.as_slice() {
        [bus, dev] => hex(bus, 2) && hex(dev, 2),
        [dom, bus, dev] => hex(dom, 4) && hex(bus, 2) && hex(dev, 2),
        _ => false,
    }
}

fn validate_port(p: &Port) -> Result<()> {
    match p.kind {
        PortType::Tap | PortType::AfPacket => {
            let iface = require(p, p.iface.as_deref(), "--iface IFNAME")?;
            if iface.len() > 15 || iface.contains(['/', ' ', ',', '=']) {
                return Err(invalid(format!(
                    "port {}: interface name {iface:?} is not a valid Linux name (at most 15 characters, no '/', ' ', ',' or '=')",
                    p.name
                )));
            }
        }
        PortType::VhostUser | PortType::VhostUserClient => {
            let path = require(p, p.path.as_deref(), "--path SOCKET")?;
            if !path.starts_with('/') || path.contains(',') {
                return Err(invalid(format!(
                    "port {}: socket path {path:?} must be absolute and contain no ','",
                    p.name
                )));
            }
        }
        PortType::Pci => {
            let pci = require(p, p.pci.as_deref(), "--pci BDF")?;
            if !is_pci_address(pci) {
                return Err(invalid(format!(
                    "port {}: {pci:?} is not a PCI address (like 0000:03:00.0)",
                    p.name
                )));
            }
        }
        PortType::Vdev => {
            let devargs = require(p, p.devargs.as_deref(), "--devargs STR")?;
            if !devargs.starts_with("net_") {
                return Err(invalid(format!(
                    "port {}: devargs {devargs:?} must name a net_* driver (like net_null0)",
                    p.name
                )));
            }
        }
    }
    let q = p.queues.unwrap_or(1);
    if !(1..=MAX_QUEUES).contains(&q) {
        return Err(invalid(format!(
            "port {}: {q} queues is out of range; use 1-{MAX_QUEUES}",
            p.name
        )));
    }
    let mtu = p.mtu();
    if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
        return Err(invalid(format!(
            "port {}: MTU {mtu} is out of range; use {MIN_MTU}-{MAX_MTU}",
            p.name
        )));
    }
    Ok(())
}

/// IPv6 needs links of at least 1280 bytes (RFC 8200 5): hosts never send less, so a smaller
/// port MTU in a routed IPv6 network would drop their packets for good.
fn validate_port_ipv6_mtu(model: &Model, p: &Port) -> Result<()> {
    const IPV6_MIN_MTU: u16 = 1280;
    if p.mtu() >= IPV6_MIN_MTU {
        return Ok(());
    }
    let v6 = model.port_networks(p).into_iter().find(|(n, _)| {
        n.subnets
            .iter()
            .any(|s| s.parse::<Prefix>().is_ok_and(|p| !p.is_ipv4()))
    });
    match v6 {
        Some((n, _)) => Err(invalid(format!(
            "port {}: MTU {} is below IPv6's minimum of {IPV6_MIN_MTU} and network {} has an \
             IPv6 subnet; use --mtu {IPV6_MIN_MTU} or more",
            p.name,
            p.mtu(),
            n.name
        ))),
        None => Ok(()),
    }
}

fn validate_port_networks(model: &Model, p: &Port) -> Result<()> {
    let modes = usize::from(p.network.is_some())
        + usize::from(p.vlan.is_some())
        + usize::from(!p.trunk.is_empty());
    if modes > 1 {
        return Err(invalid(format!(
            "port {}: give one of --network, --vlan or --trunk",
            p.name
        )));
    }
    if let Some(net) = &p.network {
        if model.network(net).is_none() {
            return Err(ConfigError::NotFound(format!(
                "port {}: network {net} does not exist; create it with `vsctl network add {net}`",
                p.name
            )));
        }
    }
    let mut seen = HashSet::new();
    for v in p.vlan.iter().chain(p.trunk.iter()) {
        if model.network_by_vlan(*v).is_none() {
            return Err(ConfigError::NotFound(format!(
                "port {}: no network has VLAN {v}; create one with `vsctl network add NAME --vlan {v}`",
                p.name
            )));
        }
        if !seen.insert(*v) {
            return Err(invalid(format!(
                "port {}: VLAN {v} is listed twice",
                p.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(json: &str) -> Model {
        Model::parse("json", json).unwrap()
    }

    #[test]
    fn accepts_a_good_model() {
        let m = model(
            r#"{"networks":[{"name":"red","vlan":10,"subnets":["192.0.2.0/24"],"gateways":["192.0.2.1"]}],
                "ports":[{"name":"a","type":"tap","iface":"vs-a","network":"red"},
                         {"name":"b","type":"pci","pci":"0000:03:00.0","trunk":[10]}],
                "fdb":[{"network":"red","mac":"02:00:00:00:00:01","port":"a"}]}"#,
        );
        validate(&m).unwrap();
    }

    fn err(json: &str) -> ConfigError {
        validate(&model(json)).unwrap_err()
    }

    #[test]
    fn rejects_with_a_message_naming_the_object() {
        let e = err(r#"{"ports":[{"name":"a","type":"tap","iface":"x","network":"nope"}]}"#);
        assert!(matches!(e, ConfigError::NotFound(_)));
        assert!(e.to_string().contains("network nope does not exist"), "{e}");

        let e = err(r#"{"ports":[{"name":"a","type":"pci","pci":"zz:00.0"}]}"#);
        assert!(e.to_string().contains("not a PCI address"), "{e}");

        let e = err(r#"{"networks":[{"name":"a"},{"name":"a"}]}"#);
        assert!(matches!(e, ConfigError::AlreadyExists(_)));

        let e = err(
            r#"{"networks":[{"name":"a","subnets":["192.0.2.0/24"],"gateways":["198.51.100.1"]}]}"#,
        );
        assert!(e.to_string().contains("outside every --subnet"), "{e}");

        // Overlapping subnets: an error in one VRF (the default one too), fine in two.
        let e = err(
            r#"{"networks":[{"name":"a","subnets":["198.51.100.0/24"]},{"name":"b","subnets":["198.51.100.128/25"]}]}"#,
        );
        assert!(
            e.to_string()
                .contains("overlaps 198.51.100.0/24 of network a in vrf default"),
            "{e}"
        );
        let two_vrfs = r#"{"networks":[{"name":"a","subnets":["198.51.100.0/24"],"vrf":"red"},
            {"name":"b","subnets":["198.51.100.0/24"],"vrf":"blue"}]}"#;
        validate(&Model::parse("json", two_vrfs).unwrap()).unwrap();
        let e = err(r#"{"networks":[{"name":"a","subnets":["198.51.100.0/24"],"vrf":"a b"}]}"#);
        assert!(e.to_string().contains("vrf \"a b\""), "{e}");

        let e = err(r#"{"networks":[{"name":"a","vlan":5},{"name":"b","vlan":5}]}"#);
        assert!(e.to_string().contains("VLAN 5 is already used"), "{e}");

        let e = err(
            r#"{"networks":[{"name":"a","vlan":5}],"ports":[{"name":"p","type":"tap","iface":"x","trunk":[5,6]}]}"#,
        );
        assert!(e.to_string().contains("no network has VLAN 6"), "{e}");

        let e = err(r#"{"ports":[{"name":"p","type":"vhost-user","path":"rel.sock"}]}"#);
        assert!(e.to_string().contains("must be absolute"), "{e}");

        let e = err(r#"{"ports":[{"name":"p","type":"vdev","devargs":"eth_x"}]}"#);
        assert!(e.to_string().contains("net_*"), "{e}");

        let e = err(r#"{"ports":[{"name":"p","type":"tap"}]}"#);
        assert!(e.to_string().contains("needs --iface"), "{e}");

        let e = err(
            r#"{"ports":[{"name":"p","type":"tap","iface":"a"},{"name":"q","type":"af-packet","iface":"a"}]}"#,
        );
        assert!(e.to_string().contains("already used"), "{e}");

        let e = err(r#"{"networks":[{"name":"bad name"}]}"#);
        assert!(e.to_string().contains("names are"), "{e}");
    }

    #[test]
    fn pci_addresses() {
        assert!(is_pci_address("0000:03:00.0"));
        assert!(is_pci_address("03:1f.7"));
        assert!(!is_pci_address("0000:03:00.8"));
        assert!(!is_pci_address("0000:03:00"));
        assert!(!is_pci_address("00000:03:00.0"));
    }
}
