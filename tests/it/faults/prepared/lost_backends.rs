//! Backends killed and a server restarted while connections hold prepared
//! statements: at most the call on the dying connection fails, with
//! `Error::Connection`, nothing is half-written, and the pool replaces the
//! connection, which prepares the statements again.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Uuid as SqlUuid};
use saas_db::content::PostChanges;
use saas_db::users::UserChanges;
use saas_db::{Database, Error, Repos};
use saas_db_testing::{EmbeddedPostgres, TestDatabase};

use super::{prepared, Warm};
use crate::faults::kill_backends;
use crate::support::{backend_pid, count_bound};

/// A pool of one, its connection warm (every cached write ran on it).
fn warm_pool_of_one() -> (TestDatabase, Warm, i32) {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    let mut conn = db.conn().unwrap();
    let mut warm = Warm::new(&mut conn);
    warm.write_all(&mut conn).unwrap();
    let pid = backend_pid(&mut conn);
    drop(conn);
    (db, warm, pid)
}

/// Asserts the pool closed `closed` connections since `before`, and that
/// its connection now is a new backend on which every cached write works
/// and is prepared again.
#[track_caller]
fn recovered(db: &Database, before: u64, closed: u64, old_pid: i32, warm: &mut Warm) {
    let mut conn = db.conn().unwrap();
    assert_eq!(db.pool_status().connections_closed - before, closed);
    assert_ne!(backend_pid(&mut conn), old_pid, "a new connection");
    warm.write_all(&mut conn).unwrap();
    assert_eq!(prepared(&mut conn, "%UPDATE users SET name%"), 1);
}

/// Asserts `err` is the one a call on a terminated backend gets.
#[track_caller]
fn assert_killed(err: &Error) {
    assert!(
        matches!(err, Error::Connection(m) if m == "terminating connection due to administrator command"),
        "{err:?}"
    );
}

/// Killed while idle in the pool: the checkout check finds the closed
/// socket, so no call fails at all.
#[test]
fn a_backend_killed_while_idle_costs_no_cached_write() {
    let (db, mut warm, pid) = warm_pool_of_one();
    let before = db.pool_status().connections_closed;
    kill_backends(db.url(), &[pid]);
    recovered(&db, before, 1, pid, &mut warm);
}

/// Killed while a caller holds the connection between two statements: the
/// next cached write on it fails with `Error::Connection`, writes nothing,
/// and the connection is closed when it goes back to the pool.
#[test]
fn a_backend_killed_under_a_checked_out_connection_fails_one_call() {
    let (db, mut warm, pid) = warm_pool_of_one();
    let mut conn = db.conn().unwrap();
    kill_backends(db.url(), &[pid]);
    let before = db.pool_status().connections_closed;
    let renamed = UserChanges {
        name: Some("Lost".into()),
        ..Default::default()
    };
    let err = conn
        .users()
        .update(warm.user.id, warm.user.version, &renamed)
        .unwrap_err();
    assert_killed(&err);
    drop(conn);
    warm.assert_user_unchanged(&mut db.conn().unwrap());
    recovered(&db, before, 1, pid, &mut warm);
}

/// Killed while its versioned update waits for a row lock another
/// transaction holds: the call fails with `Error::Connection`, the row is
/// as it was once the lock holder rolls back, and the pool recovers.
#[test]
fn a_backend_killed_while_its_cached_update_waits_on_a_lock() {
    let (db, mut warm, pid) = warm_pool_of_one();
    let mut locker = PgConnection::establish(db.url()).unwrap();
    locker.batch_execute("BEGIN").unwrap();
    diesel::sql_query("SELECT 1 FROM posts WHERE id = $1 FOR UPDATE")
        .bind::<SqlUuid, _>(warm.post.id.uuid())
        .execute(&mut locker)
        .unwrap();
    let before = db.pool_status().connections_closed;
    let (post_id, version) = (warm.post.id, warm.post.version);
    let err = std::thread::scope(|s| {
        let update = s.spawn(|| {
            let changes = PostChanges {
                title: Some("Never".into()),
                ..Default::default()
            };
            db.conn()
                .unwrap()
                .posts()
                .update(post_id, version, &changes)
        });
        let waiting = "SELECT count(*) AS n FROM pg_stat_activity
                        WHERE pid = $1 AND wait_event_type = 'Lock'";
        let deadline = Instant::now() + Duration::from_secs(10);
        while count_bound::<Integer, _>(&mut locker, waiting, pid) == 0 {
            assert!(Instant::now() < deadline, "the update never waited");
            std::thread::sleep(Duration::from_millis(5));
        }
        kill_backends(db.url(), &[pid]);
        update.join().unwrap().unwrap_err()
    });
    assert_killed(&err);
    locker.batch_execute("ROLLBACK").unwrap();
    let post = db.conn().unwrap().posts().get(post_id).unwrap();
    assert_eq!(post, warm.post, "nothing written");
    recovered(&db, before, 1, pid, &mut warm);
}

/// A server restart under a warm pool: every cached write works again
/// through the pool, on new connections that prepare them again.
#[test]
fn a_server_restart_under_a_warm_pool_breaks_no_cached_write() {
    let pg = EmbeddedPostgres::start().unwrap();
    let db = Database::builder(pg.url()).max_size(1).build().unwrap();
    let mut conn = db.conn().unwrap();
    let mut warm = Warm::new(&mut conn);
    warm.write_all(&mut conn).unwrap();
    let pid = backend_pid(&mut conn);
    drop(conn);
    let before = db.pool_status().connections_closed;
    pg.restart().unwrap();
    recovered(&db, before, 1, pid, &mut warm);
}
