//! The bad day: serialization failures, deadlocks, timeouts, killed
//! backends, panics and job queues. Every test has a control showing the
//! failure that the mechanism under test prevents.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::support::count;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use saas_db::tx::{transaction_with_retry, Isolation, RetryPolicy};
use saas_db::users::NewUser;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn setup(db: &TestDatabase, sql: &str) {
    db.conn().unwrap().batch_execute(sql).unwrap();
}

/// Write skew: two doctors on call, each goes off call if someone else is
/// still on. Both read "2 on call" before either writes.
fn go_off_call(db: &TestDatabase, isolation: Isolation) -> i64 {
    setup(
        db,
        "DROP TABLE IF EXISTS doctors;
         CREATE TABLE doctors (id int PRIMARY KEY, on_call bool NOT NULL);
         INSERT INTO doctors VALUES (1, true), (2, true);",
    );
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = [1, 2]
        .into_iter()
        .map(|me| {
            let db = db.db().clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let first_attempt = AtomicBool::new(true);
                let policy = RetryPolicy::new().isolation(isolation).attempts(10);
                db.transaction_with_retry(&policy, |tx| {
                    let on_call = count(tx, "SELECT count(*) AS n FROM doctors WHERE on_call");
                    if first_attempt.swap(false, Ordering::SeqCst) {
                        barrier.wait(); // both have read before either writes
                    }
                    if on_call >= 2 {
                        diesel::sql_query("UPDATE doctors SET on_call = false WHERE id = $1")
                            .bind::<Integer, _>(me)
                            .execute(tx)?;
                    }
                    Ok(())
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    count(
        &mut db.conn().unwrap(),
        "SELECT count(*) AS n FROM doctors WHERE on_call",
    )
}

#[test]
fn write_skew_is_retried_under_serializable_and_the_invariant_holds() {
    let db = TestDatabase::new();
    // Control: under READ COMMITTED both go off call.
    assert_eq!(
        go_off_call(&db, Isolation::ReadCommitted),
        0,
        "control: write skew expected"
    );
    // SERIALIZABLE refuses one commit; the retry sees one doctor left and stays.
    assert_eq!(go_off_call(&db, Isolation::Serializable), 1);
}

/// Two transactions lock rows 1 and 2 in opposite order.
fn opposite_order_locks(db: &TestDatabase, attempts: u32) -> Vec<Result<(), Error>> {
    setup(
        db,
        "DROP TABLE IF EXISTS pair;
         CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL);
         INSERT INTO pair VALUES (1, 0), (2, 0);",
    );
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = [(1, 2), (2, 1)]
        .into_iter()
        .map(|(first, second)| {
            let db = db.db().clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let first_attempt = AtomicBool::new(true);
                let policy = RetryPolicy::new()
                    .isolation(Isolation::ReadCommitted)
                    .attempts(attempts);
                db.transaction_with_retry(&policy, |tx| {
                    // Detect the deadlock quickly (superuser-only; ignored otherwise).
                    let _ = tx.batch_execute("SET LOCAL deadlock_timeout = '50ms'");
                    for (i, id) in [first, second].into_iter().enumerate() {
                        diesel::sql_query("UPDATE pair SET n = n + 1 WHERE id = $1")
                            .bind::<Integer, _>(id)
                            .execute(tx)?;
                        if i == 0 && first_attempt.swap(false, Ordering::SeqCst) {
                            barrier.wait();
                        }
                    }
                    Ok(())
                })
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn deadlock_is_retried_and_both_effects_land() {
    let db = TestDatabase::new();
    // Control: without retries one transaction is the deadlock victim.
    let results = opposite_order_locks(&db, 1);
    let victims: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert_eq!(
        victims.len(),
        1,
        "control: one deadlock victim expected, got {results:?}"
    );
    assert!(
        matches!(victims[0], Err(Error::Retryable { attempts: 1, .. })),
        "{victims:?}"
    );
    assert!(victims[0].as_ref().unwrap_err().is_retryable());

    let results = opposite_order_locks(&db, 5);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        count(&mut db.conn().unwrap(), "SELECT sum(n) AS n FROM pair"),
        4
    );
}

#[test]
fn retries_run_out_with_the_attempt_count() {
    let db = TestDatabase::new();
    let runs = AtomicU32::new(0);
    let policy = RetryPolicy::new()
        .attempts(3)
        .backoff(Duration::from_millis(1), Duration::from_millis(2));
    let err = db
        .transaction_with_retry(&policy, |tx| -> saas_db::Result<()> {
            runs.fetch_add(1, Ordering::SeqCst);
            // Raise a real serialization failure from the server.
            tx.batch_execute(
                "DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$",
            )?;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Retryable { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[test]
fn retry_inside_an_open_transaction_is_refused() {
    let db = TestDatabase::new();
    let err = db
        .transaction(|tx| transaction_with_retry(tx, &RetryPolicy::new(), |_| Ok(())))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "transaction_with_retry"),
        "{err:?}"
    );
}

#[test]
fn bank_transfers_keep_the_total_and_never_go_negative() {
    let db = TestDatabase::with_builder(|b| b.max_size(8)).unwrap();
    setup(
        &db,
        "CREATE TABLE bank (id int PRIMARY KEY, balance bigint NOT NULL);
         INSERT INTO bank SELECT g, 1000 FROM generate_series(1, 10) g;",
    );
    let total = 10_000;
    let stop = Arc::new(AtomicBool::new(false));
    let transfers: Vec<_> = (0..4u32)
        .map(|t| {
            let db = db.db().clone();
            std::thread::spawn(move || {
                let policy = RetryPolicy::new().attempts(50);
                let mut seed = t.wrapping_mul(2_654_435_761).wrapping_add(1);
                let mut next = move |m: u32| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed % m
                };
                for _ in 0..150 {
                    let from = next(10) as i32 + 1;
                    let to = (from + next(9) as i32) % 10 + 1;
                    let amount = i64::from(next(400)) + 1;
                    db.transaction_with_retry(&policy, |tx| {
                        let moved = diesel::sql_query(
                            "UPDATE bank SET balance = balance - $2 WHERE id = $1 AND balance >= $2",
                        )
                        .bind::<Integer, _>(from)
                        .bind::<BigInt, _>(amount)
                        .execute(tx)?;
                        if moved == 1 {
                            diesel::sql_query("UPDATE bank SET balance = balance + $2 WHERE id = $1")
                                .bind::<Integer, _>(to)
                                .bind::<BigInt, _>(amount)
                                .execute(tx)?;
                        }
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    let summers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.db().clone();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let policy = RetryPolicy::new()
                    .isolation(Isolation::RepeatableRead)
                    .read_only(true);
                let mut sums = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    // Ten separate reads: only a consistent snapshot adds up.
                    let sum = db
                        .transaction_with_retry(&policy, |tx| {
                            let mut sum = 0;
                            for id in 1..=10 {
                                sum += diesel::sql_query(
                                    "SELECT balance AS n FROM bank WHERE id = $1",
                                )
                                .bind::<Integer, _>(id)
                                .get_result::<Count>(tx)?
                                .n;
                            }
                            Ok(sum)
                        })
                        .unwrap();
                    sums.push(sum);
                }
                sums
            })
        })
        .collect();
    for t in transfers {
        t.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let sums: Vec<i64> = summers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(!sums.is_empty());
    assert!(
        sums.iter().all(|&s| s == total),
        "inconsistent sums seen: {:?}",
        sums.iter().filter(|&&s| s != total).collect::<Vec<_>>()
    );
    let mut conn = db.conn().unwrap();
    assert_eq!(
        count(&mut conn, "SELECT sum(balance)::bigint AS n FROM bank"),
        total
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM bank WHERE balance < 0"
        ),
        0
    );
}

#[test]
fn per_transaction_timeout_rolls_back_and_the_connection_is_reused() {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    let policy = RetryPolicy::new().statement_timeout(Duration::from_millis(100));
    let err = db
        .transaction_with_retry(&policy, |tx| {
            tx.users()
                .create(&NewUser::new("slow@example.com", "Slow"))?;
            diesel::sql_query("SELECT pg_sleep(2)").execute(tx)?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    let mut conn = db.conn().unwrap();
    assert_eq!(
        conn.users().count().unwrap(),
        0,
        "the insert before the timeout was rolled back"
    );
    // SET LOCAL ended with the transaction: a slow statement now runs.
    diesel::sql_query("SELECT pg_sleep(0.2)")
        .execute(&mut *conn)
        .unwrap();
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

#[test]
fn killed_backend_mid_transaction_loses_nothing_and_the_pool_recovers() {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    let admin_url = db.url().to_owned();
    let err = db
        .transaction(|tx| {
            tx.users()
                .create(&NewUser::new("half@example.com", "Half"))?;
            let me: Pid = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(tx)?;
            let mut admin = PgConnection::establish(&admin_url).unwrap();
            diesel::sql_query("SELECT pg_terminate_backend($1)")
                .bind::<Integer, _>(me.pid)
                .execute(&mut admin)
                .unwrap();
            tx.users()
                .create(&NewUser::new("other@example.com", "Other"))?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Connection(_)), "{err:?}");
    // The pool of one hands out a working connection, and nothing was written.
    let mut conn = db.conn().unwrap();
    assert_eq!(conn.users().count().unwrap(), 0);
}

/// Whether the connection is inside a transaction that has written: a
/// statement on its own never has a transaction id assigned.
fn in_writing_transaction(conn: &mut PgConnection) -> bool {
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        open: bool,
    }
    diesel::sql_query("SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS open")
        .get_result::<T>(conn)
        .unwrap()
        .open
}

#[test]
fn panic_in_a_transaction_rolls_back_and_leaves_no_open_transaction() {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    {
        // Control: the probe sees an open transaction.
        let mut conn = db.conn().unwrap();
        conn.batch_execute("BEGIN; CREATE TEMP TABLE probe (x int)")
            .unwrap();
        assert!(
            in_writing_transaction(&mut conn),
            "control: probe must see an open transaction"
        );
        conn.batch_execute("ROLLBACK").unwrap();
    }
    for with_retry in [false, true] {
        let db2 = db.db().clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let body = |tx: &mut PgConnection| -> saas_db::Result<()> {
                tx.users()
                    .create(&NewUser::new("boom@example.com", "Boom"))?;
                panic!("boom");
            };
            if with_retry {
                db2.transaction_with_retry(&RetryPolicy::new(), body)
            } else {
                db2.transaction(body)
            }
        }));
        assert!(result.is_err());
        let mut conn = db.conn().unwrap();
        assert!(
            !in_writing_transaction(&mut conn),
            "a connection came back inside a transaction"
        );
        assert_eq!(conn.users().count().unwrap(), 0);
    }
}

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
