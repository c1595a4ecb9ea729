//! The auth flows' emails go through the outbox and never hold a token:
//! the message names the user, the kind and the address; the sender issues
//! the token at delivery. The control shows the search for the token in
//! the outbox's rows finds one where a row does hold it.

use crate::support::count_bound;
use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::enums::TokenKind;
use saas_db::ids::UserId;
use saas_db::outbox::auth_mail::AUTH_EMAIL_TOPIC;
use saas_db::users::NewUser;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use serde_json::json;

use super::{deliver, messages};

/// Outbox rows whose text (every column) contains `needle`.
fn rows_containing(conn: &mut PgConnection, needle: &str) -> i64 {
    count_bound::<Text, _>(
        conn,
        "SELECT count(*) AS n FROM outbox_messages m WHERE strpos(m::text, $1) > 0",
        needle,
    )
}

#[test]
fn sign_up_sends_the_verification_email_through_the_outbox_without_a_token() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .auth()
        .sign_up(
            &NewUser::new("New@Example.com", "New"),
            "long enough password",
        )
        .unwrap();
    let refused = conn.auth().sign_up(
        &NewUser::new("new@example.com", "Again"),
        "long enough password",
    );
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    assert_eq!(
        messages(&mut conn, AUTH_EMAIL_TOPIC),
        1,
        "only the committed sign-up"
    );

    let sent = deliver(&db);
    assert_eq!(sent.len(), 1);
    let (email, token) = &sent[0];
    assert_eq!(email.kind, TokenKind::EmailVerification);
    assert_eq!(
        (email.user_id, email.email.as_str()),
        (user.id, "new@example.com")
    );
    let token = token.clone().expect("a token to send");
    assert_eq!(
        rows_containing(&mut conn, &token),
        0,
        "no token in the outbox"
    );
    assert_eq!(rows_containing(&mut conn, "new@example.com"), 1);
    let verified = conn.auth().confirm_email(&token).unwrap();
    assert!(verified.email_verified_at.is_some());

    // Control: a row that does hold the token is found by the same search.
    conn.outbox()
        .enqueue("naive", &json!({ "token": token }), None)
        .unwrap();
    assert_eq!(rows_containing(&mut conn, &token), 1);
}

#[test]
fn a_message_that_no_longer_applies_issues_nothing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .auth()
        .sign_up(
            &NewUser::new("old@example.com", "Old"),
            "long enough password",
        )
        .unwrap();
    conn.auth()
        .change_email(user.id, user.version, "new@example.com")
        .unwrap();
    let sent = deliver(&db);
    let by_address: Vec<(&str, bool)> = sent
        .iter()
        .map(|(e, t)| (e.email.as_str(), t.is_some()))
        .collect();
    assert_eq!(
        by_address,
        vec![("old@example.com", false), ("new@example.com", true)],
        "the old address gets nothing"
    );
    let token = sent[1].1.clone().unwrap();
    conn.auth().confirm_email(&token).unwrap();
    // Verified since: a resend request issues nothing.
    conn.auth()
        .request_email(TokenKind::EmailVerification, "new@example.com")
        .unwrap();
    let sent = deliver(&db);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1.is_none());
}

#[test]
/// A request for an unknown address used to enqueue nothing, so it took
/// about half as long as one for an account (p50 382 µs against 685 µs,
/// measured here): an account oracle by timing. Both now enqueue one
/// message; only an account's issues a token when it is sent.
fn a_password_reset_request_issues_a_token_only_for_an_account() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.users()
        .create(&NewUser::new("has@example.com", "Has"))
        .unwrap();
    conn.auth()
        .request_email(TokenKind::PasswordReset, "Nobody@Example.com")
        .unwrap();
    let sent = deliver(&db);
    assert_eq!(sent.len(), 1, "same answer, same work: one message");
    assert_eq!(
        (sent[0].0.user_id, sent[0].0.email.as_str(), &sent[0].1),
        (UserId(uuid::Uuid::nil()), "nobody@example.com", &None),
        "that issues nothing"
    );
    conn.auth()
        .request_email(TokenKind::PasswordReset, "has@example.com")
        .unwrap();
    let sent = deliver(&db);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.kind, TokenKind::PasswordReset);
    let token = sent[0].1.clone().unwrap();
    assert_eq!(rows_containing(&mut conn, &token), 0);
    conn.auth()
        .reset_password(&token, "a much better passphrase")
        .unwrap();
    let bad = conn
        .auth()
        .request_email(TokenKind::PasswordReset, "no\0pe");
    assert!(matches!(bad, Err(Error::Invalid { ref field, .. }) if field == "email"));
}

/// Eight sign-ups of one address at once (a double-submitted form, a
/// script): one user and one verification email; the seven losers'
/// messages roll back with their users. The control: the naive flow that
/// enqueues the email before (outside) the user's insert writes eight.
#[test]
fn racing_sign_ups_of_one_address_enqueue_one_email() {
    let db = TestDatabase::with_builder(|b| b.max_size(10)).unwrap();
    let outcomes = crate::support::race(8, |i, barrier| {
        let mut conn = db.conn().unwrap();
        barrier.wait();
        conn.outbox()
            .enqueue("naive", &json!({ "email": "dup@example.com" }), None)
            .unwrap();
        conn.auth()
            .sign_up(
                &NewUser::new("dup@example.com", format!("Dup {i}")),
                "long enough password",
            )
            .is_ok()
    });
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
    let mut conn = db.conn().unwrap();
    assert_eq!(messages(&mut conn, AUTH_EMAIL_TOPIC), 1);
    assert_eq!(messages(&mut conn, "naive"), 8, "control");
}
