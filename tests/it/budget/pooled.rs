//! Round trips of the calls that check out their own pooled connection
//! (`Database` methods), counted through the per-statement tracing events
//! every pooled connection emits (`saas_db::sql`, one per statement,
//! BEGIN and COMMIT included). The pool holds one connection, so the
//! warm-up run and the counted run share it; a checkout that pinged the
//! server would show as one more statement.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use saas_db::ids::UserId;
use saas_db::{Database, Repos, TRACE_TARGET};
use saas_db_testing::TestDatabase;
use serde_json::json;

use super::{assert_budget, Budget};
use crate::support::user;

/// Round trips per operation (see the module docs of `budget`).
pub const BUDGET: Budget = &[
    ("db.conn + users.get", 1),
    ("db.transaction (one get)", 3),
    ("db.as_user (one get)", 4),
    ("db.write (one update, no replica)", 3),
    ("outbox.claim", 1),
];

/// The lines a tracing subscriber writes.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `work(db, 0)` to warm, then returns the statements `work(db, 1)`
/// sent, one line each.
fn warmed<T>(db: &Database, work: impl Fn(&Database, usize) -> T) -> (T, Vec<String>) {
    work(db, 0);
    let lines = Lines::default();
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, || work(db, 1));
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let trips = text
        .lines()
        .filter(|l| l.contains(TRACE_TARGET))
        .map(|l| l.chars().take(160).collect())
        .collect();
    (out, trips)
}

#[test]
fn database_calls() {
    let db = TestDatabase::builder()
        .pool(|b| b.max_size(1))
        .build()
        .unwrap();
    let db = db.db().clone();
    let ids: Vec<UserId> = (0..2)
        .map(|i| user(&mut db.conn().unwrap(), &format!("u{i}@example.com")).id)
        .collect();

    let (_, trips) = warmed(&db, |db, i| db.conn().unwrap().users().get(ids[i]).unwrap());
    assert_budget(BUDGET, "db.conn + users.get", &trips);
    let (_, trips) = warmed(&db, |db, i| {
        db.transaction(|tx| tx.users().get(ids[i])).unwrap()
    });
    assert_budget(BUDGET, "db.transaction (one get)", &trips);
    let (_, trips) = warmed(&db, |db, i| {
        db.as_user(ids[i], |tx| tx.users().get(ids[i])).unwrap()
    });
    assert_budget(BUDGET, "db.as_user (one get)", &trips);
    let (_, trips) = warmed(&db, |db, i| {
        db.write(|tx| tx.users().record_login(ids[i])).unwrap()
    });
    assert_budget(BUDGET, "db.write (one update, no replica)", &trips);

    let payload = json!({"n": 1});
    for _ in 0..2 {
        db.conn()
            .unwrap()
            .outbox()
            .enqueue("mail", &payload, None)
            .unwrap();
    }
    let (claimed, trips) = warmed(&db, |db, _| {
        db.outbox("mail").claim(1, Duration::from_secs(60)).unwrap()
    });
    assert_eq!(claimed.len(), 1);
    assert_budget(BUDGET, "outbox.claim", &trips);
}
