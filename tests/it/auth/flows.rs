//! The sign-in flows: email confirmation, password reset, magic link, password sign-in.

use super::*;
use crate::support::acting_as;

#[test]
fn confirm_email_verifies_the_address_the_token_was_sent_to() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    assert_eq!(ada.email_verified_at, None);
    let (_, token) = conn
        .verification_tokens()
        .issue(TokenKind::EmailVerification, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    let confirmed = conn.auth().confirm_email(token.as_str()).unwrap();
    assert_eq!(confirmed.id, ada.id);
    assert!(confirmed.email_verified_at.is_some());
    assert_eq!(
        conn.users().get(ada.id).unwrap().email_verified_at,
        confirmed.email_verified_at
    );
    let err = conn.auth().confirm_email(token.as_str()).unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
    let err = conn.auth().confirm_email("garbage").unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");

    // The address changed after the token was sent: it confirms nothing.
    let bob = user(&mut conn, "bob@example.com");
    let (issued, token) = conn
        .verification_tokens()
        .issue(TokenKind::EmailVerification, &bob.email, Some(bob.id), HOUR)
        .unwrap();
    let moved = conn
        .users()
        .change_email(bob.id, bob.version, "bobby@example.com")
        .unwrap();
    let err = conn.auth().confirm_email(token.as_str()).unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
    assert_eq!(conn.users().get(bob.id).unwrap().email_verified_at, None);
    assert!(
        token_unused(&mut conn, issued.id),
        "the refusal rolled back"
    );
    // Back at the old address, the same token confirms it.
    conn.users()
        .change_email(bob.id, moved.version, "bob@example.com")
        .unwrap();
    let confirmed = conn.auth().confirm_email(token.as_str()).unwrap();
    assert!(confirmed.email_verified_at.is_some());
}

#[test]
fn reset_password_replaces_the_password_and_ends_every_session() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let bob = user(&mut conn, "bob@example.com");
    conn.accounts().set_password(ada.id, PASSWORD).unwrap();
    let mut tokens: Vec<Token> = (0..2).map(|_| session(&mut conn, ada.id).1).collect();
    tokens.push(
        conn.auth()
            .sign_in_with_password(&ada.email, PASSWORD, client())
            .unwrap()
            .token,
    );
    let (_, bobs_token) = session(&mut conn, bob.id);
    let (issued, reset) = conn
        .verification_tokens()
        .issue(TokenKind::PasswordReset, &ada.email, Some(ada.id), HOUR)
        .unwrap();

    // A refused new password changes nothing and keeps the token.
    let err = conn
        .auth()
        .reset_password(reset.as_str(), "short")
        .unwrap_err();
    assert!(err.field() == Some("password"), "{err:?}");
    assert!(
        token_unused(&mut conn, issued.id),
        "the transaction rolled back"
    );
    assert!(conn.accounts().verify_password(ada.id, PASSWORD).unwrap());
    for token in &tokens {
        assert!(validates(&mut conn, token.as_str()));
    }

    let user = conn
        .auth()
        .reset_password(reset.as_str(), NEW_PASSWORD)
        .unwrap();
    assert_eq!(user.id, ada.id);
    assert!(!conn.accounts().verify_password(ada.id, PASSWORD).unwrap());
    assert!(conn
        .accounts()
        .verify_password(ada.id, NEW_PASSWORD)
        .unwrap());
    for token in &tokens {
        assert!(!validates(&mut conn, token.as_str()));
    }
    assert!(conn.sessions().list_for_user(ada.id).unwrap().is_empty());
    assert!(
        validates(&mut conn, bobs_token.as_str()),
        "another user's session is untouched"
    );
    let err = conn
        .auth()
        .reset_password(reset.as_str(), "yet another password")
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
    // A reset token does not confirm an email, nor the other way round.
    let (_, confirm) = conn
        .verification_tokens()
        .issue(TokenKind::EmailVerification, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    let err = conn
        .auth()
        .reset_password(confirm.as_str(), "yet another password")
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
}

#[test]
fn magic_link_signs_in_once() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    assert_eq!(ada.last_login_at, None);
    let (_, link) = conn
        .verification_tokens()
        .issue(TokenKind::MagicLink, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    let signed = conn
        .auth()
        .sign_in_with_magic_link(link.as_str(), client())
        .unwrap();
    assert_eq!(signed.user.id, ada.id);
    assert_eq!(signed.session.user_id, ada.id);
    assert_eq!(signed.session.user_agent.as_deref(), client().user_agent);
    assert_eq!(signed.session.ip_address, client().ip);
    let (session, user) = conn.sessions().validate(signed.token.as_str()).unwrap();
    assert_eq!(session, signed.session);
    assert_eq!(user.id, ada.id);
    let last_login = conn.users().get(ada.id).unwrap().last_login_at;
    assert_about(last_login.expect("last_login_at set"), Utc::now());
    let err = conn
        .auth()
        .sign_in_with_magic_link(link.as_str(), client())
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");

    // A banned user is refused, and the link survives the refusal.
    let (issued, link) = conn
        .verification_tokens()
        .issue(TokenKind::MagicLink, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    conn.users()
        .ban(&acting_as(ada.id), ada.id, None, None)
        .unwrap();
    let err = conn
        .auth()
        .sign_in_with_magic_link(link.as_str(), client())
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(token_unused(&mut conn, issued.id));
    conn.users().unban(&acting_as(ada.id), ada.id).unwrap();
    conn.auth()
        .sign_in_with_magic_link(link.as_str(), client())
        .unwrap();

    // A link for an address without a user signs nobody in.
    let (_, stray) = conn
        .verification_tokens()
        .issue(TokenKind::MagicLink, "nobody@example.com", None, HOUR)
        .unwrap();
    let err = conn
        .auth()
        .sign_in_with_magic_link(stray.as_str(), client())
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
}

/// A failed password sign-in is `Err(Unauthorized)`, whatever the reason
/// (it used to be `Ok(None)`, unlike the token flows' `Err(InvalidToken)`, now `Unauthorized` like them).
#[test]
fn sign_in_with_password() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let no_password = user(&mut conn, "oauth-only@example.com");
    conn.accounts().set_password(ada.id, PASSWORD).unwrap();

    let signed = conn
        .auth()
        .sign_in_with_password(" ADA@Example.com", PASSWORD, client())
        .expect("right password");
    assert_eq!(signed.user.id, ada.id);
    let (session, user) = conn.sessions().validate(signed.token.as_str()).unwrap();
    assert_eq!(session.id, signed.session.id);
    assert_eq!(user.id, ada.id);
    assert!(user.last_login_at.is_some());

    for (email, password) in [
        ("ada@example.com", "wrong password"),
        ("ada@example.com", ""),
        ("ada@example.com", "correct horse battery staplE"),
        ("nobody@example.com", PASSWORD),
        (no_password.email.as_str(), PASSWORD),
    ] {
        let result = conn.auth().sign_in_with_password(email, password, client());
        assert!(
            matches!(result, Err(Error::Unauthorized)),
            "{email} / {password}: {result:?}"
        );
    }
    assert_eq!(conn.sessions().list_for_user(ada.id).unwrap().len(), 1);

    conn.users()
        .ban(&acting_as(ada.id), ada.id, None, Some("fraud"))
        .unwrap();
    let err = conn
        .auth()
        .sign_in_with_password(&ada.email, PASSWORD, client())
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    let wrong = conn
        .auth()
        .sign_in_with_password(&ada.email, "wrong password", client());
    assert!(
        matches!(wrong, Err(Error::Unauthorized)),
        "a wrong password does not reveal the ban: {wrong:?}"
    );

    conn.users().unban(&acting_as(ada.id), ada.id).unwrap();
    conn.users()
        .soft_delete(&acting_as(ada.id), ada.id)
        .unwrap();
    let deleted = conn
        .auth()
        .sign_in_with_password(&ada.email, PASSWORD, client());
    assert!(matches!(deleted, Err(Error::Unauthorized)), "{deleted:?}");
}
