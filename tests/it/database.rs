//! The Database handle: pool behaviour on the bad day (exhaustion; server
//! restarts and killed backends are in `faults::pool`), transactions,
//! timeouts and session settings.

use std::time::{Duration, Instant};

use crate::support::setting;
use diesel::prelude::*;
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos};
use saas_db_testing::EmbeddedPostgres;
use saas_db_testing::TestDatabase;

#[test]
fn database_is_a_cheap_shared_handle() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Database>();

    let test_db = TestDatabase::new();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let db = test_db.db().clone();
            std::thread::spawn(move || {
                let email = format!("thread{t}@example.com");
                db.conn()
                    .unwrap()
                    .users()
                    .create(&NewUser::new(&email, "T"))
                    .unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(test_db.conn().unwrap().users().count().unwrap(), 4);
}

#[test]
fn session_settings_are_applied_to_every_connection() {
    let test_db = TestDatabase::with_builder(|b| {
        b.application_name("billing-worker")
            .statement_timeout(Duration::from_millis(1500))
    })
    .unwrap();
    let mut conn = test_db.conn().unwrap();
    assert_eq!(setting(&mut conn, "application_name"), "billing-worker");
    assert_eq!(setting(&mut conn, "statement_timeout"), "1500ms");
    assert_eq!(setting(&mut conn, "lc_messages"), "C");
}

#[test]
fn statement_timeout_is_a_typed_error_and_the_connection_survives() {
    let test_db =
        TestDatabase::with_builder(|b| b.statement_timeout(Duration::from_millis(100))).unwrap();
    let mut conn = test_db.conn().unwrap();
    let err = Error::from(
        diesel::sql_query("SELECT pg_sleep(2)")
            .execute(&mut conn)
            .unwrap_err(),
    );
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(conn.users().count().unwrap(), 0);
}

#[test]
fn exhausted_pool_gives_pool_timeout_within_the_connection_timeout() {
    let test_db = TestDatabase::with_builder(|b| {
        b.max_size(2).connection_timeout(Duration::from_millis(300))
    })
    .unwrap();
    let held = (test_db.conn().unwrap(), test_db.conn().unwrap());
    let started = Instant::now();
    let Err(err) = test_db.conn() else {
        panic!("a third checkout from a pool of two succeeded")
    };
    let waited = started.elapsed();
    assert!(matches!(err, Error::PoolTimeout { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(
        waited >= Duration::from_millis(300),
        "gave up early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(3),
        "waited far past the timeout: {waited:?}"
    );
    drop(held);
    assert_eq!(test_db.conn().unwrap().users().count().unwrap(), 0);
}

#[test]
fn unreachable_server_is_a_connection_error() {
    let err = Database::builder("postgresql://nobody@/nodb?host=/nonexistent-socket-dir")
        .connection_timeout(Duration::from_millis(500))
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Connection(msg) if msg.contains("nonexistent-socket-dir")),
        "{err:?}"
    );
}

#[test]
fn transaction_commits_on_ok_and_rolls_back_on_err_or_panic() {
    let test_db = TestDatabase::new();
    let created = test_db
        .transaction(|tx| tx.users().create(&NewUser::new("kept@example.com", "Kept")))
        .unwrap();

    let failed: Result<(), Error> = test_db.transaction(|tx| {
        tx.users()
            .create(&NewUser::new("rolled@example.com", "Rolled"))?;
        // The second create conflicts; the first must not survive.
        tx.users()
            .create(&NewUser::new("kept@example.com", "Dup"))?;
        Ok(())
    });
    assert!(matches!(failed, Err(Error::Conflict { .. })), "{failed:?}");

    let db = test_db.db().clone();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        db.transaction(|tx| {
            tx.users()
                .create(&NewUser::new("panic@example.com", "Panic"))?;
            panic!("host code panicked mid-transaction");
            #[allow(unreachable_code)]
            Ok(())
        })
    }));
    assert!(panicked.is_err());

    let mut conn = test_db.conn().unwrap();
    assert_eq!(conn.users().count().unwrap(), 1);
    assert_eq!(
        conn.users().get(created.id).unwrap().email,
        "kept@example.com"
    );
    assert!(conn
        .users()
        .find_by_email("rolled@example.com")
        .unwrap()
        .is_none());
    assert!(conn
        .users()
        .find_by_email("panic@example.com")
        .unwrap()
        .is_none());
}

/// Counts the statements the server logged that contain `needle`.
fn logged(pg: &EmbeddedPostgres, needle: &str) -> usize {
    std::fs::read_to_string(pg.log_path())
        .unwrap()
        .lines()
        .filter(|l| (l.contains("statement: ") || l.contains("execute ")) && l.contains(needle))
        .count()
}

fn log_all_statements(pg: &EmbeddedPostgres) {
    let mut admin = PgConnection::establish(pg.url()).unwrap();
    diesel::sql_query("ALTER SYSTEM SET log_statement = 'all'")
        .execute(&mut admin)
        .unwrap();
    diesel::sql_query("SELECT pg_reload_conf()")
        .execute(&mut admin)
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
}

/// A hot pool hands connections out without a round trip; the control (a
/// re-check window of zero) pings on every checkout, which the log shows;
/// and one idle past the window is pinged once.
#[test]
fn hot_checkout_does_not_ping() {
    let pg = EmbeddedPostgres::start().unwrap();
    log_all_statements(&pg);
    for (window, expect_pings) in [(Duration::from_secs(60), false), (Duration::ZERO, true)] {
        let db = Database::builder(pg.url())
            .max_size(2)
            .recheck_after(window)
            .build()
            .unwrap();
        let before = logged(&pg, "SELECT 1");
        for _ in 0..50 {
            let mut conn = db.conn().unwrap();
            conn.users().find_by_email("nobody@example.com").unwrap();
        }
        std::thread::sleep(Duration::from_millis(200)); // let the log catch up
        let pings = logged(&pg, "SELECT 1") - before;
        if expect_pings {
            assert!(
                pings >= 49,
                "control: expected a ping per checkout, saw {pings}"
            );
        } else {
            assert_eq!(pings, 0, "a hot pool pinged {pings} times in 50 checkouts");
        }
    }

    // A connection idle for longer than the window gets one ping at its
    // next checkout (no clock is read per statement: idle time counts from
    // the return to the pool of a connection that did work).
    let db = Database::builder(pg.url())
        .max_size(1)
        .recheck_after(Duration::from_millis(100))
        .build()
        .unwrap();
    db.conn().unwrap().users().count().unwrap();
    let before = logged(&pg, "SELECT 1");
    db.conn().unwrap().users().count().unwrap();
    std::thread::sleep(Duration::from_millis(300)); // idle past the window
    db.conn().unwrap().users().count().unwrap();
    std::thread::sleep(Duration::from_millis(200)); // let the log catch up
    assert_eq!(logged(&pg, "SELECT 1") - before, 1, "one ping after idling");
}
