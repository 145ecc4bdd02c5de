//! The database, read as model objects: each logical switch bound to one of this switch's
//! ports becomes a network with its tunnel key as VNI, its VLAN bindings the ports' VLAN
//! membership, and its `unknown-dst` locators the VNI's flood list. Worked out against the
//! model, so that an operator's objects are never touched, and applied in one transaction; a
//! logical switch the model refuses is left out with its error, the others apply. A network
//! the agent created is the database's whole: its VNI's flood list is the agent's too. Its
//! remote MACs are programmed into the FDB beside the model (`remote_macs`, and one at a time
//! by `mac_changes` as rows change), not written into it.
//!
//! A database may serve several physical switches (vtep(5)): the local rows another switch
//! wrote at its own locator — the MACs it learned, its `unknown-dst` locator — are remote rows
//! to this one, read like those a controller writes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::Ipv4Addr;

use serde_json::Value;

use super::datum::{map, optional_int, uuid};
use super::replica::{encapsulation, text, Replica, Row, UNKNOWN_DST, VXLAN};
use crate::config::manager::{MacChange, Programmed};
use crate::config::validate::validate;
use crate::forwarding::Dest;
use crate::model::{AgentOwned, Model, Network, VtepRemote};
use crate::packet::MacAddr;

const MAX_VNI: i64 = (1 << 24) - 1;
/// The MAC limit of a mirrored network: a switch of thousands of logical switches must not
/// size each table for the default 65 536 MACs (a table's slots are allocated up front); one
/// the database gives more remote MACs than half of it gets the default.
const SMALL_MAC_LIMIT: u32 = 8192;

/// One logical switch's part of the model, and its remote MACs.
#[derive(Debug, Clone, PartialEq)]
struct Unit {
    ls: String,
    ls_uuid: String,
    network: Network,
    /// Ports bound with VLAN 0: untagged members.
    untagged: Vec<String>,
    /// Ports carrying the network's VLAN tagged.
    tagged: Vec<String>,
    macs: Vec<(MacAddr, Ipv4Addr)>,
    remotes: Vec<VtepRemote>,
}

/// What the database asks of this switch.
#[derive(Debug, Default)]
pub struct Desired {
    units: Vec<Unit>,
    /// Objects left out, each with its name and the fix.
    pub errors: Vec<String>,
    /// Ports with a binding the switch could not instantiate (`invalid_vlan_map`).
    pub faulted: BTreeSet<String>,
}

/// How much of the database is mirrored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub logical_switches: usize,
    pub bindings: usize,
    pub remote_macs: usize,
    pub flood_remotes: usize,
}

/// The model's VTEP address, without its prefix length.
pub fn tunnel_ip(model: &Model) -> Option<Ipv4Addr> {
    let v = model.vtep.as_ref()?;
    v.local_ip.split('/').next()?.parse().ok()
}

/// The unicast MAC tables that name remote MACs, in order of precedence.
pub const UCAST: [&str; 2] = ["Ucast_Macs_Remote", "Ucast_Macs_Local"];
const MCAST: [&str; 2] = ["Mcast_Macs_Remote", "Mcast_Macs_Local"];

/// The rows of MAC tables, by the UUID of their logical switch.
fn by_logical_switch<'r>(replica: &'r Replica, tables: &[&str]) -> HashMap<&'r str, Vec<&'r Row>> {
    let mut index: HashMap<&str, Vec<&Row>> = HashMap::new();
    for (_, row) in tables.iter().flat_map(|t| replica.rows(t)) {
        if let Some(ls) = row.get("logical_switch").and_then(uuid) {
            index.entry(ls).or_default().push(row);
        }
    }
    index
}

/// What `desired` reads besides one logical switch's rows, worked out once.
struct Lookups<'a> {
    replica: &'a Replica,
    /// The model's networks by name.
    networks: HashMap<&'a str, u16>,
    owned: HashSet<&'a str>,
    own_ip: Option<Ipv4Addr>,
    /// Unicast MAC rows (remote, then the other switches' local ones) by logical switch.
    ucast: HashMap<&'a str, Vec<&'a Row>>,
    /// Multicast MAC rows (remote and local; this switch's own locator is left out).
    mcast: HashMap<&'a str, Vec<&'a Row>>,
}

/// Reads what the database binds to `switch` against `model`.
pub fn desired(replica: &Replica, switch: &str, model: &Model) -> Desired {
    let mut d = Desired::default();
    let Some((_, ps)) = replica.find("Physical_Switch", "name", switch) else {
        return d;
    };
    let by_ls = bindings(replica, ps, model, &mut d);
    let no_vtep = model.vtep.is_none();
    let cx = Lookups {
        replica,
        networks: model.network_index(),
        owned: owned(model).networks.iter().map(String::as_str).collect(),
        own_ip: tunnel_ip(model),
        ucast: by_logical_switch(replica, &UCAST),
        mcast: by_logical_switch(replica, &MCAST),
    };
    for (ls_uuid, binds) in by_ls {
        match unit(&cx, &ls_uuid, &binds, &mut d.errors) {
            Some(u) => d.units.push(u),
            None => d.faulted.extend(binds.into_iter().map(|b| b.0)),
        }
    }
    let remote_state = d
        .units
        .iter()
        .any(|u| !u.macs.is_empty() || !u.remotes.is_empty());
    if no_vtep && remote_state {
        d.errors.push(
            "vtep agent: no VTEP is set; set one with `vsctl vtep set --local-ip CIDR --port PORT` to reach remote MACs"
                .into(),
        );
        for u in &mut d.units {
            u.macs.clear();
            u.remotes.clear();
        }
    }
    d
}

/// The (port, VLAN) bindings of each logical switch (by UUID) on the ports of `ps` that the
/// model lets the agent bind.
fn bindings(
    replica: &Replica,
    ps: &Row,
    model: &Model,
    d: &mut Desired,
) -> BTreeMap<String, Vec<(String, u16)>> {
    let owned = owned(model);
    let underlay = model.vtep.as_ref().map(|v| v.port.as_str());
    let mut by_ls: BTreeMap<String, Vec<(String, u16)>> = BTreeMap::new();
    for (_, row) in replica.switch_ports(ps) {
        let name = text(row, "name");
        let binds: Vec<(u16, &str)> = row
            .get("vlan_bindings")
            .map(map)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| Some((u16::try_from(k.as_i64()?).ok()?, uuid(v)?)))
            .collect();
        if binds.is_empty() {
            continue;
        }
        let refuse = match model.port(name) {
            None => Some(format!(
                "physical port {name}: vswitchd has no port of that name; add it with `vsctl port add {name} ...` or unbind it"
            )),
            Some(_) if Some(name) == underlay => Some(format!(
                "physical port {name}: is the VTEP's underlay port; bind another port"
            )),
            Some(p) if !owned.ports.iter().any(|o| o == name)
                && (p.network.is_some() || p.vlan.is_some() || !p.trunk.is_empty()) =>
            {
                Some(format!(
                    "physical port {name}: its networks were set with vsctl; remove them (vsctl port del {name}, then add it with no network) to let the database bind it"
                ))
            }
            Some(_) if binds.len() > 1 && binds.iter().any(|(v, _)| *v == 0) => Some(format!(
                "physical port {name}: VLAN 0 (untagged) bound together with tagged VLANs; bind either"
            )),
            Some(_) => None,
        };
        if let Some(e) = refuse {
            d.errors.push(e);
            d.faulted.insert(name.to_string());
            continue;
        }
        for (vlan, ls) in binds {
            by_ls
                .entry(ls.to_string())
                .or_default()
                .push((name.to_string(), vlan));
        }
    }
    by_ls
}

/// What the agent mirrored before (nothing without an agent).
fn owned(model: &Model) -> &AgentOwned {
    static NOTHING: AgentOwned = AgentOwned {
        networks: Vec::new(),
        ports: Vec::new(),
    };
    model.vtep_agent.as_ref().map_or(&NOTHING, |a| &a.owned)
}

/// One bound logical switch as model objects, or `None` (with its error) when it cannot be.
fn unit(
    cx: &Lookups<'_>,
    ls_uuid: &str,
    binds: &[(String, u16)],
    errors: &mut Vec<String>,
) -> Option<Unit> {
    let Some(row) = cx.replica.row("Logical_Switch", ls_uuid) else {
        errors.push(format!(
            "physical port {}: bound to logical switch {ls_uuid}, which does not exist",
            binds[0].0
        ));
        return None;
    };
    let ls = text(row, "name").to_string();
    let Some(key) = row.get("tunnel_key").and_then(optional_int) else {
        errors.push(format!(
            "logical switch {ls}: has no tunnel_key; set one with `vtep-ctl set Logical_Switch {ls} tunnel_key=N`"
        ));
        return None;
    };
    if !(1..=MAX_VNI).contains(&key) {
        errors.push(format!(
            "logical switch {ls}: tunnel_key {key} is not a VNI (1-{MAX_VNI})"
        ));
        return None;
    }
    let mut vlans: Vec<u16> = binds.iter().map(|b| b.1).filter(|v| *v != 0).collect();
    vlans.sort_unstable();
    vlans.dedup();
    if vlans.len() > 1 {
        errors.push(format!(
            "logical switch {ls}: bound to VLANs {vlans:?}; this switch bridges one VLAN per logical switch, bind the same VLAN everywhere"
        ));
        return None;
    }
    if !cx.owned.contains(ls.as_str()) && cx.networks.contains_key(ls.as_str()) {
        errors.push(format!(
            "logical switch {ls}: a network of that name was made with vsctl; rename one of them"
        ));
        return None;
    }
    let ports = |tagged: bool| -> Vec<String> {
        binds
            .iter()
            .filter(|b| (b.1 != 0) == tagged)
            .map(|b| b.0.clone())
            .collect()
    };
    let macs = remote_macs(cx, ls_uuid, &ls, errors);
    let mac_limit = (macs.len() <= SMALL_MAC_LIMIT as usize / 2).then_some(SMALL_MAC_LIMIT);
    Some(Unit {
        network: Network {
            name: ls.clone(),
            vni: Some(key as u32),
            vlan: vlans.first().copied(),
            mac_limit,
            ..Network::default()
        },
        untagged: ports(false),
        tagged: ports(true),
        macs,
        remotes: flood_list(cx, ls_uuid, key as u32),
        ls,
        ls_uuid: ls_uuid.to_string(),
    })
}

/// The VXLAN locator `locator` names: its IPv4 destination.
fn locator_ip(replica: &Replica, locator: &Value) -> Result<Ipv4Addr, String> {
    let row = uuid(locator)
        .and_then(|u| replica.row("Physical_Locator", u))
        .ok_or("a locator that does not exist")?;
    let encap = encapsulation(row);
    if encap != VXLAN {
        return Err(format!(
            "locator encapsulation {encap:?} is not supported ({VXLAN} only)"
        ));
    }
    let ip = text(row, "dst_ip");
    ip.parse()
        .map_err(|_| format!("locator dst_ip {ip:?} is not an IPv4 address"))
}

fn remote_macs(
    cx: &Lookups<'_>,
    ls_uuid: &str,
    ls: &str,
    errors: &mut Vec<String>,
) -> Vec<(MacAddr, Ipv4Addr)> {
    let mut macs = Vec::new();
    for row in cx.ucast.get(ls_uuid).into_iter().flatten() {
        match remote_mac(cx.replica, row) {
            Ok((_, ip)) if Some(ip) == cx.own_ip => {}
            Ok(m) => macs.push(m),
            Err(e) => errors.push(format!(
                "remote MAC {} of logical switch {ls}: {e}",
                text(row, "MAC")
            )),
        }
    }
    // A MAC named twice keeps its first row: a remote row before another switch's local one.
    let mut seen = HashSet::new();
    macs.retain(|(mac, _)| seen.insert(*mac));
    macs.sort_unstable();
    macs
}

/// A unicast MAC row's MAC and the VTEP it is behind.
fn remote_mac(replica: &Replica, row: &Row) -> Result<(MacAddr, Ipv4Addr), String> {
    let mac = text(row, "MAC");
    let parsed = mac
        .parse::<MacAddr>()
        .map_err(|_| format!("{mac:?} is not a MAC address"))?;
    let ip = locator_ip(replica, row.get("locator").unwrap_or(&Value::Null))?;
    Ok((parsed, ip))
}

/// A unicast MAC row as it was before an update: its table, UUID and columns (none when new,
/// or when it was this switch's own: `is_own` read before the update, whose locator may go
/// with it).
pub type RowBefore = (&'static str, String, Option<Row>);

/// The FDB changes an update of unicast MAC rows (`UCAST`) makes, for the logical switches
/// mirrored as networks (`mirrored`: UUID to network); rows at `own_ip` are this switch's own
/// and change nothing. `before` is the rows before the update, `after` the replica after it;
/// `None` when the whole mirror must run: a changed row cannot be read (it reports it), or
/// another row names the same MAC (precedence decides).
pub fn mac_changes(
    before: &[RowBefore],
    after: &Replica,
    mirrored: &HashMap<String, String>,
    own_ip: Option<Ipv4Addr>,
) -> Option<Vec<MacChange>> {
    let mut changes = Vec::new();
    let changed: HashSet<&str> = before.iter().map(|(_, u, _)| u.as_str()).collect();
    let mirrored_mac = |row: &Row| {
        let ls = row.get("logical_switch").and_then(uuid)?;
        let mac = text(row, "MAC").parse::<MacAddr>().ok()?;
        Some((ls.to_string(), mirrored.get(ls)?.clone(), mac))
    };
    for (_, _, old) in before {
        let Some(old) = old else { continue };
        if let Some((ls, net, mac)) = mirrored_mac(old) {
            if named_by(after, &UCAST, &ls, mac, own_ip, &changed) {
                return None;
            }
            changes.push((net, mac, None));
        }
    }
    for (table, row_uuid, _) in before {
        let Some(new) = after.row(table, row_uuid) else {
            continue;
        };
        if is_own(after, new, own_ip) {
            continue;
        }
        if let Some((ls, net, _)) = mirrored_mac(new) {
            let (mac, ip) = remote_mac(after, new).ok()?;
            let remote_too = || named_by(after, &UCAST[..1], &ls, mac, own_ip, &HashSet::new());
            if *table != UCAST[0] && remote_too() {
                return None;
            }
            changes.push((net, mac, Some(Dest::Remote(ip))));
        }
    }
    Some(changes)
}

/// A unicast MAC row at this switch's own locator: one it wrote.
pub fn is_own(replica: &Replica, row: &Row, own_ip: Option<Ipv4Addr>) -> bool {
    let at = row.get("locator").and_then(|l| locator_ip(replica, l).ok());
    at.is_some() && at == own_ip
}

/// A row of `tables` (not this switch's own, nor one of `changed`) names `mac` in logical
/// switch `ls`.
fn named_by(
    replica: &Replica,
    tables: &[&str],
    ls: &str,
    mac: MacAddr,
    own_ip: Option<Ipv4Addr>,
    changed: &HashSet<&str>,
) -> bool {
    let mac = mac.to_string();
    tables.iter().flat_map(|t| replica.rows(t)).any(|(u, r)| {
        text(r, "MAC").eq_ignore_ascii_case(&mac)
            && !changed.contains(u)
            && r.get("logical_switch").and_then(uuid) == Some(ls)
            && !is_own(replica, r, own_ip)
    })
}

/// The remote VTEPs of a logical switch's `unknown-dst` row (this switch's own left out).
fn flood_list(cx: &Lookups<'_>, ls_uuid: &str, vni: u32) -> Vec<VtepRemote> {
    let replica = cx.replica;
    let mut ips: Vec<Ipv4Addr> = cx
        .mcast
        .get(ls_uuid)
        .into_iter()
        .flatten()
        .filter(|r| text(r, "MAC") == UNKNOWN_DST)
        .flat_map(|r| replica.locators_of(r))
        .filter_map(|l| locator_ip(replica, l).ok())
        .filter(|ip| Some(*ip) != cx.own_ip)
        .collect();
    ips.sort_unstable();
    ips.dedup();
    ips.into_iter()
        .map(|ip| VtepRemote {
            ip: ip.to_string(),
            vni,
        })
        .collect()
}

impl Desired {
    /// The remote MACs to program, by network.
    pub fn remote_macs(&self) -> Programmed {
        self.units
            .iter()
            .map(|u| {
                let macs = u.macs.iter().map(|(m, ip)| (*m, Dest::Remote(*ip)));
                (u.ls.clone(), macs.collect())
            })
            .collect()
    }

    /// The mirrored logical switches: UUID to network.
    pub fn mirrored(&self) -> HashMap<String, String> {
        self.units
            .iter()
            .map(|u| (u.ls_uuid.clone(), u.ls.clone()))
            .collect()
    }

    pub fn counts(&self) -> Counts {
        Counts {
            logical_switches: self.units.len(),
            bindings: self
                .units
                .iter()
                .map(|u| u.untagged.len() + u.tagged.len())
                .sum(),
            remote_macs: self.units.iter().map(|u| u.macs.len()).sum(),
            flood_remotes: self.units.iter().map(|u| u.remotes.len()).sum(),
        }
    }

    /// `model` with what the agent mirrored before replaced by this; a logical switch the
    /// model refuses is left out and its error added to `errors`.
    pub fn apply(&mut self, model: &Model) -> Model {
        let mut base = model.clone();
        clear_owned(&mut base);
        let mut all = base.clone();
        for u in &self.units {
            add(&mut all, u);
        }
        sort_trunks(&mut all);
        if validate(&all).is_ok() {
            return all;
        }
        let mut kept = Vec::new();
        for u in std::mem::take(&mut self.units) {
            let mut candidate = base.clone();
            add(&mut candidate, &u);
            sort_trunks(&mut candidate);
            match validate(&candidate) {
                Ok(()) => {
                    base = candidate;
                    kept.push(u);
                }
                Err(e) => {
                    self.errors.push(format!("logical switch {}: {e}", u.ls));
                    self.faulted
                        .extend(u.untagged.iter().chain(&u.tagged).cloned());
                }
            }
        }
        self.units = kept;
        base
    }
}

/// Removes what the agent mirrored into `model`: its networks with their static remote MACs
/// and flood lists, and the VLAN membership of its ports.
pub fn clear_owned(model: &mut Model) {
    let Some(agent) = model.vtep_agent.as_mut() else {
        return;
    };
    let owned = std::mem::take(&mut agent.owned);
    let networks: HashSet<&str> = owned.networks.iter().map(String::as_str).collect();
    let vnis: HashSet<u32> = model
        .networks
        .iter()
        .filter(|n| networks.contains(n.name.as_str()))
        .filter_map(|n| n.vni)
        .collect();
    model.fdb.retain(|e| !networks.contains(e.network.as_str()));
    if let Some(v) = model.vtep.as_mut() {
        v.remotes.retain(|r| !vnis.contains(&r.vni));
    }
    for p in model.ports.iter_mut() {
        if owned.ports.contains(&p.name) {
            p.network = None;
            p.vlan = None;
            p.trunk.clear();
        }
    }
    model
        .networks
        .retain(|n| !networks.contains(n.name.as_str()));
}

fn sort_trunks(model: &mut Model) {
    for p in model.ports.iter_mut() {
        p.trunk.sort_unstable();
    }
}

fn add(model: &mut Model, u: &Unit) {
    model.networks.push(u.network.clone());
    for p in model.ports.iter_mut() {
        if u.untagged.contains(&p.name) {
            p.network = Some(u.ls.clone());
        }
        if let Some(vlan) = u.network.vlan.filter(|_| u.tagged.contains(&p.name)) {
            p.trunk.push(vlan);
        }
    }
    if let Some(v) = model.vtep.as_mut() {
        v.remotes.extend(u.remotes.iter().cloned());
    }
    let Some(agent) = model.vtep_agent.as_mut() else {
        return;
    };
    let owned = &mut agent.owned;
    owned.networks.push(u.ls.clone());
    for p in u.untagged.iter().chain(&u.tagged) {
        if !owned.ports.contains(p) {
            owned.ports.push(p.clone());
        }
    }
}
