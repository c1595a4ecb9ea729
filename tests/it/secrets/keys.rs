//! Keys: storing provider tokens needs one, rotation keeps old rows
//! readable and moves them to the newest key, and the ring refuses ids and
//! key text that would lose data.

use diesel::PgConnection;
use saas_db::auth::{Keyring, NewOAuthAccount};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

use super::{github, new_user, plain, ring_1, ring_1_2, ACCESS, ID_TOKEN, KEY_1, KEY_2, REFRESH};

/// Without a key, provider tokens are refused before anything is sent
/// (never stored in plaintext); an identity without tokens still links.
#[test]
fn storing_tokens_without_a_key_is_refused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    assert!(db.token_keys().is_empty());
    for (field, account) in [
        (
            "access_token",
            NewOAuthAccount {
                access_token: Some(ACCESS.into()),
                ..github("1")
            },
        ),
        (
            "refresh_token",
            NewOAuthAccount {
                access_token: None,
                ..github("1")
            },
        ),
        (
            "id_token",
            NewOAuthAccount {
                access_token: None,
                refresh_token: None,
                ..github("1")
            },
        ),
    ] {
        for repo_keys in [None, Some(db.token_keys())] {
            let mut repo = conn.accounts();
            if let Some(keys) = repo_keys {
                repo = repo.with_keys(keys);
            }
            let err = repo.link_oauth(ada.id, &account).unwrap_err();
            assert!(
                matches!(&err, Error::NotAvailable(m) if m.contains(field) && m.contains("plaintext")),
                "{field}: {err:?}"
            );
        }
    }
    assert!(conn.accounts().list_for_user(ada.id).unwrap().is_empty());
    let bare = NewOAuthAccount {
        provider: "github".into(),
        provider_account_id: "1815".into(),
        scope: Some("read:user".into()),
        ..Default::default()
    };
    let linked = conn.accounts().link_oauth(ada.id, &bare).unwrap();
    assert!(linked.access_token(&Keyring::new()).unwrap().is_none());
    assert!(linked.token_key_ids().is_empty());
}

/// Rows written under key 1 still decrypt once key 2 is added; new writes
/// use key 2; `reencrypt_tokens` moves the old rows to key 2, after which
/// key 1 can be dropped.
#[test]
fn key_rotation_keeps_old_rows_readable_and_reencrypts_them() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let (old_ring, new_ring) = (ring_1(), ring_1_2());
    let mut old_ids = Vec::new();
    for i in 0..5 {
        let id = format!("old-{i}");
        let account = conn
            .accounts()
            .with_keys(&old_ring)
            .link_oauth(ada.id, &github(&id));
        old_ids.push(account.unwrap().id);
    }
    let fresh = conn
        .accounts()
        .with_keys(&new_ring)
        .link_oauth(ada.id, &github("fresh"))
        .unwrap();
    assert_eq!(fresh.token_key_ids(), [2], "the highest id encrypts");

    let by_id = |conn: &mut PgConnection| -> Vec<saas_db::auth::Account> {
        conn.accounts().list_for_user(ada.id).unwrap()
    };
    for account in by_id(&mut conn) {
        let want = if account.id == fresh.id { [2] } else { [1] };
        assert_eq!(account.token_key_ids(), want);
        assert_eq!(
            plain(account.refresh_token(&new_ring).unwrap()).as_deref(),
            Some(REFRESH)
        );
    }
    // Key 2 alone cannot read the old rows yet.
    let only_2 = Keyring::new().with_key(2, KEY_2).unwrap();
    let old = by_id(&mut conn)
        .into_iter()
        .find(|a| a.id == old_ids[0])
        .unwrap();
    assert!(matches!(
        old.access_token(&only_2),
        Err(Error::Decrypt { .. })
    ));

    let moved = conn
        .accounts()
        .with_keys(&new_ring)
        .reencrypt_tokens(2)
        .unwrap();
    assert_eq!(moved, 5, "the five key-1 accounts, in batches of 2");
    for account in by_id(&mut conn) {
        assert_eq!(account.token_key_ids(), [2]);
        assert_eq!(
            plain(account.access_token(&only_2).unwrap()).as_deref(),
            Some(ACCESS)
        );
        assert_eq!(
            plain(account.id_token(&only_2).unwrap()).as_deref(),
            Some(ID_TOKEN)
        );
    }
    assert_eq!(
        conn.accounts()
            .with_keys(&new_ring)
            .reencrypt_tokens(100)
            .unwrap(),
        0
    );

    for (keys, batch) in [(&new_ring, 0), (&new_ring, 10_001)] {
        let err = conn
            .accounts()
            .with_keys(keys)
            .reencrypt_tokens(batch)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "batch"),
            "{err:?}"
        );
    }
    let err = conn.accounts().reencrypt_tokens(10).unwrap_err();
    assert!(matches!(err, Error::NotAvailable(_)), "{err:?}");
}

/// Duplicate ids would make old rows unreadable; bad key text is refused.
#[test]
fn keyring_refuses_duplicate_ids_and_malformed_keys() {
    let err = ring_1().with_key(1, KEY_2).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "key_id"),
        "{err:?}"
    );
    for bad in ["", "not base64!", "c2hvcnQ", &"A".repeat(64)] {
        let err = Keyring::new().with_base64_key(3, bad).unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "key"),
            "{bad:?}: {err:?}"
        );
    }
    use base64::Engine;
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        let text = engine.encode([0xfb; 32]);
        let ring = Keyring::new().with_base64_key(7, &text).unwrap();
        assert_eq!(ring.key_ids(), [7]);
    }
    // A key given as base64 is the same key as its bytes: what one seals, the other opens.
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let text = base64::engine::general_purpose::STANDARD.encode(KEY_1);
    let from_text = Keyring::new().with_base64_key(1, &text).unwrap();
    let account = conn
        .accounts()
        .with_keys(&from_text)
        .link_oauth(ada.id, &github("x"))
        .unwrap();
    assert_eq!(
        plain(account.access_token(&ring_1()).unwrap()).as_deref(),
        Some(ACCESS)
    );
}
