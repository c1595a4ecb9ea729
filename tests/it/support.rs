//! Shared test scaffolding.

use std::sync::Barrier;
use std::thread;

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::PgConnection;
use saas_db::access::Actor;
use saas_db::auth::SessionOptions;
use saas_db::billing::{NewPayment, NewPlan, Plan};
use saas_db::enums::{BillingInterval, PaymentStatus, UserRole};
use saas_db::ids::{TeamId, UserId};
use saas_db::users::{NewUser, User};
use saas_db::{Database, Error, Page, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

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

/// Asserts `result` is exactly `Err(Error::ForeignKey)` on `constraint`.
#[track_caller]
pub fn assert_foreign_key<T>(result: saas_db::Result<T>, constraint: &str) {
    assert!(
        matches!(&result, Err(Error::ForeignKey { constraint: c }) if c == constraint),
        "expected ForeignKey {{ constraint: {constraint:?} }}, got {}",
        short(&result)
    );
}

/// The `n` column of `sql`'s one row, with `value` bound as `$1` as SQL type
/// `ST` (`count_bound::<Uuid, _>(conn, "SELECT count(*) AS n .. = $1", id)`).
pub fn count_bound<ST, T>(conn: &mut PgConnection, sql: &str, value: T) -> i64
where
    ST: diesel::sql_types::SqlType + diesel::query_builder::QueryId + 'static,
    Pg: diesel::sql_types::HasSqlType<ST>,
    T: diesel::serialize::ToSql<ST, Pg>,
{
    use diesel::RunQueryDsl;
    diesel::sql_query(sql)
        .bind::<ST, T>(value)
        .get_result::<Count>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// One `value` column: what [`setting`] reads.
#[derive(diesel::QueryableByName)]
pub struct Setting {
    /// The setting's value.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub value: String,
}

/// `current_setting(name)` as `conn`'s server connection sees it.
pub fn setting(conn: &mut PgConnection, name: &str) -> String {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT current_setting($1) AS value")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Setting>(conn)
        .unwrap_or_else(|e| panic!("current_setting({name}): {e}"))
        .value
}

/// A new user acting for themself (email as name).
pub fn actor(conn: &mut PgConnection, email: &str) -> Actor {
    Actor::from(&named_user(conn, email, email))
}

/// A new site admin (role `admin`), promoted by hand-written SQL
/// ([`promote_to_admin`]), so with no audit entry.
pub fn site_admin(conn: &mut PgConnection, email: &str) -> Actor {
    let user = named_user(conn, email, "Admin");
    Actor::from(&promote_to_admin(conn, user.id))
}

/// A sign-in's session options: an hour, from 203.0.113.7 (TEST-NET-3)
/// with user agent `saas-db-tests/1.0`.
pub fn client() -> SessionOptions<'static> {
    SessionOptions {
        ttl: Duration::from_secs(3600),
        ip: Some("203.0.113.7".parse().unwrap()),
        user_agent: Some("saas-db-tests/1.0"),
    }
}

/// The users' ids, in order.
pub fn ids(users: &[User]) -> Vec<UserId> {
    users.iter().map(|u| u.id).collect()
}

/// A time PostgreSQL stores exactly (microseconds).
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

/// A one-off payment to record: no subscription, provider id, description
/// or metadata.
pub fn new_payment(
    user_id: UserId,
    amount_cents: i64,
    currency: &str,
    status: PaymentStatus,
) -> NewPayment<'_> {
    NewPayment {
        user_id,
        subscription_id: None,
        amount_cents,
        currency,
        status,
        provider_payment_id: None,
        description: None,
        metadata: serde_json::json!({}),
    }
}

/// Every item of a listing, walking `next_cursor` with pages of `size`
/// (`first(size)`, then `after(next)`); only the last page may be short.
/// At most 1000 pages: a cursor that never advances fails instead of
/// spinning.
pub fn walk<T>(size: u32, mut load: impl FnMut(PageRequest) -> saas_db::Result<Page<T>>) -> Vec<T> {
    const MAX_PAGES: usize = 1000;
    let mut all = Vec::new();
    let mut request = PageRequest::first(size);
    for _ in 0..MAX_PAGES {
        let page = load(request).unwrap();
        assert!(page.items.len() <= size as usize);
        let next = page.next_cursor();
        if next.is_some() {
            assert_eq!(
                page.items.len(),
                size as usize,
                "only the last page may be short"
            );
        }
        all.extend(page.items);
        match next {
            Some(cursor) => request = PageRequest::after(cursor, size),
            None => return all,
        }
    }
    panic!("the listing did not end after {MAX_PAGES} pages of {size}");
}

/// Runs `work(conn)` on `threads` threads at once, each on its own pooled
/// connection of `db`, checked out before the start line (see [`race`]).
pub fn race_conns<T: Send>(
    db: &TestDatabase,
    threads: usize,
    work: impl Fn(&mut PgConnection) -> T + Sync,
) -> Vec<T> {
    race(threads, |_, barrier| {
        let conn = db.conn();
        barrier.wait(); // even if the checkout failed: nobody hangs
        work(&mut conn.unwrap())
    })
}

/// One `name` column: what [`names`] reads.
#[derive(diesel::QueryableByName)]
pub struct Name {
    /// The name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
}

/// The `name` column of every row of `sql`, in the order served, collected
/// into a `Vec`, a set or whatever the caller asks for.
pub fn names<C: FromIterator<String>>(conn: &mut PgConnection, sql: &str) -> C {
    use diesel::RunQueryDsl;
    diesel::sql_query(sql)
        .load::<Name>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|n| n.name)
        .collect()
}

/// Two tenants: Ann owns team A, Bob owns team B (see [`two_teams`]).
pub struct TwoTeams {
    /// Ann (`ann@example.com`), owner of team A.
    pub ann: Actor,
    /// Bob (`bob@example.com`), owner of team B.
    pub bob: Actor,
    /// Team "A".
    pub team_a: TeamId,
    /// Team "B".
    pub team_b: TeamId,
}

/// Ann and Bob, each the owner of a team of their own.
pub fn two_teams(conn: &mut PgConnection) -> TwoTeams {
    let ann = actor(conn, "ann@example.com");
    let bob = actor(conn, "bob@example.com");
    let team_a = conn.teams().create(&ann, "A").unwrap().id;
    let team_b = conn.teams().create(&bob, "B").unwrap().id;
    TwoTeams {
        ann,
        bob,
        team_a,
        team_b,
    }
}

/// One `pid` column: what [`backend_pid`] reads.
#[derive(diesel::QueryableByName)]
pub struct Pid {
    /// The process id.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub pid: i32,
}

/// The process id of `conn`'s server backend.
pub fn backend_pid(conn: &mut PgConnection) -> i32 {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(conn)
        .unwrap()
        .pid
}
/// `user_id` acting for themselves as a plain user (a subscriber cancelling
/// their own subscription).
pub fn acting_as(user_id: UserId) -> Actor {
    Actor {
        user_id,
        role: UserRole::User,
    }
}

/// A support agent: a site admin with no user row (the audit log keeps no
/// foreign key to users), for calls a test makes on nobody in particular's
/// behalf.
pub fn support_agent() -> Actor {
    Actor {
        user_id: UserId(Uuid::nil()),
        role: UserRole::Admin,
    }
}

/// Makes the user a site admin with hand-written SQL, as an operator would:
/// no audit entry (`set_role` always writes one), for tests that count them.
pub fn promote_to_admin(conn: &mut PgConnection, user_id: UserId) -> User {
    use diesel::prelude::*;
    use saas_db::schema::users;
    diesel::update(users::table.find(user_id))
        .set(users::role.eq(UserRole::Admin))
        .returning(User::as_returning())
        .get_result(conn)
        .unwrap()
}
