//! The agent's control handlers: set, show and remove it (the gRPC service calls these, then
//! the supervisor to match).

use super::mirror::clear_owned;
use super::target::Target;
use crate::config::manager::ConfigManager;
use crate::model::error::{ConfigError, Result};
use crate::model::VtepAgent;

/// The agent's settings, as `vsctl vtep agent set` gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentSettings {
    pub db: String,
    pub name: String,
    pub tls_key: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_ca: Option<String>,
}

/// Sets the agent (what it mirrored stays its own when the database and name stay).
pub fn set(mgr: &ConfigManager, s: AgentSettings) -> Result<()> {
    let target = Target::parse(&s.db).map_err(ConfigError::Invalid)?;
    if s.name.is_empty() {
        return Err(ConfigError::Invalid(
            "vtep agent: --name PHYSICAL_SWITCH is empty; give the name this switch registers as"
                .into(),
        ));
    }
    if matches!(target, Target::Ssl(_)) {
        let missing = [
            ("--tls-key", &s.tls_key),
            ("--tls-cert", &s.tls_cert),
            ("--tls-ca", &s.tls_ca),
        ]
        .iter()
        .filter(|(_, f)| f.is_none())
        .map(|(n, _)| *n)
        .collect::<Vec<_>>();
        if !missing.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "vtep agent: {} needs {}",
                s.db,
                missing.join(", ")
            )));
        }
    }
    mgr.apply(|m| {
        let same_db = m
            .vtep_agent
            .as_ref()
            .is_some_and(|a| a.db == s.db && a.name == s.name);
        if !same_db {
            clear_owned(m);
        }
        let owned = m.vtep_agent.take().map(|a| a.owned).unwrap_or_default();
        m.vtep_agent = Some(VtepAgent {
            db: s.db,
            name: s.name,
            tls_key: s.tls_key,
            tls_cert: s.tls_cert,
            tls_ca: s.tls_ca,
            owned,
        });
        Ok(())
    })
    .map(|_| ())
}

/// Removes the agent and what it mirrored.
pub fn delete(mgr: &ConfigManager, missing_ok: bool) -> Result<()> {
    mgr.apply(|m| {
        if m.vtep_agent.is_none() {
            return match missing_ok {
                true => Ok(()),
                false => Err(ConfigError::NotFound(
                    "vtep agent: none is set; set one with `vsctl vtep agent set --db TARGET --name NAME`"
                        .into(),
                )),
            };
        }
        clear_owned(m);
        m.vtep_agent = None;
        Ok(())
    })
    .map(|_| ())
}

/// The agent's settings, if one is set.
pub fn settings(mgr: &ConfigManager) -> Result<VtepAgent> {
    mgr.model().0.vtep_agent.ok_or_else(|| {
        ConfigError::NotFound(
            "vtep agent: none is set; set one with `vsctl vtep agent set --db TARGET --name NAME`"
                .into(),
        )
    })
}
