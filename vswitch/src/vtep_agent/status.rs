//! What `vsctl vtep agent show` reports: the connection, the last transaction, how much of the
//! database is mirrored, and the errors (each logged once when it appears).

use std::collections::BTreeSet;

use parking_lot::Mutex;

use super::mirror::Counts;
use crate::pipeline::clock;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentView {
    /// connecting, connected (synchronised), disconnected.
    pub state: &'static str,
    pub state_secs: u32,
    pub connects: u64,
    pub transactions: u64,
    /// What the last transaction wrote, and how long ago.
    pub last_transaction: Option<(String, u32)>,
    pub counts: Counts,
    pub local_macs: usize,
    /// The objects the mirror left out, and the last connection error.
    pub errors: Vec<String>,
    /// Errors seen since the agent started (each distinct one counted once per appearance).
    pub error_count: u64,
}

#[derive(Debug, Default)]
struct Inner {
    view: AgentView,
    since: u32,
    last_transaction_at: u32,
    object_errors: BTreeSet<String>,
    connection_error: Option<String>,
}

#[derive(Debug, Default)]
pub struct Status(Mutex<Inner>);

impl Status {
    fn state(&self, state: &'static str) {
        let mut s = self.0.lock();
        if s.view.state != state {
            s.view.state = state;
            s.since = clock::now_secs();
        }
    }

    pub fn connecting(&self) {
        self.state("connecting");
    }

    pub fn connected(&self) {
        self.state("connected");
        let mut s = self.0.lock();
        s.view.connects += 1;
        s.connection_error = None;
    }

    pub fn disconnected(&self, db: &str, why: &str) {
        self.state("disconnected");
        let mut s = self.0.lock();
        if s.connection_error.as_deref() != Some(why) {
            tracing::warn!(
                "vtep agent: database {db}: {why}; retrying, forwarding on the last state"
            );
            s.view.error_count += 1;
        }
        s.connection_error = Some(why.to_string());
    }

    /// A transaction failed: logged and counted like a connection error.
    pub fn failed(&self, why: String) {
        tracing::warn!("vtep agent: {why}");
        let mut s = self.0.lock();
        s.view.error_count += 1;
        s.connection_error = Some(why);
    }

    pub fn transacted(&self, what: &str) {
        let mut s = self.0.lock();
        s.view.transactions += 1;
        s.view.last_transaction = Some((what.to_string(), 0));
        s.last_transaction_at = clock::now_secs();
    }

    /// The mirror's result: its counts, and the objects it left out (new ones logged).
    pub fn mirrored(&self, counts: Counts, errors: Vec<String>) {
        let mut s = self.0.lock();
        s.view.counts = counts;
        let now: BTreeSet<String> = errors.into_iter().collect();
        for e in now.difference(&s.object_errors) {
            tracing::warn!("vtep agent: {e}");
        }
        s.view.error_count += now.difference(&s.object_errors).count() as u64;
        s.object_errors = now;
    }

    /// The remote MACs programmed, after a change of only them.
    pub fn remote_macs(&self, n: usize) {
        self.0.lock().view.counts.remote_macs = n;
    }

    pub fn local_macs(&self, n: usize) {
        self.0.lock().view.local_macs = n;
    }

    pub fn view(&self) -> AgentView {
        let s = self.0.lock();
        let now = clock::now_secs();
        let mut v = s.view.clone();
        v.state_secs = now.saturating_sub(s.since);
        if let Some((_, age)) = v.last_transaction.as_mut() {
            *age = now.saturating_sub(s.last_transaction_at);
        }
        v.errors = s.object_errors.iter().cloned().collect();
        v.errors.extend(s.connection_error.clone());
        v
    }
}
