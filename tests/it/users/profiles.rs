//! Users' profiles: upsert and empty changes.

use super::*;

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
                bio: Some(Some("Hello".into())),
                location: Some(Some("Lisbon".into())),
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
                website: Some(Some("https://example.com".into())),
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
                bio: Some(Some("Bio".into())),
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
