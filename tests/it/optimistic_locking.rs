//! Optimistic locking under real contention: exactly one writer wins each
//! version, losers get `Error::Stale` and retry, and nothing is lost. A
//! control experiment shows that the same workload without a version check
//! does lose updates, so these tests can detect the failure they guard against.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::thread;

use crate::support::acting_as;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::ids::UserId;
use saas_db::users::{NewUser, UserChanges};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

const THREADS: usize = 8;
/// Successful updates per thread.
const K: usize = 25;
/// Per-thread bound on retries, so a livelock fails the test instead of hanging it.
const MAX_RETRIES: usize = 100_000;

#[test]
fn eight_threads_one_winner_per_version() {
    let db = TestDatabase::new();
    let user = db
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("race@example.com", "start"))
        .unwrap();
    assert_eq!(user.version, 1);
    let id = user.id;

    let barrier = Barrier::new(THREADS);
    let stale_seen = AtomicUsize::new(0);
    // (version returned by the successful update, thread, i)
    let successes: Vec<(i32, usize, usize)> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (db, barrier, stale_seen) = (&db, &barrier, &stale_seen);
                s.spawn(move || {
                    let mut conn = db.conn().unwrap();
                    let mut mine = Vec::with_capacity(K);
                    let mut retries = 0;
                    barrier.wait();
                    for i in 0..K {
                        let name = format!("t{t}-n{i}");
                        loop {
                            let current = conn.users().get(id).unwrap();
                            let changes = UserChanges {
                                name: Some(name.as_str().into()),
                                ..Default::default()
                            };
                            match conn.users().update(id, current.version, &changes) {
                                Ok(updated) => {
                                    assert_eq!(updated.version, current.version + 1);
                                    assert_eq!(updated.name, name);
                                    mine.push((updated.version, t, i));
                                    break;
                                }
                                Err(Error::Stale {
                                    entity,
                                    id: stale_id,
                                    expected,
                                    actual,
                                }) => {
                                    assert_eq!(entity, "user");
                                    assert_eq!(stale_id, id.uuid());
                                    assert_eq!(expected, current.version);
                                    assert!(
                                        actual > expected,
                                        "versions only grow: expected {expected}, actual {actual}"
                                    );
                                    stale_seen.fetch_add(1, Ordering::Relaxed);
                                    retries += 1;
                                    assert!(retries < MAX_RETRIES, "thread {t} kept losing");
                                }
                                Err(other) => panic!("thread {t}: unexpected error {other:?}"),
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("writer thread panicked"))
            .collect()
    });

    let total = THREADS * K;
    assert_eq!(successes.len(), total);
    for t in 0..THREADS {
        assert_eq!(
            successes.iter().filter(|s| s.1 == t).count(),
            K,
            "thread {t} made exactly K successful updates"
        );
    }
    let versions: BTreeSet<i32> = successes.iter().map(|s| s.0).collect();
    assert_eq!(versions.len(), total, "two writers won the same version");
    let expected_versions: BTreeSet<i32> = (2..=1 + total as i32).collect();
    assert_eq!(versions, expected_versions);

    let last = db.conn().unwrap().users().get(id).unwrap();
    assert_eq!(last.version, 1 + total as i32);
    let &(_, t, i) = successes
        .iter()
        .find(|s| s.0 == last.version)
        .expect("a success produced the final version");
    assert_eq!(last.name, format!("t{t}-n{i}"));

    let stale = stale_seen.load(Ordering::Relaxed);
    assert!(
        stale > 0,
        "no Stale error: the threads never actually contended"
    );
}

diesel::table! {
    counter (id) {
        id -> Int4,
        n -> Int4,
        version -> Int4,
    }
}

const COUNTER_THREADS: usize = 8;
const INCREMENTS: usize = 200;

/// Runs `increment` `INCREMENTS` times on each of `COUNTER_THREADS` threads
/// (started together), each thread on its own pooled connection.
fn hammer(db: &TestDatabase, increment: impl Fn(&mut PgConnection) + Sync) {
    let barrier = Barrier::new(COUNTER_THREADS);
    thread::scope(|s| {
        for _ in 0..COUNTER_THREADS {
            let (barrier, increment) = (&barrier, &increment);
            s.spawn(move || {
                let mut conn = db.conn().unwrap();
                barrier.wait();
                for _ in 0..INCREMENTS {
                    increment(&mut conn);
                }
            });
        }
    });
}

fn read_counter(conn: &mut PgConnection) -> (i32, i32) {
    counter::table
        .find(1)
        .select((counter::n, counter::version))
        .first(conn)
        .unwrap()
}

#[test]
fn naive_read_modify_write_loses_updates() {
    let db = TestDatabase::new();
    let expected = i32::try_from(COUNTER_THREADS * INCREMENTS).unwrap();
    {
        let mut conn = db.conn().unwrap();
        conn.batch_execute(
            "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL, version int NOT NULL DEFAULT 1);
             INSERT INTO counter (id, n) VALUES (1, 0);",
        )
        .unwrap();
    }

    // Control: read, then write back read + 1 with no version check. Each
    // statement autocommits, so concurrent increments overwrite each other.
    hammer(&db, |conn| {
        let (n, _) = read_counter(conn);
        thread::yield_now();
        let rows = diesel::update(counter::table.find(1))
            .set(counter::n.eq(n + 1))
            .execute(conn)
            .unwrap();
        assert_eq!(rows, 1);
    });
    let (naive, _) = read_counter(&mut db.conn().unwrap());
    assert!(naive > 0);
    assert!(
        naive < expected,
        "the naive read-modify-write lost no update ({naive} of {expected}); \
         the test setup cannot detect lost updates"
    );

    // The same workload with an optimistic check: retry when the version moved.
    {
        let mut conn = db.conn().unwrap();
        conn.batch_execute("UPDATE counter SET n = 0, version = 1 WHERE id = 1")
            .unwrap();
    }
    let retries = AtomicUsize::new(0);
    hammer(&db, |conn| loop {
        let (n, version) = read_counter(conn);
        thread::yield_now();
        let rows = diesel::update(
            counter::table
                .filter(counter::id.eq(1))
                .filter(counter::version.eq(version)),
        )
        .set((
            counter::n.eq(n + 1),
            counter::version.eq(counter::version + 1),
        ))
        .execute(conn)
        .unwrap();
        match rows {
            1 => break,
            0 => {
                retries.fetch_add(1, Ordering::Relaxed);
            }
            other => panic!("updated {other} rows"),
        }
    });
    let (n, version) = read_counter(&mut db.conn().unwrap());
    assert_eq!(n, expected, "the optimistic check lost updates");
    assert_eq!(version, expected + 1);
    assert!(
        retries.load(Ordering::Relaxed) > 0,
        "the optimistic run never conflicted, so it proved nothing"
    );
}

#[test]
fn stale_vs_not_found() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .users()
        .create(&NewUser::new("stale@example.com", "Stale"))
        .unwrap();
    let rename = |name| UserChanges {
        name: Some(name),
        ..Default::default()
    };
    let v2 = conn
        .users()
        .update(user.id, 1, &rename("two".into()))
        .unwrap();
    assert_eq!(v2.version, 2);
    let v3 = conn
        .users()
        .update(user.id, 2, &rename("three".into()))
        .unwrap();
    assert_eq!(v3.version, 3);

    // Behind.
    let err = conn
        .users()
        .update(user.id, 1, &rename("late".into()))
        .unwrap_err();
    assert!(
        matches!(err, Error::Stale { entity: "user", id, expected: 1, actual: 3 } if id == user.id.uuid()),
        "{err:?}"
    );
    // Ahead (a version that never existed yet).
    let err = conn
        .users()
        .update(user.id, 7, &rename("early".into()))
        .unwrap_err();
    assert!(
        matches!(err, Error::Stale { entity: "user", id, expected: 7, actual: 3 } if id == user.id.uuid()),
        "{err:?}"
    );
    // The losers changed nothing.
    assert_eq!(conn.users().get(user.id).unwrap(), v3);

    // Missing row.
    let err = conn
        .users()
        .update(UserId(Uuid::now_v7()), 1, &rename("ghost".into()))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");

    // Soft-deleted row: not found, with the right version and with a wrong one.
    let deleted = conn
        .users()
        .soft_delete(&acting_as(user.id), user.id)
        .unwrap();
    assert_eq!(deleted.version, 4);
    for version in [4, 3, 1] {
        let err = conn
            .users()
            .update(user.id, version, &rename("zombie".into()))
            .unwrap_err();
        assert!(
            matches!(err, Error::NotFound { entity: "user" }),
            "v{version}: {err:?}"
        );
    }
    let still = conn.users().including_deleted().get(user.id).unwrap();
    assert_eq!(still, deleted);
    assert_eq!(still.name, "three");
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
}

/// The README names the versioned aggregates; each has a NOT NULL integer
/// `version` that starts at 1.
#[test]
fn versioned_aggregates_have_a_version() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let versioned: BTreeSet<String> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name
           FROM information_schema.columns c
          WHERE c.table_schema = current_schema() AND c.column_name = 'version'
            AND c.data_type = 'integer' AND c.is_nullable = 'NO'
            AND c.column_default = '1'",
    )
    .load::<TableName>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|t| t.table_name)
    .collect();
    for table in [
        "users",
        "posts",
        "subscriptions",
        "subscription_plans",
        "teams",
        "projects",
    ] {
        assert!(
            versioned.contains(table),
            "{table} has no version: {versioned:?}"
        );
    }
}
