//! The defaults the README promises: `RetryPolicy` (serializable,
//! read-write, 5 attempts, 5 ms..500 ms backoff with jitter) and
//! `DatabaseBuilder` (10 connections, `min_idle` = pool size, 5 s
//! connection timeout, migrations on).

use std::time::{Duration, Instant};

use crate::support::setting;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use saas_db::tx::{Isolation, RetryPolicy};
use saas_db::{Database, Error};
use saas_db_testing::{url_with_database, TestDatabase};

const MS: Duration = Duration::from_millis(1);

/// `RetryPolicy::new()` equals one built with the documented values, and
/// running it shows them: a serializable read-write transaction, run 5
/// times when every attempt fails with a serialization failure (raised by
/// hand with SQLSTATE 40001), with pauses at least the lower bounds of the
/// backoff (2.5, 5, 10, 20 ms) between attempts.
#[test]
fn retry_policy_defaults() {
    let documented = RetryPolicy::new()
        .isolation(Isolation::Serializable)
        .read_only(false)
        .attempts(5)
        .backoff(5 * MS, 500 * MS);
    assert_eq!(RetryPolicy::new(), documented);
    assert_eq!(RetryPolicy::default(), documented);

    let db = TestDatabase::new();
    let mut starts = Vec::new();
    let err = db
        .transaction_with_retry(&RetryPolicy::new(), |tx| {
            starts.push(Instant::now());
            assert_eq!(setting(tx, "transaction_isolation"), "serializable");
            assert_eq!(setting(tx, "transaction_read_only"), "off");
            diesel::sql_query(
                "DO $$ BEGIN RAISE EXCEPTION 'conflict' \
                 USING ERRCODE = 'serialization_failure'; END $$",
            )
            .execute(tx)?;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Retryable { attempts: 5, .. }),
        "{err:?}"
    );
    assert_eq!(starts.len(), 5);
    for (i, pair) in starts.windows(2).enumerate() {
        let floor = 5 * MS * (1 << i) / 2;
        assert!(
            pair[1] - pair[0] >= floor,
            "pause {i}: {:?}",
            pair[1] - pair[0]
        );
    }
}

/// Every pause lies in `[cap / 2, cap]` with `cap = min(base * 2^(n-1), max)`,
/// both ends are approached (jitter, not a constant), attempts are at least
/// one, and a `max` below `base` is raised to it.
#[test]
fn retry_backoff_bounds() {
    for policy in [
        RetryPolicy::new(),
        RetryPolicy::new().backoff(3 * MS, 50 * MS),
    ] {
        let (base, max) = if policy == RetryPolicy::new() {
            (5 * MS, 500 * MS)
        } else {
            (3 * MS, 50 * MS)
        };
        for attempt in 1..=20u32 {
            let cap = (base * (1 << (attempt - 1).min(16))).min(max);
            let samples: Vec<Duration> = (0..300).map(|_| policy.delay(attempt)).collect();
            for d in &samples {
                assert!(
                    *d >= cap / 2 && *d <= cap,
                    "attempt {attempt}: {d:?} vs {cap:?}"
                );
            }
            let (lo, hi) = (samples.iter().min().unwrap(), samples.iter().max().unwrap());
            assert!(
                *lo < cap / 2 + cap / 8 && *hi > cap - cap / 8,
                "no jitter: {lo:?}..{hi:?}"
            );
        }
    }
    // Zero attempts still run once; a max below the base is the base.
    let db = TestDatabase::new();
    let mut runs = 0;
    let err = db
        .transaction_with_retry(&RetryPolicy::new().attempts(0), |tx| {
            runs += 1;
            diesel::sql_query(
                "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'serialization_failure'; END $$",
            )
            .execute(tx)?;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Retryable { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(runs, 1);
    let flat = RetryPolicy::new().backoff(40 * MS, 10 * MS);
    assert_eq!(flat, RetryPolicy::new().backoff(40 * MS, 40 * MS));
    for _ in 0..100 {
        let d = flat.delay(5);
        assert!(d >= 20 * MS && d <= 40 * MS, "{d:?}");
    }
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    present: bool,
}

/// `Database::builder(url).build()` with nothing set: a pool of 10, idle
/// connections kept up to the pool size (`min_idle` unset), a 5 s wait
/// for a free connection, application name `saas-db`, the server's
/// statement timeout, and migrations applied (to an empty database here).
#[test]
fn builder_defaults() {
    let admin_url = TestDatabase::admin_url().unwrap();
    let name = format!("saas_db_h1_defaults_{}", std::process::id());
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    // A name made of letters, digits and `_` only.
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap();
    let checked = std::panic::catch_unwind(|| {
        let db = Database::builder(&url_with_database(&admin_url, &name))
            .build()
            .unwrap();
        let pool = db.pool();
        assert_eq!(pool.max_size(), 10);
        assert_eq!(pool.min_idle(), None, "r2d2 then keeps max_size idle");
        assert_eq!(pool.connection_timeout(), Duration::from_secs(5));
        let mut conn = db.conn().unwrap();
        assert_eq!(setting(&mut conn, "application_name"), "saas-db");
        assert_eq!(setting(&mut conn, "statement_timeout"), "0");
        let migrated: Exists = diesel::sql_query(
            "SELECT to_regclass('users') IS NOT NULL AND to_regclass('audit_logs') IS NOT NULL \
             AS present",
        )
        .get_result(&mut conn)
        .unwrap();
        assert!(migrated.present, "migrations did not run by default");
    });
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .unwrap();
    checked.unwrap();
}
