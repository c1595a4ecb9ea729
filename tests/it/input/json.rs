//! Item 8: JSON is checked for depth and size, without recursion, before
//! anything is written.
//!
//! serde_json's own `Drop` and `Serialize` for `Value` recurse once per
//! level: in this debug build a value a few thousand levels deep overflows
//! a test thread's 2 MiB stack when dropped (10,000 levels survive in a
//! release build, 30,000 do not). So these tests build deep values
//! iteratively and take them apart with `dismantle`, never letting them
//! drop; the crate must not recurse over them either.

use diesel::prelude::*;
use saas_db::audit::AuditEntry;
use saas_db::billing::NewPayment;
use saas_db::validate::{self, JSON_MAX_BYTES, JSON_MAX_DEPTH};
use saas_db::{PageRequest, Repos};
use serde_json::{json, Value};

use super::{assert_invalid, still_usable, valid_payment, World};
use crate::support::{deep_json, dismantle};

/// Records a payment with `metadata`, gives the value back for dismantling.
fn record(
    conn: &mut PgConnection,
    w: &World,
    metadata: Value,
) -> (saas_db::Result<saas_db::billing::Payment>, Value) {
    let payment = NewPayment {
        metadata,
        ..valid_payment(w.user.id)
    };
    let result = conn.payments().record(&payment).map(|(p, _)| p);
    (result, payment.metadata)
}

/// Metadata deeper than serde_json's recursion limit (128) used to be
/// committed, then fail to deserialize: `record` returned
/// `Error::Database("Error deserializing field 'metadata'")` for a payment
/// that existed, a retry recorded a duplicate, and every later
/// `list_for_user` failed. Now it is refused before the INSERT.
#[test]
fn metadata_deeper_than_the_limit_is_refused_before_the_write() {
    let w = World::new();
    let mut conn = w.db.conn().unwrap();
    let before = conn
        .payments()
        .list_for_user(w.user.id, PageRequest::first(100))
        .unwrap()
        .items
        .len();
    for depth in [JSON_MAX_DEPTH + 1, 129, 200] {
        for _retry in 0..2 {
            let (result, value) = record(&mut conn, &w, deep_json(depth));
            assert_invalid(result, "metadata");
            dismantle(value);
        }
    }
    let listed = conn
        .payments()
        .list_for_user(w.user.id, PageRequest::first(100))
        .unwrap();
    assert_eq!(listed.items.len(), before, "a refused payment was written");
    still_usable(&mut conn).unwrap();

    // The deepest accepted value is written and reads back intact.
    let (result, _) = record(&mut conn, &w, deep_json(JSON_MAX_DEPTH));
    let payment = result.unwrap();
    let stored = conn.payments().get(payment.id).unwrap();
    assert_eq!(stored.metadata, deep_json(JSON_MAX_DEPTH));
}

/// At 100,000 levels the old check recursed and aborted the process with
/// a stack overflow. The walk is iterative now, and stops at the limit.
#[test]
fn very_deep_json_is_refused_without_recursion() {
    let w = World::new();
    let mut conn = w.db.conn().unwrap();
    for depth in [10_000, 100_000] {
        let value = deep_json(depth);
        assert_invalid(validate::json_object("metadata", &value), "metadata");
        let (result, value) = record(&mut conn, &w, value);
        assert_invalid(result, "metadata");
        let entry = AuditEntry::new("did", "thing", None).changes(value);
        assert_invalid(conn.audit().record(&entry), "changes");
        let entries = [entry];
        assert_invalid(conn.audit().record_many(&entries), "entries[0].changes");
        let [entry] = entries;
        dismantle(entry.changes);
        still_usable(&mut conn).unwrap();
    }
}

/// The size limit counts compact JSON text exactly as serde_json writes
/// it, escapes and all: a value of exactly `JSON_MAX_BYTES` is accepted,
/// one byte more is refused.
#[test]
fn size_limit_is_exact_to_the_byte() {
    let base = json!({
        "quote\"and\\backslash": "tab\t newline\n bell\u{7} nul-free ünïcödé 😀",
        "numbers": [0, -1, 1.5, 1e300, -2.5e-10, 18446744073709551615u64, i64::MIN],
        "nested": {"a": [true, false, null, {}, []], "b": ""},
    });
    for (extra, accepted) in [(0, true), (1, false)] {
        let mut value = base.clone();
        let base_len = serde_json::to_vec(&value).unwrap().len();
        // `,"pad":"…"` costs 9 bytes plus the padding.
        let pad = JSON_MAX_BYTES - base_len - 9 + extra;
        value["pad"] = Value::String("x".repeat(pad));
        assert_eq!(
            serde_json::to_vec(&value).unwrap().len(),
            JSON_MAX_BYTES + extra
        );
        let checked = validate::json_object("metadata", &value);
        if accepted {
            checked.unwrap();
        } else {
            assert_invalid(checked, "metadata");
        }
    }
    // A huge flat array is refused without walking it all.
    let wide = json!({ "a": vec![0; 10_000_000] });
    assert_invalid(validate::json_object("metadata", &wide), "metadata");
}

/// Everything else the check refused before still is: non-objects and NUL
/// characters in keys or strings.
#[test]
fn shape_and_nul_are_still_checked() {
    for value in [
        json!([]),
        json!("text"),
        json!(null),
        json!({ "a\u{0}": 1 }),
        json!({ "a": ["\u{0}"] }),
    ] {
        assert_invalid(validate::json_object("metadata", &value), "metadata");
    }
    validate::json_object("metadata", &json!({ "ok": [1, "two", { "three": null }] })).unwrap();
}
