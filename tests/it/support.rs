//! Shared test scaffolding.

use std::sync::Barrier;
use std::thread;

use saas_db::testing::TestDatabase;
use saas_db::Database;

/// Runs `work(i, barrier)` on `threads` threads at once and returns the
/// results in thread order. Each thread calls `barrier.wait()` where the
/// race should start (all threads must call it exactly once).
pub fn race<T: Send>(threads: usize, work: impl Fn(usize, &Barrier) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(threads);
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (work, barrier) = (&work, &barrier);
                s.spawn(move || work(i, barrier))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A JSON object nested `depth` levels deep (`{"a": {"a": .. {}}}`), built
/// without recursion.
pub fn deep_json(depth: usize) -> serde_json::Value {
    let mut value = serde_json::Value::Object(serde_json::Map::new());
    for _ in 1..depth {
        let mut outer = serde_json::Map::new();
        outer.insert("a".to_owned(), value);
        value = serde_json::Value::Object(outer);
    }
    value
}

/// Drops a JSON value of any depth without recursion: serde_json's own drop
/// recurses once per level and overflows a thread's stack on values a few
/// ten thousand levels deep.
pub fn dismantle(value: serde_json::Value) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// A one-connection pool on `db` as its application role (LOGIN, neither
/// owner nor superuser, no BYPASSRLS, the grants of `grant_app_access`):
/// the role Row-Level Security and the grants apply to.
pub fn app_database(db: &TestDatabase) -> Database {
    Database::builder(&db.app_url().unwrap())
        .run_migrations(false)
        .max_size(1)
        .build()
        .unwrap()
}

/// One `n` column: what [`count`] reads.
#[derive(diesel::QueryableByName)]
pub struct Count {
    /// The count.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// The `n` column of `sql`'s one row (`SELECT count(*) AS n ..`).
pub fn count(conn: &mut diesel::PgConnection, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}
