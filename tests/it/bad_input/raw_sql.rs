//! Constraints reached by raw SQL, bypassing the Rust checks, classified
//! into the same variants.

use diesel::prelude::*;
use diesel::sql_types;
use saas_db::ids::UserId;
use saas_db::schema::user_profiles;
use saas_db::users::ProfileChanges;
use saas_db::{Error, Repos};
use uuid::Uuid;

use super::{assert_healthy, seeded};
use crate::support::{assert_foreign_key, assert_invalid};

#[test]
fn constraints_reached_through_raw_sql_are_classified() {
    let (db, seed) = seeded();
    let mut conn = db.conn().unwrap();

    // CHECK constraints, bypassing the Rust validation.
    let checks = [
        (
            "UPDATE users SET email = 'UPPER@X.IO'",
            "users_email_format",
        ),
        ("UPDATE users SET name = ''", "users_name_length"),
        ("UPDATE users SET username = 'a b'", "users_username_format"),
        (
            "UPDATE users SET ban_reason = 'half a ban'",
            "users_ban_consistent",
        ),
        // An UPDATE cannot break it any more (bump_version writes old + 1,
        // migration 000021): a copy of the row is inserted at version 0.
        (
            "INSERT INTO users (email, name, version) SELECT 'copy-' || email, name, 0 FROM users",
            "users_version_positive",
        ),
    ];
    for (sql, constraint) in checks {
        let err = diesel::sql_query(sql).execute(&mut *conn).unwrap_err();
        assert_invalid::<()>(Err(Error::from(err)), constraint);
        assert_eq!(conn.users().get(seed.id).unwrap(), seed, "{sql}");
        assert_healthy(&db, &mut conn, 1);
    }
    // NOT NULL names the column.
    let err = diesel::sql_query("UPDATE users SET name = NULL")
        .execute(&mut *conn)
        .unwrap_err();
    assert_invalid::<()>(Err(Error::from(err)), "name");
    assert_healthy(&db, &mut conn, 1);

    // Foreign key: a profile for a user that does not exist.
    let err = diesel::sql_query("INSERT INTO user_profiles (user_id) VALUES ($1)")
        .bind::<sql_types::Uuid, _>(Uuid::now_v7())
        .execute(&mut *conn)
        .unwrap_err();
    assert_foreign_key::<()>(Err(Error::from(err)), "user_profiles_user_id_fkey");
    assert_healthy(&db, &mut conn, 1);
    assert_foreign_key(
        conn.users()
            .upsert_profile(UserId(Uuid::now_v7()), &Default::default()),
        "user_profiles_user_id_fkey",
    );
    let changes = ProfileChanges {
        bio: Some(Some("orphan".into())),
        ..Default::default()
    };
    assert_foreign_key(
        conn.users()
            .upsert_profile(UserId(Uuid::now_v7()), &changes),
        "user_profiles_user_id_fkey",
    );
    let profiles: i64 = user_profiles::table.count().get_result(&mut *conn).unwrap();
    assert_eq!(profiles, 0);
    assert_eq!(conn.users().get(seed.id).unwrap(), seed);
    assert_healthy(&db, &mut conn, 1);
}
