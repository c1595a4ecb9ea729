//! A connection lost while COMMIT is in flight: the client cannot know
//! whether the server committed, and every transaction entry point must say
//! so ([`Error::CommitUnknown`]) instead of reporting a plain failure that a
//! caller would retry.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::access::Actor;
use saas_db::enums::UserRole;
use saas_db::ids::UserId;
use saas_db::tx::{run_transaction, RetryPolicy};
use saas_db::users::NewUser;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{backend_pid, count, create_suicide_function, kill_backends};

/// `ledger`, whose inserts kill the backend at COMMIT (a deferred
/// constraint trigger), and `users` updates that set the ban reason `die`
/// do the same.
fn dying_at_commit() -> TestDatabase {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    let mut conn = db.conn().unwrap();
    create_suicide_function(&mut conn);
    conn.batch_execute(
        "CREATE TABLE ledger (id int PRIMARY KEY);
         CREATE CONSTRAINT TRIGGER ledger_die AFTER INSERT ON ledger
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die();
         CREATE CONSTRAINT TRIGGER users_die AFTER UPDATE ON users
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
             WHEN (NEW.ban_reason = 'die') EXECUTE FUNCTION die();",
    )
    .unwrap();
    db
}

/// The connection dies while COMMIT runs. The outcome is unknown to the
/// client, so it must be reported as such and not retried; a loss before
/// COMMIT is a plain connection error (the control).
#[test]
fn connection_lost_during_commit_is_reported_and_not_retried() {
    let db = dying_at_commit();
    let runs = AtomicU32::new(0);
    let err = db
        .transaction_with_retry(&RetryPolicy::new().attempts(5), |tx| {
            runs.fetch_add(1, Ordering::SeqCst);
            tx.batch_execute("INSERT INTO ledger VALUES (1)")?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::CommitUnknown(_)), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "a commit with unknown outcome was retried"
    );

    // Control: the same death before COMMIT (immediate trigger) is an
    // ordinary connection error.
    let err = db
        .transaction_with_retry(&RetryPolicy::new(), |tx| {
            tx.batch_execute("SET CONSTRAINTS ALL IMMEDIATE; INSERT INTO ledger VALUES (2)")?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Connection(_)), "{err:?}");
    let mut conn = db.conn().unwrap();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM ledger"), 0);
}

/// `Database::transaction`, `Database::as_user` and `run_transaction` on a
/// connection of the caller's all report a COMMIT that lost its connection
/// as `CommitUnknown`, and the same death one statement earlier as a plain
/// `Connection` error. Before, only `transaction_with_retry` did: the
/// others said `Connection` for both, and a caller retried a write that
/// may have landed.
#[test]
fn every_transaction_entry_point_reports_a_lost_commit() {
    let db = dying_at_commit();
    let insert = |tx: &mut PgConnection, immediate: bool| -> saas_db::Result<()> {
        if immediate {
            tx.batch_execute("SET CONSTRAINTS ALL IMMEDIATE")?;
        }
        tx.batch_execute("INSERT INTO ledger VALUES (1)")?;
        Ok(())
    };
    for immediate in [false, true] {
        let results = [
            ("transaction", db.transaction(|tx| insert(tx, immediate))),
            (
                "as_user",
                db.as_user(UserId(Uuid::now_v7()), |tx| insert(tx, immediate)),
            ),
            (
                "run_transaction",
                run_transaction(&mut db.conn().unwrap(), |tx| insert(tx, immediate)),
            ),
        ];
        for (entry, result) in results {
            let err = result.unwrap_err();
            if immediate {
                assert!(matches!(err, Error::Connection(_)), "{entry}: {err:?}");
            } else {
                assert!(matches!(err, Error::CommitUnknown(_)), "{entry}: {err:?}");
            }
        }
    }
    let mut conn = db.conn().unwrap();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM ledger"), 0);
}

/// A repository call that groups its statements in a transaction of its
/// own (an audited ban: the change and its audit entry) commits when it
/// runs on a plain connection, so a lost COMMIT there is `CommitUnknown`
/// too (it used to be `Connection`). Inside the caller's transaction the
/// same call only releases a savepoint; the caller's COMMIT is the one
/// whose outcome is unknown.
#[test]
fn a_repository_commit_lost_is_unknown_at_top_level_only() {
    let db = dying_at_commit();
    let mut conn = db.conn().unwrap();
    let admin = conn
        .users()
        .create(&NewUser::new("admin@example.com", "Admin").role(UserRole::Admin))
        .unwrap();
    let target = conn
        .users()
        .create(&NewUser::new("target@example.com", "Target"))
        .unwrap();
    drop(conn);
    let actor = Actor::from(&admin);

    let mut conn = db.conn().unwrap();
    let err = conn
        .users()
        .ban(&actor, target.id, None, Some("die"))
        .unwrap_err();
    assert!(matches!(err, Error::CommitUnknown(_)), "{err:?}");
    drop(conn);

    let mut inner = None;
    let err = db
        .transaction(|tx| {
            let banned = tx.users().ban(&actor, target.id, None, Some("die"));
            inner = Some(banned.is_ok());
            banned.map(drop)
        })
        .unwrap_err();
    assert_eq!(inner, Some(true), "the savepoint release is not a commit");
    assert!(matches!(err, Error::CommitUnknown(_)), "{err:?}");

    // Neither commit landed.
    let mut conn = db.conn().unwrap();
    assert_eq!(conn.users().get(target.id).unwrap().banned_at, None);
}

/// A connection lost just before a savepoint is released (nested
/// `run_transaction`) is a plain connection error: nothing was being
/// committed, so nothing is unknown.
#[test]
fn a_lost_savepoint_release_is_not_a_lost_commit() {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    db.conn()
        .unwrap()
        .batch_execute("CREATE TABLE ledger (id int PRIMARY KEY)")
        .unwrap();
    let url = db.url().to_owned();
    let err = db
        .transaction(|tx| {
            run_transaction(tx, |inner| {
                inner.batch_execute("INSERT INTO ledger VALUES (1)")?;
                let me = backend_pid(inner);
                kill_backends(&url, &[me]);
                Ok(())
            })
        })
        .unwrap_err();
    assert!(matches!(err, Error::Connection(_)), "{err:?}");
    let mut conn = db.conn().unwrap();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM ledger"), 0);
}
