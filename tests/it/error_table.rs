//! The README's error table, row by row where no other test pins it: a
//! NOT NULL violation names the column in `field`, a CHECK names the
//! constraint; both by hand-written SQL, past the Rust checks.

use diesel::prelude::*;
use saas_db::testing::TestDatabase;
use saas_db::Error;

/// The README said a NOT NULL violation puts the constraint in `field`; the
/// code puts the column (NOT NULL has no constraint name to give).
#[test]
fn not_null_names_the_column_and_check_names_the_constraint() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let err: Error =
        diesel::sql_query("INSERT INTO users (email, name) VALUES ('nn@example.com', NULL)")
            .execute(&mut conn)
            .unwrap_err()
            .into();
    assert!(
        matches!(&err, Error::Invalid { field, reason } if field == "name" && reason == "must not be null"),
        "{err:?}"
    );
    let err: Error =
        diesel::sql_query("INSERT INTO users (email, name) VALUES ('Upper@Example.com', 'U')")
            .execute(&mut conn)
            .unwrap_err()
            .into();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "users_email_format"),
        "{err:?}"
    );
    // The connection is still usable.
    diesel::sql_query("SELECT 1").execute(&mut conn).unwrap();
}
