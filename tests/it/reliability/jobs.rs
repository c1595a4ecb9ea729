//! A job queue: workers claiming with SKIP LOCKED process every job once.

use diesel::prelude::*;
use diesel::sql_types::Integer;
use saas_db_testing::TestDatabase;

use super::setup;
use crate::support::count;

diesel::table! {
    jobs (id) {
        id -> Integer,
        claims -> Integer,
    }
}

/// Eight workers drain 1,000 jobs in batches of 10.
fn drain_jobs(db: &TestDatabase, skip_locked: bool) -> (i64, i64) {
    setup(
        db,
        "DROP TABLE IF EXISTS jobs;
         CREATE TABLE jobs (id int PRIMARY KEY, claims int NOT NULL DEFAULT 0, done bool NOT NULL DEFAULT false);
         INSERT INTO jobs (id) SELECT generate_series(1, 1000);",
    );
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let db = db.db().clone();
            std::thread::spawn(move || loop {
                let claimed = db.transaction(|tx| {
                    let pending = jobs::table
                        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("NOT done"))
                        .order(jobs::id)
                        .limit(10)
                        .select(jobs::id);
                    let ids: Vec<i32> = if skip_locked {
                        pending.for_update().skip_locked().load(tx)?
                    } else {
                        pending.load(tx)? // control: read, then write
                    };
                    std::thread::yield_now();
                    diesel::sql_query(
                        "UPDATE jobs SET claims = claims + 1, done = true WHERE id = ANY($1)",
                    )
                    .bind::<diesel::sql_types::Array<Integer>, _>(&ids)
                    .execute(tx)?;
                    Ok(ids.len())
                });
                match claimed {
                    Ok(0) => break,
                    Ok(_) => {}
                    // The unlocked control can deadlock on overlapping batches.
                    Err(e) if !skip_locked && e.is_retryable() => {}
                    Err(e) => panic!("worker failed: {e}"),
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut conn = db.conn().unwrap();
    (
        count(&mut conn, "SELECT count(*) AS n FROM jobs WHERE claims = 1"),
        count(&mut conn, "SELECT count(*) AS n FROM jobs WHERE claims > 1"),
    )
}

#[test]
fn skip_locked_workers_process_every_job_exactly_once() {
    let db = TestDatabase::with_builder(|b| b.max_size(8)).unwrap();
    let (_, twice) = drain_jobs(&db, false);
    assert!(
        twice > 0,
        "control: plain read-then-write should double-process some jobs"
    );
    assert_eq!(drain_jobs(&db, true), (1000, 0));
}
