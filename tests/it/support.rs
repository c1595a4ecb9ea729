//! Shared test scaffolding.

use std::sync::Barrier;
use std::thread;

use diesel::PgConnection;
use saas_db::billing::{NewPlan, Plan};
use saas_db::enums::BillingInterval;
use saas_db::testing::TestDatabase;
use saas_db::users::{NewUser, User};
use saas_db::{Database, Error, Repos};

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
pub fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// A new user with this email, named "Someone".
pub fn user(conn: &mut PgConnection, email: &str) -> User {
    named_user(conn, email, "Someone")
}

/// A new user with this email and display name.
pub fn named_user(conn: &mut PgConnection, email: &str, name: &str) -> User {
    conn.users().create(&NewUser::new(email, name)).unwrap()
}

/// A plan to insert: USD, no description or features, sort order 0.
pub fn new_plan(name: &str, price_cents: i64, interval: BillingInterval) -> NewPlan<'_> {
    NewPlan {
        name,
        description: None,
        price_cents,
        currency: "USD",
        interval,
        features: vec![],
        sort_order: 0,
    }
}

/// A new plan (see [`new_plan`]).
pub fn plan(
    conn: &mut PgConnection,
    name: &str,
    price_cents: i64,
    interval: BillingInterval,
) -> Plan {
    conn.plans()
        .create(&new_plan(name, price_cents, interval))
        .unwrap()
}

/// Whether `err` is exactly `Error::Invalid` naming `field`.
pub fn is_invalid(err: &Error, field: &str) -> bool {
    err.field() == Some(field)
}

/// Whether `err` is exactly `Error::Conflict` on `constraint`.
pub fn is_conflict(err: &Error, constraint: &str) -> bool {
    matches!(err, Error::Conflict { .. }) && err.constraint() == Some(constraint)
}

/// A result for a failure message: errors cut to 300 characters, values
/// only by kind (a value may hold a huge or deeply nested input).
pub fn short<T>(result: &saas_db::Result<T>) -> String {
    match result {
        Ok(_) => "Ok(..)".to_owned(),
        Err(e) => format!("Err({e:?})").chars().take(300).collect(),
    }
}

/// Asserts `result` is exactly `Err(Error::Invalid)` naming `field`.
#[track_caller]
pub fn assert_invalid<T>(result: saas_db::Result<T>, field: &str) {
    assert!(
        matches!(&result, Err(e) if is_invalid(e, field)),
        "expected Invalid {{ field: {field:?} }}, got {}",
        short(&result)
    );
}

/// Asserts `result` is exactly `Err(Error::Conflict)` on `constraint`.
#[track_caller]
pub fn assert_conflict<T>(result: saas_db::Result<T>, constraint: &str) {
    assert!(
        matches!(&result, Err(e) if is_conflict(e, constraint)),
        "expected Conflict {{ constraint: {constraint:?} }}, got {}",
        short(&result)
    );
}

/// The user acting on their own account: the actor for calls whose audit
/// entry a test does not look at.
pub fn self_actor(user_id: uuid::Uuid) -> saas_db::access::Actor {
    saas_db::access::Actor {
        user_id,
        role: saas_db::enums::UserRole::User,
    }
}

/// Makes the user a site admin with hand-written SQL, as an operator would:
/// no audit entry (`set_role` always writes one), for tests that count them.
pub fn promote_to_admin(conn: &mut PgConnection, user_id: uuid::Uuid) -> User {
    use diesel::prelude::*;
    use saas_db::schema::users;
    diesel::update(users::table.find(user_id))
        .set(users::role.eq(saas_db::enums::UserRole::Admin))
        .returning(User::as_returning())
        .get_result(conn)
        .unwrap()
}
