//! What changed between two versions of a row, for an audit entry's
//! `changes`: only the fields that differ, each as `{"before", "after"}`.

use serde::Serialize;
use serde_json::{Map, Value};

/// Bookkeeping columns every update touches; they say nothing about what
/// the change was.
/// `created_at` only ever appears in a created row's entry, which has its
/// own timestamp.
const IGNORED: [&str; 3] = ["version", "updated_at", "created_at"];

/// `{"field": {"before": .., "after": ..}}` for each top-level field whose
/// value differs between `before` and `after` (both serialised with serde),
/// leaving out `version`, `updated_at` and `created_at`. Identical rows
/// give `{}`. A missing row (`None`, `()`, anything not serialised as an
/// object) has no fields: diffing it against a row lists the row's non-null
/// fields, as for a created or deleted row.
pub fn diff<B: Serialize, A: Serialize>(before: &B, after: &A) -> Value {
    let (before, mut after) = (fields(before), fields(after));
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

/// A row's fields; none for anything not serialised as an object.
fn fields(row: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(row) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
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
        // Created and deleted rows: every non-null field but the bookkeeping.
        let created = json!({
            "name": {"before": null, "after": "Ann"},
            "role": {"before": null, "after": "admin"},
            "bio": {"before": null, "after": "hi"},
        });
        assert_eq!(diff(&None::<Row>, &after), created);
        assert_eq!(diff(&before, &()).as_object().map(|c| c.len()), Some(2));
    }
}
