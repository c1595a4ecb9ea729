//! Debug and Serialize never print a secret: provider tokens, key material,
//! the password in a connection URL.

use saas_db::auth::{ExposeSecret, Keyring, NewOAuthAccount};
use saas_db::{Database, Repos};
use saas_db_testing::TestDatabase;

use super::{hex, new_user, ring_1, stored, ACCESS, KEY_1, REFRESH};

/// `Debug` of `Account` used to print both tokens and `Serialize` wrote
/// them into the JSON; `NewOAuthAccount`'s `Debug` printed them too.
#[test]
fn accounts_redact_tokens_in_debug_and_skip_them_in_serialize() {
    let db = TestDatabase::with_builder(|b| b.token_keys(ring_1())).unwrap();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let new = NewOAuthAccount {
        provider: "google".into(),
        provider_account_id: "ada-g".into(),
        access_token: Some(ACCESS.into()),
        refresh_token: Some(REFRESH.into()),
        token_type: Some("bearer".into()),
        ..Default::default()
    };
    let account = conn
        .accounts()
        .with_keys(db.token_keys())
        .link_oauth(ada.id, &new)
        .unwrap();
    let ciphertext = hex(&stored(&mut conn, account.id).access_token_enc.unwrap());
    let json = serde_json::to_value(&account).unwrap();
    let outputs = [
        format!("{new:?}"),
        format!("{new:#?}"),
        format!("{account:?}"),
        format!("{account:#?}"),
        json.to_string(),
        format!("{:?}", account.access_token(db.token_keys()).unwrap()),
    ];
    for output in &outputs {
        for secret in [ACCESS, REFRESH, &ciphertext[..40]] {
            assert!(!output.contains(secret), "{secret} in {output}");
        }
    }
    assert!(
        outputs[2].contains("access_token: Some(<redacted>)"),
        "{}",
        outputs[2]
    );
    assert!(outputs[2].contains("id_token: None"), "{}", outputs[2]);
    assert!(
        outputs[0].contains("refresh_token: Some(<redacted>)"),
        "{}",
        outputs[0]
    );
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert!(
        keys.iter()
            .all(|k| !k.contains("token") || *k == "token_type"),
        "tokens serialized: {keys:?}"
    );
    assert_eq!(json["provider"], "google");
    // The secret is still there for whoever asks with the key.
    let token = account.access_token(db.token_keys()).unwrap().unwrap();
    assert_eq!(token.expose_secret(), ACCESS);
}

/// Key material never shows: `Debug` of the ring, of the builder holding
/// it and of the database are key ids only.
#[test]
fn keyring_debug_shows_key_ids_only() {
    let ring = ring_1().with_key(5, [0xab; 32]).unwrap();
    let builder = Database::builder("postgres://app@localhost/app").token_keys(ring.clone());
    for output in [
        format!("{ring:?}"),
        format!("{ring:#?}"),
        format!("{builder:?}"),
    ] {
        for material in [hex(&KEY_1), hex(&[0xab; 32]), format!("{:?}", &KEY_1[..4])] {
            assert!(!output.contains(&material[..16]), "{material} in {output}");
        }
    }
    assert_eq!(
        format!("{ring:?}"),
        "Keyring { key_ids: [1, 5], encrypts_with: Some(5) }"
    );
    assert_eq!(
        format!("{:?}", Keyring::new()),
        "Keyring { key_ids: [], encrypts_with: None }"
    );
}

/// `Debug` of `DatabaseBuilder` used to print the URL as given, password
/// included. Now every form hides it, and the real URL still connects.
#[test]
fn builder_debug_hides_the_connection_password() {
    let cases = [
        (
            "postgres://app:hunter2@db.internal:5432/app",
            "postgres://app:<redacted>@db.internal:5432/app",
        ),
        (
            "postgresql://app:p%40ss@h/db?sslmode=require",
            "postgresql://app:<redacted>@h/db?sslmode=require",
        ),
        (
            "postgres://app:un@encoded@h/db",
            "postgres://app:<redacted>@h/db",
        ),
        (
            "postgresql:///db?host=/run&password=hunter2",
            "postgresql:///db?host=/run&password=<redacted>",
        ),
        (
            "postgresql:///db?%70assword=hunter2",
            "postgresql:///db?%70assword=<redacted>",
        ),
        ("postgres://app@h/db", "postgres://app@h/db"),
        (
            "host=h user=app password=hunter2 dbname=app",
            "host=h user=app password=<redacted> dbname=app",
        ),
        (
            "host=h password = 'hunter2 \\' x' dbname=app",
            "host=h password=<redacted> dbname=app",
        ),
        ("password='unterminated hunter2", "<redacted>"),
    ];
    for (url, shown) in cases {
        let debug = format!("{:?}", Database::builder(url));
        assert!(debug.contains(&format!("url: {shown:?}")), "{url}: {debug}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("p%40ss"),
            "{debug}"
        );
    }

    // A real role with a real password: the builder, the database and its
    // pool hide it, and the URL handed to libpq is still the full one.
    let test_db = TestDatabase::new();
    let app_url = test_db.app_url().unwrap();
    let password = app_url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        .map(|(_, pw)| pw.to_owned())
        .unwrap();
    assert!(password.len() >= 32);
    let builder = Database::builder(&app_url)
        .run_migrations(false)
        .max_size(1);
    let builder_debug = format!("{builder:?}");
    let db = builder.build().unwrap();
    let mut conn = db.conn().unwrap();
    assert_eq!(conn.users().find_by_email("x@example.com").unwrap(), None);
    for output in [
        builder_debug,
        format!("{db:?}"),
        format!("{:?}", db.pool()),
        format!("{test_db:?}"),
    ] {
        assert!(!output.contains(&password), "password in {output}");
    }
}
