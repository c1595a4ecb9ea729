use saas_db::testing::TestDatabase;
use saas_db::users::{NewUser, UserChanges};
use saas_db::{Error, PageRequest, Repos};

#[test]
fn create_get_update_stale() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = conn.users().create(&NewUser::new(" Alice@Example.COM ", "Alice")).unwrap();
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(alice.version, 1);
    let got = conn.users().get(alice.id).unwrap();
    assert_eq!(got, alice);
    let found = conn.users().find_by_email("ALICE@example.com").unwrap().unwrap();
    assert_eq!(found.id, alice.id);
    let changes = UserChanges { name: Some("Alice B"), ..Default::default() };
    let updated = conn.users().update(alice.id, 1, &changes).unwrap();
    assert_eq!(updated.version, 2);
    let err = conn.users().update(alice.id, 1, &changes).unwrap_err();
    assert!(matches!(err, Error::Stale { expected: 1, actual: 2, .. }), "{err:?}");
    let page = conn.users().list(PageRequest::first(10)).unwrap();
    assert_eq!(page.items.len(), 1);
    let dup = conn.users().create(&NewUser::new("ALICE@example.com", "Other")).unwrap_err();
    assert!(matches!(&dup, Error::Conflict { constraint } if constraint == "users_email_key"), "{dup:?}");
}
