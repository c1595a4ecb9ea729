//! Sign-up to password reset: accounts, hashed tokens, sessions.
//!
//! ```sh
//! cargo run --example auth     # throwaway PostgreSQL unless DATABASE_URL is set
//! ```

use std::time::Duration;

use saas_db::auth::{ExposeSecret, Keyring, NewOAuthAccount, SessionOptions};
use saas_db::enums::TokenKind;
use saas_db::outbox::auth_mail::{AuthEmail, AUTH_EMAIL_TOPIC};
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = saas_db_testing::EmbeddedPostgres::url_or_start()?;
    // The key that encrypts OAuth provider tokens. In production it comes
    // from a secret store: `with_base64_key(1, &std::env::var("TOKEN_KEY_1")?)`.
    let keys = Keyring::new().with_key(1, rand::random())?;
    let db = Database::builder(&url)
        .schema("auth_example")
        .token_keys(keys)
        .build()?;
    let mut conn = db.conn()?;
    // The new session's lifetime, and the client it is for.
    let client = SessionOptions::new(Duration::from_secs(30 * 24 * 3600))
        .ip("203.0.113.7".parse()?)
        .user_agent("example/1.0");

    println!("1. sign-up: user, password and verification email in one transaction");
    let ada = conn.auth().sign_up(
        &NewUser::new("ada@example.com", "Ada Lovelace"),
        "analytical engine",
    )?;
    println!("   created {} with an Argon2id password hash", ada.email);
    match conn
        .auth()
        .sign_up(&NewUser::new("grace@example.com", "Grace"), "short")
    {
        Err(e @ Error::Invalid { .. }) => {
            let left = conn.users().find_by_email("grace@example.com")?;
            println!("   a too short password: {e}; user left behind: {left:?}");
        }
        other => return Err(format!("expected Invalid, got {other:?}").into()),
    }
    // The outbox sender: the token is issued when the email goes out.
    let outbox = db.outbox(AUTH_EMAIL_TOPIC);
    let claimed = outbox.claim(1, Duration::from_secs(30))?;
    let email = AuthEmail::from_claimed(claimed.first().ok_or("no email enqueued")?)?;
    let (_, confirm) = email
        .issue_token(&mut conn, Duration::from_secs(24 * 3600))?
        .ok_or("no token issued")?;
    outbox.ack_all(&claimed)?;
    println!(
        "   email-confirmation link token: {}... (only its SHA-256 is stored)",
        &confirm.as_str()[..8]
    );

    println!("\n2. email confirmation");
    let ada = conn.auth().confirm_email(confirm.as_str())?;
    println!(
        "   verified at {:?}",
        ada.email_verified_at.map(|t| t.to_rfc3339())
    );
    match conn.auth().confirm_email(confirm.as_str()) {
        Err(e @ Error::Unauthorized) => println!("   the same link again: {e}"),
        other => return Err(format!("expected Unauthorized, got {other:?}").into()),
    }

    println!("\n3. sign-in");
    for (email, password) in [
        ("ada@example.com", "difference engine"),
        ("nobody@example.com", "analytical engine"),
    ] {
        match conn.auth().sign_in_with_password(email, password, client) {
            Err(e @ Error::Unauthorized) => println!("   {email} / {password}: {e}"),
            other => return Err(format!("expected Unauthorized, got {other:?}").into()),
        }
    }
    let signed_in =
        conn.auth()
            .sign_in_with_password("ADA@example.com", "analytical engine", client)?;
    println!(
        "   signed in; session {} expires {}",
        signed_in.session.id,
        signed_in.session.expires_at.to_rfc3339()
    );
    let github = conn.accounts().with_keys(db.token_keys()).link_oauth(
        ada.id,
        &NewOAuthAccount {
            provider: "github".into(),
            provider_account_id: "1815".into(),
            access_token: Some("gho_example_access_token".into()),
            scope: Some("read:user".into()),
            ..Default::default()
        },
    )?;
    let via_github = conn.accounts().find_user("github", "1815")?.map(|u| u.name);
    println!("   linked GitHub; github/1815 is {via_github:?}");
    let access = github.access_token(db.token_keys())?.ok_or("no token")?;
    println!(
        "   its access token is stored encrypted (key {:?}), reads back as {}..., prints as {:?}",
        github.token_key_ids(),
        &access.expose_secret()[..8],
        access
    );

    println!("\n4. session validation");
    let cookie = signed_in.token.as_str().to_owned();
    let (session, user) = conn.sessions().validate(&cookie)?;
    println!(
        "   cookie -> session {} of {} (one query)",
        session.id, user.name
    );
    println!(
        "   from {:?}; a forged cookie -> {:?}",
        session.ip_address,
        conn.sessions().validate("forged-cookie").map(|s| s.0.id)
    );
    let phone =
        conn.auth()
            .sign_in_with_password("ada@example.com", "analytical engine", client)?;
    println!(
        "   live sessions: {}",
        conn.sessions().list_for_user(ada.id)?.len()
    );

    println!("\n5. password reset");
    let (_, reset) = conn.verification_tokens().issue(
        TokenKind::PasswordReset,
        "ada@example.com",
        Some(ada.id),
        Duration::from_secs(3600),
    )?;
    conn.auth()
        .reset_password(reset.as_str(), "a new and better passphrase")?;
    println!("   password changed; every session revoked:");
    for (name, token) in [("laptop", &signed_in.token), ("phone", &phone.token)] {
        let valid = match conn.sessions().validate(token.as_str()) {
            Ok(_) => true,
            Err(Error::Unauthorized) => false,
            Err(e) => return Err(e.into()),
        };
        println!("     {name:<6} session valid: {valid}");
    }
    let old = conn
        .accounts()
        .verify_password(ada.id, "analytical engine")?;
    let new = conn
        .accounts()
        .verify_password(ada.id, "a new and better passphrase")?;
    println!("   old password works: {old}; new password works: {new}");
    Ok(())
}
