//! Several processes migrating one database at once.

use std::sync::{Arc, Barrier};
use std::time::Instant;

use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use saas_db::users::NewUser;
use saas_db::{Database, Repos, MIGRATIONS};
use saas_db_testing::TestDatabase;

use super::inspect::assert_nothing_left;
use super::{all_versions, applied_versions, raw_conn};

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

#[test]
fn migrate_is_idempotent_and_concurrent_safe() {
    let test_db = TestDatabase::new();
    {
        let mut conn = raw_conn(&test_db);
        conn.revert_all_migrations(MIGRATIONS)
            .expect("revert all migrations");
        assert_nothing_left(&mut conn, "before the concurrent build");
    }

    const THREADS: usize = 4;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let url = test_db.url().to_owned();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let started = Instant::now();
                let db = Database::builder(&url)
                    .max_size(2)
                    .min_idle(Some(0))
                    .application_name(&format!("migrate-race-{i}"))
                    .build();
                (i, started.elapsed(), db)
            })
        })
        .collect();
    let mut dbs = Vec::new();
    let mut failures = Vec::new();
    for handle in handles {
        let (i, took, result) = handle.join().expect("builder thread panicked");
        match result {
            Ok(db) => dbs.push(db),
            Err(e) => failures.push(format!("thread {i} (after {took:?}): {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "concurrent Database::build failed:\n  {}",
        failures.join("\n  ")
    );

    let all = all_versions();
    for (i, db) in dbs.iter().enumerate() {
        assert_eq!(
            db.migrate().unwrap(),
            Vec::<String>::new(),
            "migrate() on database handle {i} should find nothing pending"
        );
    }
    let mut conn = raw_conn(&test_db);
    assert_eq!(
        applied_versions(&mut conn),
        all,
        "each migration recorded once"
    );
    let users: Exists =
        diesel::sql_query("SELECT to_regclass('public.users') IS NOT NULL AS exists")
            .get_result(&mut conn)
            .unwrap();
    assert!(
        users.exists,
        "users table should exist after the concurrent migrate"
    );
    // The schema works: a user can be created through one of the handles.
    let user = dbs[0]
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("race@example.com", "Race"))
        .unwrap();
    assert_eq!(dbs[3].conn().unwrap().users().get(user.id).unwrap(), user);
}
