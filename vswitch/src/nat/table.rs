//! NAT's part of a snapshot: which networks are external, the SNAT pool each internal source
//! leaves from, the floating IPs both ways, every NAT address by the network it is on, and
//! the services. The bindings, the services' sessions and the backends' health live on across
//! snapshots (the feature's state).

use hashbrown::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::bindings::Bindings;
use super::health::Health;
use super::pool::Pool;
use super::service::Services;
use super::sessions::Sessions;
use super::validate::{holds, subnet_holds};
use crate::model::{vrf_names, vrf_of, Model, DEFAULT_VRF};
use crate::packet::prefix::Prefix;
use crate::pipeline::snapshot::NetIdx;

/// A SNAT rule as the datapath uses it.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub pool: Pool,
}

#[derive(Debug, Default)]
pub struct NatTables {
    /// Per network: whether it is external.
    external: Vec<bool>,
    /// Per network: its VRF's number (what keeps the bindings of two VRFs apart).
    vrf: Vec<u16>,
    /// Per network: the rule its endpoints' connections leave by (a rule `--from NETWORK`).
    by_net: Vec<Option<Arc<Rule>>>,
    /// Rules `--from CIDR`, for sources their network has no rule for.
    by_cidr: Vec<(Prefix, Arc<Rule>)>,
    /// Floating IP by (VRF, endpoint), and endpoint by floating IP.
    floating_of: HashMap<(u16, Ipv4Addr), Ipv4Addr>,
    endpoint_of: HashMap<Ipv4Addr, Ipv4Addr>,
    /// Every NAT address, on the external network it is on.
    addresses: HashSet<(NetIdx, Ipv4Addr)>,
    /// Per network: whether a NAT address is on it (most packets need no address lookup).
    address_nets: Vec<bool>,
    /// IPv6 floating IPs both ways, and on their external networks.
    floating_of6: HashMap<(u16, Ipv6Addr), Ipv6Addr>,
    endpoint_of6: HashMap<(NetIdx, Ipv6Addr), Ipv6Addr>,
    pub rules: Vec<Arc<Rule>>,
    pub bindings: Arc<Bindings>,
    pub bindings6: Arc<Bindings<Ipv6Addr>>,
    pub services: Services,
    pub sessions: Arc<Sessions>,
    pub sessions6: Arc<Sessions<Ipv6Addr>>,
    pub health: Arc<Health>,
}

/// What NAT keeps across snapshots.
#[derive(Debug, Default)]
pub struct NatState {
    pub bindings: Arc<Bindings>,
    pub bindings6: Arc<Bindings<Ipv6Addr>>,
    pub sessions: Arc<Sessions>,
    pub sessions6: Arc<Sessions<Ipv6Addr>>,
    pub health: Arc<Health>,
}

/// What an address on an external network stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// A floating IP, for this inside endpoint.
    Floating(Ipv4Addr),
    /// An address of a SNAT pool: its bindings say for whom.
    Snat,
    /// The gateway address of a network with service backends: a backend's answer to a
    /// client of its own network comes back to it (hairpin); anything else is the gateway's.
    Hairpin,
}

impl NatTables {
    pub fn build(state: &NatState, model: &Model) -> NatTables {
        let index = model.network_index();
        let vrfs = vrf_names(model);
        let vrf_number = |name: &str| vrfs.iter().position(|v| v == name).unwrap_or(0) as u16;
        let vrf_number = &vrf_number;
        let mut t = NatTables {
            external: model.networks.iter().map(|n| n.external).collect(),
            vrf: model
                .networks
                .iter()
                .map(|n| vrf_number(vrf_of(n).unwrap_or(DEFAULT_VRF)))
                .collect(),
            by_net: vec![None; model.networks.len()],
            bindings: state.bindings.clone(),
            bindings6: state.bindings6.clone(),
            sessions: state.sessions.clone(),
            sessions6: state.sessions6.clone(),
            health: state.health.clone(),
            services: Services::build(model, vrf_number, &state.health),
            ..NatTables::default()
        };
        t.addresses.extend(t.services.hairpin_addresses());
        // The external network an address is on: the one whose subnet holds it.
        let on_external = |ip: Ipv4Addr| {
            model
                .networks
                .iter()
                .position(|n| n.external && subnet_holds(n, ip))
        };
        for s in &model.snat {
            // The model is validated: a rule that does not parse is not there.
            let Ok(pool) = Pool::parse(&s.to, s.port_range.as_deref()) else {
                continue;
            };
            for ip in pool.addresses() {
                if let Some(net) = on_external(ip) {
                    t.addresses.insert((net as NetIdx, ip));
                }
            }
            let rule = Arc::new(Rule {
                name: s.name.clone(),
                pool,
            });
            t.rules.push(rule.clone());
            match (index.get(s.from.as_str()), s.from.parse::<Prefix>()) {
                (Some(&net), _) => t.by_net[usize::from(net)] = Some(rule),
                (None, Ok(prefix)) => t.by_cidr.push((prefix, rule)),
                (None, Err(())) => {}
            }
        }
        // Longest prefix first.
        t.by_cidr
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.prefix_len()));
        for f in &model.floating_ips {
            let vrf = vrf_number(f.vrf());
            match (f.ip.parse(), f.endpoint.parse()) {
                (Ok(IpAddr::V4(ip)), Ok(IpAddr::V4(endpoint))) => {
                    t.floating_of.insert((vrf, endpoint), ip);
                    t.endpoint_of.insert(ip, endpoint);
                    if let Some(net) = on_external(ip) {
                        t.addresses.insert((net as NetIdx, ip));
                    }
                }
                (Ok(IpAddr::V6(ip)), Ok(IpAddr::V6(endpoint))) => {
                    t.floating_of6.insert((vrf, endpoint), ip);
                    let net = model
                        .networks
                        .iter()
                        .position(|n| n.external && holds(n, IpAddr::V6(ip)));
                    if let Some(net) = net {
                        t.endpoint_of6.insert((net as NetIdx, ip), endpoint);
                    }
                }
                _ => {}
            }
        }
        t.address_nets = vec![false; model.networks.len()];
        for (net, _) in &t.addresses {
            if let Some(here) = t.address_nets.get_mut(usize::from(*net)) {
                *here = true;
            }
        }
        t
    }

    /// Whether NAT has anything to do at all.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.services.is_empty() && self.endpoint_of6.is_empty()
    }

    /// The inside endpoint IPv6 floating IP `ip` on external network `net` stands for.
    #[inline]
    pub fn endpoint6(&self, net: NetIdx, ip: Ipv6Addr) -> Option<Ipv6Addr> {
        self.endpoint_of6.get(&(net, ip)).copied()
    }

    /// The IPv6 floating IP of inside endpoint `ip` of network `net`.
    pub fn floating_ip6(&self, net: NetIdx, ip: Ipv6Addr) -> Option<Ipv6Addr> {
        self.floating_of6.get(&(self.vrf(net), ip)).copied()
    }

    /// Whether there is an IPv6 floating IP at all.
    #[inline]
    pub fn has_floating6(&self) -> bool {
        !self.endpoint_of6.is_empty()
    }

    #[inline]
    pub fn external(&self, net: NetIdx) -> bool {
        self.external
            .get(usize::from(net))
            .copied()
            .unwrap_or(false)
    }

    pub fn vrf(&self, net: NetIdx) -> u16 {
        self.vrf.get(usize::from(net)).copied().unwrap_or(0)
    }

    /// What `ip` on external network `net` stands for, if it is a NAT address there.
    #[inline]
    pub fn address(&self, net: NetIdx, ip: Ipv4Addr) -> Option<Address> {
        let here = self.address_nets.get(usize::from(net)).copied();
        if here != Some(true) || !self.addresses.contains(&(net, ip)) {
            return None;
        }
        Some(match self.endpoint_of.get(&ip) {
            Some(&endpoint) => Address::Floating(endpoint),
            None if self.services.is_hairpin_address(net, ip.into()) => Address::Hairpin,
            None => Address::Snat,
        })
    }

    /// The floating IP of inside endpoint `ip` of network `net`.
    pub fn floating_ip(&self, net: NetIdx, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        self.floating_of.get(&(self.vrf(net), ip)).copied()
    }

    /// The SNAT rule a connection from `src` in network `net` leaves by.
    pub fn snat_rule(&self, net: NetIdx, src: Ipv4Addr) -> Option<&Rule> {
        if let Some(Some(rule)) = self.by_net.get(usize::from(net)) {
            return Some(rule);
        }
        self.by_cidr
            .iter()
            .find(|(p, _)| p.contains(IpAddr::V4(src)))
            .map(|(_, r)| r.as_ref())
    }

    /// Whether `ip` is still an address of a SNAT rule or one hairpin connections leave from
    /// (a binding on one that is not expires).
    pub fn in_a_pool(&self, ip: Ipv4Addr) -> bool {
        self.rules.iter().any(|r| r.pool.contains(ip))
            || self.services.leaves_hairpin_from(ip.into())
    }
}
