//! The agent's copy of the database: the rows of the tables it monitors, by UUID, kept up to
//! date from the monitor's initial contents and its `update` notifications.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::datum::{set, uuid};

pub type Row = Map<String, Value>;

/// The tables and columns the agent monitors.
pub const MONITORED: &[(&str, &[&str])] = &[
    ("Global", &["switches"]),
    ("Physical_Switch", &["name", "ports", "tunnel_ips"]),
    (
        "Physical_Port",
        &["name", "vlan_bindings", "port_fault_status"],
    ),
    ("Logical_Switch", &["name", "tunnel_key"]),
    ("Physical_Locator", &["encapsulation_type", "dst_ip"]),
    ("Physical_Locator_Set", &["locators"]),
    ("Ucast_Macs_Remote", &["MAC", "logical_switch", "locator"]),
    (
        "Mcast_Macs_Remote",
        &["MAC", "logical_switch", "locator_set"],
    ),
    ("Ucast_Macs_Local", &["MAC", "logical_switch", "locator"]),
    (
        "Mcast_Macs_Local",
        &["MAC", "logical_switch", "locator_set"],
    ),
];

/// The monitor requests of `MONITORED`, for the `monitor` method's third parameter.
pub fn monitor_requests() -> Value {
    let tables: Map<String, Value> = MONITORED
        .iter()
        .map(|(t, cols)| (t.to_string(), json!({ "columns": cols })))
        .collect();
    Value::Object(tables)
}

#[derive(Debug, Default)]
pub struct Replica {
    tables: HashMap<String, HashMap<String, Row>>,
}

impl Replica {
    /// Applies `<table-updates>` (RFC 7047 4.1.6): a row with `new` is inserted or changed (the
    /// columns given replace the old ones), a row without it is deleted.
    pub fn update(&mut self, updates: &Value) -> Result<(), String> {
        let tables = updates
            .as_object()
            .ok_or("an update that is not an object of tables")?;
        for (table, rows) in tables {
            let rows = rows
                .as_object()
                .ok_or_else(|| format!("table {table}: rows that are not an object"))?;
            let mine = self.tables.entry(table.clone()).or_default();
            for (uuid, change) in rows {
                match change.get("new").and_then(Value::as_object) {
                    Some(new) => {
                        let row = mine.entry(uuid.clone()).or_default();
                        for (col, v) in new {
                            row.insert(col.clone(), v.clone());
                        }
                    }
                    None => {
                        mine.remove(uuid);
                    }
                }
            }
        }
        Ok(())
    }

    pub fn rows(&self, table: &str) -> impl Iterator<Item = (&str, &Row)> {
        self.tables
            .get(table)
            .into_iter()
            .flat_map(|rows| rows.iter().map(|(u, r)| (u.as_str(), r)))
    }

    pub fn row(&self, table: &str, uuid: &str) -> Option<&Row> {
        self.tables.get(table)?.get(uuid)
    }

    /// The `Physical_Port` rows of switch row `ps`, with their UUIDs.
    pub fn switch_ports<'r>(&'r self, ps: &'r Row) -> impl Iterator<Item = (&'r str, &'r Row)> {
        members(ps, "ports")
            .into_iter()
            .filter_map(uuid)
            .filter_map(|u| Some((u, self.row("Physical_Port", u)?)))
    }

    /// The locators (references) in the locator set that multicast MAC row `mac_row` names.
    pub fn locators_of<'r>(&'r self, mac_row: &'r Row) -> Vec<&'r Value> {
        mac_row
            .get("locator_set")
            .and_then(uuid)
            .and_then(|s| self.row("Physical_Locator_Set", s))
            .map_or(vec![], |s| members(s, "locators"))
    }

    /// The first row of `table` whose string column `col` is `value`.
    pub fn find(&self, table: &str, col: &str, value: &str) -> Option<(&str, &Row)> {
        self.rows(table)
            .find(|(_, r)| r.get(col).and_then(Value::as_str) == Some(value))
    }
}

/// The only encapsulation this switch speaks.
pub const VXLAN: &str = "vxlan_over_ipv4";
/// The MAC of a multicast MAC row that names a logical switch's flood list.
pub const UNKNOWN_DST: &str = "unknown-dst";

/// A string column of `row` ("" when missing).
pub fn text<'r>(row: &'r Row, col: &str) -> &'r str {
    row.get(col).and_then(Value::as_str).unwrap_or("")
}

/// The members of set column `col` of `row` (none when the column is missing).
pub fn members<'r>(row: &'r Row, col: &str) -> Vec<&'r Value> {
    row.get(col).map(set).unwrap_or_default()
}

/// The strings of set column `col` of `row`.
pub fn strings<'r>(row: &'r Row, col: &str) -> Vec<&'r str> {
    members(row, col)
        .into_iter()
        .filter_map(Value::as_str)
        .collect()
}

/// A `Physical_Locator`'s encapsulation ("" when unset).
pub fn encapsulation(locator: &Row) -> &str {
    strings(locator, "encapsulation_type")
        .first()
        .copied()
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_changes_and_deletes_rows() {
        let mut r = Replica::default();
        r.update(
            &json!({"Logical_Switch": {"u1": {"new": {"name": "ls0", "tunnel_key": ["set", []]}}}}),
        )
        .expect("update");
        r.update(&json!({"Logical_Switch": {"u1": {"old": {"tunnel_key": ["set", []]}, "new": {"tunnel_key": 5000}}}}))
            .expect("update");
        let row = r.row("Logical_Switch", "u1").expect("row");
        assert_eq!(
            (text(row, "name"), row["tunnel_key"].as_i64()),
            ("ls0", Some(5000))
        );
        assert_eq!(
            r.find("Logical_Switch", "name", "ls0").map(|(u, _)| u),
            Some("u1")
        );
        r.update(&json!({"Logical_Switch": {"u1": {"old": {"name": "ls0"}}}}))
            .expect("update");
        assert_eq!(r.rows("Logical_Switch").count(), 0);
        assert!(r.update(&json!([1])).is_err());
    }
}
