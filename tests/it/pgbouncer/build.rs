//! What `build` and `migrate` do in transaction-pooling mode: the check that
//! the server applies the settings the crate no longer sets per session,
//! the statement cache being off, and migrations applied exactly once by
//! concurrent starters through PgBouncer.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::{Database, DatabaseBuilder, Error};
use saas_db_testing::TestDatabase;

use super::bouncer;
use crate::support::{race, Count};

/// The `ALTER ROLE ..;` statement named in an [`Error::Pooled`]'s fix.
fn alter_statement(fix: &str) -> String {
    let start = fix.find("ALTER ROLE").expect("fix names ALTER ROLE");
    let end = fix.find("; and reconnect").expect("fix ends the statement");
    fix[start..end].to_owned()
}

/// Builds through PgBouncer expecting [`Error::Pooled`] for `setting`; runs
/// the statement its fix names, then builds again on a fresh PgBouncer.
/// Control: the same settings without the flag build at once (they are set
/// per session); this check is what used to be missing.
fn refused_until_role_setting(
    setting: &str,
    configure: impl Fn(DatabaseBuilder) -> DatabaseBuilder,
) -> String {
    let test_db = TestDatabase::new();
    let first = bouncer(1);
    let url = first.url_for(test_db.name());
    let plain = |u: &str| configure(Database::builder(u).max_size(1).run_migrations(false));
    // On the direct URL: through the pooler its session settings would
    // leak onto the shared server connection and satisfy the check.
    plain(test_db.url())
        .build()
        .expect("control: without the flag it builds");
    let err = plain(&url).transaction_pooling(true).build().unwrap_err();
    let fix = match err {
        Error::Pooled { ref what, ref fix } if what == setting => fix.clone(),
        other => panic!("expected Error::Pooled for {setting}, got {other:?}"),
    };
    let alter = alter_statement(&fix);
    assert!(alter.contains(&format!("IN DATABASE \"{}\"", test_db.name())));
    let mut direct = PgConnection::establish(test_db.url()).unwrap();
    direct.batch_execute(&alter).unwrap();
    drop(first); // its server connections started before the ALTER
    let second = bouncer(1);
    let db = plain(&second.url_for(test_db.name()))
        .transaction_pooling(true)
        .build()
        .expect("builds once the role applies the setting");
    assert!(db.transaction_pooling());
    alter
}

#[test]
fn pooling_refuses_a_schema_the_role_does_not_apply_and_names_the_alter() {
    let alter = refused_until_role_setting("search_path", |b| b.schema("tenant_p"));
    assert!(
        alter.ends_with("SET search_path = \"tenant_p\", public"),
        "{alter}"
    );
}

#[test]
fn pooling_refuses_a_statement_timeout_the_role_does_not_apply_and_names_the_alter() {
    let alter = refused_until_role_setting("statement_timeout", |b| {
        b.statement_timeout(Duration::from_millis(2500))
    });
    assert!(
        alter.ends_with("SET statement_timeout = '2500ms'"),
        "{alter}"
    );
}

/// Named statements left on the connection after two repository calls.
fn prepared_after_calls(pooling: bool) -> i64 {
    let test_db = TestDatabase::new();
    let db = Database::builder(test_db.url())
        .max_size(1)
        .transaction_pooling(pooling)
        .run_migrations(false)
        .build()
        .unwrap();
    let mut conn = db.conn().unwrap();
    use saas_db::Repos;
    let user = conn
        .users()
        .create(&saas_db::users::NewUser::new("cache@example.com", "C"))
        .unwrap();
    conn.users().get(user.id).unwrap();
    diesel::sql_query("SELECT count(*) AS n FROM pg_prepared_statements")
        .get_result::<Count>(&mut *conn)
        .unwrap()
        .n
}

/// With the flag no named statement is left on the connection. Control:
/// without it (the direct path, unchanged) Diesel keeps its cached ones.
#[test]
fn pooling_turns_the_statement_cache_off_and_the_direct_path_keeps_it() {
    assert_eq!(prepared_after_calls(true), 0);
    assert!(
        prepared_after_calls(false) > 0,
        "control: direct path caches"
    );
}

/// A fresh empty database, dropped (with FORCE) on drop.
struct EmptyDatabase(String);

impl EmptyDatabase {
    fn new() -> Self {
        let name = format!(
            "saas_pool_mig_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let mut admin = PgConnection::establish(&TestDatabase::admin_url().unwrap()).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        EmptyDatabase(name)
    }
}

impl Drop for EmptyDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&TestDatabase::admin_url().unwrap()) {
            let _ =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
        }
    }
}

/// Two pools migrating an empty database at once through PgBouncer: one
/// applies every migration, the other finds nothing to do, and each
/// version is recorded once.
#[test]
fn concurrent_migrations_through_pgbouncer_run_exactly_once() {
    let empty = EmptyDatabase::new();
    let bouncer = bouncer(2);
    let url = bouncer.url_for(&empty.0);
    let applied = race(2, |_, barrier| {
        let db = Database::builder(&url)
            .max_size(1)
            .transaction_pooling(true)
            .run_migrations(false)
            .build()
            .unwrap();
        barrier.wait();
        db.migrate().unwrap().len()
    });
    let mut counts = applied.clone();
    counts.sort();
    assert_eq!(counts[0], 0, "{applied:?}");
    assert!(counts[1] > 0, "{applied:?}");
    let mut direct = PgConnection::establish(
        &TestDatabase::admin_url()
            .map(|u| saas_db_testing::url_with_database(&u, &empty.0))
            .unwrap(),
    )
    .unwrap();
    let recorded = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT DISTINCT version FROM __diesel_schema_migrations) v",
    )
    .get_result::<Count>(&mut direct)
    .unwrap()
    .n;
    assert_eq!(recorded, counts[1] as i64);
    drop(direct);
    drop(bouncer);
}

/// Why `migrate` cannot keep its session lock behind the pooler (control for
/// the test above): a session advisory lock taken by one client is "taken"
/// again by another client sharing the server connection.
#[test]
fn a_session_advisory_lock_does_not_exclude_through_pgbouncer() {
    let test_db = TestDatabase::new();
    let bouncer = bouncer(1);
    let url = bouncer.url_for(test_db.name());
    let mut a = PgConnection::establish(&url).unwrap();
    let mut b = PgConnection::establish(&url).unwrap();
    a.batch_execute("SELECT pg_advisory_lock(4242)").unwrap();
    #[derive(QueryableByName)]
    struct Got {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        got: bool,
    }
    let got = diesel::sql_query("SELECT pg_try_advisory_lock(4242) AS got")
        .get_result::<Got>(&mut b)
        .unwrap()
        .got;
    assert!(got, "the other client should get the 'held' lock");
    a.batch_execute("SELECT pg_advisory_unlock_all()").unwrap();
}

/// A database whose messages are German, and a superuser, who may set
/// `lc_messages` for its session. Without the flag `build()` sets `C` per
/// connection and succeeds (the control); with the flag that session setting
/// would last for one server connection only, so `build()` refuses with
/// [`Error::NotAvailable`] (it used to count the role's privilege). Skips
/// where the server cannot use the locale.
#[test]
fn pooling_refuses_non_english_messages_even_for_a_role_that_could_set_them() {
    let test_db = TestDatabase::new();
    let mut owner = PgConnection::establish(test_db.url()).unwrap();
    let set = format!(
        "ALTER DATABASE {} SET lc_messages = 'de_DE.UTF-8'",
        test_db.name()
    );
    if let Err(e) = owner.batch_execute(&set) {
        eprintln!("SKIPPED: the server cannot use locale de_DE.UTF-8 ({e}); see .ci/run");
        return;
    }
    let bouncer = bouncer(1);
    let url = bouncer.url_for(test_db.name());
    let builder = |u: &str| Database::builder(u).max_size(1).run_migrations(false);
    builder(test_db.url())
        .build()
        .expect("control: a superuser on a direct URL sets C per connection");
    let err = builder(&url).transaction_pooling(true).build().unwrap_err();
    assert!(
        matches!(&err, Error::NotAvailable(m) if m.contains("SET lc_messages = 'C'")),
        "{err:?}"
    );
}
