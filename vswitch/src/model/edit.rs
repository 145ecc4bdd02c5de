//! The edits `vsctl` verbs make to a model: add with `exist_ok`, delete with `missing_ok`.

use super::error::{ConfigError, Result};
use super::{Model, Network, Port};

/// Pushes `item` unless one with its name exists; with `exist_ok` an identical one is fine.
pub(crate) fn add_named<T: PartialEq>(
    list: &mut Vec<T>,
    item: T,
    name: impl Fn(&T) -> &str,
    what: &str,
    exist_ok: bool,
) -> Result<()> {
    if let Some(existing) = list.iter().find(|x| name(x) == name(&item)) {
        if exist_ok && *existing == item {
            return Ok(());
        }
        let other = if exist_ok { " with other settings" } else { "" };
        return Err(ConfigError::AlreadyExists(format!(
            "{what} {}: already exists{other}",
            name(&item)
        )));
    }
    list.push(item);
    Ok(())
}

/// Removes the item called `name`; false when there was none and `missing_ok` allows it.
pub(crate) fn remove_named<T>(
    list: &mut Vec<T>,
    name: &str,
    item_name: impl Fn(&T) -> &str,
    what: &str,
    missing_ok: bool,
) -> Result<bool> {
    match list.iter().position(|x| item_name(x) == name) {
        Some(i) => {
            list.remove(i);
            Ok(true)
        }
        None if missing_ok => Ok(false),
        None => Err(ConfigError::NotFound(format!(
            "{what} {name}: does not exist"
        ))),
    }
}

impl Model {
    pub fn add_network(&mut self, net: Network, exist_ok: bool) -> Result<()> {
        add_named(&mut self.networks, net, |n| &n.name, "network", exist_ok)
    }

    /// Deletes a network no port uses, with its static MACs.
    pub fn delete_network(&mut self, name: &str, missing_ok: bool) -> Result<()> {
        let users: Vec<&str> = self
            .ports
            .iter()
            .filter(|p| self.port_networks(p).iter().any(|(n, _)| n.name == name))
            .map(|p| p.name.as_str())
            .collect();
        if !users.is_empty() {
            return Err(ConfigError::Precondition(format!(
                "network {name}: ports {} still use it; delete or move them first",
                users.join(", ")
            )));
        }
        let policies: Vec<&str> = self
            .policies
            .iter()
            .filter(|p| p.from == name || p.to == name)
            .map(|p| p.name.as_str())
            .collect();
        if !policies.is_empty() {
            return Err(ConfigError::Precondition(format!(
                "network {name}: policies {} name it; delete them first",
                policies.join(", ")
            )));
        }
        if remove_named(&mut self.networks, name, |n| &n.name, "network", missing_ok)? {
            self.fdb.retain(|e| e.network != name);
        }
        Ok(())
    }

    pub fn add_port(&mut self, port: Port, exist_ok: bool) -> Result<()> {
        add_named(&mut self.ports, port, |p| &p.name, "port", exist_ok)
    }

    /// Deletes a port with its static MACs.
    pub fn delete_port(&mut self, name: &str, missing_ok: bool) -> Result<()> {
        if remove_named(&mut self.ports, name, |p| &p.name, "port", missing_ok)? {
            self.fdb.retain(|e| e.port != name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_delete_honour_the_idempotency_flags() {
        let mut m = Model::default();
        let net = Network {
            name: "red".into(),
            ..Default::default()
        };
        m.add_network(net.clone(), false).unwrap();
        assert!(matches!(
            m.add_network(net.clone(), false),
            Err(ConfigError::AlreadyExists(_))
        ));
        m.add_network(net.clone(), true).unwrap();
        let other = Network {
            vlan: Some(3),
            ..net
        };
        let e = m.add_network(other, true).unwrap_err();
        assert!(e.to_string().contains("with other settings"), "{e}");
        assert!(matches!(
            m.delete_network("blue", false),
            Err(ConfigError::NotFound(_))
        ));
        m.delete_network("blue", true).unwrap();
        m.delete_network("red", false).unwrap();
        assert!(m.networks.is_empty());
    }
}
