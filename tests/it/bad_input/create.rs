//! New users with bad fields, and case-insensitive conflicts.

use saas_db::users::{NewUser, UserChanges};
use saas_db::{Error, Repos};

use super::{assert_healthy, seeded};
use crate::support::{assert_conflict, assert_invalid};

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
        name: Some("x\0".into()),
        ..Default::default()
    };
    assert_invalid(conn.users().update(seed.id, seed.version, &changes), "name");
    let changes = UserChanges {
        username: Some(Some("x\0yz".into())),
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
        username: Some(Some("BOBBY".into())),
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
