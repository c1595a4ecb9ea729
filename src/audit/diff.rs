//! What changed between two versions of a row, for an audit entry's
//! `changes`: only the fields that differ, each as `{"before", "after"}`.

use serde::Serialize;
use serde_json::{Map, Value};

/// Bookkeeping columns every update touches; they say nothing about what
/// the change was.
const IGNORED: [&str; 2] = ["version", "updated_at"];

/// `{"field": {"before": .., "after": ..}}` for each top-level field whose
/// value differs between `before` and `after` (both serialised with serde),
/// leaving out `version` and `updated_at`. Identical rows give `{}`.
pub fn diff<T: Serialize>(before: &T, after: &T) -> Value {
    let as_map = |row: &T| match serde_json::to_value(row) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let (before, mut after) = (as_map(before), as_map(after));
    let mut changes = Map::new();
    for (field, old) in before {
        let new = after.remove(&field).unwrap_or(Value::Null);
        if old != new && !IGNORED.contains(&field.as_str()) {
            changes.insert(field, change(old, new));
        }
    }
    for (field, new) in after {
        if !new.is_null() && !IGNORED.contains(&field.as_str()) {
            changes.insert(field, change(Value::Null, new));
        }
    }
    Value::Object(changes)
}

/// One field's change, `{"before": .., "after": ..}`.
pub fn change(before: impl Serialize, after: impl Serialize) -> Value {
    serde_json::json!({ "before": before, "after": after })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        role: &'static str,
        bio: Option<&'static str>,
        version: i32,
    }

    #[test]
    fn only_changed_fields_with_before_and_after() {
        let before = Row {
            name: "Ann",
            role: "member",
            bio: None,
            version: 1,
        };
        let after = Row {
            name: "Ann",
            role: "admin",
            bio: Some("hi"),
            version: 2,
        };
        assert_eq!(
            diff(&before, &after),
            json!({
                "role": {"before": "member", "after": "admin"},
                "bio": {"before": null, "after": "hi"},
            })
        );
        assert_eq!(diff(&before, &before), json!({}));
    }
}
