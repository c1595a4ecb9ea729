//! OAuth provider tokens at rest: encrypted under the host's keys, bound to
//! their row and column; tampering is a typed error; lookups validate their
//! input; the migration drops plaintext tokens.

use diesel::prelude::*;
use diesel::sql_types::{Bytea, Text, Uuid as SqlUuid};
use diesel_migrations::MigrationHarness;
use saas_db::auth::Keyring;
use saas_db::ids::AccountId;
use saas_db::{Error, Repos, MIGRATIONS};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{github, new_user, plain, ring_1, stored, ACCESS, ID_TOKEN, KEY_1, REFRESH};
/// Used to store `access_token` / `refresh_token` verbatim in text columns.
/// Now the columns hold `[1][key id][nonce][ciphertext+tag]`, and the
/// plaintext comes back only through the keyring.
#[test]
fn provider_tokens_are_stored_encrypted_and_read_back_with_the_key() {
    let db = TestDatabase::with_builder(|b| b.token_keys(ring_1())).unwrap();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let linked = conn
        .accounts()
        .with_keys(db.token_keys())
        .link_oauth(ada.id, &github("1815"))
        .unwrap();
    let keys = db.token_keys();
    assert_eq!(
        plain(linked.access_token(keys).unwrap()).as_deref(),
        Some(ACCESS)
    );
    assert_eq!(
        plain(linked.refresh_token(keys).unwrap()).as_deref(),
        Some(REFRESH)
    );
    assert_eq!(
        plain(linked.id_token(keys).unwrap()).as_deref(),
        Some(ID_TOKEN)
    );
    assert_eq!(linked.token_key_ids(), [1]);

    let raw = stored(&mut conn, linked.id);
    for (sealed, secret) in [
        (&raw.access_token_enc, ACCESS),
        (&raw.refresh_token_enc, REFRESH),
        (&raw.id_token_enc, ID_TOKEN),
    ] {
        let sealed = sealed.as_deref().expect("stored");
        assert_eq!(&sealed[..3], &[1, 0, 1], "format 1, key id 1");
        assert_eq!(sealed.len(), 3 + 24 + secret.len() + 16);
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    // Two encryptions of one token differ (random nonces).
    let again = conn
        .accounts()
        .with_keys(keys)
        .link_oauth(ada.id, &github("1816"))
        .unwrap();
    assert_ne!(
        stored(&mut conn, again.id).access_token_enc,
        raw.access_token_enc
    );
    // Listing loads them without a key; reading them needs it.
    let listed = conn.accounts().list_for_user(ada.id).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        plain(listed[0].access_token(keys).unwrap()).as_deref(),
        Some(ACCESS)
    );
    let err = listed[0].access_token(&Keyring::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { field: "access_token", reason } if reason.contains("key 1")),
        "{err:?}"
    );
}

fn set_column(
    conn: &mut PgConnection,
    sql: &str,
    account: AccountId,
    value: Option<Vec<u8>>,
) -> Result<usize, Error> {
    Ok(diesel::sql_query(sql)
        .bind::<SqlUuid, _>(account)
        .bind::<diesel::sql_types::Nullable<Bytea>, _>(value)
        .execute(conn)?)
}

/// A flipped bit, a ciphertext copied to another column or another row,
/// or an unknown key id: each is `Error::Decrypt`, never a panic or a
/// wrong token; bytes that are not a sealed value are refused by the CHECK.
#[test]
fn tampered_swapped_or_foreign_ciphertexts_do_not_decrypt() {
    let db = TestDatabase::with_builder(|b| b.token_keys(ring_1())).unwrap();
    let keys = db.token_keys();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let a = conn
        .accounts()
        .with_keys(keys)
        .link_oauth(ada.id, &github("a"))
        .unwrap();
    let b = conn
        .accounts()
        .with_keys(keys)
        .link_oauth(ada.id, &github("b"))
        .unwrap();
    let sealed_a = stored(&mut conn, a.id);
    let reload = |conn: &mut PgConnection, id: Uuid| {
        conn.accounts()
            .list_for_user(ada.id)
            .unwrap()
            .into_iter()
            .find(|x| x.id == AccountId(id))
            .unwrap()
    };
    let decrypt_error = |result: saas_db::Result<_>| match result {
        Err(Error::Decrypt { field, reason }) => (field, reason),
        other => panic!("expected Error::Decrypt, got {:?}", other.map(plain)),
    };

    // One flipped bit in the ciphertext.
    let mut flipped = sealed_a.access_token_enc.clone().unwrap();
    *flipped.last_mut().unwrap() ^= 1;
    set_column(
        &mut conn,
        "UPDATE accounts SET access_token_enc = $2 WHERE id = $1",
        a.id,
        Some(flipped),
    )
    .unwrap();
    let (field, reason) = decrypt_error(reload(&mut conn, a.id.into()).access_token(keys));
    assert_eq!(field, "access_token");
    assert!(reason.contains("authentication failed"), "{reason}");

    // The access token copied into the refresh column of the same row.
    let access = sealed_a.access_token_enc.clone();
    set_column(
        &mut conn,
        "UPDATE accounts SET refresh_token_enc = $2 WHERE id = $1",
        a.id,
        access.clone(),
    )
    .unwrap();
    assert_eq!(
        decrypt_error(reload(&mut conn, a.id.into()).refresh_token(keys)).0,
        "refresh_token"
    );

    // Account a's access token copied into account b.
    set_column(
        &mut conn,
        "UPDATE accounts SET access_token_enc = $2 WHERE id = $1",
        b.id,
        access,
    )
    .unwrap();
    assert_eq!(
        decrypt_error(reload(&mut conn, b.id.into()).access_token(keys)).0,
        "access_token"
    );

    // A key id the ring does not have (the header is authenticated too, so
    // rewriting it to key 1 does not help either).
    let mut other_key = sealed_a.id_token_enc.clone().unwrap();
    other_key[2] = 9;
    set_column(
        &mut conn,
        "UPDATE accounts SET id_token_enc = $2 WHERE id = $1",
        a.id,
        Some(other_key),
    )
    .unwrap();
    let (_, reason) = decrypt_error(reload(&mut conn, a.id.into()).id_token(keys));
    assert!(reason.contains("key 9 is not in the keyring"), "{reason}");
    let same_bytes_other_ring = Keyring::new().with_key(9, KEY_1).unwrap();
    let (_, reason) =
        decrypt_error(reload(&mut conn, a.id.into()).id_token(&same_bytes_other_ring));
    assert!(reason.contains("authentication failed"), "{reason}");

    // Plaintext (or any non-sealed bytes) written by another client.
    for junk in [ACCESS.as_bytes().to_vec(), vec![1; 10], vec![]] {
        let err = set_column(
            &mut conn,
            "UPDATE accounts SET access_token_enc = $2 WHERE id = $1",
            b.id,
            Some(junk),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "accounts_access_token_sealed"),
            "{err:?}"
        );
    }
    // The unaffected token of b still reads, and the connection is fine.
    assert_eq!(
        plain(reload(&mut conn, b.id.into()).refresh_token(keys).unwrap()).as_deref(),
        Some(REFRESH)
    );
}

/// Used to be `Error::Database("invalid byte sequence for encoding UTF8:
/// 0x00")` from the server: lookups now pass the same checks as writes.
#[test]
fn provider_lookups_validate_their_text_like_writes() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let long = "x".repeat(256);
    let cases: [(&str, &str, &str); 5] = [
        ("git\0hub", "1815", "provider"),
        ("github", "1815\0", "provider_account_id"),
        ("", "1815", "provider"),
        ("GitHub", "1815", "provider"),
        ("github", &long, "provider_account_id"),
    ];
    for (provider, account_id, field) in cases {
        let err = conn.accounts().find_user(provider, account_id).unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field: f, .. } if f == field),
            "{provider:?}: {err:?}"
        );
    }
    for provider in ["git\0hub", "", "GitHub"] {
        let err = conn.accounts().unlink(ada.id, provider).unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "provider"),
            "{provider:?}: {err:?}"
        );
    }
    // The connection is still usable, and valid lookups still work.
    assert_eq!(conn.accounts().find_user("github", "1815").unwrap(), None);
    assert!(matches!(
        conn.accounts().unlink(ada.id, "github"),
        Err(Error::NotFound { .. })
    ));
}

/// Plaintext tokens written before the encryption migration are discarded
/// by it (the database never has the key to encrypt them).
#[test]
fn the_migration_discards_plaintext_tokens() {
    let db = TestDatabase::new();
    let mut conn = PgConnection::establish(db.url()).unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    loop {
        let reverted = conn.revert_last_migration(MIGRATIONS).unwrap().to_string();
        if reverted.replace('-', "") == "20261127000010" {
            break;
        }
    }
    diesel::sql_query(
        "INSERT INTO accounts (user_id, provider, provider_account_id, access_token, refresh_token, id_token)
         VALUES ($1, 'github', '1815', $2, $2, $2)",
    )
    .bind::<SqlUuid, _>(ada.id)
    .bind::<Text, _>(ACCESS)
    .execute(&mut conn)
    .unwrap();
    conn.run_pending_migrations(MIGRATIONS).unwrap();
    let account = conn.accounts().list_for_user(ada.id).unwrap().remove(0);
    assert_eq!(
        account.provider_account_id, "1815",
        "the identity stays linked"
    );
    let sealed = stored(&mut conn, account.id);
    assert_eq!(
        (
            sealed.access_token_enc,
            sealed.refresh_token_enc,
            sealed.id_token_enc
        ),
        (None, None, None)
    );
}
