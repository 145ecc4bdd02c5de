//! Builds the router's part of a snapshot from the model: one VRF per `--vrf` name used by a
//! network with a subnet (networks without `--vrf` share the VRF `default`), its connected
//! routes, and each network's gateway.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::lpm::{Lpm, Lpm4};
use super::table::{Gateway, NextHop, Route, Vrf, VrfIdx};
use crate::forwarding::neighbor::{NeighborTable, NeighborTables, DEFAULT_NEIGHBOR_LIMIT};
use crate::model::Model;
use crate::packet::prefix::Prefix;
use crate::pipeline::snapshot::NetIdx;

pub use crate::model::{vrf_names, vrf_of, DEFAULT_VRF};

/// The VRFs and, per network (in model order), its gateway.
pub fn build(model: &Model, neighbors: &NeighborTables) -> (Vec<Vrf>, Vec<Option<Gateway>>) {
    let net_index = &model.network_index();
    let names = vrf_names(model);
    let mut vrfs: Vec<Vrf> = names
        .iter()
        .map(|name| Vrf {
            name: name.as_str().into(),
            v4: Lpm4::default(),
            v6: Lpm::new(128),
            groups: Vec::new(),
            neighbors: neighbors
                .get(name)
                .cloned()
                .unwrap_or_else(|| Arc::new(NeighborTable::new(DEFAULT_NEIGHBOR_LIMIT))),
        })
        .collect();
    let gateways = model
        .networks
        .iter()
        .map(|n| {
            let vrf_name = vrf_of(n)?;
            let vrf = names.iter().position(|x| x == vrf_name)? as VrfIdx;
            let net = net_index[n.name.as_str()];
            // The model was validated: subnets and gateways parse.
            let subnets: Vec<Prefix> = n.subnets.iter().filter_map(|s| s.parse().ok()).collect();
            let table = &mut vrfs[usize::from(vrf)];
            for p in &subnets {
                table.insert(*p, Route::Connected(net));
            }
            let gateways: Vec<IpAddr> = n.gateways.iter().filter_map(|g| g.parse().ok()).collect();
            for g in &gateways {
                let host = Prefix::new(*g, if g.is_ipv4() { 32 } else { 128 });
                if let Some(host) = host {
                    table.insert(host, Route::Local);
                }
            }
            let slaac = subnets
                .iter()
                .filter(|p| n.dhcp && !p.is_ipv4() && p.prefix_len() == 64)
                .copied()
                .collect();
            Some(Gateway {
                vrf,
                slaac,
                v4: gateways.iter().find_map(|g| match g {
                    IpAddr::V4(a) => Some(*a),
                    IpAddr::V6(_) => None,
                }),
                v6: gateways.iter().find_map(|g| match g {
                    IpAddr::V6(a) => Some(*a),
                    IpAddr::V4(_) => None,
                }),
                subnets,
            })
        })
        .collect::<Vec<Option<Gateway>>>();
    let mut group_ids: Vec<HashMap<Vec<NextHop>, u16>> = vec![HashMap::new(); vrfs.len()];
    for r in &model.routes {
        let Some(vrf) = names.iter().position(|x| x == r.vrf()) else {
            continue;
        };
        let Ok(prefix) = r.prefix.parse::<Prefix>() else {
            continue;
        };
        // Each next hop goes to the network whose subnet holds it (validated to exist).
        let hops: Vec<NextHop> = r
            .via
            .iter()
            .filter_map(|h| h.parse::<IpAddr>().ok())
            .filter_map(|ip| {
                let net = gateways.iter().enumerate().find_map(|(i, g)| {
                    let g = g.as_ref()?;
                    (usize::from(g.vrf) == vrf && g.on_link(ip)).then_some(i as NetIdx)
                })?;
                Some(NextHop { ip, net })
            })
            .collect();
        if hops.is_empty() {
            continue;
        }
        // Routes with the same next hops share one group (a table of a million routes via a
        // few routers has a few groups).
        let table = &mut vrfs[vrf];
        let group = match group_ids[vrf].get(&hops) {
            Some(&g) => g,
            None if table.groups.len() < usize::from(u16::MAX) => {
                let g = table.groups.len() as u16;
                group_ids[vrf].insert(hops.clone(), g);
                table.groups.push(hops);
                g
            }
            None => continue,
        };
        table.insert(prefix, Route::Via(group));
    }
    for v in &mut vrfs {
        v.v4.finish();
    }
    install_static_neighbors(model, &vrfs, &gateways, net_index);
    (vrfs, gateways)
}

/// Pins the model's static neighbors in their VRFs' tables and drops the ones it no longer has.
fn install_static_neighbors(
    model: &Model,
    vrfs: &[Vrf],
    gateways: &[Option<Gateway>],
    net_index: &HashMap<&str, NetIdx>,
) {
    let mut keep: Vec<Vec<IpAddr>> = vec![Vec::new(); vrfs.len()];
    for e in &model.neighbors {
        let Some(&net) = net_index.get(e.network.as_str()) else {
            continue;
        };
        let Some(gw) = gateways.get(usize::from(net)).and_then(Option::as_ref) else {
            continue;
        };
        let (Ok(ip), Ok(mac)) = (e.ip.parse::<IpAddr>(), e.mac.parse()) else {
            continue;
        };
        let vrf = usize::from(gw.vrf);
        vrfs[vrf]
            .neighbors
            .add_static(ip, crate::forwarding::neighbor::Neighbor { mac, net });
        keep[vrf].push(ip);
    }
    for (v, keep) in vrfs.iter().zip(keep) {
        v.neighbors.retain_static(&keep);
    }
}

impl Vrf {
    fn insert(&mut self, prefix: Prefix, route: Route) {
        if prefix.is_ipv4() {
            self.v4.insert(prefix, route);
        } else {
            self.v6.insert(prefix, route);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StaticRoute;

    #[test]
    fn many_routes_via_one_router_share_one_group() {
        let mut model = Model::parse(
            "json",
            r#"{"networks":[{"name":"up","subnets":["203.0.113.0/24"],"gateways":["203.0.113.1"]}]}"#,
        )
        .unwrap();
        // More routes than group ids: they must all be installed.
        for i in 0..70_000u32 {
            let net = std::net::Ipv4Addr::from((10 << 24) | (i << 8));
            model.routes.push(StaticRoute {
                vrf: None,
                prefix: format!("{net}/24"),
                via: vec!["203.0.113.254".into()],
            });
        }
        let mut neighbors = NeighborTables::default();
        neighbors.sync(&vrf_names(&model));
        let (vrfs, _) = build(&model, &neighbors);
        assert_eq!(vrfs[0].groups.len(), 1);
        let last = u32::from(std::net::Ipv4Addr::new(11, 17, 111, 5)); // the last route
        assert_eq!(vrfs[0].v4.lookup(last), Some(Route::Via(0)));
        assert_eq!(
            vrfs[0]
                .v4
                .lookup(u32::from(std::net::Ipv4Addr::new(12, 0, 0, 1))),
            None
        );
    }
}
