//! `DEALLOCATE ALL` run by a host on a pooled connection, and a column's
//! type changed under a cached statement: the server no longer has (or no
//! longer accepts) a statement Diesel's cache still holds. The call fails
//! once, with the server's error, and the pool replaces the connection.
//! Control: a plain r2d2 pool hands the same connection back, and it fails
//! the same way on every call.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use saas_db::users::UserChanges;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

use super::Warm;
use crate::faults::pool::unchecked_pool;
use crate::support::backend_pid;

/// The user's name changed, expecting the version `warm` knows.
fn rename(conn: &mut PgConnection, warm: &Warm) -> saas_db::Result<saas_db::users::User> {
    let changes = UserChanges {
        name: Some("Renamed".into()),
        ..Default::default()
    };
    conn.users()
        .update(warm.user.id, warm.user.version, &changes)
}

/// Whether `err` is the server's error for a cached statement that is
/// gone: `prepared statement "__diesel_stmt_<n>" does not exist`.
fn is_deallocated(err: &Error) -> bool {
    matches!(err, Error::Database(DieselError::DatabaseError(DatabaseErrorKind::Unknown, info))
        if info.message().starts_with("prepared statement \"__diesel_stmt_")
            && info.message().ends_with("\" does not exist"))
}

/// After `DEALLOCATE ALL` the next cached write fails with the server's
/// error and writes nothing; the connection is closed when it goes back to
/// the pool, and the next checkout's new connection prepares the
/// statements again. Before, the pool took the connection back and every
/// cached write on it failed for as long as it lived (the control).
#[test]
fn deallocate_all_fails_one_call_and_the_pool_replaces_the_connection() {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    let mut warm = Warm::new(&mut db.conn().unwrap());

    let plain = unchecked_pool(db.url(), 1);
    let mut conn = plain.get().unwrap();
    warm.write_all(&mut conn).unwrap();
    let pid = backend_pid(&mut conn);
    conn.batch_execute("DEALLOCATE ALL").unwrap();
    drop(conn);
    for _ in 0..2 {
        let mut conn = plain.get().unwrap();
        assert_eq!(backend_pid(&mut conn), pid);
        let err = rename(&mut conn, &warm).unwrap_err();
        assert!(is_deallocated(&err), "control: {err:?}");
    }

    let mut conn = db.conn().unwrap();
    warm.write_all(&mut conn).unwrap();
    let pid = backend_pid(&mut conn);
    conn.batch_execute("DEALLOCATE ALL").unwrap();
    let err = rename(&mut conn, &warm).unwrap_err();
    assert!(is_deallocated(&err), "{err:?}");
    let before = db.pool_status().connections_closed;
    drop(conn);
    assert_eq!(db.pool_status().connections_closed - before, 1);
    let mut conn = db.conn().unwrap();
    assert_ne!(backend_pid(&mut conn), pid, "a new connection");
    warm.assert_user_unchanged(&mut conn);
    warm.write_all(&mut conn).unwrap();
}

/// A host changes the type of a column a cached statement returns (`text`
/// to `varchar`): named columns cannot help, the server refuses the cached
/// plan (`cached plan must not change result type`). The call fails once
/// per warm connection; the pool replaces it and the write works again.
/// Before, the connection went back to the pool and failed every time.
#[test]
fn a_column_type_change_fails_one_call_per_warm_connection() {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    let mut conn = db.conn().unwrap();
    let mut warm = Warm::new(&mut conn);
    warm.write_all(&mut conn).unwrap();
    let pid = backend_pid(&mut conn);
    PgConnection::establish(db.url())
        .unwrap()
        .batch_execute("ALTER TABLE users ALTER COLUMN name TYPE varchar(200)")
        .unwrap();
    let err = rename(&mut conn, &warm).unwrap_err();
    assert!(
        matches!(&err, Error::Database(DieselError::DatabaseError(DatabaseErrorKind::Unknown, info))
            if info.message() == "cached plan must not change result type"),
        "{err:?}"
    );
    drop(conn);
    let mut conn = db.conn().unwrap();
    assert_ne!(backend_pid(&mut conn), pid, "a new connection");
    warm.write_all(&mut conn).unwrap();
}
