//! A network's DHCP server: its settings (from the model, per snapshot) and its lease table
//! (kept across snapshots and restarts).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::model::{Model, Network};
use crate::packet::prefix::Prefix;
use crate::packet::MacAddr;
use crate::pipeline::snapshot::NetIdx;

/// Seconds a lease lasts.
pub const LEASE_SECS: u32 = 3600;
/// The state file the leases persist in.
pub const LEASE_FILE: &str = "dhcp-leases.json";

/// What the server of one network hands out.
#[derive(Debug)]
pub struct DhcpServer {
    /// The network's gateway: server identifier and router option.
    pub server: Ipv4Addr,
    pub mask: Ipv4Addr,
    pub dns: Vec<Ipv4Addr>,
    /// The range dynamic leases come from, inclusive.
    pub first: u32,
    pub last: u32,
    /// Fixed addresses by MAC, and the set of them (never handed to another MAC).
    pub hosts: HashMap<MacAddr, Ipv4Addr>,
    pub fixed: std::collections::HashSet<Ipv4Addr>,
    pub leases: Arc<LeaseTable>,
}

/// The DHCP settings of network `n` (validated: `--dhcp` needs an IPv4 subnet and gateway).
pub fn settings(n: &Network, leases: Arc<LeaseTable>) -> Option<DhcpServer> {
    if !n.dhcp {
        return None;
    }
    let server = n.gateways.iter().find_map(|g| g.parse::<Ipv4Addr>().ok())?;
    let subnet = n
        .subnets
        .iter()
        .filter_map(|s| s.parse::<Prefix>().ok())
        .find(|p| p.is_ipv4() && p.contains(server.into()))?;
    let (first, last) = range(n, &subnet)?;
    let mask = Ipv4Addr::from(
        u32::MAX
            .checked_shl(32 - u32::from(subnet.prefix_len()))
            .unwrap_or(0),
    );
    Some(DhcpServer {
        server,
        mask,
        dns: n.dns.iter().filter_map(|d| d.parse().ok()).collect(),
        first,
        last,
        hosts: hosts(n).collect(),
        fixed: hosts(n).map(|(_, ip)| ip).collect(),
        leases,
    })
}

/// The dynamic range: `--dhcp-range FIRST-LAST`, or the subnet without its network and
/// broadcast addresses.
pub fn range(n: &Network, subnet: &Prefix) -> Option<(u32, u32)> {
    match &n.dhcp_range {
        Some(r) => {
            let (a, b) = r.split_once('-')?;
            let (a, b): (Ipv4Addr, Ipv4Addr) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            Some((u32::from(a), u32::from(b)))
        }
        None => {
            let std::net::IpAddr::V4(base) = subnet.addr() else {
                return None;
            };
            let size = 1u64 << (32 - subnet.prefix_len());
            let base = u64::from(u32::from(base));
            (size >= 4).then(|| ((base + 1) as u32, (base + size - 2) as u32))
        }
    }
}

/// The fixed addresses of a network: `MAC=IP` entries that parse.
pub fn hosts(n: &Network) -> impl Iterator<Item = (MacAddr, Ipv4Addr)> + '_ {
    n.dhcp_hosts.iter().filter_map(|h| {
        let (mac, ip) = h.split_once('=')?;
        Some((mac.trim().parse().ok()?, ip.trim().parse().ok()?))
    })
}

/// One lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub mac: MacAddr,
    pub ip: Ipv4Addr,
    /// Unix time the lease ends.
    pub expires: u64,
}

/// The leases of one network. The datapath only ever tries its lock: a DHCP message that finds
/// it busy is dropped and the client retries.
#[derive(Debug, Default)]
pub struct LeaseTable {
    state: Mutex<LeaseState>,
}

#[derive(Debug, Default)]
pub struct LeaseState {
    by_mac: HashMap<MacAddr, Lease>,
    /// The same leases by address: whether an address is taken is one lookup, so that picking
    /// a free one from a large range is one pass over it.
    by_ip: HashMap<Ipv4Addr, MacAddr>,
    /// Where the next search for a free address starts (after the last one bound), so that
    /// filling a large range does not rescan its taken front every time.
    cursor: u32,
    /// Changed since the last save.
    dirty: bool,
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl LeaseState {
    /// The address for `mac`: its fixed one, its current lease, the one it asks for if free,
    /// or the first free one of the range. `None` when the range is exhausted.
    pub fn pick(
        &self,
        srv: &DhcpServer,
        mac: MacAddr,
        wanted: Option<Ipv4Addr>,
        now: u64,
    ) -> Option<Ipv4Addr> {
        if let Some(ip) = srv.hosts.get(&mac) {
            return Some(*ip);
        }
        if let Some(l) = self.by_mac.get(&mac) {
            if in_range(srv, l.ip) {
                return Some(l.ip);
            }
        }
        let taken = |ip: &Ipv4Addr| {
            self.by_ip
                .get(ip)
                .and_then(|m| self.by_mac.get(m))
                .is_some_and(|l| l.mac != mac && l.expires > now)
        };
        let free = |ip: Ipv4Addr| {
            in_range(srv, ip) && ip != srv.server && !srv.fixed.contains(&ip) && !taken(&ip)
        };
        if let Some(ip) = wanted.filter(|ip| free(*ip)) {
            return Some(ip);
        }
        let start = self.cursor.clamp(srv.first, srv.last);
        (start..=srv.last)
            .chain(srv.first..start)
            .map(Ipv4Addr::from)
            .find(|ip| free(*ip))
    }

    /// Binds `ip` to `mac` for a lease from `now`.
    pub fn bind(&mut self, mac: MacAddr, ip: Ipv4Addr, now: u64) {
        let expires = now + u64::from(LEASE_SECS);
        // Another client's expired lease of this address ends here, and so does this client's
        // lease of another address.
        if let Some(other) = self.by_ip.insert(ip, mac).filter(|m| *m != mac) {
            self.by_mac.remove(&other);
        }
        if let Some(old) = self.by_mac.insert(mac, Lease { mac, ip, expires }) {
            if old.ip != ip {
                self.by_ip.remove(&old.ip);
            }
        }
        self.cursor = u32::from(ip).wrapping_add(1);
        self.dirty = true;
    }

    pub fn release(&mut self, mac: MacAddr, ip: Ipv4Addr) {
        if self.by_mac.get(&mac).is_some_and(|l| l.ip == ip) {
            self.by_mac.remove(&mac);
            self.by_ip.remove(&ip);
            self.dirty = true;
        }
    }

    /// The lease `mac` holds on `ip`, if any.
    pub fn holds(&self, mac: MacAddr, ip: Ipv4Addr) -> bool {
        self.by_mac.get(&mac).is_some_and(|l| l.ip == ip)
    }
}

fn in_range(srv: &DhcpServer, ip: Ipv4Addr) -> bool {
    (srv.first..=srv.last).contains(&u32::from(ip))
}

impl LeaseTable {
    /// The state, if nobody else holds it right now (the datapath's way in).
    pub fn try_lock(&self) -> Option<parking_lot::MutexGuard<'_, LeaseState>> {
        self.state.try_lock()
    }

    pub fn leases(&self) -> Vec<Lease> {
        self.state.lock().by_mac.values().copied().collect()
    }
}

/// The DHCP part of a snapshot: each network's server (`--dhcp`), indexed like the topology's
/// networks.
#[derive(Debug, Default)]
pub struct DhcpTables {
    pub servers: Vec<Option<Arc<DhcpServer>>>,
}

impl DhcpTables {
    #[inline]
    pub fn server(&self, net: NetIdx) -> Option<&DhcpServer> {
        self.servers.get(usize::from(net))?.as_deref()
    }
}

/// The lease tables, one per network with DHCP, kept across snapshots; saved to the state dir.
#[derive(Debug, Default)]
pub struct LeaseTables {
    tables: HashMap<String, Arc<LeaseTable>>,
}

/// The leases file: network name → leases.
type LeaseFile = HashMap<String, Vec<Lease>>;

impl LeaseTables {
    pub fn get(&self, network: &str) -> Option<&Arc<LeaseTable>> {
        self.tables.get(network)
    }

    /// Tables for exactly the networks with DHCP.
    pub fn sync(&mut self, model: &Model) {
        self.tables
            .retain(|name, _| model.network(name).is_some_and(|n| n.dhcp));
        for n in model.networks.iter().filter(|n| n.dhcp) {
            self.tables.entry(n.name.clone()).or_default();
        }
    }

    /// Loads saved leases (at start, before the model's networks exist: tables are made for
    /// every network in the file; `sync` drops the ones without DHCP).
    pub fn load(&mut self, json: &str) -> Result<(), String> {
        let file: LeaseFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let now = unix_now();
        for (name, leases) in file {
            let table = self.tables.entry(name).or_default();
            let mut st = table.state.lock();
            for l in leases.into_iter().filter(|l| l.expires > now) {
                st.by_mac.insert(l.mac, l);
                st.by_ip.insert(l.ip, l.mac);
            }
        }
        Ok(())
    }

    /// The leases as JSON when any changed since the last call.
    pub fn take_changes(&self) -> Option<String> {
        let mut changed = false;
        let mut file = LeaseFile::new();
        for (name, table) in &self.tables {
            let mut st = table.state.lock();
            changed |= std::mem::take(&mut st.dirty);
            file.insert(name.clone(), st.by_mac.values().copied().collect());
        }
        changed.then(|| serde_json::to_string(&file).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(hosts: &[(MacAddr, Ipv4Addr)]) -> DhcpServer {
        DhcpServer {
            server: Ipv4Addr::new(198, 51, 100, 1),
            mask: Ipv4Addr::new(255, 255, 255, 0),
            dns: Vec::new(),
            first: u32::from(Ipv4Addr::new(198, 51, 100, 1)),
            last: u32::from(Ipv4Addr::new(198, 51, 100, 4)),
            hosts: hosts.iter().copied().collect(),
            fixed: hosts.iter().map(|(_, ip)| *ip).collect(),
            leases: Arc::default(),
        }
    }

    fn mac(n: u8) -> MacAddr {
        MacAddr([2, 0, 0, 0, 0, n])
    }

    #[test]
    fn picks_fixed_current_wanted_then_first_free_and_runs_out() {
        let fixed = Ipv4Addr::new(198, 51, 100, 2);
        let srv = server(&[(mac(9), fixed)]);
        let mut st = LeaseState::default();
        let now = 1000;
        assert_eq!(st.pick(&srv, mac(9), None, now), Some(fixed));
        // The gateway (.1) and the fixed address (.2) are never handed out.
        let a = st.pick(&srv, mac(1), None, now).unwrap();
        assert_eq!(a, Ipv4Addr::new(198, 51, 100, 3));
        st.bind(mac(1), a, now);
        assert_eq!(
            st.pick(&srv, mac(1), Some(Ipv4Addr::new(198, 51, 100, 4)), now),
            Some(a)
        );
        let b = st.pick(&srv, mac(2), Some(a), now).unwrap();
        assert_eq!(
            b,
            Ipv4Addr::new(198, 51, 100, 4),
            "a taken address is not given twice"
        );
        st.bind(mac(2), b, now);
        assert_eq!(st.pick(&srv, mac(3), None, now), None, "range exhausted");
        // An expired lease's address goes to whoever needs it.
        let later = now + u64::from(LEASE_SECS) + 1;
        let reused = st.pick(&srv, mac(3), None, later);
        assert!(reused == Some(a) || reused == Some(b), "{reused:?}");
        st.release(mac(2), b);
        assert!(!st.holds(mac(2), b));
    }

    #[test]
    fn filling_a_large_range_stays_one_pass_per_lease() {
        let mut srv = server(&[]);
        srv.first = u32::from(Ipv4Addr::new(198, 51, 0, 1));
        srv.last = u32::from(Ipv4Addr::new(198, 51, 255, 254));
        let mut st = LeaseState::default();
        let start = std::time::Instant::now();
        for i in 0..20_000u32 {
            let m = MacAddr::from_u64(0x0200_0000_0000 | u64::from(i));
            let ip = st.pick(&srv, m, None, 1000).unwrap();
            st.bind(m, ip, 1000);
        }
        assert_eq!(st.by_ip.len(), 20_000);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn leases_round_trip_through_the_state_file() {
        let model = Model::parse(
            "json",
            r#"{"networks":[{"name":"web","subnets":["198.51.100.0/24"],"gateways":["198.51.100.1"],"dhcp":true}]}"#,
        )
        .unwrap();
        let mut tables = LeaseTables::default();
        tables.sync(&model);
        assert_eq!(tables.take_changes(), None);
        let now = unix_now();
        tables.get("web").unwrap().try_lock().unwrap().bind(
            mac(1),
            Ipv4Addr::new(198, 51, 100, 7),
            now,
        );
        let saved = tables.take_changes().unwrap();
        assert_eq!(tables.take_changes(), None);
        let mut restored = LeaseTables::default();
        restored.load(&saved).unwrap();
        restored.sync(&model);
        assert_eq!(
            restored.get("web").unwrap().leases(),
            tables.get("web").unwrap().leases()
        );
        assert!(LeaseTables::default().load("{not json").is_err());
    }
}
