//! What the agent writes into the database: its `Physical_Switch` with its tunnel IP and
//! ports, and the MACs learned on its ports as `Ucast_Macs_Local` (with one `unknown-dst`
//! `Mcast_Macs_Local` per bound logical switch, its own locator). Each function returns the
//! operations of one transaction, empty when the database already says it.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{json, Value};

use super::datum::{by_uuid, named_ref, set_of, uuid, uuid_ref};
use super::replica::{encapsulation, strings, text, Replica, UNKNOWN_DST, VXLAN};

/// Registers `switch` with `tunnel_ip` and `ports` (adding what is missing, never removing an
/// operator's port rows).
pub fn registration(
    replica: &Replica,
    switch: &str,
    tunnel_ip: Option<Ipv4Addr>,
    ports: &[String],
) -> Vec<Value> {
    let tunnel_ips = set_of(tunnel_ip.iter().map(|ip| json!(ip.to_string())).collect());
    let mut ops = Vec::new();
    let Some((ps_uuid, ps)) = replica.find("Physical_Switch", "name", switch) else {
        let mut refs = Vec::new();
        for (i, p) in ports.iter().enumerate() {
            let name = format!("port{i}");
            ops.push(json!({"op": "insert", "table": "Physical_Port",
                            "row": {"name": p}, "uuid-name": name}));
            refs.push(named_ref(&name));
        }
        ops.push(json!({"op": "insert", "table": "Physical_Switch",
                        "row": {"name": switch, "tunnel_ips": tunnel_ips, "ports": set_of(refs)},
                        "uuid-name": "ps"}));
        let add_switch = json!([["switches", "insert", set_of(vec![named_ref("ps")])]]);
        match replica.rows("Global").next() {
            Some((global, _)) => ops.push(json!({"op": "mutate", "table": "Global",
                "where": by_uuid(global), "mutations": add_switch})),
            None => ops.push(json!({"op": "insert", "table": "Global",
                "row": {"switches": set_of(vec![named_ref("ps")])}})),
        }
        return ops;
    };
    let have_ips: BTreeSet<&str> = strings(ps, "tunnel_ips").into_iter().collect();
    let want_ips: BTreeSet<String> = tunnel_ip.iter().map(|ip| ip.to_string()).collect();
    if have_ips != want_ips.iter().map(String::as_str).collect() {
        ops.push(
            json!({"op": "update", "table": "Physical_Switch", "where": by_uuid(ps_uuid),
                        "row": {"tunnel_ips": tunnel_ips}}),
        );
    }
    let have_ports: BTreeSet<&str> = replica
        .switch_ports(ps)
        .map(|(_, r)| text(r, "name"))
        .collect();
    let mut refs = Vec::new();
    for (i, p) in ports
        .iter()
        .filter(|p| !have_ports.contains(p.as_str()))
        .enumerate()
    {
        let name = format!("port{i}");
        ops.push(json!({"op": "insert", "table": "Physical_Port",
                        "row": {"name": p}, "uuid-name": name}));
        refs.push(named_ref(&name));
    }
    if !refs.is_empty() {
        ops.push(
            json!({"op": "mutate", "table": "Physical_Switch", "where": by_uuid(ps_uuid),
                        "mutations": [["ports", "insert", set_of(refs)]]}),
        );
    }
    ops
}

/// The fault a port reports when a binding of it could not be instantiated (vtep(5)).
const INVALID_VLAN_MAP: &str = "invalid_vlan_map";

/// Sets `port_fault_status` of `switch`'s ports: `invalid_vlan_map` on those in `faulted`,
/// nothing on the others.
pub fn port_faults(replica: &Replica, switch: &str, faulted: &BTreeSet<String>) -> Vec<Value> {
    let Some((_, ps)) = replica.find("Physical_Switch", "name", switch) else {
        return vec![];
    };
    let mut ops = Vec::new();
    for (port_uuid, row) in replica.switch_ports(ps) {
        let have = strings(row, "port_fault_status");
        let want: Vec<&str> = match faulted.contains(text(row, "name")) {
            true => vec![INVALID_VLAN_MAP],
            false => vec![],
        };
        if have != want {
            ops.push(json!({"op": "update", "table": "Physical_Port", "where": by_uuid(port_uuid),
                            "row": {"port_fault_status": set_of(want.into_iter().map(|w| json!(w)).collect())}}));
        }
    }
    ops
}

/// This switch's locator (the VXLAN one to its tunnel IP): a reference to the row, or to one
/// `ops` inserts.
fn own_locator(replica: &Replica, ip: Ipv4Addr, ops: &mut Vec<Value>) -> (Value, Option<String>) {
    let ip = ip.to_string();
    let found = replica
        .rows("Physical_Locator")
        .find(|(_, r)| text(r, "dst_ip") == ip && encapsulation(r) == VXLAN);
    match found {
        Some((u, _)) => (uuid_ref(u), Some(u.to_string())),
        None => {
            ops.push(json!({"op": "insert", "table": "Physical_Locator",
                            "row": {"dst_ip": ip, "encapsulation_type": VXLAN},
                            "uuid-name": "own"}));
            (named_ref("own"), None)
        }
    }
}

/// Brings `Ucast_Macs_Local` to `learned` ((MAC, logical switch) pairs) and `Mcast_Macs_Local`
/// to one `unknown-dst` row per logical switch of `bound`, all at this switch's locator.
pub fn local_macs(
    replica: &Replica,
    ip: Ipv4Addr,
    learned: &BTreeSet<(String, String)>,
    bound: &BTreeSet<String>,
) -> Vec<Value> {
    let mut ops = Vec::new();
    let (locator, own_uuid) = own_locator(replica, ip, &mut ops);
    let ls_uuid = |name: &str| replica.find("Logical_Switch", "name", name).map(|(u, _)| u);
    let ls_name = |v: Option<&Value>| {
        v.and_then(uuid)
            .and_then(|u| replica.row("Logical_Switch", u))
            .map(|r| text(r, "name").to_string())
    };
    let mine = |v: Option<&Value>| own_uuid.is_some() && v.and_then(uuid) == own_uuid.as_deref();

    // Unicast: delete what is no longer learned, insert what is new.
    let mut have = BTreeSet::new();
    for (u, r) in replica.rows("Ucast_Macs_Local") {
        if !mine(r.get("locator")) {
            continue;
        }
        let key = (
            text(r, "MAC").to_string(),
            ls_name(r.get("logical_switch")).unwrap_or_default(),
        );
        if learned.contains(&key) && !have.contains(&key) {
            have.insert(key);
        } else {
            ops.push(json!({"op": "delete", "table": "Ucast_Macs_Local", "where": by_uuid(u)}));
        }
    }
    for (mac, ls) in learned.difference(&have) {
        if let Some(ls) = ls_uuid(ls) {
            ops.push(json!({"op": "insert", "table": "Ucast_Macs_Local",
                            "row": {"MAC": mac, "logical_switch": uuid_ref(ls), "locator": locator}}));
        }
    }

    // Multicast: one unknown-dst row per bound logical switch, its set holding our locator.
    let mut flooded = BTreeSet::new();
    for (u, r) in replica.rows("Mcast_Macs_Local") {
        let ours = replica.locators_of(r).into_iter().any(|l| mine(Some(l)));
        if !ours || text(r, "MAC") != UNKNOWN_DST {
            continue;
        }
        match ls_name(r.get("logical_switch")) {
            Some(ls) if bound.contains(&ls) && !flooded.contains(&ls) => {
                flooded.insert(ls);
            }
            _ => {
                ops.push(json!({"op": "delete", "table": "Mcast_Macs_Local", "where": by_uuid(u)}))
            }
        }
    }
    for (i, ls) in bound.difference(&flooded).enumerate() {
        let Some(ls) = ls_uuid(ls) else { continue };
        let set_name = format!("set{i}");
        ops.push(json!({"op": "insert", "table": "Physical_Locator_Set",
                        "row": {"locators": set_of(vec![locator.clone()])}, "uuid-name": set_name}));
        ops.push(json!({"op": "insert", "table": "Mcast_Macs_Local",
                        "row": {"MAC": UNKNOWN_DST, "logical_switch": uuid_ref(ls),
                                "locator_set": named_ref(&set_name)}}));
    }
    // Only the locator insert: nothing to write.
    if ops.len() == 1 && own_uuid.is_none() {
        ops.clear();
    }
    ops
}
