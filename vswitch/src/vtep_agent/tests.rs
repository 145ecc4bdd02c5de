//! The agent's reading of a database and what it writes back, on fixed database contents.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{json, Value};

use super::mirror::{clear_owned, desired, mac_changes};
use super::replica::Replica;
use super::writes::{local_macs, port_faults, registration};
use crate::config::validate::validate;
use crate::forwarding::Dest;
use crate::model::{Model, VtepAgent};
use crate::packet::MacAddr;

/// gw1 with ports p1 (VLAN 100 -> ls0) and p2 (untagged -> ls1, which has no tunnel key);
/// ls0 has a remote MAC and an unknown-dst flood list at 203.0.113.2.
fn database() -> Replica {
    let mut r = Replica::default();
    r.update(&json!({
        "Physical_Switch": {"ps": {"new": {"name": "gw1", "tunnel_ips": "203.0.113.1",
            "ports": ["set", [["uuid", "port1"], ["uuid", "port2"]]]}}},
        "Physical_Port": {
            "port1": {"new": {"name": "p1", "vlan_bindings": ["map", [[100, ["uuid", "ls0"]]]]}},
            "port2": {"new": {"name": "p2", "vlan_bindings": ["map", [[0, ["uuid", "ls1"]]]]}}},
        "Logical_Switch": {
            "ls0": {"new": {"name": "ls0", "tunnel_key": 5000}},
            "ls1": {"new": {"name": "ls1", "tunnel_key": ["set", []]}}},
        "Physical_Locator": {
            "loc2": {"new": {"dst_ip": "203.0.113.2", "encapsulation_type": "vxlan_over_ipv4"}},
            "loc1": {"new": {"dst_ip": "203.0.113.1", "encapsulation_type": "vxlan_over_ipv4"}}},
        "Physical_Locator_Set": {"set2": {"new": {"locators": ["uuid", "loc2"]}}},
        "Ucast_Macs_Remote": {"m1": {"new": {"MAC": "02:00:00:00:00:99",
            "logical_switch": ["uuid", "ls0"], "locator": ["uuid", "loc2"]}}},
        "Mcast_Macs_Remote": {"f1": {"new": {"MAC": "unknown-dst",
            "logical_switch": ["uuid", "ls0"], "locator_set": ["uuid", "set2"]}}}
    }))
    .expect("update");
    r
}

fn model() -> Model {
    let mut m: Model = serde_json::from_value(json!({
        "ports": [{"name": "pu", "type": "tap", "iface": "u0"},
                  {"name": "p1", "type": "tap", "iface": "t1"},
                  {"name": "p2", "type": "tap", "iface": "t2"}],
        "vtep": {"local_ip": "203.0.113.1/24", "port": "pu"}
    }))
    .expect("model");
    m.vtep_agent = Some(VtepAgent {
        db: "unix:/run/vtep.sock".into(),
        name: "gw1".into(),
        ..VtepAgent::default()
    });
    m
}

#[test]
fn mirrors_bound_logical_switches_and_reports_the_rest() {
    let (r, m) = (database(), model());
    let mut d = desired(&r, "gw1", &m);
    let new = d.apply(&m);
    validate(&new).expect("the mirrored model is valid");
    let net = new.network("ls0").expect("ls0 became a network");
    assert_eq!((net.vni, net.vlan), (Some(5000), Some(100)));
    assert_eq!(new.port("p1").map(|p| p.trunk.clone()), Some(vec![100]));
    assert!(
        new.fdb.is_empty(),
        "remote MACs are programmed, not in the model"
    );
    let macs = d.remote_macs();
    let remote = Dest::Remote("203.0.113.2".parse().expect("ip"));
    let mac: MacAddr = "02:00:00:00:00:99".parse().expect("mac");
    assert_eq!(macs["ls0"].get(&mac), Some(&remote));
    let remotes = &new.vtep.as_ref().expect("vtep").remotes;
    assert_eq!(remotes.len(), 1, "the own locator is not a flood remote");
    assert!(new.network("ls1").is_none());
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    assert!(d.errors[0].contains("ls1") && d.errors[0].contains("tunnel_key"));
    assert_eq!(
        d.faulted,
        ["p2".to_string()].into(),
        "p2's binding is not instantiated"
    );
    let ops = port_faults(&r, "gw1", &d.faulted);
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(
        ops[0]["row"]["port_fault_status"],
        json!(["set", ["invalid_vlan_map"]])
    );
    assert!(
        port_faults(&r, "gw1", &Default::default()).is_empty(),
        "no fault, none set"
    );
    let c = d.counts();
    assert_eq!(
        (
            c.logical_switches,
            c.bindings,
            c.remote_macs,
            c.flood_remotes
        ),
        (1, 1, 1, 1)
    );

    // The same database again: the same model (nothing to publish).
    let again = desired(&r, "gw1", &new).apply(&new);
    assert_eq!(again, new);
    // Cleared, only the operator's objects stay.
    let mut cleared = new.clone();
    clear_owned(&mut cleared);
    assert!(cleared.networks.is_empty());
    assert!(cleared.port("p1").is_some_and(|p| p.trunk.is_empty()));
}

#[test]
fn never_takes_an_operators_objects() {
    let r = database();
    let mut m = model();
    // The operator's own network ls0, and p1 in it.
    m.networks
        .push(serde_json::from_value(json!({"name": "ls0", "vlan": 7})).expect("net"));
    m.ports[1].vlan = Some(7);
    let mut d = desired(&r, "gw1", &m);
    let new = d.apply(&m);
    assert_eq!(
        new.network("ls0").and_then(|n| n.vni),
        None,
        "the operator's ls0 stays"
    );
    assert_eq!(new.port("p1").and_then(|p| p.vlan), Some(7));
    assert!(
        d.errors.iter().any(|e| e.contains("physical port p1")),
        "{:?}",
        d.errors
    );
    assert!(d.faulted.contains("p1"));
}

#[test]
fn a_unit_the_model_refuses_is_left_out_and_the_rest_applies() {
    let mut r = database();
    // ls1 gets a key that an operator's network already uses.
    r.update(&json!({"Logical_Switch": {"ls1": {"new": {"tunnel_key": 7000}}}}))
        .expect("update");
    let mut m = model();
    m.networks
        .push(serde_json::from_value(json!({"name": "other", "vni": 7000})).expect("net"));
    let mut d = desired(&r, "gw1", &m);
    let new = d.apply(&m);
    assert!(new.network("ls0").is_some());
    assert!(new.network("ls1").is_none());
    assert!(
        d.errors
            .iter()
            .any(|e| e.starts_with("logical switch ls1:") && e.contains("VNI 7000")),
        "{:?}",
        d.errors
    );
}

#[test]
fn registers_once_and_writes_local_macs_at_its_locator() {
    let mut r = Replica::default();
    let ports = vec!["p1".to_string(), "p2".to_string()];
    let ip = "203.0.113.1".parse().ok();
    let ops = registration(&r, "gw1", ip, &ports);
    let tables: Vec<&str> = ops.iter().filter_map(|o| o["table"].as_str()).collect();
    assert_eq!(
        tables,
        [
            "Physical_Port",
            "Physical_Port",
            "Physical_Switch",
            "Global"
        ]
    );
    // Registered (as the database now says): nothing more to write.
    r = database();
    assert!(registration(&r, "gw1", ip, &ports[..1]).is_empty());
    let added = registration(&r, "gw1", ip, &["p3".to_string()]);
    assert_eq!(added.len(), 2, "p3's row and the switch's ports: {added:?}");

    let learned: BTreeSet<(String, String)> =
        [("02:00:00:00:00:01".to_string(), "ls0".to_string())].into();
    let bound: BTreeSet<String> = ["ls0".to_string()].into();
    let ops = local_macs(&r, "203.0.113.1".parse().expect("ip"), &learned, &bound);
    let what: Vec<(&str, &str)> = ops
        .iter()
        .map(|o| {
            (
                o["op"].as_str().unwrap_or(""),
                o["table"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        what,
        [
            ("insert", "Ucast_Macs_Local"),
            ("insert", "Physical_Locator_Set"),
            ("insert", "Mcast_Macs_Local")
        ]
    );
    assert_eq!(
        ops[0]["row"]["locator"],
        json!(["uuid", "loc1"]),
        "the existing own locator"
    );
    // Once the database has them, nothing to write; a MAC aged out is deleted.
    r.update(&json!({
        "Ucast_Macs_Local": {"l1": {"new": {"MAC": "02:00:00:00:00:01",
            "logical_switch": ["uuid", "ls0"], "locator": ["uuid", "loc1"]}}},
        "Physical_Locator_Set": {"set1": {"new": {"locators": ["uuid", "loc1"]}}},
        "Mcast_Macs_Local": {"f2": {"new": {"MAC": "unknown-dst",
            "logical_switch": ["uuid", "ls0"], "locator_set": ["uuid", "set1"]}}}
    }))
    .expect("update");
    let ip = "203.0.113.1".parse().expect("ip");
    assert_eq!(local_macs(&r, ip, &learned, &bound), Vec::<Value>::new());
    let ops = local_macs(&r, ip, &BTreeSet::new(), &bound);
    assert_eq!(ops.len(), 1);
    assert_eq!(
        (ops[0]["op"].as_str(), ops[0]["table"].as_str()),
        (Some("delete"), Some("Ucast_Macs_Local"))
    );
}

#[test]
fn a_remote_mac_row_changes_one_fdb_entry() {
    let mut r = database();
    let mirrored = [("ls0".to_string(), "ls0".to_string())].into();
    let before = vec![(REMOTE, "m1".to_string(), r.row(REMOTE, "m1").cloned())];
    // m1 moves to a new locator inserted by the same update.
    r.update(&json!({
        "Physical_Locator": {"loc3": {"new": {"dst_ip": "203.0.113.3",
            "encapsulation_type": "vxlan_over_ipv4"}}},
        "Ucast_Macs_Remote": {"m1": {"new": {"locator": ["uuid", "loc3"]}}}
    }))
    .expect("update");
    let changes = mac_changes(&before, &r, &mirrored, OWN).expect("readable rows");
    let mac: MacAddr = "02:00:00:00:00:99".parse().expect("mac");
    let to = Dest::Remote("203.0.113.3".parse().expect("ip"));
    assert_eq!(
        changes,
        vec![
            ("ls0".to_string(), mac, None),
            ("ls0".to_string(), mac, Some(to))
        ]
    );
    // Deleted: removed from the FDB; of a switch not mirrored: nothing.
    let before = vec![(REMOTE, "m1".to_string(), r.row(REMOTE, "m1").cloned())];
    r.update(&json!({"Ucast_Macs_Remote": {"m1": {"old": {}}}}))
        .expect("update");
    let removed = mac_changes(&before, &r, &mirrored, OWN).expect("rows");
    assert_eq!(removed, vec![("ls0".to_string(), mac, None)]);
    assert_eq!(
        mac_changes(&before, &r, &Default::default(), OWN),
        Some(vec![])
    );
}

const REMOTE: &str = "Ucast_Macs_Remote";
const LOCAL: &str = "Ucast_Macs_Local";
const OWN: Option<Ipv4Addr> = Some(Ipv4Addr::new(203, 0, 113, 1));

/// `database()` shared with gw2 (203.0.113.2, its local rows: a MAC it learned in ls0 and its
/// flood locator) and gw3 (203.0.113.3, which learned m1's MAC); with a local MAC of gw1's
/// own, and no remote flood list.
fn shared_database() -> Replica {
    let mut r = database();
    r.update(&json!({
        "Physical_Locator": {"loc3": {"new": {"dst_ip": "203.0.113.3",
            "encapsulation_type": "vxlan_over_ipv4"}}},
        "Physical_Locator_Set": {"set1": {"new": {"locators": ["uuid", "loc1"]}},
                                 "set2b": {"new": {"locators": ["uuid", "loc2"]}}},
        "Ucast_Macs_Local": {
            "g2": {"new": {"MAC": "02:00:00:00:00:22", "logical_switch": ["uuid", "ls0"],
                           "locator": ["uuid", "loc2"]}},
            "g2m1": {"new": {"MAC": "02:00:00:00:00:99", "logical_switch": ["uuid", "ls0"],
                             "locator": ["uuid", "loc3"]}},
            "own": {"new": {"MAC": "02:00:00:00:00:11", "logical_switch": ["uuid", "ls0"],
                            "locator": ["uuid", "loc1"]}}},
        "Mcast_Macs_Remote": {"f1": {"old": {}}},
        "Mcast_Macs_Local": {
            "fl2": {"new": {"MAC": "unknown-dst", "logical_switch": ["uuid", "ls0"],
                            "locator_set": ["uuid", "set2b"]}},
            "fl1": {"new": {"MAC": "unknown-dst", "logical_switch": ["uuid", "ls0"],
                           "locator_set": ["uuid", "set1"]}}}
    }))
    .expect("update");
    r
}

#[test]
fn another_switchs_local_rows_are_remote_to_this_one() {
    let r = shared_database();
    let m = model();
    let mut d = desired(&r, "gw1", &m);
    let mac = |s: &str| s.parse::<MacAddr>().expect("mac");
    let gw2 = Dest::Remote("203.0.113.2".parse().expect("ip"));
    // gw1's own local row is not a remote MAC; m1's MAC keeps its remote row (not gw3's).
    assert_eq!(
        d.remote_macs()["ls0"],
        [
            (mac("02:00:00:00:00:22"), gw2),
            (mac("02:00:00:00:00:99"), gw2)
        ]
        .into()
    );
    let out = d.apply(&m);
    let v = out.vtep.expect("vtep");
    let flood: Vec<&str> = v.remotes.iter().map(|r| r.ip.as_str()).collect();
    assert_eq!(
        flood,
        ["203.0.113.2"],
        "gw2's unknown-dst locator, not gw1's own"
    );
}

#[test]
fn another_switchs_local_mac_changes_one_fdb_entry() {
    let mut r = shared_database();
    let mirrored = [("ls0".to_string(), "ls0".to_string())].into();
    let mac: MacAddr = "02:00:00:00:00:33".parse().expect("mac");
    // gw2 learns a MAC, gw1 writes one of its own: the first only.
    let before = vec![
        (LOCAL, "g3".to_string(), None),
        (LOCAL, "own2".to_string(), None),
    ];
    r.update(&json!({"Ucast_Macs_Local": {
        "g3": {"new": {"MAC": "02:00:00:00:00:33", "logical_switch": ["uuid", "ls0"],
                       "locator": ["uuid", "loc2"]}},
        "own2": {"new": {"MAC": "02:00:00:00:00:44", "logical_switch": ["uuid", "ls0"],
                         "locator": ["uuid", "loc1"]}}}}))
        .expect("update");
    let gw2 = Dest::Remote("203.0.113.2".parse().expect("ip"));
    assert_eq!(
        mac_changes(&before, &r, &mirrored, OWN),
        Some(vec![("ls0".to_string(), mac, Some(gw2))])
    );
    // gw2 ages out m1's MAC, which the remote row m1 still names: the whole mirror decides.
    let before = vec![(LOCAL, "g2m1".to_string(), r.row(LOCAL, "g2m1").cloned())];
    r.update(&json!({"Ucast_Macs_Local": {"g2m1": {"old": {}}}}))
        .expect("update");
    assert_eq!(mac_changes(&before, &r, &mirrored, OWN), None);
}

#[test]
fn a_locator_of_another_encapsulation_is_reported_and_left_out() {
    let mut r = database();
    r.update(&json!({"Physical_Locator": {"loc2": {"new": {"encapsulation_type": "stt"}}}}))
        .expect("update");
    let m = model();
    let d = desired(&r, "gw1", &m);
    assert!(d.remote_macs()["ls0"].is_empty());
    assert!(
        d.errors
            .iter()
            .any(|e| e.contains("02:00:00:00:00:99") && e.contains("not supported")),
        "{:?}",
        d.errors
    );
}
