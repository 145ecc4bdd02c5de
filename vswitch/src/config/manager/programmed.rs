//! Static MACs a controller programs beside the model (the vtep agent's remote MACs): in the
//! FDB like the model's static entries and kept across model changes while their network
//! exists, but never persisted nor validated as model objects, so that one MAC costs an FDB
//! write instead of a whole-model transaction. Their source programs them again after a
//! restart.

use std::collections::HashMap;

use super::{ConfigManager, State};
use crate::forwarding::Dest;
use crate::packet::MacAddr;
use crate::pipeline::clock;

/// Programmed MACs by network.
pub type Programmed = HashMap<String, HashMap<MacAddr, Dest>>;

/// One change: `Some(dest)` adds or moves the MAC, `None` removes it.
pub type MacChange = (String, MacAddr, Option<Dest>);

impl ConfigManager {
    /// Applies `changes` to the programmed MACs and their FDB entries; a change for a network
    /// that does not exist is skipped. Returns how many applied.
    pub fn program_macs(&self, changes: &[MacChange]) -> usize {
        let mut st = self.state.lock();
        let State {
            learned,
            programmed,
            ..
        } = &mut *st;
        let now = clock::now_secs();
        let mut applied = 0;
        // Changes come grouped by network (a resynchronisation's hundred thousand): the
        // network's table and map are looked up once per group.
        for group in changes.chunk_by(|a, b| a.0 == b.0) {
            let network = &group[0].0;
            let Some(table) = learned.fdbs.get(network) else {
                continue;
            };
            let macs = programmed.entry(network.clone()).or_default();
            for (_, mac, dest) in group {
                match dest {
                    Some(dest) => {
                        if let Err(e) = table.add_static(*mac, *dest, now) {
                            tracing::error!("network {network}: programmed MAC {mac}: {e}");
                            continue;
                        }
                        macs.insert(*mac, *dest);
                    }
                    None => {
                        if macs.remove(mac).is_some() {
                            table.remove(*mac);
                        }
                    }
                }
                applied += 1;
            }
        }
        applied
    }

    /// Makes the programmed MACs exactly `all` (a controller's full resynchronisation).
    pub fn replace_programmed(&self, mut all: Programmed) {
        let mut changes: Vec<MacChange> = Vec::new();
        {
            let st = self.state.lock();
            for (network, macs) in &st.programmed {
                let wanted = all.get(network);
                for mac in macs.keys() {
                    if wanted.is_none_or(|w| !w.contains_key(mac)) {
                        changes.push((network.clone(), *mac, None));
                    }
                }
            }
            for (network, macs) in all.iter_mut() {
                let have = st.programmed.get(network);
                macs.retain(|mac, dest| have.and_then(|h| h.get(mac)) != Some(dest));
            }
        }
        for (network, macs) in all {
            changes.extend(macs.into_iter().map(|(m, d)| (network.clone(), m, Some(d))));
        }
        self.program_macs(&changes);
    }

    /// How many MACs are programmed.
    pub fn programmed_len(&self) -> usize {
        self.state
            .lock()
            .programmed
            .values()
            .map(HashMap::len)
            .sum()
    }
}

/// Forgets the programmed MACs of networks the model no longer has (their tables are gone).
pub(super) fn keep_existing(st: &mut State) {
    let tables = &st.learned.fdbs;
    st.programmed
        .retain(|network, _| tables.get(network).is_some());
}
