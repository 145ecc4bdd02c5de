//! Service VIPs as the datapath reads them: each service by its VIP, its backends with the
//! network and gateway each is reached by, and the Maglev table of those that take new
//! connections (weight above 0, not drained, not failing their health checks).

use hashbrown::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::bindings::Single6;
use super::health::{Check, Health, PROBE_PORTS};
use super::maglev;
use super::pool::Pool;
use crate::model::{vrf_of, HealthTiming, Model, Network, Service};
use crate::packet::ipproto;
use crate::packet::prefix::Prefix;
use crate::pipeline::snapshot::NetIdx;

/// Maglev slots of a service with few backends (about 100 per backend, as the paper advises),
/// and of one with many.
const SMALL_TABLE: usize = 4_099;
const LARGE_TABLE: usize = maglev::TABLE_SIZE;
const SMALL_MAX_BACKENDS: usize = 40;

/// An address (IPv4 or IPv6) and port.
pub type Endpoint = (IpAddr, u16);

#[derive(Debug)]
pub struct BackendEntry {
    pub addr: Endpoint,
    pub net: NetIdx,
    /// The gateway address of the backend's subnet: where probes and hairpin traffic come
    /// from.
    pub gateway: Option<IpAddr>,
    pub weight: u32,
    pub drained: bool,
}

#[derive(Debug)]
pub struct ServiceEntry {
    pub name: String,
    pub vrf: u16,
    pub proto: u8,
    pub vip: Endpoint,
    pub affinity: bool,
    /// How the backends are probed (none: they are not), and when.
    pub check: Option<Check>,
    pub timing: HealthTiming,
    pub backends: Vec<BackendEntry>,
    /// Maglev: the backend of each slot.
    table: Vec<u16>,
}

/// Where a backend's address is: its network, and the pool its hairpin connections leave
/// from (the gateway of its subnet).
#[derive(Debug)]
pub struct Hairpin {
    pub net: NetIdx,
    pub pool: Option<Pool>,
    pub pool6: Option<Single6>,
}

#[derive(Debug, Default)]
pub struct Services {
    by_vip: HashMap<(u16, u8, Ip, u16), usize>,
    vips: HashSet<Ip>,
    /// Every backend address, by (VRF, IP).
    backends: HashMap<(u16, Ip), Hairpin>,
    /// The gateway addresses hairpin connections leave from, on their networks.
    hairpin_addresses: HashSet<(NetIdx, Ip)>,
    /// Per network: whether a backend is in it (most packets need no backend lookup).
    backend_nets: Vec<bool>,
    pub list: Vec<ServiceEntry>,
}

/// An address of either family as one 128-bit word (IPv4 as IPv4-mapped IPv6): the tables'
/// keys hash it with one write, not IpAddr's tag and byte slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ip(u128);

impl Hash for Ip {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u128(self.0);
    }
}

impl From<IpAddr> for Ip {
    #[inline]
    fn from(ip: IpAddr) -> Ip {
        match ip {
            IpAddr::V4(v4) => Ip(u128::from(v4.to_ipv6_mapped())),
            IpAddr::V6(v6) => Ip(u128::from(v6)),
        }
    }
}

impl Ip {
    fn v4(self) -> Option<Ipv4Addr> {
        std::net::Ipv6Addr::from(self.0).to_ipv4_mapped()
    }
}

/// Mixes a connection's key into a slot number; the same on every node, so that with
/// affinity a client meets the same backend whichever node it comes through.
#[inline]
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ x >> 33
}

impl ServiceEntry {
    /// The backend a new connection from `client` goes to; `None` when no backend takes new
    /// connections.
    #[inline]
    pub fn pick(&self, client: Endpoint) -> Option<&BackendEntry> {
        if self.table.is_empty() {
            return None;
        }
        let ip = match client.0 {
            IpAddr::V4(v4) => u64::from(u32::from(v4)),
            IpAddr::V6(v6) => {
                let x = u128::from(v6);
                (x >> 64) as u64 ^ x as u64
            }
        };
        let key = match self.affinity {
            true => ip,
            false => ip << 16 | u64::from(client.1),
        };
        let slot = mix(key ^ u64::from(self.vip.1) << 48) % self.table.len() as u64;
        self.backends.get(usize::from(self.table[slot as usize]))
    }

    /// Share of new connections each backend takes (by Maglev slots), in order.
    pub fn shares(&self) -> Vec<f64> {
        let mut slots = vec![0usize; self.backends.len()];
        for b in &self.table {
            slots[usize::from(*b)] += 1;
        }
        let total = self.table.len().max(1) as f64;
        slots.into_iter().map(|s| s as f64 / total).collect()
    }
}

/// `IP:PORT` (IPv6: `[IP]:PORT`) of a VIP or a backend.
pub fn parse_addr(s: &str) -> Option<Endpoint> {
    let a: SocketAddr = s.trim().parse().ok()?;
    Some((a.ip(), a.port()))
}

pub fn parse_proto(s: &str) -> Option<u8> {
    match s {
        "tcp" => Some(ipproto::TCP),
        "udp" => Some(ipproto::UDP),
        _ => None,
    }
}

/// The network of VRF `vrf` whose subnet holds `ip`, with that subnet's gateway.
pub fn locate<'m>(
    model: &'m Model,
    vrf: &str,
    ip: IpAddr,
) -> Option<(usize, &'m Network, Option<IpAddr>)> {
    model.networks.iter().enumerate().find_map(|(i, n)| {
        if vrf_of(n) != Some(vrf) {
            return None;
        }
        let subnet = n
            .subnets
            .iter()
            .filter_map(|s| s.parse::<Prefix>().ok())
            .find(|p| p.contains(ip))?;
        let gateway = n.gateways.iter().find_map(|g| match g.parse() {
            Ok(g) if subnet.contains(g) => Some(g),
            _ => None,
        });
        Some((i, n, gateway))
    })
}

impl Services {
    /// The services of `model` (validated), their tables built from the backends that take
    /// new connections now (`health`).
    pub fn build(model: &Model, vrf_number: impl Fn(&str) -> u16, health: &Health) -> Services {
        let mut t = Services::default();
        for s in &model.services {
            let Some(entry) = Self::entry(model, s, &vrf_number, health) else {
                continue;
            };
            for b in &entry.backends {
                let ports = (1024, PROBE_PORTS.0 - 1);
                let (mut pool, mut pool6) = (None, None);
                match b.gateway {
                    Some(IpAddr::V4(g)) => {
                        let range = format!("{}-{}", ports.0, ports.1);
                        pool = Pool::parse(&g.to_string(), Some(&range)).ok();
                    }
                    Some(IpAddr::V6(ip)) => pool6 = Some(Single6 { ip, ports }),
                    None => {}
                }
                if let Some(g) = b.gateway {
                    t.hairpin_addresses.insert((b.net, Ip::from(g)));
                }
                let net = usize::from(b.net);
                if t.backend_nets.len() <= net {
                    t.backend_nets.resize(net + 1, false);
                }
                t.backend_nets[net] = true;
                let hairpin = Hairpin {
                    net: b.net,
                    pool,
                    pool6,
                };
                t.backends.insert((entry.vrf, Ip::from(b.addr.0)), hairpin);
            }
            t.vips.insert(Ip::from(entry.vip.0));
            let key = (entry.vrf, entry.proto, Ip::from(entry.vip.0), entry.vip.1);
            t.by_vip.insert(key, t.list.len());
            t.list.push(entry);
        }
        t
    }

    fn entry(
        model: &Model,
        s: &Service,
        vrf_number: &impl Fn(&str) -> u16,
        health: &Health,
    ) -> Option<ServiceEntry> {
        let (vip, proto) = (parse_addr(&s.vip)?, parse_proto(&s.proto)?);
        let backends: Vec<BackendEntry> = s
            .backends
            .iter()
            .filter_map(|b| {
                let addr = parse_addr(&b.addr)?;
                let (net, _, gateway) = locate(model, s.vrf(), addr.0)?;
                Some(BackendEntry {
                    addr,
                    net: net as NetIdx,
                    gateway,
                    weight: b.weight,
                    drained: b.drained,
                })
            })
            .collect();
        let names: Vec<String> = s.backends.iter().map(|b| b.addr.clone()).collect();
        // Validated: an unreadable check is none.
        let check = Check::parse(s.health_check.as_deref()).ok().flatten();
        let weights: Vec<u32> = backends
            .iter()
            .map(|b| {
                let healthy = check.is_none() || health.is_up(&s.name, b.addr);
                match !b.drained && healthy {
                    true => b.weight,
                    false => 0,
                }
            })
            .collect();
        let size = match backends.len() <= SMALL_MAX_BACKENDS {
            true => SMALL_TABLE,
            false => LARGE_TABLE,
        };
        Some(ServiceEntry {
            name: s.name.clone(),
            vrf: vrf_number(s.vrf()),
            proto,
            vip,
            affinity: s.affinity,
            check,
            timing: s.health_timing,
            table: maglev::build(&names, &weights, size),
            backends,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether `ip` is the address of a VIP (in any VRF): a quick test before the lookup.
    #[inline]
    pub fn is_vip(&self, ip: IpAddr) -> bool {
        self.vips.contains(&Ip::from(ip))
    }

    #[inline]
    pub fn lookup(&self, vrf: u16, proto: u8, vip: Endpoint) -> Option<&ServiceEntry> {
        let key = (vrf, proto, Ip::from(vip.0), vip.1);
        self.by_vip.get(&key).map(|i| &self.list[*i])
    }

    /// Whether network `net` has a backend in it.
    #[inline]
    pub fn has_backends(&self, net: NetIdx) -> bool {
        self.backend_nets
            .get(usize::from(net))
            .copied()
            .unwrap_or(false)
    }

    /// Where backend address `ip` of VRF `vrf` is, if it is one.
    #[inline]
    pub fn backend(&self, vrf: u16, ip: IpAddr) -> Option<&Hairpin> {
        self.backends.get(&(vrf, Ip::from(ip)))
    }

    /// The gateway addresses hairpin connections leave from, on their networks.
    pub fn hairpin_addresses(&self) -> impl Iterator<Item = (NetIdx, Ipv4Addr)> + '_ {
        self.hairpin_addresses
            .iter()
            .filter_map(|(n, a)| a.v4().map(|v4| (*n, v4)))
    }

    /// Whether `ip` on network `net` is a gateway address hairpin connections leave from.
    #[inline]
    pub fn is_hairpin_address(&self, net: NetIdx, ip: IpAddr) -> bool {
        self.hairpin_addresses.contains(&(net, Ip::from(ip)))
    }

    /// Whether a session of VRF `vrf` to `vip` on `backend` still has both.
    pub fn has(&self, vrf: u16, proto: u8, vip: Endpoint, backend: Endpoint) -> bool {
        self.lookup(vrf, proto, vip)
            .is_some_and(|s| s.backends.iter().any(|b| b.addr == backend))
    }

    /// Whether `ip` is an address hairpin connections leave from, on any network.
    pub fn leaves_hairpin_from(&self, ip: IpAddr) -> bool {
        let ip = Ip::from(ip);
        self.hairpin_addresses.iter().any(|(_, a)| *a == ip)
    }
}
