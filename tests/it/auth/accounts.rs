//! Accounts and passwords: OAuth links, hashing, rehash on verify, and deleting the user.

use super::*;
use crate::support::{acting_as, is_conflict};
use saas_db::ids::UserId;

#[test]
fn oauth_accounts_link_find_and_unlink() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let keys = Keyring::new().with_key(1, [9; 32]).unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let bob = user(&mut conn, "bob@example.com");
    let github = NewOAuthAccount {
        provider: "github".into(),
        provider_account_id: "1815".into(),
        access_token: Some("gho_access".into()),
        token_type: Some("bearer".into()),
        scope: Some("read:user".into()),
        ..Default::default()
    };
    let linked = conn
        .accounts()
        .with_keys(&keys)
        .link_oauth(ada.id, &github)
        .unwrap();
    assert_eq!(linked.user_id, ada.id);
    assert_eq!(linked.provider, "github");
    let access = linked.access_token(&keys).unwrap();
    assert_eq!(
        access.as_ref().map(|t| t.expose_secret()),
        Some("gho_access")
    );
    assert_eq!(
        conn.accounts()
            .find_user("github", "1815")
            .unwrap()
            .map(|u| u.id),
        Some(ada.id)
    );
    assert_eq!(conn.accounts().find_user("github", "1816").unwrap(), None);
    assert_eq!(conn.accounts().find_user("gitlab", "1815").unwrap(), None);

    for owner in [ada.id, bob.id] {
        let err = conn
            .accounts()
            .with_keys(&keys)
            .link_oauth(owner, &github)
            .unwrap_err();
        assert!(
            is_conflict(&err, "accounts_provider_account_key"),
            "{err:?}"
        );
    }
    let err = conn
        .accounts()
        .with_keys(&keys)
        .link_oauth(
            UserId(Uuid::now_v7()),
            &NewOAuthAccount {
                provider: "google".into(),
                provider_account_id: "g-1".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "accounts_user_id_fkey"),
        "{err:?}"
    );

    for provider in [
        CREDENTIAL_PROVIDER,
        "Bad Provider",
        "",
        "GitHub",
        "git\0hub",
    ] {
        let err = conn
            .accounts()
            .link_oauth(
                ada.id,
                &NewOAuthAccount {
                    provider: provider.into(),
                    provider_account_id: "x".into(),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(err.field() == Some("provider"), "{provider:?}: {err:?}");
    }
    let err = conn
        .accounts()
        .with_keys(&keys)
        .link_oauth(
            ada.id,
            &NewOAuthAccount {
                provider: "google".into(),
                provider_account_id: "".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(err.field() == Some("provider_account_id"), "{err:?}");

    // A soft-deleted user is not found through the identity.
    conn.users()
        .soft_delete(&acting_as(ada.id), ada.id)
        .unwrap();
    assert_eq!(conn.accounts().find_user("github", "1815").unwrap(), None);
    conn.users().restore(ada.id).unwrap();

    conn.accounts().unlink(ada.id, "github").unwrap();
    assert_eq!(conn.accounts().find_user("github", "1815").unwrap(), None);
    let err = conn.accounts().unlink(ada.id, "github").unwrap_err();
    assert!(
        matches!(err, Error::NotFound { entity: "account" }),
        "{err:?}"
    );
    // Free again: Bob may link it now.
    conn.accounts()
        .with_keys(&keys)
        .link_oauth(bob.id, &github)
        .unwrap();
    assert_eq!(
        conn.accounts()
            .find_user("github", "1815")
            .unwrap()
            .map(|u| u.id),
        Some(bob.id)
    );
}

#[test]
fn accounts_list_without_exposing_the_password_hash() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    for (provider, id) in [("github", "1815"), ("google", "ada-g")] {
        conn.accounts()
            .link_oauth(
                ada.id,
                &NewOAuthAccount {
                    provider: provider.into(),
                    provider_account_id: id.into(),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    conn.accounts().set_password(ada.id, PASSWORD).unwrap();
    let accounts = conn.accounts().list_for_user(ada.id).unwrap();
    let listed: Vec<(&str, &str)> = accounts
        .iter()
        .map(|a| (a.provider.as_str(), a.provider_account_id.as_str()))
        .collect();
    let ada_id = ada.id.to_string();
    assert_eq!(
        listed,
        vec![
            ("github", "1815"),
            ("google", "ada-g"),
            (CREDENTIAL_PROVIDER, ada_id.as_str()),
        ]
    );
    assert!(accounts.iter().all(|a| a.user_id == ada.id));
    let json = serde_json::to_string(&accounts).unwrap();
    assert!(!json.contains("argon2"), "{json}");
    assert!(!json.contains(PASSWORD), "{json}");
    let debug = format!("{accounts:?}");
    assert!(!debug.contains("argon2"), "{debug}");

    // Setting the password again replaces it in the same account.
    conn.accounts().set_password(ada.id, NEW_PASSWORD).unwrap();
    assert_eq!(conn.accounts().list_for_user(ada.id).unwrap().len(), 3);
    assert!(conn
        .accounts()
        .verify_password(ada.id, NEW_PASSWORD)
        .unwrap());
    assert!(!conn.accounts().verify_password(ada.id, PASSWORD).unwrap());
}

#[test]
fn passwords_are_checked_and_verified() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let too_long = "p".repeat(1025);
    let too_many_bytes = "é".repeat(600); // 600 characters, 1,200 bytes
    for bad in [
        "short",
        "",
        "1234567",
        "with a \0 byte",
        too_long.as_str(),
        too_many_bytes.as_str(),
    ] {
        let err = conn.accounts().set_password(ada.id, bad).unwrap_err();
        assert!(
            err.field() == Some("password"),
            "{:?}: {err:?}",
            &bad[..bad.len().min(20)]
        );
    }
    assert_eq!(
        count_bound::<SqlUuid, _>(
            &mut conn,
            "SELECT count(*) AS n FROM accounts WHERE user_id = $1",
            ada.id
        ),
        0
    );
    assert!(!conn.accounts().verify_password(ada.id, PASSWORD).unwrap());

    conn.accounts().set_password(ada.id, "12345678").unwrap();
    conn.accounts().set_password(ada.id, PASSWORD).unwrap();
    assert!(conn.accounts().verify_password(ada.id, PASSWORD).unwrap());
    for wrong in [
        "12345678",
        "",
        "Correct horse battery staple",
        too_long.as_str(),
    ] {
        assert!(
            !conn.accounts().verify_password(ada.id, wrong).unwrap(),
            "{wrong:?}"
        );
    }
    assert!(!conn
        .accounts()
        .verify_password(UserId(Uuid::now_v7()), PASSWORD)
        .unwrap());
    let err = conn
        .accounts()
        .set_password(UserId(Uuid::now_v7()), PASSWORD)
        .unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "accounts_user_id_fkey"),
        "{err:?}"
    );
}

#[test]
fn rehash_on_verify() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    conn.accounts()
        .with_hasher(PasswordHasher::new(8 * 1024, 1, 1).unwrap())
        .set_password(ada.id, PASSWORD)
        .unwrap();
    let weak = stored_password_hash(&mut conn);
    assert!(weak.starts_with("$argon2id$"), "{weak}");
    assert!(weak.contains("m=8192,t=1,p=1"), "{weak}");

    assert!(!conn
        .accounts()
        .verify_password(ada.id, "wrong password")
        .unwrap());
    assert_eq!(
        stored_password_hash(&mut conn),
        weak,
        "a wrong password does not rehash"
    );

    assert!(conn.accounts().verify_password(ada.id, PASSWORD).unwrap());
    let upgraded = stored_password_hash(&mut conn);
    assert_ne!(upgraded, weak);
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    assert!(upgraded.contains("m=19456,t=2,p=1"), "{upgraded}");

    // Current parameters: verifying again leaves the hash alone.
    assert!(conn.accounts().verify_password(ada.id, PASSWORD).unwrap());
    assert_eq!(stored_password_hash(&mut conn), upgraded);
    // And the weak hasher still verifies the upgraded hash (it carries its
    // parameters) without downgrading it.
    assert!(conn
        .accounts()
        .with_hasher(PasswordHasher::new(8 * 1024, 1, 1).unwrap())
        .verify_password(ada.id, PASSWORD)
        .unwrap());
    assert_eq!(
        stored_password_hash(&mut conn),
        upgraded,
        "a weaker hasher never rehashes"
    );
}

// ---------------------------------------------------------------------------
// 9. Deleting the user.

#[test]
fn hard_delete_cascades_accounts_sessions_and_tokens() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let setup = |conn: &mut PgConnection, email: &str| {
        let user = user(conn, email);
        conn.accounts().set_password(user.id, PASSWORD).unwrap();
        conn.accounts()
            .link_oauth(
                user.id,
                &NewOAuthAccount {
                    provider: "github".into(),
                    provider_account_id: email.into(),
                    ..Default::default()
                },
            )
            .unwrap();
        for _ in 0..2 {
            session(conn, user.id);
        }
        for kind in ALL_KINDS {
            conn.verification_tokens()
                .issue(kind, email, Some(user.id), HOUR)
                .unwrap();
        }
        user
    };
    let ada = setup(&mut conn, "ada@example.com");
    let bob = setup(&mut conn, "bob@example.com");
    let counts = |conn: &mut PgConnection, user: UserId| {
        [
            "SELECT count(*) AS n FROM accounts WHERE user_id = $1",
            "SELECT count(*) AS n FROM sessions WHERE user_id = $1",
            "SELECT count(*) AS n FROM verification_tokens WHERE user_id = $1",
        ]
        .map(|sql| count_bound::<SqlUuid, _>(conn, sql, user))
    };
    assert_eq!(counts(&mut conn, ada.id), [2, 2, 3]);

    conn.users().hard_delete(ada.id).unwrap();
    assert_eq!(counts(&mut conn, ada.id), [0, 0, 0]);
    assert_eq!(
        counts(&mut conn, bob.id),
        [2, 2, 3],
        "control: Bob keeps his"
    );
    let err = conn.users().hard_delete(ada.id).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
}
