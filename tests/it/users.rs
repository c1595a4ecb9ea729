use crate::support::acting_as;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use saas_db::enums::{Theme, UserRole};
use saas_db::ids::UserId;
use saas_db::users::{NewUser, UserChanges};
use saas_db::users::{ProfileChanges, User, UserProfile};
use saas_db::{Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

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
        name: Some("Alice B"),
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

fn ids(users: &[User]) -> Vec<UserId> {
    users.iter().map(|u| u.id).collect()
}

/// A time PostgreSQL stores exactly (microseconds).
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

#[test]
fn soft_delete_hides_and_restore_brings_back() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = conn
        .users()
        .create(&NewUser::new("alice@example.com", "Alice").username("Alice"))
        .unwrap();
    let bob = conn
        .users()
        .create(&NewUser::new("bob@example.com", "Bob"))
        .unwrap();
    assert_eq!(conn.users().count().unwrap(), 2);

    let deleted = conn
        .users()
        .soft_delete(&acting_as(alice.id), alice.id)
        .unwrap();
    assert_eq!(deleted.version, alice.version + 1);
    assert!(deleted.deleted_at.is_some());

    let err = conn.users().get(alice.id).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    assert_eq!(conn.users().find(alice.id).unwrap(), None);
    assert_eq!(
        conn.users().find_by_email("alice@example.com").unwrap(),
        None
    );
    assert_eq!(conn.users().find_by_username("alice").unwrap(), None);
    let listed = conn.users().list(PageRequest::first(10)).unwrap();
    assert_eq!(ids(&listed.items), vec![bob.id]);
    let admins_and_users = conn
        .users()
        .list_by_role(UserRole::User, PageRequest::first(10))
        .unwrap();
    assert_eq!(ids(&admins_and_users.items), vec![bob.id]);
    assert_eq!(conn.users().count().unwrap(), 1);

    // Still there for those who ask, and still holding its email.
    assert_eq!(
        conn.users().including_deleted().get(alice.id).unwrap(),
        deleted
    );
    assert_eq!(
        conn.users()
            .including_deleted()
            .find_by_username("ALICE")
            .unwrap()
            .map(|u| u.id),
        Some(alice.id)
    );
    assert_eq!(conn.users().including_deleted().count().unwrap(), 2);
    let dup = conn
        .users()
        .create(&NewUser::new("alice@example.com", "New Alice"))
        .unwrap_err();
    assert!(
        matches!(&dup, Error::Conflict { constraint } if constraint == "users_email_key"),
        "{dup:?}"
    );

    // Deleting twice, or changing a deleted user, is NotFound.
    for err in [
        conn.users()
            .soft_delete(&acting_as(alice.id), alice.id)
            .unwrap_err(),
        conn.users()
            .set_role(&acting_as(alice.id), alice.id, UserRole::Admin)
            .unwrap_err(),
        conn.users().verify_email(alice.id).unwrap_err(),
        conn.users().record_login(alice.id).unwrap_err(),
    ] {
        assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    }
    assert_eq!(
        conn.users().including_deleted().get(alice.id).unwrap(),
        deleted
    );

    let restored = conn.users().restore(alice.id).unwrap();
    assert_eq!(restored.version, deleted.version + 1);
    assert_eq!(restored.deleted_at, None);
    assert_eq!(conn.users().get(alice.id).unwrap(), restored);
    assert_eq!(
        conn.users()
            .find_by_email("ALICE@example.com")
            .unwrap()
            .map(|u| u.id),
        Some(alice.id)
    );
    assert_eq!(
        conn.users()
            .find_by_username("alice")
            .unwrap()
            .map(|u| u.id),
        Some(alice.id)
    );
    let listed = conn.users().list(PageRequest::first(10)).unwrap();
    assert_eq!(ids(&listed.items), vec![alice.id, bob.id]);
    assert_eq!(conn.users().count().unwrap(), 2);

    // Restoring a live user, or a missing one, is NotFound.
    for id in [alice.id, UserId(Uuid::now_v7())] {
        let err = conn.users().restore(id).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    assert_eq!(
        conn.users().get(alice.id).unwrap().version,
        restored.version
    );
}

#[test]
fn hard_delete_cascades_profile_and_refuses_payments() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let carol = conn
        .users()
        .create(&NewUser::new("carol@example.com", "Carol"))
        .unwrap();
    let profile = conn
        .users()
        .upsert_profile(
            carol.id,
            &ProfileChanges {
                bio: Some(Some("hi")),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(profile.user_id, carol.id);

    conn.users().hard_delete(carol.id).unwrap();
    assert_eq!(
        conn.users().find_profile(carol.id).unwrap(),
        None,
        "profile cascaded"
    );
    assert_eq!(
        conn.users().including_deleted().find(carol.id).unwrap(),
        None
    );
    let err = conn.users().hard_delete(carol.id).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");

    // A user with a payment cannot be hard-deleted, and nothing is removed.
    let dave = conn
        .users()
        .create(&NewUser::new("dave@example.com", "Dave"))
        .unwrap();
    let dave_profile = conn
        .users()
        .upsert_profile(dave.id, &ProfileChanges::default())
        .unwrap();
    diesel::sql_query(
        "INSERT INTO payments (user_id, amount_cents, currency) VALUES ($1, 100, 'USD')",
    )
    .bind::<diesel::sql_types::Uuid, _>(dave.id)
    .execute(&mut *conn)
    .unwrap();
    let err = conn.users().hard_delete(dave.id).unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "payments_user_id_fkey"),
        "{err:?}"
    );
    assert_eq!(conn.users().get(dave.id).unwrap(), dave);
    assert_eq!(
        conn.users().find_profile(dave.id).unwrap(),
        Some(dave_profile)
    );
    // Soft delete is the way out for such a user.
    conn.users()
        .soft_delete(&acting_as(dave.id), dave.id)
        .unwrap();
    let err = conn.users().hard_delete(dave.id).unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "payments_user_id_fkey"),
        "{err:?}"
    );

    // A soft-deleted user without financial rows can be removed for good.
    let erin = conn
        .users()
        .create(&NewUser::new("erin@example.com", "Erin"))
        .unwrap();
    conn.users()
        .soft_delete(&acting_as(erin.id), erin.id)
        .unwrap();
    conn.users().hard_delete(erin.id).unwrap();
    assert_eq!(
        conn.users().including_deleted().find(erin.id).unwrap(),
        None
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
fn set_role_and_list_by_role() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = conn
        .users()
        .create(&NewUser::new("a@example.com", "A"))
        .unwrap();
    let b = conn
        .users()
        .create(&NewUser::new("b@example.com", "B"))
        .unwrap();
    let c = conn
        .users()
        .create(&NewUser::new("c@example.com", "C"))
        .unwrap();
    assert!([&a, &b, &c].iter().all(|u| u.role == UserRole::User));
    let admins = |conn: &mut PgConnection| {
        ids(&conn
            .users()
            .list_by_role(UserRole::Admin, PageRequest::first(10))
            .unwrap()
            .items)
    };
    let plain = |conn: &mut PgConnection| {
        ids(&conn
            .users()
            .list_by_role(UserRole::User, PageRequest::first(10))
            .unwrap()
            .items)
    };
    assert!(admins(&mut conn).is_empty());

    let promoted = conn
        .users()
        .set_role(&acting_as(b.id), b.id, UserRole::Admin)
        .unwrap();
    assert_eq!(promoted.role, UserRole::Admin);
    assert_eq!(promoted.version, b.version + 1);
    assert_eq!(conn.users().get(b.id).unwrap().role, UserRole::Admin);
    assert_eq!(admins(&mut conn), vec![b.id]);
    assert_eq!(plain(&mut conn), vec![a.id, c.id]);

    let demoted = conn
        .users()
        .set_role(&acting_as(b.id), b.id, UserRole::User)
        .unwrap();
    assert_eq!(demoted.version, b.version + 2);
    assert!(admins(&mut conn).is_empty());
    assert_eq!(plain(&mut conn), vec![a.id, b.id, c.id]);
    let err = conn
        .users()
        .set_role(
            &acting_as(UserId(Uuid::now_v7())),
            UserId(Uuid::now_v7()),
            UserRole::Admin,
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
}

#[test]
fn ban_unban_and_is_banned_at() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .users()
        .create(&NewUser::new("ban@example.com", "Ban"))
        .unwrap();
    let now = Utc::now();
    assert!(!user.is_banned_at(now));

    let until = micros(now + Duration::hours(1));
    let banned = conn
        .users()
        .ban(&acting_as(user.id), user.id, Some(until), Some("spam"))
        .unwrap();
    assert!(banned.banned_at.is_some());
    assert_eq!(banned.ban_expires_at, Some(until));
    assert_eq!(banned.ban_reason.as_deref(), Some("spam"));
    assert_eq!(banned.version, user.version + 1);
    assert!(banned.is_banned_at(now));
    assert!(banned.is_banned_at(until - Duration::microseconds(1)));
    assert!(!banned.is_banned_at(until), "the ban ends at `until`");
    assert!(!banned.is_banned_at(until + Duration::hours(1)));
    assert_eq!(conn.users().get(user.id).unwrap(), banned);

    let unbanned = conn.users().unban(&acting_as(user.id), user.id).unwrap();
    assert_eq!(
        (
            unbanned.banned_at,
            unbanned.ban_expires_at,
            unbanned.ban_reason.as_deref()
        ),
        (None, None, None)
    );
    assert_eq!(unbanned.version, user.version + 2);
    assert!(!unbanned.is_banned_at(now));

    // Permanent ban without a reason.
    let forever = conn
        .users()
        .ban(&acting_as(user.id), user.id, None, None)
        .unwrap();
    assert!(forever.banned_at.is_some());
    assert_eq!(
        (forever.ban_expires_at, forever.ban_reason.as_deref()),
        (None, None)
    );
    assert!(forever.is_banned_at(now));
    assert!(forever.is_banned_at(now + Duration::days(365 * 100)));
    assert!(!conn
        .users()
        .unban(&acting_as(user.id), user.id)
        .unwrap()
        .is_banned_at(now));

    // Re-banning replaces the terms.
    conn.users()
        .ban(&acting_as(user.id), user.id, None, Some("first"))
        .unwrap();
    let rebanned = conn
        .users()
        .ban(&acting_as(user.id), user.id, Some(until), None)
        .unwrap();
    assert_eq!(
        (rebanned.ban_expires_at, rebanned.ban_reason.as_deref()),
        (Some(until), None)
    );

    for err in [
        conn.users()
            .ban(
                &acting_as(UserId(Uuid::now_v7())),
                UserId(Uuid::now_v7()),
                None,
                None,
            )
            .unwrap_err(),
        conn.users()
            .unban(&acting_as(UserId(Uuid::now_v7())), UserId(Uuid::now_v7()))
            .unwrap_err(),
    ] {
        assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    }
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
                name: Some("Still Me"),
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
fn upsert_profile_inserts_then_updates_given_fields() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .users()
        .create(&NewUser::new("p@example.com", "P"))
        .unwrap();
    assert_eq!(conn.users().find_profile(user.id).unwrap(), None);
    let err = conn.users().profile(user.id).unwrap_err();
    assert!(
        matches!(err, Error::NotFound { entity: "profile" }),
        "{err:?}"
    );

    let created = conn
        .users()
        .upsert_profile(
            user.id,
            &ProfileChanges {
                bio: Some(Some("Hello")),
                location: Some(Some("Lisbon")),
                theme: Some(Theme::Dark),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(created.user_id, user.id);
    assert_eq!(created.bio.as_deref(), Some("Hello"));
    assert_eq!(created.location.as_deref(), Some("Lisbon"));
    assert_eq!(created.theme, Theme::Dark);
    // Defaults for the rest.
    assert_eq!(created.website, None);
    assert_eq!(created.language, "en");
    assert!(created.email_notifications);
    assert!(!created.marketing_emails);
    assert_eq!(conn.users().profile(user.id).unwrap(), created);

    // Only the given fields change.
    let updated = conn
        .users()
        .upsert_profile(
            user.id,
            &ProfileChanges {
                website: Some(Some("https://example.com")),
                marketing_emails: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(updated.website.as_deref(), Some("https://example.com"));
    assert!(updated.marketing_emails);
    assert_eq!(updated.bio.as_deref(), Some("Hello"));
    assert_eq!(updated.location.as_deref(), Some("Lisbon"));
    assert_eq!(updated.theme, Theme::Dark);
    assert_eq!(updated.created_at, created.created_at);

    // Some(None) clears a nullable field; others stay.
    let cleared = conn
        .users()
        .upsert_profile(
            user.id,
            &ProfileChanges {
                bio: Some(None),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(cleared.bio, None);
    assert_eq!(cleared.location.as_deref(), Some("Lisbon"));
    assert_eq!(cleared.website.as_deref(), Some("https://example.com"));

    // Empty changes return the existing row, its data unchanged (updated_at
    // is checked by `empty_profile_changes_leave_the_row_untouched`).
    let same = conn
        .users()
        .upsert_profile(user.id, &ProfileChanges::default())
        .unwrap();
    assert_eq!(
        UserProfile {
            updated_at: cleared.updated_at,
            ..same.clone()
        },
        cleared
    );
    assert_eq!(conn.users().profile(user.id).unwrap(), same);
}

#[test]
fn empty_profile_changes_leave_the_row_untouched() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .users()
        .create(&NewUser::new("q@example.com", "Q"))
        .unwrap();
    let profile = conn
        .users()
        .upsert_profile(
            user.id,
            &ProfileChanges {
                bio: Some(Some("Bio")),
                ..Default::default()
            },
        )
        .unwrap();
    let same = conn
        .users()
        .upsert_profile(user.id, &ProfileChanges::default())
        .unwrap();
    assert_eq!(same, profile);
    assert_eq!(conn.users().profile(user.id).unwrap(), profile);
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
