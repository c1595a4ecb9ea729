//! The README's error table, row by row where no other test pins it: a
//! NOT NULL violation names the column in `field`, a CHECK names the
//! constraint; both by hand-written SQL, past the Rust checks.

use diesel::prelude::*;
use saas_db::Error;
use saas_db_testing::TestDatabase;

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

/// `Error::constraint()` and `Error::field()` read the classified errors
/// of real violations: a unique index gives its constraint and the input
/// field it is about, a foreign key its constraint and no field, a CHECK gives its name as the field and no
/// constraint, and `NotFound` gives neither.
#[test]
fn constraint_and_field_accessors_read_real_violations() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    diesel::sql_query("INSERT INTO users (email, name) VALUES ('dup@example.com', 'D')")
        .execute(&mut conn)
        .unwrap();
    let mut refused = |sql: &str| -> Error {
        diesel::sql_query(sql)
            .execute(&mut conn)
            .unwrap_err()
            .into()
    };
    let dup = refused("INSERT INTO users (email, name) VALUES ('dup@example.com', 'E')");
    assert!(matches!(dup, Error::Conflict { .. }), "{dup:?}");
    assert_eq!(dup.constraint(), Some("users_email_key"), "{dup:?}");
    assert_eq!(
        dup.field(),
        Some("email"),
        "the input field the constraint is about"
    );

    let fk = refused(
        "INSERT INTO user_profiles (user_id) VALUES ('00000000-0000-0000-0000-000000000001')",
    );
    assert!(matches!(fk, Error::ForeignKey { .. }), "{fk:?}");
    assert_eq!(fk.constraint(), Some("user_profiles_user_id_fkey"));
    assert_eq!(fk.field(), None);

    let check = refused("INSERT INTO users (email, name) VALUES ('Upper@Example.com', 'U')");
    assert_eq!(check.field(), Some("users_email_format"), "{check:?}");
    assert_eq!(check.constraint(), None);

    let missing = Error::NotFound { entity: "user" };
    assert_eq!((missing.field(), missing.constraint()), (None, None));
}
