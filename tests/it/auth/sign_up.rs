//! `auth().sign_up(..)`: the user, the password and the verification email
//! in one transaction, or none of them.

use super::*;
use crate::input::still_usable;
use crate::support::{count, is_conflict, is_invalid};
use diesel::connection::SimpleConnection;
use saas_db::outbox::auth_mail::{AuthEmail, AUTH_EMAIL_TOPIC};
use saas_db::users::NewUser;

/// Users, credential accounts and outbox messages: what a sign-up writes.
fn written(conn: &mut PgConnection) -> [i64; 3] {
    [
        count(conn, "SELECT count(*) AS n FROM users"),
        count(
            conn,
            "SELECT count(*) AS n FROM accounts WHERE provider = 'credential'",
        ),
        count(conn, "SELECT count(*) AS n FROM outbox_messages"),
    ]
}

/// One sign-up is the user, its password and its verification email. It
/// used to be the user and the email only: hosts stored the password with
/// `accounts().set_password` in a second step, and a refused password left
/// a user who could not sign in.
#[test]
fn sign_up_stores_the_user_the_password_and_the_verification_email() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = conn
        .auth()
        .sign_up(&NewUser::new("Ada@Example.com", "Ada"), PASSWORD)
        .unwrap();
    assert_eq!(ada.email, "ada@example.com");
    assert_eq!(written(&mut conn), [1, 1, 1]);
    assert!(conn.accounts().verify_password(ada.id, PASSWORD).unwrap());
    assert!(stored_password_hash(&mut conn).starts_with("$argon2id$"));

    let signed = conn
        .auth()
        .sign_in_with_password("ada@example.com", PASSWORD, client())
        .unwrap();
    assert_eq!(signed.user.id, ada.id);

    let outbox = db.outbox(AUTH_EMAIL_TOPIC);
    let claimed = outbox.claim(10, HOUR).unwrap();
    assert_eq!(claimed.len(), 1);
    let email = AuthEmail::from_claimed(&claimed[0]).unwrap();
    assert_eq!(email.kind, TokenKind::EmailVerification);
    assert_eq!(
        (email.user_id, email.email.as_str()),
        (ada.id, "ada@example.com")
    );
    let (_, token) = email.issue_token(&mut conn, HOUR).unwrap().unwrap();
    let verified = conn.auth().confirm_email(token.as_str()).unwrap();
    assert!(verified.email_verified_at.is_some());
}

/// A refused password (too short, too long, with a NUL) or a taken email
/// leaves no user, no account and no email behind, with the exact error,
/// and the connection stays usable.
#[test]
fn a_refused_sign_up_leaves_no_user_no_account_and_no_email() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.auth()
        .sign_up(&NewUser::new("taken@example.com", "First"), PASSWORD)
        .unwrap();
    let before = written(&mut conn);

    let too_long = "x".repeat(PASSWORD_MAX_BYTES + 1);
    for (email, password, field) in [
        ("new@example.com", "short", "password"),
        ("new@example.com", "", "password"),
        ("new@example.com", too_long.as_str(), "password"),
        ("new@example.com", "long enough\0but a NUL", "password"),
        ("not an email", PASSWORD, "email"),
    ] {
        let err = conn
            .auth()
            .sign_up(&NewUser::new(email, "New"), password)
            .unwrap_err();
        assert!(
            is_invalid(&err, field),
            "{email} / {}: {err:?}",
            password.len()
        );
        assert_eq!(written(&mut conn), before, "{email} / {}", password.len());
        still_usable(&mut conn).unwrap();
    }

    let err = conn
        .auth()
        .sign_up(&NewUser::new("TAKEN@example.com", "Second"), PASSWORD)
        .unwrap_err();
    assert!(is_conflict(&err, "users_email_key"), "{err:?}");
    assert_eq!(written(&mut conn), before);
    still_usable(&mut conn).unwrap();
}

/// A failure at the last step, after the user and the password were
/// written (here the outbox INSERT, refused by a trigger), rolls the whole
/// sign-up back. Control: without the trigger the same call signs up.
#[test]
fn a_failure_after_the_user_is_written_rolls_the_whole_sign_up_back() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.batch_execute(
        "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation',
                                             CONSTRAINT = 'test_outbox_refused';
         END $$;
         CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox_messages
             FOR EACH ROW EXECUTE FUNCTION refuse_outbox();",
    )
    .unwrap();
    let err = conn
        .auth()
        .sign_up(&NewUser::new("ada@example.com", "Ada"), PASSWORD)
        .unwrap_err();
    assert!(is_invalid(&err, "test_outbox_refused"), "{err:?}");
    assert_eq!(written(&mut conn), [0, 0, 0]);
    still_usable(&mut conn).unwrap();

    conn.batch_execute("DROP TRIGGER refuse_outbox ON outbox_messages")
        .unwrap();
    conn.auth()
        .sign_up(&NewUser::new("ada@example.com", "Ada"), PASSWORD)
        .unwrap();
    assert_eq!(written(&mut conn), [1, 1, 1]);
}
