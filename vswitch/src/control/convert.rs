//! Model ↔ protobuf translation.

use super::pb;
use crate::model::error::{invalid, ConfigError};
use crate::model::{Model, Network, Port, PortType};

fn opt_u16(v: u32, what: &str, owner: &str) -> Result<Option<u16>, ConfigError> {
    match v {
        0 => Ok(None),
        v => u16::try_from(v)
            .map(Some)
            .map_err(|_| invalid(format!("{owner}: {what} {v} is out of range"))),
    }
}

fn opt_str(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

pub fn network_from_pb(n: &pb::Network) -> Result<Network, ConfigError> {
    let owner = format!("network {}", n.name);
    Ok(Network {
        name: n.name.clone(),
        vlan: opt_u16(n.vlan, "VLAN", &owner)?,
        vni: (n.vni != 0).then_some(n.vni),
        subnets: n.subnets.clone(),
        gateways: n.gateways.clone(),
        vrf: opt_str(&n.vrf),
        dhcp: n.dhcp,
        dhcp_range: opt_str(&n.dhcp_range),
        dns: n.dns.clone(),
        dhcp_hosts: n.dhcp_hosts.clone(),
        isolated: n.isolated,
        external: n.external,
        mac_limit: (n.mac_limit != 0).then_some(n.mac_limit),
        fdb_aging_secs: (n.fdb_aging_secs != 0).then_some(n.fdb_aging_secs),
        conntrack_limit: (n.conntrack_limit != 0).then_some(n.conntrack_limit),
    })
}

pub fn network_to_pb(model: &Model, n: &Network) -> pb::Network {
    pb::Network {
        name: n.name.clone(),
        vlan: n.vlan.map_or(0, u32::from),
        vni: n.vni.unwrap_or(0),
        subnets: n.subnets.clone(),
        gateways: n.gateways.clone(),
        vrf: n.vrf.clone().unwrap_or_default(),
        dhcp: n.dhcp,
        dhcp_range: n.dhcp_range.clone().unwrap_or_default(),
        dns: n.dns.clone(),
        dhcp_hosts: n.dhcp_hosts.clone(),
        isolated: n.isolated,
        external: n.external,
        mac_limit: n
            .mac_limit
            .unwrap_or(crate::forwarding::fdb::DEFAULT_MAC_LIMIT),
        fdb_aging_secs: n
            .fdb_aging_secs
            .unwrap_or(crate::forwarding::fdb::DEFAULT_AGING_SECS),
        conntrack_limit: n.conntrack_limit.unwrap_or(0),
        ports: model
            .ports
            .iter()
            .filter(|p| {
                model
                    .port_networks(p)
                    .iter()
                    .any(|(pn, _)| pn.name == n.name)
            })
            .map(|p| p.name.clone())
            .collect(),
    }
}

pub fn port_from_pb(p: &pb::Port) -> Result<Port, ConfigError> {
    let owner = format!("port {}", p.name);
    let kind = PortType::parse(&p.r#type).ok_or_else(|| {
        invalid(format!(
            "{owner}: unknown type {:?}; use tap, af-packet, vhost-user, vhost-user-client, pci or vdev",
            p.r#type
        ))
    })?;
    let trunk = p
        .trunk
        .iter()
        .map(|v| {
            u16::try_from(*v)
                .ok()
                .filter(|v| (1..=4094).contains(v))
                .ok_or_else(|| {
                    invalid(format!(
                        "{owner}: trunk VLAN {v} is out of range; use 1-4094"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Port {
        name: p.name.clone(),
        kind,
        iface: opt_str(&p.iface),
        path: opt_str(&p.path),
        pci: opt_str(&p.pci),
        devargs: opt_str(&p.devargs),
        queues: opt_u16(p.queues, "queue count", &owner)?,
        mtu: opt_u16(p.mtu, "MTU", &owner)?,
        network: opt_str(&p.network),
        vlan: opt_u16(p.vlan, "VLAN", &owner)?,
        trunk,
        security_groups: p.security_groups.clone(),
    })
}

pub fn port_to_pb(model: &Model, p: &Port) -> pb::Port {
    let nets = model.port_networks(p);
    let mode = if nets.is_empty() {
        "switch".to_string()
    } else if p.trunk.is_empty() {
        format!("access {}", nets[0].0.name)
    } else {
        let names: Vec<&str> = nets.iter().map(|(n, _)| n.name.as_str()).collect();
        format!("trunk {}", names.join(","))
    };
    pb::Port {
        name: p.name.clone(),
        r#type: p.kind.name().to_string(),
        iface: p.iface.clone().unwrap_or_default(),
        path: p.path.clone().unwrap_or_default(),
        pci: p.pci.clone().unwrap_or_default(),
        devargs: p.devargs.clone().unwrap_or_default(),
        queues: u32::from(p.queues()),
        mtu: u32::from(p.mtu()),
        network: p.network.clone().unwrap_or_default(),
        vlan: p.vlan.map_or(0, u32::from),
        trunk: p.trunk.iter().map(|v| u32::from(*v)).collect(),
        security_groups: p.security_groups.clone(),
        state: Some(pb::PortState {
            mode,
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_round_trip() {
        let pbp = pb::Port {
            name: "p".into(),
            r#type: "af-packet".into(),
            iface: "veth1".into(),
            trunk: vec![10, 20],
            ..Default::default()
        };
        let p = port_from_pb(&pbp).unwrap();
        assert_eq!(p.kind, PortType::AfPacket);
        assert_eq!(p.trunk, vec![10, 20]);
        let back = port_to_pb(&Model::default(), &p);
        assert_eq!(back.iface, "veth1");
        assert_eq!(back.state.unwrap().mode, "switch");
        let bad = pb::Port {
            r#type: "nic".into(),
            ..pbp.clone()
        };
        assert!(port_from_pb(&bad)
            .unwrap_err()
            .to_string()
            .contains("unknown type"));
        let bad = pb::Port {
            trunk: vec![5000],
            ..pbp
        };
        assert!(port_from_pb(&bad).is_err());
    }
}
