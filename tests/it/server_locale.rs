//! A server whose messages are not English, with an application role that
//! cannot switch them to `C`: `build()` refuses and names the statement that
//! fixes it, because errors recognised by their message (here a privilege
//! refusal, `Forbidden`) would otherwise arrive as `Error::Database`.

use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::{Database, Error};
use saas_db_testing::TestDatabase;

use crate::secrets::scan_sources::Captured;

const LOCALE: &str = "de_DE.UTF-8";

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = Text)]
    value: String,
}

fn text(conn: &mut PgConnection, sql: &str) -> String {
    diesel::sql_query(sql)
        .get_result::<Value>(conn)
        .unwrap()
        .value
}

/// A refusal for lack of privilege (reading `pg_authid` needs superuser).
fn refusal(db: &Database) -> Error {
    let mut conn = db.conn().unwrap();
    let err = diesel::sql_query("SELECT 1 FROM pg_authid")
        .execute(&mut *conn)
        .unwrap_err();
    Error::from(err)
}

/// Revokes the parameter grant even when the test fails, so that the
/// role can be dropped with its database.
struct Revoke<'a>(&'a mut PgConnection, String);
impl Drop for Revoke<'_> {
    fn drop(&mut self) {
        let sql = format!("REVOKE SET ON PARAMETER lc_messages FROM {}", self.1);
        let _ = diesel::sql_query(sql).execute(self.0);
    }
}

/// The database speaks German (`ALTER DATABASE .. SET lc_messages`), the
/// app role is neither superuser nor granted the parameter. `build()` used to
/// succeed, and every privilege or RLS refusal then came back as
/// `Error::Database`; now it is `Error::NotAvailable` naming the fix. With
/// `require_english_messages(false)` it builds and the degradation shows;
/// `GRANT SET ON PARAMETER lc_messages` lets each connection set `C`; and
/// the `ALTER DATABASE` statement from the error message fixes it for good.
/// Skips (printing why) where the OS locale or the translations are missing.
#[test]
fn a_localized_server_is_refused_for_a_role_that_cannot_set_lc_messages() {
    let test_db = TestDatabase::new();
    let mut owner = PgConnection::establish(test_db.url()).unwrap();
    let set = format!(
        "ALTER DATABASE {} SET lc_messages = '{LOCALE}'",
        test_db.name()
    );
    if let Err(e) = diesel::sql_query(set).execute(&mut owner) {
        eprintln!("SKIPPED: the server cannot use locale {LOCALE} ({e}); see .ci/run");
        return;
    }
    let app_url = test_db.app_url().unwrap();
    let mut app = PgConnection::establish(&app_url).unwrap();
    let role = text(&mut app, "SELECT current_user::text AS value");
    let probe = diesel::sql_query("SELECT 1 FROM pg_authid")
        .execute(&mut app)
        .unwrap_err()
        .to_string();
    if probe.starts_with("permission denied") {
        eprintln!("SKIPPED: no {LOCALE} message translations on this server ({probe})");
        return;
    }
    drop(app);

    let err = Database::builder(&app_url)
        .run_migrations(false)
        .build()
        .unwrap_err();
    let Error::NotAvailable(message) = err else {
        panic!("expected NotAvailable, got {err:?}");
    };
    let fix = format!(
        "ALTER DATABASE \"{}\" SET lc_messages = 'C';",
        test_db.name()
    );
    assert!(message.contains(&fix), "{message}");
    assert!(message.contains(&format!("ALTER ROLE \"{role}\" SET lc_messages = 'C';")));
    assert!(message.contains(LOCALE), "{message}");

    // Accepted on request, with the same advice as a WARN: then a
    // privilege refusal is not recognised.
    let captured = Captured::default();
    let lenient = captured.during(|| {
        Database::builder(&app_url)
            .run_migrations(false)
            .require_english_messages(false)
            .build()
            .unwrap()
    });
    let logged = captured.text();
    assert!(logged.contains("WARN") && logged.contains(&fix), "{logged}");
    let err = refusal(&lenient);
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    drop(lenient);

    // A role allowed to set the parameter gets `C` on every connection.
    let mut admin = PgConnection::establish(&TestDatabase::admin_url().unwrap()).unwrap();
    diesel::sql_query(format!("GRANT SET ON PARAMETER lc_messages TO {role}"))
        .execute(&mut admin)
        .unwrap();
    let revoke = Revoke(&mut admin, role.clone());
    let granted = Database::builder(&app_url)
        .run_migrations(false)
        .build()
        .unwrap();
    let err = refusal(&granted);
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    drop(granted);
    drop(revoke);

    // The statement from the message fixes it without any grant.
    diesel::sql_query(fix.trim_end_matches(';'))
        .execute(&mut owner)
        .unwrap();
    let fixed = Database::builder(&app_url)
        .run_migrations(false)
        .build()
        .unwrap();
    let err = refusal(&fixed);
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
}
