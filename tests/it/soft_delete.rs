//! Soft-deleted users' profiles are hidden like the users, and
//! `hard_delete` is how a soft-deleted user is purged.

use crate::support::acting_as;
use saas_db::ids::UserId;
use saas_db::users::{NewUser, ProfileChanges};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

/// `find_profile`, `profile` and `upsert_profile` of a soft-deleted user:
/// hidden and refused like the user, visible through `including_deleted`,
/// and back after `restore`. They used to ignore `deleted_at`: the profile
/// of a deleted user was returned and could be rewritten.
#[test]
fn a_soft_deleted_users_profile_is_hidden_and_not_written() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = conn
        .users()
        .create(&NewUser::new("alice@example.com", "Alice"))
        .unwrap();
    let bio = ProfileChanges {
        bio: Some(Some("before".into())),
        ..Default::default()
    };
    let written = conn.users().upsert_profile(alice.id, &bio).unwrap();
    conn.users()
        .soft_delete(&acting_as(alice.id), alice.id)
        .unwrap();

    assert_eq!(conn.users().find_profile(alice.id).unwrap(), None);
    let err = conn.users().profile(alice.id).unwrap_err();
    assert!(
        matches!(err, Error::NotFound { entity: "profile" }),
        "{err:?}"
    );
    let rewrite = ProfileChanges {
        bio: Some(Some("after".into())),
        ..Default::default()
    };
    let err = conn.users().upsert_profile(alice.id, &rewrite).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");

    // Nothing was written, and those who ask still see it.
    let seen = conn
        .users()
        .including_deleted()
        .find_profile(alice.id)
        .unwrap();
    assert_eq!(seen, Some(written.clone()));
    assert_eq!(
        conn.users().including_deleted().profile(alice.id).unwrap(),
        written
    );
    let by_admin = conn
        .users()
        .including_deleted()
        .upsert_profile(alice.id, &rewrite)
        .unwrap();
    assert_eq!(by_admin.bio.as_deref(), Some("after"));

    conn.users().restore(alice.id).unwrap();
    assert_eq!(
        conn.users().profile(alice.id).unwrap().bio.as_deref(),
        Some("after")
    );
    // The connection is still usable after the refusals, and an unknown
    // user is still the foreign key's refusal.
    let err = conn
        .users()
        .upsert_profile(UserId(Uuid::now_v7()), &bio)
        .unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "user_profiles_user_id_fkey"),
        "{err:?}"
    );
}

/// `hard_delete` sees soft-deleted users on purpose: it is how one is
/// purged for good (with its profile), and a missing id is `NotFound`.
#[test]
fn hard_delete_purges_a_soft_deleted_user() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = conn
        .users()
        .create(&NewUser::new("alice@example.com", "Alice"))
        .unwrap();
    conn.users()
        .upsert_profile(alice.id, &ProfileChanges::default())
        .unwrap();
    conn.users()
        .soft_delete(&acting_as(alice.id), alice.id)
        .unwrap();
    conn.users().hard_delete(alice.id).unwrap();
    assert_eq!(
        conn.users().including_deleted().find(alice.id).unwrap(),
        None
    );
    assert_eq!(
        conn.users()
            .including_deleted()
            .find_profile(alice.id)
            .unwrap(),
        None
    );
    let err = conn.users().hard_delete(alice.id).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
}
