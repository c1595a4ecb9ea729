//! `Database::run` / `run_transaction` (feature `tokio`): synchronous work
//! on Tokio's blocking pool, sharing one `Database`; errors and panics come
//! back as `Error` variants and the pool stays usable.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos, UserId};
use saas_db_testing::TestDatabase;

use crate::support::count;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn users(db: &Database) -> i64 {
    count(&mut db.conn().unwrap(), "SELECT count(*) AS n FROM users")
}

/// 12 concurrent `run`s on one `Database` with a pool of 3: all succeed
/// (the surplus waits for a connection inside its blocking task), and at
/// most 3, but more than one, are inside the database at once.
#[test]
fn concurrent_runs_share_one_database_within_its_pool() {
    let test_db = TestDatabase::with_builder(|b| b.max_size(3)).unwrap();
    let db = test_db.db().clone();
    let (inside, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let created = runtime().block_on(async {
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let (db, inside, most) = (db.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    db.run(move |conn| {
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        diesel::sql_query("SELECT pg_sleep(0.05)").execute(conn)?;
                        let email = format!("async{i}@example.com");
                        let user = conn.users().create(&NewUser::new(&email, "A"));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        user
                    })
                    .await
                })
            })
            .collect();
        let mut created = Vec::new();
        for task in tasks {
            created.push(task.await.unwrap().unwrap());
        }
        created
    });
    assert_eq!(created.len(), 12);
    assert_eq!(users(&db), 12);
    let most = most.load(Ordering::SeqCst);
    assert!((2..=3).contains(&most), "{most} ran at once");
}

/// How often a 10 ms ticker ticks on a one-thread runtime while `work`
/// runs on the same thread.
fn ticks_while(work: impl Future<Output = ()>) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, async {
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = ticks.clone();
        let ticker = tokio::task::spawn_local(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::task::yield_now().await; // the ticker starts
        work.await;
        ticker.abort();
        ticks.load(Ordering::SeqCst)
    })
}

fn sleep_300ms(conn: &mut PgConnection) -> saas_db::Result<()> {
    diesel::sql_query("SELECT pg_sleep(0.3)").execute(conn)?;
    Ok(())
}

/// The async worker is free while the database works: on a one-thread
/// runtime a ticker keeps ticking during a 300 ms `run`. The control does
/// the same work directly in the async task, and the ticker stands still.
#[test]
fn run_does_not_block_the_async_worker() {
    let test_db = TestDatabase::new();
    let db = test_db.db().clone();
    let via_run = ticks_while(async { db.run(sleep_300ms).await.unwrap() });
    let direct = ticks_while(async { sleep_300ms(&mut db.conn().unwrap()).unwrap() });
    assert!(
        via_run >= 10,
        "the ticker ticked {via_run} times during run"
    );
    assert!(direct <= 1, "control: the ticker ticked {direct} times");
}

/// The closure's error arrives as the same variant: a duplicate email is
/// `Conflict`, a missing user `NotFound`, bad input `Invalid` (and in
/// `run_transaction` the failed transaction is rolled back).
#[test]
fn errors_map_through_run_and_run_transaction() {
    let test_db = TestDatabase::new();
    let db = test_db.db().clone();
    runtime().block_on(async {
        db.run(|c| c.users().create(&NewUser::new("dup@example.com", "D")))
            .await
            .unwrap();
        let dup = db
            .run(|c| c.users().create(&NewUser::new("dup@example.com", "E")))
            .await
            .unwrap_err();
        assert!(
            matches!(dup, Error::Conflict { ref constraint } if constraint == "users_email_key"),
            "{dup:?}"
        );
        let missing = db
            .run(|c| c.users().get(UserId::now_v7()))
            .await
            .unwrap_err();
        assert!(
            matches!(missing, Error::NotFound { entity: "user" }),
            "{missing:?}"
        );
        let bad = db
            .run_transaction(|tx| {
                tx.users().create(&NewUser::new("first@example.com", "F"))?;
                tx.users().create(&NewUser::new("not an email", "G"))
            })
            .await
            .unwrap_err();
        assert!(
            matches!(bad, Error::Invalid { ref field, .. } if field == "email"),
            "{bad:?}"
        );
    });
    assert_eq!(users(&db), 1, "the failed transaction left no row");
}

/// `run_transaction` commits what the closure did when it returns `Ok`.
#[test]
fn run_transaction_commits_on_ok() {
    let test_db = TestDatabase::new();
    let db = test_db.db().clone();
    let user = runtime()
        .block_on(db.run_transaction(|tx| {
            let user = tx.users().create(&NewUser::new("tx@example.com", "T"))?;
            tx.users().verify_email(user.id)
        }))
        .unwrap();
    assert!(user.email_verified_at.is_some());
    assert_eq!(users(&db), 1);
}

/// A panic in the closure is `Error::Panicked` with its message, not a
/// panic in the caller; with a pool of one, the next `run` gets a working
/// connection outside any transaction, and what the panicking closure
/// wrote in its open transaction is gone (its connection was discarded).
#[test]
fn a_panic_inside_run_is_an_error_and_the_pool_stays_usable() {
    let test_db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    let db = test_db.db().clone();
    runtime().block_on(async {
        let err = db
            .run(|conn| -> saas_db::Result<()> {
                AnsiTransactionManager::begin_transaction(conn)?;
                conn.users().create(&NewUser::new("p@example.com", "P"))?;
                panic!("boom in run");
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Panicked(ref m) if m == "boom in run"),
            "{err:?}"
        );
        let err = db
            .run_transaction(|tx| -> saas_db::Result<()> {
                tx.users().create(&NewUser::new("q@example.com", "Q"))?;
                panic!("boom in {}", "run_transaction");
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Panicked(ref m) if m == "boom in run_transaction"),
            "{err:?}"
        );
        let depth = db
            .run(|conn| {
                let depth = AnsiTransactionManager::transaction_manager_status_mut(conn)
                    .transaction_depth()?;
                Ok((depth, conn.users().count()?))
            })
            .await
            .unwrap();
        assert_eq!(depth, (None, 0));
    });
}

/// With every connection busy, a `run` waits `connection_timeout` inside
/// its blocking task and fails with `PoolTimeout` (HTTP 503), not a hang.
#[test]
fn an_exhausted_pool_is_a_pool_timeout() {
    let test_db = TestDatabase::with_builder(|b| {
        b.max_size(1).connection_timeout(Duration::from_millis(200))
    })
    .unwrap();
    let db = test_db.db().clone();
    runtime().block_on(async {
        let busy = tokio::spawn({
            let db = db.clone();
            async move { db.run(sleep_300ms).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let err = db.run(|c| c.users().count()).await.unwrap_err();
        assert!(matches!(err, Error::PoolTimeout { .. }), "{err:?}");
        assert_eq!(err.http_status(), 503);
        assert!(started.elapsed() < Duration::from_secs(2));
        busy.await.unwrap().unwrap();
    });
}

/// A waker that does nothing (`Waker::noop` needs Rust 1.85).
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Polls `future` until it is ready (5 s at most), without a runtime.
fn poll_to_end<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Noop));
    let started = Instant::now();
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return out;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "it hangs");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A task that cannot run because its runtime has shut down resolves to
/// `Error::Cancelled` at once; outside any runtime `run` is
/// `Error::NotAvailable` (where `spawn_blocking` would panic).
#[test]
fn a_cancelled_task_or_no_runtime_is_an_error_not_a_hang() {
    let test_db = TestDatabase::new();
    let db = test_db.db().clone();
    let rt = runtime();
    let handle = rt.handle().clone();
    drop(rt);
    let guard = handle.enter();
    let cancelled = poll_to_end(db.run(|c| c.users().count()));
    drop(guard);
    assert!(matches!(cancelled, Err(Error::Cancelled)), "{cancelled:?}");
    let outside = poll_to_end(db.run(|c| c.users().count()));
    assert!(
        matches!(outside, Err(Error::NotAvailable(_))),
        "{outside:?}"
    );
}
