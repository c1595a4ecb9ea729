//! Users: creating, reading, editing (versioned), email changes and verification, sign-ins.

use super::*;
use saas_db::ids::UserId;

#[test]
fn create_get_update_stale() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = conn
        .users()
        .create(&NewUser::new(" Alice@Example.COM ", "Alice"))
        .unwrap();
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(alice.version, 1);
    let got = conn.users().get(alice.id).unwrap();
    assert_eq!(got, alice);
    let found = conn
        .users()
        .find_by_email("ALICE@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(found.id, alice.id);
    let changes = UserChanges {
        name: Some("Alice B".into()),
        ..Default::default()
    };
    let updated = conn.users().update(alice.id, 1, &changes).unwrap();
    assert_eq!(updated.version, 2);
    let err = conn.users().update(alice.id, 1, &changes).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Stale {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let page = conn.users().list(PageRequest::first(10)).unwrap();
    assert_eq!(page.items.len(), 1);
    let dup = conn
        .users()
        .create(&NewUser::new("ALICE@example.com", "Other"))
        .unwrap_err();
    assert!(
        matches!(&dup, Error::Conflict { constraint } if constraint == "users_email_key"),
        "{dup:?}"
    );
}

#[test]
fn verify_email_keeps_the_first_time() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .users()
        .create(&NewUser::new("v@example.com", "V"))
        .unwrap();
    assert_eq!(user.email_verified_at, None);
    let first = conn.users().verify_email(user.id).unwrap();
    let at = first.email_verified_at.expect("verified");
    assert_eq!(first.version, user.version + 1);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second = conn.users().verify_email(user.id).unwrap();
    assert_eq!(
        second.email_verified_at,
        Some(at),
        "the first verification time is kept"
    );
    assert_eq!(
        conn.users().get(user.id).unwrap().email_verified_at,
        Some(at)
    );
    let err = conn
        .users()
        .verify_email(UserId(Uuid::now_v7()))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
}

#[test]
fn record_login_does_not_bump_version() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .users()
        .create(&NewUser::new("login@example.com", "Login"))
        .unwrap();
    assert_eq!(user.last_login_at, None);
    let before = Utc::now() - Duration::seconds(5);
    conn.users().record_login(user.id).unwrap();
    let after = conn.users().get(user.id).unwrap();
    let at = after.last_login_at.expect("login recorded");
    assert!(
        at >= before && at <= Utc::now() + Duration::seconds(5),
        "{at}"
    );
    assert_eq!(
        after.version, user.version,
        "a login is not a change of the user's data"
    );
    // An optimistic update based on the pre-login read still succeeds.
    let updated = conn
        .users()
        .update(
            user.id,
            user.version,
            &UserChanges {
                name: Some("Still Me".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(updated.last_login_at, Some(at));
    let err = conn
        .users()
        .record_login(UserId(Uuid::now_v7()))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
}

#[test]
fn change_email_normalises_and_unverifies() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .users()
        .create(&NewUser::new("old@example.com", "Mover"))
        .unwrap();
    conn.users()
        .create(&NewUser::new("taken@example.com", "Other"))
        .unwrap();
    let verified = conn.users().verify_email(user.id).unwrap();
    assert!(verified.email_verified_at.is_some());

    let moved = conn
        .users()
        .change_email(user.id, verified.version, "  New.Address@Example.COM ")
        .unwrap();
    assert_eq!(moved.email, "new.address@example.com");
    assert_eq!(moved.email_verified_at, None);
    assert_eq!(moved.version, verified.version + 1);
    assert_eq!(
        conn.users()
            .find_by_email("NEW.ADDRESS@example.com")
            .unwrap()
            .map(|u| u.id),
        Some(user.id)
    );
    assert_eq!(conn.users().find_by_email("old@example.com").unwrap(), None);

    let err = conn
        .users()
        .change_email(user.id, verified.version, "x@example.com")
        .unwrap_err();
    assert!(
        matches!(err, Error::Stale { expected, actual, .. } if expected == verified.version && actual == moved.version),
        "{err:?}"
    );
    let err = conn
        .users()
        .change_email(user.id, moved.version, "TAKEN@example.com")
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { constraint } if constraint == "users_email_key"),
        "{err:?}"
    );
    let err = conn
        .users()
        .change_email(UserId(Uuid::now_v7()), 1, "ghost@example.com")
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    assert_eq!(conn.users().get(user.id).unwrap(), moved);
}

#[test]
fn find_by_username_is_case_insensitive() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .users()
        .create(&NewUser::new("mixed@example.com", "Mixed").username("MixedCase_1"))
        .unwrap();
    assert_eq!(
        user.username.as_deref(),
        Some("MixedCase_1"),
        "case is kept"
    );
    for query in ["MixedCase_1", "mixedcase_1", "MIXEDCASE_1", "mIxEdCaSe_1"] {
        let found = conn.users().find_by_username(query).unwrap();
        assert_eq!(found.as_ref().map(|u| u.id), Some(user.id), "{query}");
    }
    assert_eq!(conn.users().find_by_username("MixedCase_2").unwrap(), None);
    assert_eq!(conn.users().find_by_username("MixedCase").unwrap(), None);
}

#[test]
fn get_of_a_random_id_is_not_found() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.users()
        .create(&NewUser::new("someone@example.com", "Someone"))
        .unwrap();
    let err = conn.users().get(UserId(Uuid::now_v7())).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    assert_eq!(conn.users().find(UserId(Uuid::now_v7())).unwrap(), None);
    assert_eq!(conn.users().find(UserId(Uuid::nil())).unwrap(), None);
}
