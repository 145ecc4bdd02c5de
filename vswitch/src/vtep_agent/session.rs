//! One connection to the database: monitor the tables, mirror every change into the model,
//! register the switch, and write the learned MACs back; it ends when the connection does.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::jsonrpc::Connection;
use super::mirror::{self, tunnel_ip, RowBefore, UCAST};
use super::replica::{monitor_requests, Replica};
use super::status::Status;
use super::target::Target;
use super::tls::TlsFiles;
use super::writes;
use super::DATABASE;
use crate::config::manager::ConfigManager;
use crate::forwarding::Dest;
use crate::model::VtepAgent;

/// How often the agent looks for work (a mirrored change, learned MACs).
const TICK: Duration = Duration::from_millis(50);
/// How often the learned MACs are compared with the database.
const LOCAL_MACS_EVERY: Duration = Duration::from_secs(1);
/// After a transaction's reply, time for its own update to arrive before the next write.
const SETTLE: Duration = Duration::from_millis(100);

/// A transaction waiting for its reply.
struct InFlight {
    id: u64,
    what: &'static str,
}

/// One connection's state.
struct Session<'a> {
    mgr: &'a ConfigManager,
    settings: &'a VtepAgent,
    status: &'a Status,
    /// The id of the monitor request, whose reply is the initial contents.
    monitor: u64,
    replica: Replica,
    /// The logical switches mirrored as networks: UUID to name.
    mirrored: HashMap<String, String>,
    /// The VTEP address when last mirrored: unicast MAC rows at it are this switch's own.
    own_ip: Option<Ipv4Addr>,
    /// Ports with a binding that could not be instantiated.
    faulted: BTreeSet<String>,
    /// The initial contents arrived.
    synced: bool,
    /// The replica changed in what the mirror reads.
    dirty: bool,
    in_flight: Option<InFlight>,
    settle: Instant,
    last_local: Option<Instant>,
    /// The database changed or answered since the writes were last worked out.
    recheck: bool,
}

pub async fn run(mgr: &ConfigManager, settings: &VtepAgent, status: &Status) -> Result<(), String> {
    let target = Target::parse(&settings.db)?;
    let tls = match (&settings.tls_key, &settings.tls_cert, &settings.tls_ca) {
        (Some(key), Some(cert), Some(ca)) => Some(TlsFiles { key, cert, ca }),
        _ => None,
    };
    let (mut conn, mut rx) = Connection::open(&target, tls).await?;
    let monitor = conn
        .request("monitor", json!([DATABASE, null, monitor_requests()]))
        .await?;
    let mut s = Session {
        mgr,
        settings,
        status,
        monitor,
        replica: Replica::default(),
        mirrored: HashMap::new(),
        own_ip: None,
        faulted: BTreeSet::new(),
        synced: false,
        dirty: false,
        in_flight: None,
        settle: Instant::now(),
        last_local: None,
        recheck: true,
    };
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            msg = rx.recv() => {
                let msg = msg.ok_or("the connection ended")??;
                s.message(&mut conn, msg).await?;
                // A change is mirrored at once, with whatever arrived along with it.
                if rx.is_empty() {
                    s.mirror_if_dirty();
                }
            }
            _ = tick.tick() => s.tick(&mut conn).await?,
        }
    }
}

impl Session<'_> {
    async fn message(&mut self, conn: &mut Connection, msg: Value) -> Result<(), String> {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        self.recheck |= msg.get("method").and_then(Value::as_str) != Some("echo");
        match msg.get("method").and_then(Value::as_str) {
            Some("echo") => conn.reply(id, msg["params"].clone()).await?,
            Some("update") => self.update(&msg["params"][1])?,
            Some(_) => {}
            None if id == json!(self.monitor) => {
                if let Some(e) = rpc_error(&msg) {
                    return Err(format!("monitor {DATABASE}: {e}"));
                }
                self.replica.update(&msg["result"])?;
                (self.synced, self.dirty) = (true, true);
                self.status.connected();
            }
            None => {
                if let Some(t) = self.in_flight.take_if(|t| id == json!(t.id)) {
                    match transaction_error(&msg) {
                        Some(e) => self.status.failed(format!("transaction ({}): {e}", t.what)),
                        None => self.status.transacted(t.what),
                    }
                    self.settle = Instant::now() + SETTLE;
                }
            }
        }
        Ok(())
    }

    /// An `update` notification: unicast MAC rows alone are programmed one by one (no model
    /// transaction); anything else the mirror reads marks the replica dirty.
    fn update(&mut self, updates: &Value) -> Result<(), String> {
        let change = change_of(&self.replica, updates, self.own_ip);
        self.replica.update(updates)?;
        let macs = match change {
            Change::None => return Ok(()),
            Change::MacRows(before) if !self.dirty => {
                mirror::mac_changes(&before, &self.replica, &self.mirrored, self.own_ip)
            }
            _ => None,
        };
        match macs {
            Some(changes) => {
                self.mgr.program_macs(&changes);
                self.status.remote_macs(self.mgr.programmed_len());
            }
            None => self.dirty = true,
        }
        Ok(())
    }

    fn mirror_if_dirty(&mut self) {
        if self.synced && self.dirty {
            self.dirty = false;
            (self.mirrored, self.faulted, self.own_ip) =
                mirror(self.mgr, &self.replica, self.settings, self.status);
        }
    }

    /// Mirrors what is pending, then sends the next write due, one transaction at a time.
    async fn tick(&mut self, conn: &mut Connection) -> Result<(), String> {
        self.mirror_if_dirty();
        if !self.synced || self.in_flight.is_some() || Instant::now() < self.settle {
            return Ok(());
        }
        let Some((ops, what)) = self.writes_due() else {
            return Ok(());
        };
        let mut params = vec![json!(DATABASE)];
        params.extend(ops);
        let id = conn.request("transact", Value::Array(params)).await?;
        self.in_flight = Some(InFlight { id, what });
        Ok(())
    }

    /// The next transaction to send: the registration, else (once a second) the local MACs.
    /// Worked out when the database changed or answered, else once a second (the model is
    /// copied for it: not on every tick).
    fn writes_due(&mut self) -> Option<(Vec<Value>, &'static str)> {
        let local_due = self
            .last_local
            .is_none_or(|t| t.elapsed() >= LOCAL_MACS_EVERY);
        if !std::mem::take(&mut self.recheck) && !local_due {
            return None;
        }
        let model = self.mgr.model().0;
        let ip = tunnel_ip(&model);
        let underlay = model.vtep.as_ref().map(|v| v.port.as_str());
        let ports: Vec<String> = model
            .ports
            .iter()
            .filter(|p| Some(p.name.as_str()) != underlay)
            .map(|p| p.name.clone())
            .collect();
        let ops = writes::registration(&self.replica, &self.settings.name, ip, &ports);
        if !ops.is_empty() {
            return Some((ops, "register the physical switch and its ports"));
        }
        let ops = writes::port_faults(&self.replica, &self.settings.name, &self.faulted);
        if !ops.is_empty() {
            return Some((ops, "port fault status"));
        }
        if !local_due {
            return None;
        }
        self.last_local = Some(Instant::now());
        let ip = ip?;
        let bound: BTreeSet<String> = model
            .vtep_agent
            .as_ref()
            .map(|a| a.owned.networks.iter().cloned().collect())
            .unwrap_or_default();
        let learned = learned_macs(self.mgr, &bound);
        self.status.local_macs(learned.len());
        let ops = writes::local_macs(&self.replica, ip, &learned, &bound);
        (!ops.is_empty()).then_some((ops, "local MACs"))
    }
}

/// An error object's `error` and `details`, as one line.
fn describe(e: &Value) -> String {
    let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match (text("error"), text("details")) {
        (error, details) if details.is_empty() => error,
        (error, details) => format!("{error}: {details}"),
    }
}

/// A reply's error, if it is one.
fn rpc_error(reply: &Value) -> Option<String> {
    let e = reply.get("error").filter(|e| !e.is_null())?;
    Some(match e.is_object() {
        true => describe(e),
        false => e.to_string(),
    })
}

/// The first error of a transaction's reply: the request's, or an operation's.
fn transaction_error(reply: &Value) -> Option<String> {
    rpc_error(reply).or_else(|| {
        reply["result"]
            .as_array()?
            .iter()
            .find(|r| r.get("error").is_some_and(|e| !e.is_null()))
            .map(describe)
    })
}

/// Mirrors the replica into the model in one transaction, and programs the remote MACs;
/// returns the logical switches mirrored (UUID to network), the ports with a binding that
/// could not be instantiated, and the VTEP address.
fn mirror(
    mgr: &ConfigManager,
    replica: &Replica,
    settings: &VtepAgent,
    status: &Status,
) -> (HashMap<String, String>, BTreeSet<String>, Option<Ipv4Addr>) {
    let mut outcome = None;
    let mut own_ip = None;
    let applied = mgr.apply(|m| {
        // Deleted or changed meanwhile: the supervisor stops this session.
        if m.vtep_agent.as_ref().map(|a| &a.name) != Some(&settings.name) {
            return Ok(());
        }
        own_ip = tunnel_ip(m);
        let mut d = mirror::desired(replica, &settings.name, m);
        *m = d.apply(m);
        outcome = Some(d);
        Ok(())
    });
    let Some(d) = outcome else {
        return Default::default();
    };
    let mut errors = d.errors.clone();
    match applied {
        Ok(_) => mgr.replace_programmed(d.remote_macs()),
        Err(e) => errors.push(format!("applying the database: {e}")),
    }
    status.mirrored(d.counts(), errors);
    (d.mirrored(), d.faulted, own_ip)
}

/// The tables the mirror reads rows of (locators and their sets only through them; the
/// local MAC tables for the rows other switches of the database wrote).
const MIRRORED: &[&str] = &[
    "Physical_Switch",
    "Physical_Port",
    "Logical_Switch",
    "Ucast_Macs_Remote",
    "Mcast_Macs_Remote",
    "Ucast_Macs_Local",
    "Mcast_Macs_Local",
];

/// What an update asks of the mirror.
enum Change {
    /// Nothing it reads (locators no row names yet).
    None,
    /// Unicast MAC rows alone: these, as they were before it.
    MacRows(Vec<RowBefore>),
    /// Anything else: mirror everything again.
    All,
}

fn change_of(replica: &Replica, updates: &Value, own_ip: Option<Ipv4Addr>) -> Change {
    let Some(tables) = updates.as_object() else {
        return Change::All;
    };
    let read: Vec<&String> = tables
        .keys()
        .filter(|t| MIRRORED.contains(&t.as_str()))
        .collect();
    if read.is_empty() {
        return Change::None;
    }
    if !read.iter().all(|t| UCAST.contains(&t.as_str())) {
        return Change::All;
    }
    let mut before = Vec::new();
    for table in UCAST {
        let rows = tables.get(table).and_then(Value::as_object).into_iter();
        for (u, _) in rows.flatten() {
            let old = replica.row(table, u);
            let old = old.filter(|r| !mirror::is_own(replica, r, own_ip)).cloned();
            before.push((table, u.clone(), old));
        }
    }
    Change::MacRows(before)
}

/// The (MAC, network) pairs learned on local ports in the networks of `bound` (only the tables
/// that learned anything are read).
fn learned_macs(mgr: &ConfigManager, bound: &BTreeSet<String>) -> BTreeSet<(String, String)> {
    let mut learned = BTreeSet::new();
    for (net, table) in mgr.fdb_tables() {
        if !bound.contains(&net) || table.len() == table.statics() {
            continue;
        }
        for e in table.entries() {
            if !e.is_static && matches!(e.dest, Dest::Port(_)) {
                learned.insert((e.mac.to_string(), net.clone()));
            }
        }
    }
    learned
}
