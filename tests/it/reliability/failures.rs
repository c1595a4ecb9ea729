//! Failures inside a transaction: a statement timeout, a killed backend and
//! a panic each roll back and hand a clean connection back to the pool.

use std::time::Duration;

use crate::support::backend_pid;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Integer;
use saas_db::tx::RetryPolicy;
use saas_db::users::NewUser;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

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

#[test]
fn killed_backend_mid_transaction_loses_nothing_and_the_pool_recovers() {
    let db = TestDatabase::with_builder(|b| b.max_size(1)).unwrap();
    let admin_url = db.url().to_owned();
    let err = db
        .transaction(|tx| {
            tx.users()
                .create(&NewUser::new("half@example.com", "Half"))?;
            let me = backend_pid(tx);
            let mut admin = PgConnection::establish(&admin_url).unwrap();
            diesel::sql_query("SELECT pg_terminate_backend($1)")
                .bind::<Integer, _>(me)
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
