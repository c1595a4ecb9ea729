//! `DatabaseBuilder::transaction_pooling(true)` through a real PgBouncer in
//! `pool_mode=transaction`: no statement cache, no session settings. Each
//! test has its control: the same calls with the flag off, which is how the
//! crate behaved behind a pooler before the flag existed.

use std::time::Duration;

use crate::support::setting;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::tx::RetryPolicy;
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos};

use super::bouncer;
use saas_db_testing::TestDatabase;

diesel::table! {
    pool_items (id) {
        id -> Int4,
    }
}

/// A pool of one through `url`, with or without the flag, no migrations.
fn pool(url: &str, pooling: bool) -> Database {
    Database::builder(url)
        .max_size(1)
        .transaction_pooling(pooling)
        .run_migrations(false)
        .build()
        .unwrap()
}

/// Two clients take turns on one server connection, 200 repository calls:
/// a user created by one is read back by the other. Returns the errors.
fn interleave(a: &Database, b: &Database, tag: &str) -> Vec<Error> {
    let mut errors = Vec::new();
    for i in 0..100 {
        let email = format!("{tag}{i}@example.com");
        let created = a
            .conn()
            .and_then(|mut c| c.users().create(&NewUser::new(&email, "T")));
        match created {
            Ok(user) => match b.conn().and_then(|mut c| c.users().get(user.id)) {
                Ok(read) => assert_eq!(read.email, email),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// 200 interleaved repository calls by two clients through PgBouncer with
/// one server connection: no errors with the flag. Control: with Diesel's
/// statement cache (the flag off, the crate's only behaviour before), the
/// second client's first statement fails with `prepared statement
/// "__diesel_stmt_0" already exists`.
#[test]
fn interleaved_repository_calls_through_pgbouncer_give_no_errors() {
    let test_db = TestDatabase::new();
    let bouncer = bouncer(1);
    let url = bouncer.url_for(test_db.name());
    let errors = interleave(&pool(&url, true), &pool(&url, true), "flag");
    assert!(
        errors.is_empty(),
        "{} errors: {:?}",
        errors.len(),
        errors.first()
    );

    let errors = interleave(&pool(&url, false), &pool(&url, false), "control");
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().contains("already exists")),
        "control: the statement cache should fail behind the pooler, got {errors:?}"
    );
}

/// Client `a` asks for `id = 10` after client `b` prepared `id < $1` under
/// the same statement name on the server connection `a` now gets. With the
/// flag it gets row 10. Control: with the statement cache it silently gets
/// rows 1..9, another client's query.
#[test]
fn a_client_asking_for_id_10_gets_row_10() {
    let test_db = TestDatabase::new();
    let mut direct = PgConnection::establish(test_db.url()).unwrap();
    direct
        .batch_execute(
            "CREATE TABLE pool_items (id int4 PRIMARY KEY); \
             INSERT INTO pool_items SELECT generate_series(1, 20)",
        )
        .unwrap();
    let bouncer = bouncer(1);
    let url = bouncer.url_for(test_db.name());
    assert_eq!(ask_for_10(&url, test_db.name(), true), vec![10]);
    assert_eq!(
        ask_for_10(&url, test_db.name(), false),
        (1..10).collect::<Vec<i32>>(),
        "control: the statement cache should hand client a the other query's rows"
    );
}

/// The scenario: `a` runs `id = $1` (named statement 0 on server
/// connection 1); that server connection ends (as a pooler's
/// `server_lifetime` or a failover ends them); `b` runs `id < $1` (named
/// statement 0 on server connection 2); `a` runs `id = 10` again.
fn ask_for_10(url: &str, database: &str, pooling: bool) -> Vec<i32> {
    let (a, b) = (pool(url, pooling), pool(url, pooling));
    let by_id = |conn: &mut PgConnection, id: i32| {
        pool_items::table
            .filter(pool_items::id.eq(id))
            .select(pool_items::id)
            .load::<i32>(conn)
            .unwrap()
    };
    assert_eq!(by_id(&mut a.conn().unwrap(), 10), vec![10]);
    end_server_connections(database);
    let below = pool_items::table
        .filter(pool_items::id.lt(10))
        .select(pool_items::id)
        .order(pool_items::id)
        .load::<i32>(&mut *b.conn().unwrap())
        .unwrap();
    assert_eq!(below.len(), 9);
    let mut rows = by_id(&mut a.conn().unwrap(), 10);
    rows.sort();
    rows
}

/// Terminates the pooler's server connections to `database` and waits
/// until they are gone.
fn end_server_connections(database: &str) {
    let admin = TestDatabase::admin_url().unwrap();
    let mut direct = PgConnection::establish(&admin).unwrap();
    let left = |c: &mut PgConnection| {
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        )
        .bind::<diesel::sql_types::Text, _>(database)
        .execute(c)
        .unwrap()
    };
    let mut tries = 0;
    while left(&mut direct) > 0 && tries < 100 {
        std::thread::sleep(Duration::from_millis(20));
        tries += 1;
    }
    std::thread::sleep(Duration::from_millis(100));
}

/// A per-transaction setting (a retry policy's statement timeout) holds for
/// its own transaction and is not seen by the next client on the same
/// server connection. Control: a pool with session settings (the flag off)
/// leaks its `statement_timeout` to the other client.
#[test]
fn settings_of_one_client_are_neither_seen_by_another_nor_lost() {
    let test_db = TestDatabase::new();
    let bouncer = bouncer(1);
    let url = bouncer.url_for(test_db.name());
    let (a, b) = (pool(&url, true), pool(&url, true));
    let policy = RetryPolicy::default().statement_timeout(Duration::from_millis(1234));
    let own = a
        .transaction_with_retry(&policy, |tx| Ok(setting(tx, "statement_timeout")))
        .unwrap();
    assert_eq!(own, "1234ms", "lost for its own transaction");
    let other = b
        .transaction(|tx| Ok(setting(tx, "statement_timeout")))
        .unwrap();
    assert_eq!(other, "0", "seen by another client");

    let leaky = Database::builder(&url)
        .max_size(1)
        .statement_timeout(Duration::from_millis(4321))
        .run_migrations(false)
        .build()
        .unwrap();
    drop(leaky.conn().unwrap());
    let other = b
        .transaction(|tx| Ok(setting(tx, "statement_timeout")))
        .unwrap();
    assert_eq!(
        other, "4321ms",
        "control: session settings leak through the pooler"
    );
}

/// The crate sets no `application_name` in pooling mode; one in each
/// client's URL reaches the server connection it is lent (PgBouncer tracks
/// it per client). Control: a client without one sees whatever the previous
/// client of that server connection left.
#[test]
fn an_application_name_in_a_pooled_url_reaches_the_server() {
    let test_db = TestDatabase::new();
    let bouncer = bouncer(1);
    let url = bouncer.url_for(test_db.name());
    let a = pool(&format!("{url}&application_name=app-a"), true);
    let b = pool(&format!("{url}&application_name=app-b"), true);
    let plain = pool(&url, true);
    let seen = |db: &Database| setting(&mut db.conn().unwrap(), "application_name");
    for _ in 0..3 {
        assert_eq!(seen(&a), "app-a");
        assert_eq!(seen(&b), "app-b");
    }
    assert_eq!(
        seen(&plain),
        "app-b",
        "control: left by the previous client"
    );
}
