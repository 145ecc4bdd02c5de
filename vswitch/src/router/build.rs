//! Builds the router's part of a snapshot from the model: one VRF per `--vrf` name used by a
//! network with a subnet (networks without `--vrf` share the VRF `default`), its connected
//! routes, and each network's gateway.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::lpm::Lpm;
use super::neighbor::{NeighborTable, NeighborTables, DEFAULT_NEIGHBOR_LIMIT};
use super::prefix::Prefix;
use super::table::{Gateway, Route, Vrf, VrfIdx};
use crate::config::model::{Model, Network};
use crate::config::snapshot::NetIdx;

/// The VRF of networks that name none.
pub const DEFAULT_VRF: &str = "default";

/// The VRF `n` routes in, when it has a subnet.
pub fn vrf_of(n: &Network) -> Option<&str> {
    (!n.subnets.is_empty()).then(|| n.vrf.as_deref().unwrap_or(DEFAULT_VRF))
}

/// The VRFs of the model, in order of first use.
pub fn vrf_names(model: &Model) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for n in &model.networks {
        if let Some(v) = vrf_of(n) {
            if !names.iter().any(|x| x == v) {
                names.push(v.to_string());
            }
        }
    }
    names
}

/// The VRFs and, per network (in model order), its gateway.
pub fn build(
    model: &Model,
    neighbors: &NeighborTables,
    net_index: &HashMap<&str, NetIdx>,
) -> (Vec<Vrf>, Vec<Option<Gateway>>) {
    let names = vrf_names(model);
    let mut vrfs: Vec<Vrf> = names
        .iter()
        .map(|name| Vrf {
            name: name.as_str().into(),
            v4: Lpm::new(32),
            v6: Lpm::new(128),
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
                let lpm = if p.is_ipv4() {
                    &mut table.v4
                } else {
                    &mut table.v6
                };
                lpm.insert(*p, Route::Connected(net));
            }
            let gateways: Vec<IpAddr> = n.gateways.iter().filter_map(|g| g.parse().ok()).collect();
            Some(Gateway {
                vrf,
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
        .collect();
    (vrfs, gateways)
}
