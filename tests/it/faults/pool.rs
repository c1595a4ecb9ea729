//! The pool never hands out a connection that died while it sat idle, and
//! never takes back one that died in the middle of a COPY. Controls: a plain
//! r2d2 pool that skips the checkout check, as ours did for a connection
//! used within `recheck_after`.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, ManageConnection};
use saas_db::users::NewUser;
use saas_db::{Database, Repos};
use saas_db_testing::EmbeddedPostgres;
use saas_db_testing::TestDatabase;

use super::{backend_pid, create_suicide_function, kill_backends};

/// The pool that we compare with: r2d2 with Diesel's manager and no
/// checkout check.
pub(super) fn unchecked_pool(url: &str, size: u32) -> r2d2::Pool<ConnectionManager<PgConnection>> {
    r2d2::Pool::builder()
        .max_size(size)
        .test_on_check_out(false)
        .build(ConnectionManager::new(url))
        .unwrap()
}

/// Warms four pooled connections (all in use at once, so they are four),
/// lets `break_them` kill them while they are idle in the pool, then makes
/// four calls and returns how many failed.
fn failures_after<M>(pool: &r2d2::Pool<M>, break_them: impl FnOnce(&[i32])) -> usize
where
    M: ManageConnection<Connection = PgConnection>,
{
    let mut warm: Vec<_> = (0..4).map(|_| pool.get().unwrap()).collect();
    let pids: Vec<i32> = warm.iter_mut().map(|c| backend_pid(c)).collect();
    drop(warm);
    break_them(&pids);
    (0..4)
        .filter(|_| match pool.get() {
            Ok(mut conn) => diesel::sql_query("SELECT 1").execute(&mut *conn).is_err(),
            Err(_) => true,
        })
        .count()
}

/// A server restart right after the pool was used: every warm connection is
/// dead. The old checkout handed each out once (4 of 4 calls failed) when
/// it had been used within `recheck_after`; now the check reads the closed
/// socket without a round trip, even with a recheck window of an hour.
#[test]
fn a_restart_right_after_use_costs_no_call() {
    let pg = EmbeddedPostgres::start().unwrap();
    let restart = |_: &[i32]| pg.restart().unwrap();
    let control = failures_after(&unchecked_pool(pg.url(), 4), restart);
    assert_eq!(control, 4, "control: every warm connection was dead");

    let db = Database::builder(pg.url())
        .max_size(4)
        .recheck_after(Duration::from_secs(3600))
        .build()
        .unwrap();
    let closed = db.pool_status().connections_closed;
    assert_eq!(failures_after(db.pool(), restart), 0);
    assert_eq!(db.pool_status().connections_closed - closed, 4);
    // And through a repository, as a caller would.
    pg.restart().unwrap();
    for _ in 0..4 {
        db.conn().unwrap().users().count().unwrap();
    }
}

/// Backends terminated while idle in the pool (an operator's
/// `pg_terminate_backend`, an idle-session timeout): the next calls get
/// fresh connections.
#[test]
fn backends_killed_while_idle_are_not_handed_out() {
    let db = TestDatabase::with_builder(|b| b.max_size(4)).unwrap();
    let kill = |pids: &[i32]| kill_backends(db.url(), pids);
    let control = failures_after(&unchecked_pool(db.url(), 4), kill);
    assert_eq!(control, 4, "control: every warm connection was dead");

    let closed = db.pool_status().connections_closed;
    assert_eq!(failures_after(db.pool(), kill), 0);
    assert_eq!(db.pool_status().connections_closed - closed, 4);
}

/// A backend killed in the middle of a COPY import (here by a row trigger
/// on the 500th row). The connection used to go back to the pool and fail
/// the next call: Diesel reports a COPY's failure with an unknown kind, so
/// it was not seen as lost. Now it is closed when it comes back, before
/// anyone checks it out again.
#[test]
fn a_connection_killed_during_copy_is_not_reused() {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    {
        let mut conn = db.conn().unwrap();
        create_suicide_function(&mut conn);
        conn.batch_execute(
            "CREATE TRIGGER users_die BEFORE INSERT ON users FOR EACH ROW
                 WHEN (NEW.name = 'die') EXECUTE FUNCTION die()",
        )
        .unwrap();
    }
    let emails: Vec<String> = (0..1000).map(|i| format!("u{i}@copy.example")).collect();
    let batch: Vec<NewUser> = emails
        .iter()
        .enumerate()
        .map(|(i, e)| NewUser::new(e, if i == 500 { "die" } else { "Imported" }))
        .collect();

    // Control: the same import on a plain r2d2 pool of one.
    let plain = unchecked_pool(db.url(), 1);
    assert!(plain.get().unwrap().users().import(&batch).is_err());
    let next = diesel::sql_query("SELECT 1").execute(&mut *plain.get().unwrap());
    assert!(next.is_err(), "control: the dead connection was handed out");

    let closed = db.pool_status().connections_closed;
    let err = db.conn().unwrap().users().import(&batch).unwrap_err();
    assert!(matches!(err, saas_db::Error::Connection(_)), "{err:?}");
    assert_eq!(
        db.pool_status().connections_closed - closed,
        1,
        "the connection went back to the pool"
    );
    assert_eq!(db.conn().unwrap().users().count().unwrap(), 0);
}
