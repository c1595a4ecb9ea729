//! Bad input is refused with the variant and field (or constraint) that say
//! what is wrong, writes nothing, and leaves the connection and the pool
//! usable.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::support::{assert_conflict, assert_invalid, self_actor};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types;
use saas_db::schema::user_profiles;
use saas_db::testing::TestDatabase;
use saas_db::users::{NewUser, ProfileChanges, User, UserChanges};
use saas_db::{Error, Repos};
use uuid::Uuid;

static PROBE: AtomicU32 = AtomicU32::new(0);

/// Creates, reads and removes a throwaway user on `conn`.
fn probe(conn: &mut PgConnection) {
    let n = PROBE.fetch_add(1, Ordering::Relaxed);
    let email = format!("probe{n}@example.com");
    let user = conn
        .users()
        .create(&NewUser::new(&email, "Probe"))
        .expect("connection unusable after a refused call");
    assert_eq!(conn.users().get(user.id).unwrap(), user);
    conn.users().hard_delete(user.id).unwrap();
}

/// After a refused call: nothing was written, and both the same connection
/// and a fresh pooled one still work.
#[track_caller]
fn assert_healthy(db: &TestDatabase, conn: &mut PgConnection, count: i64) {
    assert_eq!(
        conn.users().count().unwrap(),
        count,
        "a refused call wrote a user"
    );
    probe(conn);
    probe(&mut db.conn().unwrap());
    assert_eq!(conn.users().count().unwrap(), count);
}

#[track_caller]
fn assert_foreign_key<T: Debug>(result: saas_db::Result<T>, expected: &str) {
    assert!(
        matches!(&result, Err(Error::ForeignKey { constraint }) if constraint == expected),
        "expected ForeignKey {{ constraint: {expected:?} }}, got {result:?}"
    );
}

/// A fresh database with one user already in it.
fn seeded() -> (TestDatabase, User) {
    let db = TestDatabase::new();
    let user = db
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("seed@example.com", "Seed").username("seed"))
        .unwrap();
    (db, user)
}

#[test]
fn nul_bytes_are_invalid() {
    let (db, seed) = seeded();
    let mut conn = db.conn().unwrap();

    assert_invalid(
        conn.users()
            .create(&NewUser::new("nul@example.com", "a\0b")),
        "name",
    );
    assert_healthy(&db, &mut conn, 1);
    assert_invalid(
        conn.users()
            .create(&NewUser::new("nu\0l@example.com", "Nul")),
        "email",
    );
    assert_healthy(&db, &mut conn, 1);
    assert_invalid(
        conn.users()
            .create(&NewUser::new("nul@example.com", "Nul").username("ab\0cd")),
        "username",
    );
    assert_healthy(&db, &mut conn, 1);

    // Lookups and updates check too (a NUL would be a server encoding error).
    assert_invalid(conn.users().find_by_email("seed\0@example.com"), "email");
    assert_invalid(conn.users().find_by_username("se\0ed"), "username");
    let changes = UserChanges {
        name: Some("x\0"),
        ..Default::default()
    };
    assert_invalid(conn.users().update(seed.id, seed.version, &changes), "name");
    let changes = UserChanges {
        username: Some(Some("x\0yz")),
        ..Default::default()
    };
    assert_invalid(
        conn.users().update(seed.id, seed.version, &changes),
        "username",
    );
    assert_invalid(
        conn.users().change_email(seed.id, seed.version, "a\0@b.io"),
        "email",
    );
    assert_eq!(conn.users().get(seed.id).unwrap(), seed);
    assert_healthy(&db, &mut conn, 1);
}

#[test]
fn name_length_limits() {
    let (db, _) = seeded();
    let mut conn = db.conn().unwrap();
    for name in [
        "x".repeat(10_000),
        "x".repeat(201),
        "é".repeat(201),
        String::new(),
    ] {
        assert_invalid(
            conn.users()
                .create(&NewUser::new("long@example.com", &name)),
            "name",
        );
        assert_healthy(&db, &mut conn, 1);
    }
    // Exactly 200 characters is fine, counted in characters, not bytes.
    let mut count = 1;
    for (j, name) in ["x".repeat(200), "é".repeat(200)].into_iter().enumerate() {
        let email = format!("ok{j}@example.com");
        let user = conn.users().create(&NewUser::new(&email, &name)).unwrap();
        assert_eq!(user.name, name);
        count += 1;
        assert_healthy(&db, &mut conn, count);
    }
}

#[test]
fn malformed_emails_are_invalid() {
    let (db, _) = seeded();
    let mut conn = db.conn().unwrap();
    let too_long = format!("{}@example.com", "a".repeat(250));
    let bad = [
        "no-at-sign",
        "a@",
        "@b.c",
        "a b@c.d",
        "a@@b.c",
        "",
        "   ",
        "a@b c.d",
        "a\t@b.c",
        too_long.as_str(),
    ];
    for email in bad {
        let result = conn.users().create(&NewUser::new(email, "Bad Email"));
        assert!(
            matches!(&result, Err(Error::Invalid { field, .. }) if field == "email"),
            "{email:?}: {result:?}"
        );
        assert_healthy(&db, &mut conn, 1);
    }
}

#[test]
fn case_insensitive_conflicts() {
    let (db, seed) = seeded();
    let mut conn = db.conn().unwrap();
    let bob = conn
        .users()
        .create(&NewUser::new("bob@x.io", "Bob").username("Bobby"))
        .unwrap();
    assert_conflict(
        conn.users().create(&NewUser::new("Bob@X.io", "Bob 2")),
        "users_email_key",
    );
    assert_healthy(&db, &mut conn, 2);
    assert_conflict(
        conn.users()
            .create(&NewUser::new("other@x.io", "Other").username("bOBBY")),
        "users_username_lower_key",
    );
    assert_healthy(&db, &mut conn, 2);

    // Through updates of another user: refused, and that user is unchanged.
    let changes = UserChanges {
        username: Some(Some("BOBBY")),
        ..Default::default()
    };
    assert_conflict(
        conn.users().update(seed.id, seed.version, &changes),
        "users_username_lower_key",
    );
    assert_conflict(
        conn.users()
            .change_email(seed.id, seed.version, " BOB@x.IO "),
        "users_email_key",
    );
    assert_eq!(conn.users().get(seed.id).unwrap(), seed);
    assert_eq!(conn.users().get(bob.id).unwrap(), bob);
    assert_healthy(&db, &mut conn, 2);
}

#[test]
fn bad_username_locale_timezone_avatar() {
    let (db, _) = seeded();
    let mut conn = db.conn().unwrap();
    let long = "x".repeat(41);
    for username in [
        "a",
        "ab",
        "has space",
        long.as_str(),
        "semi;colon",
        "ünïcode",
        "",
    ] {
        let result = conn
            .users()
            .create(&NewUser::new("u@example.com", "U").username(username));
        assert!(
            matches!(&result, Err(Error::Invalid { field, .. }) if field == "username"),
            "{username:?}: {result:?}"
        );
        assert_healthy(&db, &mut conn, 1);
    }
    for locale in ["english", "e", "en-", "en_US_!!", "", "12", "en-US; DROP"] {
        let result = conn
            .users()
            .create(&NewUser::new("u@example.com", "U").locale(locale));
        assert!(
            matches!(&result, Err(Error::Invalid { field, .. }) if field == "locale"),
            "{locale:?}: {result:?}"
        );
        assert_healthy(&db, &mut conn, 1);
    }
    let long_tz = "A".repeat(65);
    for timezone in [
        "Europe/Paris; DROP TABLE users",
        "",
        "Mars Time",
        long_tz.as_str(),
        "UTC\0",
    ] {
        let result = conn
            .users()
            .create(&NewUser::new("u@example.com", "U").timezone(timezone));
        assert!(
            matches!(&result, Err(Error::Invalid { field, .. }) if field == "timezone"),
            "{timezone:?}: {result:?}"
        );
        assert_healthy(&db, &mut conn, 1);
    }
    let long_url = format!("https://example.com/{}", "a".repeat(2048));
    for url in [
        "javascript:alert(1)",
        "ftp://example.com/a.png",
        "https://a b.png",
        "",
        "//example.com/a.png",
        long_url.as_str(),
    ] {
        let result = conn
            .users()
            .create(&NewUser::new("u@example.com", "U").avatar_url(url));
        assert!(
            matches!(&result, Err(Error::Invalid { field, .. }) if field == "avatar_url"),
            "{url:?}: {result:?}"
        );
        assert_healthy(&db, &mut conn, 1);
    }
    // The good versions of each pass.
    let ok = conn
        .users()
        .create(
            &NewUser::new("u@example.com", "U")
                .username("good_name-1.x")
                .locale("pt-BR")
                .timezone("America/New_York")
                .avatar_url("https://example.com/a.png"),
        )
        .unwrap();
    assert_eq!(ok.locale, "pt-BR");
    assert_healthy(&db, &mut conn, 2);
}

#[test]
fn bad_user_changes_leave_the_user_unchanged() {
    let (db, seed) = seeded();
    let mut conn = db.conn().unwrap();
    let long_name = "n".repeat(201);
    let cases: Vec<(UserChanges, &str)> = vec![
        (
            UserChanges {
                name: Some(""),
                ..Default::default()
            },
            "name",
        ),
        (
            UserChanges {
                name: Some(&long_name),
                ..Default::default()
            },
            "name",
        ),
        (
            UserChanges {
                username: Some(Some("a")),
                ..Default::default()
            },
            "username",
        ),
        (
            UserChanges {
                username: Some(Some("has space")),
                ..Default::default()
            },
            "username",
        ),
        (
            UserChanges {
                avatar_url: Some(Some("javascript:alert(1)")),
                ..Default::default()
            },
            "avatar_url",
        ),
        (
            UserChanges {
                locale: Some("x"),
                ..Default::default()
            },
            "locale",
        ),
        (
            UserChanges {
                timezone: Some("no spaces allowed"),
                ..Default::default()
            },
            "timezone",
        ),
        // A good change next to a bad one is not applied either.
        (
            UserChanges {
                name: Some("Fine Name"),
                is_active: Some(false),
                locale: Some("not a locale"),
                ..Default::default()
            },
            "locale",
        ),
    ];
    for (changes, field) in &cases {
        assert_invalid(conn.users().update(seed.id, seed.version, changes), field);
        assert_eq!(conn.users().get(seed.id).unwrap(), seed, "{changes:?}");
        assert_healthy(&db, &mut conn, 1);
    }
    assert_invalid(
        conn.users()
            .change_email(seed.id, seed.version, "not-an-email"),
        "email",
    );
    assert_eq!(conn.users().get(seed.id).unwrap(), seed);
    // The user is still updatable at the version it had all along.
    let fine = conn
        .users()
        .update(
            seed.id,
            seed.version,
            &UserChanges {
                name: Some("Fine"),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(fine.version, seed.version + 1);
}

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
            .upsert_profile(Uuid::now_v7(), &Default::default()),
        "user_profiles_user_id_fkey",
    );
    let changes = ProfileChanges {
        bio: Some(Some("orphan")),
        ..Default::default()
    };
    assert_foreign_key(
        conn.users().upsert_profile(Uuid::now_v7(), &changes),
        "user_profiles_user_id_fkey",
    );
    let profiles: i64 = user_profiles::table.count().get_result(&mut *conn).unwrap();
    assert_eq!(profiles, 0);
    assert_eq!(conn.users().get(seed.id).unwrap(), seed);
    assert_healthy(&db, &mut conn, 1);
}

#[test]
fn bad_profile_changes_are_invalid() {
    let (db, seed) = seeded();
    let mut conn = db.conn().unwrap();
    let long_bio = "b".repeat(2001);
    let long_location = "l".repeat(201);
    let cases: Vec<(ProfileChanges, &str)> = vec![
        (
            ProfileChanges {
                website: Some(Some("javascript:alert(1)")),
                ..Default::default()
            },
            "website",
        ),
        (
            ProfileChanges {
                bio: Some(Some(&long_bio)),
                ..Default::default()
            },
            "bio",
        ),
        (
            ProfileChanges {
                bio: Some(Some("nul\0")),
                ..Default::default()
            },
            "bio",
        ),
        (
            ProfileChanges {
                location: Some(Some(&long_location)),
                ..Default::default()
            },
            "location",
        ),
        (
            ProfileChanges {
                language: Some("x"),
                ..Default::default()
            },
            "language",
        ),
    ];
    for (changes, field) in &cases {
        assert_invalid(conn.users().upsert_profile(seed.id, changes), field);
        assert_eq!(
            conn.users().find_profile(seed.id).unwrap(),
            None,
            "{changes:?}"
        );
        assert_healthy(&db, &mut conn, 1);
    }
}

#[test]
fn ban_until_in_the_past_is_invalid() {
    let (db, seed) = seeded();
    let mut conn = db.conn().unwrap();
    for until in [
        Utc::now() - Duration::seconds(1),
        Utc::now() - Duration::days(365),
    ] {
        assert_invalid(
            conn.users()
                .ban(&self_actor(seed.id), seed.id, Some(until), Some("spam")),
            "until",
        );
        assert_invalid(
            conn.users()
                .ban(&self_actor(seed.id), seed.id, Some(until), None),
            "until",
        );
    }
    let long_reason = "r".repeat(1001);
    for reason in ["", "nul\0", long_reason.as_str()] {
        assert_invalid(
            conn.users()
                .ban(&self_actor(seed.id), seed.id, None, Some(reason)),
            "ban_reason",
        );
    }
    let unchanged = conn.users().get(seed.id).unwrap();
    assert_eq!(unchanged, seed);
    assert!(!unchanged.is_banned_at(Utc::now()));
    assert_healthy(&db, &mut conn, 1);
}
