use std::sync::Arc;

use parking_lot::Mutex;

use super::*;
use crate::datapath::Snapshot;

/// Hands out port ids like DPDK (lowest free); refuses any iface named "broken".
#[derive(Default)]
struct FakeDpdk {
    used: Vec<bool>,
    log: Vec<String>,
}

struct Fake(Arc<Mutex<FakeDpdk>>);

impl PortBackend for Fake {
    fn create(&mut self, port: &Port) -> std::result::Result<PortDevice, DeviceError> {
        let mut d = self.0.lock();
        if port.iface.as_deref() == Some("broken") {
            return Err(DeviceError {
                port: port.name.clone(),
                reason: "no such interface".into(),
            });
        }
        let id = d.used.iter().position(|u| !u).unwrap_or(d.used.len());
        if id == d.used.len() {
            d.used.push(true);
        } else {
            d.used[id] = true;
        }
        d.log.push(format!("+{}={id}", port.name));
        Ok(PortDevice {
            id: id as u16,
            rx_queues: port.queues(),
            tx_queues: 1,
        })
    }

    fn destroy(&mut self, name: &str, dev: PortDevice) {
        let mut d = self.0.lock();
        d.used[usize::from(dev.id)] = false;
        d.log.push(format!("-{name}={}", dev.id));
    }

    fn set_mtu(&mut self, _port: &Port, _dev: PortDevice) -> std::result::Result<(), DeviceError> {
        Ok(())
    }
}

fn manager() -> (ConfigManager, Arc<Mutex<FakeDpdk>>) {
    let fake = Arc::new(Mutex::new(FakeDpdk::default()));
    let cell = Arc::new(SnapshotCell::new(Snapshot::empty(0)));
    (
        ConfigManager::new(Box::new(Fake(fake.clone())), cell, Vec::new(), None),
        fake,
    )
}

fn model(json: &str) -> Model {
    Model::parse("json", json).unwrap()
}

#[test]
fn a_failed_port_leaves_model_and_runtime_unchanged() {
    let (m, fake) = manager();
    m.replace(model(
        r#"{"networks":[{"name":"red"}],"ports":[{"name":"a","type":"tap","iface":"a","network":"red"}]}"#,
    ))
    .unwrap();
    let (before, gen) = m.model();
    let err = m
        .apply(|md| {
            md.ports.push(Port {
                name: "b".into(),
                ..md.ports[0].clone()
            });
            md.ports[1].iface = Some("b".into());
            md.ports.push(Port {
                name: "c".into(),
                iface: Some("broken".into()),
                ..md.ports[0].clone()
            });
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("port c"), "{err}");
    assert_eq!(m.model(), (before, gen));
    assert_eq!(m.devices().len(), 1);
    assert_eq!(fake.lock().log, vec!["+a=0", "+b=1", "-b=1"]);
}

#[test]
fn unchanged_ports_are_not_restarted_and_snapshots_follow() {
    let (m, fake) = manager();
    m.replace(model(
        r#"{"networks":[{"name":"red"},{"name":"blue","vlan":7}],
            "ports":[{"name":"a","type":"tap","iface":"a","network":"red"}]}"#,
    ))
    .unwrap();
    let g1 = m.model().1;
    // Moving the port to another network is a snapshot change only.
    m.apply(|md| {
        md.ports[0].network = None;
        md.ports[0].vlan = Some(7);
        Ok(())
    })
    .unwrap();
    assert_eq!(fake.lock().log, vec!["+a=0"]);
    let snap = m.snapshot_cell().load();
    assert!(snap.generation > g1);
    assert_eq!(snap.topology.networks[1].ports, vec![0]);
    assert!(snap.topology.networks[0].ports.is_empty());
    // A queue change re-creates the device.
    m.apply(|md| {
        md.ports[0].queues = Some(2);
        Ok(())
    })
    .unwrap();
    assert_eq!(fake.lock().log, vec!["+a=0", "-a=0", "+a=0"]);
    assert_eq!(m.snapshot_cell().load().workers.len(), 0);
}

#[test]
fn removing_a_port_flushes_its_macs() {
    let (m, _) = manager();
    m.replace(model(
        r#"{"networks":[{"name":"red"}],
            "ports":[{"name":"a","type":"tap","iface":"a","network":"red"},
                     {"name":"b","type":"tap","iface":"b","network":"red"}],
            "fdb":[{"network":"red","mac":"02:00:00:00:00:09","port":"b"}]}"#,
    ))
    .unwrap();
    let table = m.fdb_tables()[0].1.clone();
    assert_eq!(table.port_of("02:00:00:00:00:09".parse().unwrap()), Some(1));
    table.learn("02:00:00:00:00:01".parse().unwrap(), 0, 0);
    table.learn("02:00:00:00:00:02".parse().unwrap(), 1, 0);
    let err = m
        .apply(|md| {
            md.ports.retain(|p| p.name != "b");
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("port b does not exist"), "{err}");
    m.apply(|md| {
        md.ports.retain(|p| p.name != "b");
        md.fdb.clear();
        Ok(())
    })
    .unwrap();
    assert_eq!(table.port_of("02:00:00:00:00:02".parse().unwrap()), None);
    assert_eq!(table.port_of("02:00:00:00:00:09".parse().unwrap()), None);
    assert_eq!(table.port_of("02:00:00:00:00:01".parse().unwrap()), Some(0));
}

#[test]
fn persisted_model_is_restored_without_broken_ports() {
    let dir = std::env::temp_dir().join(format!("vswitch-mgr-{}", std::process::id()));
    let store = StateDir::open(&dir).unwrap();
    store
        .save(&model(
            r#"{"networks":[{"name":"red"}],
                "ports":[{"name":"a","type":"tap","iface":"a","network":"red"},
                         {"name":"z","type":"tap","iface":"broken","network":"red"}]}"#,
        ))
        .unwrap();
    let fake = Arc::new(Mutex::new(FakeDpdk::default()));
    let cell = Arc::new(SnapshotCell::new(Snapshot::empty(0)));
    let m = ConfigManager::new(Box::new(Fake(fake)), cell, Vec::new(), Some(store));
    m.restore().unwrap();
    let (md, _) = m.model();
    assert_eq!(md.ports.len(), 1);
    assert_eq!(md.ports[0].name, "a");
    // The port that failed stays saved for the next start.
    let saved = StateDir::open(&dir).unwrap().load().unwrap();
    assert_eq!(saved.ports.len(), 2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn static_remote_macs_are_installed_and_a_removed_remote_forgets_its_macs() {
    use crate::forwarding::Dest;
    use crate::vxlan::api;
    let (m, _) = manager();
    m.replace(model(
        r#"{"networks":[{"name":"blue","vni":5000}],
            "ports":[{"name":"up","type":"tap","iface":"up"},
                     {"name":"a","type":"tap","iface":"a","network":"blue"}],
            "vtep":{"local_ip":"203.0.113.1/24","port":"up",
                    "remotes":[{"ip":"203.0.113.2","vni":5000}]},
            "fdb":[{"network":"blue","mac":"02:00:00:00:00:09","remote":"203.0.113.9"}]}"#,
    ))
    .unwrap();
    let table = m.fdb_tables()[0].1.clone();
    let r2 = Dest::Remote("203.0.113.2".parse().unwrap());
    let r9 = Dest::Remote("203.0.113.9".parse().unwrap());
    assert_eq!(table.lookup("02:00:00:00:00:09".parse().unwrap()), Some(r9));
    table.learn_dest("02:00:00:00:00:01".parse().unwrap(), r2, 0);
    let err = api::delete_remote(&m, "203.0.113.7", 5000, false).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    api::delete_remote(&m, "203.0.113.2", 5000, false).unwrap();
    assert_eq!(table.lookup("02:00:00:00:00:01".parse().unwrap()), None);
    assert_eq!(table.lookup("02:00:00:00:00:09".parse().unwrap()), Some(r9));
    assert!(m.model().0.vtep.unwrap().remotes.is_empty());
    // The underlay port cannot go while the VTEP uses it.
    let err = m
        .apply(|md| {
            md.ports.retain(|p| p.name != "up");
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("vtep del"), "{err}");
}

#[test]
fn programmed_macs_stay_across_model_changes_and_go_with_their_network() {
    let (m, _) = manager();
    m.replace(model(
        r#"{"networks":[{"name":"red","vni":5000},{"name":"blue"}]}"#,
    ))
    .unwrap();
    let mac: MacAddr = "02:00:00:00:00:99".parse().unwrap();
    let remote = Dest::Remote("203.0.113.2".parse().unwrap());
    let fdb = |net: &str| {
        m.fdb_tables()
            .into_iter()
            .find(|(n, _)| n == net)
            .unwrap()
            .1
    };
    let changes = [
        ("red".to_string(), mac, Some(remote)),
        ("nowhere".to_string(), mac, Some(remote)),
    ];
    assert_eq!(
        m.program_macs(&changes),
        1,
        "a network that does not exist is skipped"
    );
    assert_eq!(fdb("red").static_dest(mac), Some(remote));
    // Another change of the model keeps it (its static entries are re-made from the model).
    m.apply(|md| {
        md.networks[1].isolated = true;
        Ok(())
    })
    .unwrap();
    assert_eq!(fdb("red").static_dest(mac), Some(remote));
    assert!(m.model().0.fdb.is_empty(), "not a model object");
    // A full replacement without it removes it; the network's removal forgets the rest.
    m.replace_programmed(Default::default());
    assert_eq!(fdb("red").static_dest(mac), None);
    m.program_macs(&changes[..1]);
    m.apply(|md| {
        md.networks.remove(0);
        Ok(())
    })
    .unwrap();
    assert_eq!(m.programmed_len(), 0);
}
