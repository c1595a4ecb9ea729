//! Bad changes to an existing user, its profile and its ban: refused, and
//! the rows stay as they were.

use chrono::{Duration, Utc};
use saas_db::users::{ProfileChanges, UserChanges};
use saas_db::Repos;

use super::{assert_healthy, seeded};
use crate::support::{acting_as, assert_invalid};

#[test]
fn bad_user_changes_leave_the_user_unchanged() {
    let (db, seed) = seeded();
    let mut conn = db.conn().unwrap();
    let long_name = "n".repeat(201);
    let cases: Vec<(UserChanges, &str)> = vec![
        (
            UserChanges {
                name: Some("".into()),
                ..Default::default()
            },
            "name",
        ),
        (
            UserChanges {
                name: Some(long_name.as_str().into()),
                ..Default::default()
            },
            "name",
        ),
        (
            UserChanges {
                username: Some(Some("a".into())),
                ..Default::default()
            },
            "username",
        ),
        (
            UserChanges {
                username: Some(Some("has space".into())),
                ..Default::default()
            },
            "username",
        ),
        (
            UserChanges {
                avatar_url: Some(Some("javascript:alert(1)".into())),
                ..Default::default()
            },
            "avatar_url",
        ),
        (
            UserChanges {
                locale: Some("x".into()),
                ..Default::default()
            },
            "locale",
        ),
        (
            UserChanges {
                timezone: Some("no spaces allowed".into()),
                ..Default::default()
            },
            "timezone",
        ),
        // A good change next to a bad one is not applied either.
        (
            UserChanges {
                name: Some("Fine Name".into()),
                is_active: Some(false),
                locale: Some("not a locale".into()),
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
                name: Some("Fine".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(fine.version, seed.version + 1);
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
                website: Some(Some("javascript:alert(1)".into())),
                ..Default::default()
            },
            "website",
        ),
        (
            ProfileChanges {
                bio: Some(Some(long_bio.as_str().into())),
                ..Default::default()
            },
            "bio",
        ),
        (
            ProfileChanges {
                bio: Some(Some("nul\0".into())),
                ..Default::default()
            },
            "bio",
        ),
        (
            ProfileChanges {
                location: Some(Some(long_location.as_str().into())),
                ..Default::default()
            },
            "location",
        ),
        (
            ProfileChanges {
                language: Some("x".into()),
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
                .ban(&acting_as(seed.id), seed.id, Some(until), Some("spam")),
            "until",
        );
        assert_invalid(
            conn.users()
                .ban(&acting_as(seed.id), seed.id, Some(until), None),
            "until",
        );
    }
    let long_reason = "r".repeat(1001);
    for reason in ["", "nul\0", long_reason.as_str()] {
        assert_invalid(
            conn.users()
                .ban(&acting_as(seed.id), seed.id, None, Some(reason)),
            "ban_reason",
        );
    }
    let unchanged = conn.users().get(seed.id).unwrap();
    assert_eq!(unchanged, seed);
    assert!(!unchanged.is_banned_at(Utc::now()));
    assert_healthy(&db, &mut conn, 1);
}
