//! Users: soft delete, restore and hard delete.

use super::*;
use saas_db::ids::UserId;

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
                bio: Some(Some("hi".into())),
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
