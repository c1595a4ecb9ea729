//! The bad-input table: each row is one public function and the field it
//! must name when it refuses; each test calls every row of its kind with
//! every hostile value and reports all the rows that misbehaved at once.
//! Adding a public function that takes text, a number, a duration or JSON
//! means adding a row in `table_rows.rs`.

use std::time::Duration;

use diesel::PgConnection;
use serde_json::Value;

use chrono::{DateTime, Utc};

use super::rows::{duration_rows, json_rows, number_rows, text_rows, timestamp_rows};
use super::{check_call, World};
use crate::support::{deep_json, dismantle};

pub(crate) type TextCall = fn(&mut PgConnection, &World, &str) -> saas_db::Result<()>;
pub(crate) type NumberCall = fn(&mut PgConnection, &World, i64) -> saas_db::Result<()>;
pub(crate) type TimestampCall = fn(&mut PgConnection, &World, DateTime<Utc>) -> saas_db::Result<()>;
pub(crate) type DurationCall = fn(&mut PgConnection, &World, Duration) -> saas_db::Result<()>;
/// Gets the JSON by `&mut` and must put it back: the caller dismantles it
/// (a deep value cannot be dropped the ordinary way, see `dismantle`).
pub(crate) type JsonCall = fn(&mut PgConnection, &World, &mut Value) -> saas_db::Result<()>;

/// One public function: its name, the field it names when it refuses, and
/// a call with the hostile value in that field (everything else valid).
pub(crate) struct Row<C> {
    pub name: &'static str,
    pub field: &'static str,
    pub call: C,
}

pub(crate) fn row<C>(name: &'static str, field: &'static str, call: C) -> Row<C> {
    Row { name, field, call }
}

/// Calls every row with every value and fails listing all the misbehaving
/// (row, value) pairs.
fn run<C: Copy, V>(
    rows: &[Row<C>],
    values: &mut [(&str, V)],
    call: impl Fn(C, &mut PgConnection, &World, &mut V) -> saas_db::Result<()>,
) {
    let world = World::new();
    let mut conn = world.db.conn().unwrap();
    let mut failures = Vec::new();
    for row in rows {
        for (label, value) in values.iter_mut() {
            let problem = check_call(&mut conn, row.field, |c| call(row.call, c, &world, value));
            if let Some(problem) = problem {
                failures.push(format!("{} with {label}: {problem}", row.name));
                // A fresh connection, so one broken call does not fail the rest.
                conn = world.db.conn().unwrap();
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls misbehaved:\n{}",
        failures.len(),
        rows.len() * values.len(),
        failures.join("\n")
    );
}

#[test]
fn text_inputs_are_refused_or_answered() {
    let megabyte = "x".repeat(1 << 20);
    let mut values = [
        ("a NUL byte", "a\0b"),
        ("1 MB", megabyte.as_str()),
        ("empty text", ""),
        ("whitespace only", " \t\n "),
    ];
    run(&text_rows(), &mut values, |call, c, w, v| call(c, w, v));
}

#[test]
fn number_inputs_are_refused_or_answered() {
    let mut values = [
        ("i64::MIN", i64::MIN),
        ("i64::MAX", i64::MAX),
        ("0", 0),
        ("-1", -1),
    ];
    run(&number_rows(), &mut values, |call, c, w, v| call(c, w, *v));
}

#[test]
fn duration_inputs_are_refused_or_answered() {
    let mut values = [
        ("Duration::MAX", Duration::MAX),
        ("Duration::ZERO", Duration::ZERO),
        ("1 ns", Duration::from_nanos(1)),
        ("10,000 years", Duration::from_secs(10_000 * 366 * 86_400)),
    ];
    run(&duration_rows(), &mut values, |call, c, w, v| {
        call(c, w, *v)
    });
}

#[test]
fn timestamp_inputs_are_refused_or_answered() {
    let mut values = [
        ("DateTime::MIN_UTC", DateTime::<Utc>::MIN_UTC),
        ("DateTime::MAX_UTC", DateTime::<Utc>::MAX_UTC),
        ("the Unix epoch", DateTime::<Utc>::UNIX_EPOCH),
    ];
    run(&timestamp_rows(), &mut values, |call, c, w, v| {
        call(c, w, *v)
    });
}

/// JSON 10,000 levels deep (and a few other shapes). The test builds and
/// drops the deep value without recursion; what the crate must not do is
/// recurse over it, write it, or serialize it.
#[test]
fn json_inputs_are_refused_or_answered() {
    let mut values = [
        ("JSON 10,000 levels deep", deep_json(10_000)),
        ("a JSON array 10,000 levels deep", deep_array(10_000)),
        ("a JSON string", Value::String("x".into())),
        (
            "a 1 MB JSON string",
            serde_json::json!({ "x": "x".repeat(1 << 20) }),
        ),
        ("a NUL in a key", serde_json::json!({ "a\u{0}b": 1 })),
    ];
    run(&json_rows(), &mut values, |call, c, w, v| call(c, w, v));
    for (_, value) in values {
        dismantle(value);
    }
}

/// `{"a": [[[ .. ]]]}` with `depth` levels in all.
fn deep_array(depth: usize) -> Value {
    let mut value = Value::Array(vec![]);
    for _ in 2..depth {
        value = Value::Array(vec![value]);
    }
    // Not `json!`: it would copy the value recursively.
    let mut object = serde_json::Map::new();
    object.insert("a".to_owned(), value);
    Value::Object(object)
}
