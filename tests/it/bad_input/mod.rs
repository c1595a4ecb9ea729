//! Bad input is refused with the variant and field (or constraint) that say
//! what is wrong, writes nothing, and leaves the connection and the pool
//! usable.

mod changes;
mod create;
mod raw_sql;

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::prelude::*;
use saas_db::users::{NewUser, User};
use saas_db::Repos;
use saas_db_testing::TestDatabase;

static PROBE: AtomicU32 = AtomicU32::new(0);

/// Creates, reads and removes a throwaway user on `conn`.
fn probe(conn: &mut PgConnection) {
    let n = PROBE.fetch_add(1, Ordering::Relaxed);
    let email = format!("probe{n}@example.com");
    let user = conn
        .users()
        .create(&NewUser::new(&email, "Probe"))
        .expect("connection unusable after a refused call");
    assert_eq!(conn.users().get(user.id).unwrap(), user);
    conn.users().hard_delete(user.id).unwrap();
}

/// After a refused call: nothing was written, and both the same connection
/// and a fresh pooled one still work.
#[track_caller]
fn assert_healthy(db: &TestDatabase, conn: &mut PgConnection, count: i64) {
    assert_eq!(
        conn.users().count().unwrap(),
        count,
        "a refused call wrote a user"
    );
    probe(conn);
    probe(&mut db.conn().unwrap());
    assert_eq!(conn.users().count().unwrap(), count);
}

/// A fresh database with one user already in it.
fn seeded() -> (TestDatabase, User) {
    let db = TestDatabase::new();
    let user = db
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("seed@example.com", "Seed").username("seed"))
        .unwrap();
    (db, user)
}
