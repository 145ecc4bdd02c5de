//! OVSDB values as JSON (RFC 7047 5.1): atoms, `["uuid", U]`, `["set", [...]]` (or one atom
//! for a set of one), `["map", [[K, V], ...]]`; and the building blocks of operations.

use serde_json::{json, Value};

/// The UUID of a `["uuid", U]` reference.
pub fn uuid(v: &Value) -> Option<&str> {
    match v.as_array()?.as_slice() {
        [tag, u] if tag == "uuid" => u.as_str(),
        _ => None,
    }
}

/// The members of a set: `["set", [...]]`, or one atom standing for a set of one.
pub fn set(v: &Value) -> Vec<&Value> {
    match v.as_array().map(Vec::as_slice) {
        Some([tag, members]) if tag == "set" => {
            members.as_array().map_or(vec![], |m| m.iter().collect())
        }
        _ => vec![v],
    }
}

/// The pairs of a `["map", [[K, V], ...]]`.
pub fn map(v: &Value) -> Vec<(&Value, &Value)> {
    let Some([tag, pairs]) = v.as_array().map(Vec::as_slice) else {
        return vec![];
    };
    if tag != "map" {
        return vec![];
    }
    pairs.as_array().map_or(vec![], |p| {
        p.iter()
            .filter_map(|kv| match kv.as_array()?.as_slice() {
                [k, v] => Some((k, v)),
                _ => None,
            })
            .collect()
    })
}

/// An optional integer column (a set of at most one).
pub fn optional_int(v: &Value) -> Option<i64> {
    set(v).first().and_then(|x| x.as_i64())
}

/// `["uuid", U]` for a row that exists, `["named-uuid", N]` for one the same transaction
/// inserts.
pub fn uuid_ref(u: &str) -> Value {
    json!(["uuid", u])
}

pub fn named_ref(n: &str) -> Value {
    json!(["named-uuid", n])
}

/// A set of values.
pub fn set_of(members: Vec<Value>) -> Value {
    json!(["set", members])
}

/// The `where` clause selecting one row by UUID.
pub fn by_uuid(u: &str) -> Value {
    json!([["_uuid", "==", uuid_ref(u)]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_uuids_sets_and_maps() {
        assert_eq!(uuid(&json!(["uuid", "u1"])), Some("u1"));
        assert_eq!(uuid(&json!(["named-uuid", "u1"])), None);
        assert_eq!(set(&json!(["set", ["a", "b"]])).len(), 2);
        assert_eq!(set(&json!("a")), vec![&json!("a")]);
        assert_eq!(optional_int(&json!(["set", []])), None);
        assert_eq!(optional_int(&json!(5000)), Some(5000));
        let m = json!(["map", [[100, ["uuid", "ls"]], [0, ["uuid", "ls2"]]]]);
        let pairs = map(&m);
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            (pairs[0].0.as_i64(), uuid(pairs[0].1)),
            (Some(100), Some("ls"))
        );
        assert!(map(&json!(["set", []])).is_empty());
    }
}
