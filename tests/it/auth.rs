//! Auth: accounts, sessions, verification tokens and the sign-in flows.
//! Secrets are never stored, a token is redeemed once even under a race (with
//! a control showing the naive redemption that is not), and sessions stop
//! validating the moment their user is banned or deleted.

mod token_issue_lock;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use saas_db::auth::{
    Client, ExposeSecret, Keyring, NewOAuthAccount, PasswordHasher, Token, CREDENTIAL_PROVIDER,
    TOUCH_INTERVAL,
};
use saas_db::enums::TokenKind;
use saas_db::testing::TestDatabase;
use saas_db::users::{NewUser, User};
use saas_db::{Error, Repos};
use uuid::Uuid;

const HOUR: Duration = Duration::from_secs(3600);
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "tr0ub4dor & 3 more words";
const ALL_KINDS: [TokenKind; 3] = [
    TokenKind::EmailVerification,
    TokenKind::PasswordReset,
    TokenKind::MagicLink,
];

fn client() -> Client<'static> {
    Client {
        ttl: HOUR,
        ip: Some("203.0.113.7".parse().unwrap()),
        user_agent: Some("auth-tests/1.0"),
    }
}

fn new_user(conn: &mut PgConnection, email: &str) -> User {
    conn.users()
        .create(&NewUser::new(email, "Test User"))
        .unwrap()
}

fn session(conn: &mut PgConnection, user: Uuid) -> (saas_db::auth::Session, Token) {
    conn.sessions().create(user, HOUR, None, None).unwrap()
}

/// Runs `sql` with `$1` bound to `id`; the number of rows affected.
fn exec(conn: &mut PgConnection, sql: &str, id: Uuid) -> usize {
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(conn)
        .unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `SELECT count(*) AS n ...` with `$1` bound to `id`.
fn count(conn: &mut PgConnection, sql: &str, id: Uuid) -> i64 {
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    ok: bool,
}

fn token_unused(conn: &mut PgConnection, token_id: Uuid) -> bool {
    diesel::sql_query("SELECT used_at IS NULL AS ok FROM verification_tokens WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(token_id)
        .get_result::<Flag>(conn)
        .unwrap()
        .ok
}

#[derive(QueryableByName)]
struct StoredHash {
    #[diesel(sql_type = Nullable<Text>)]
    password_hash: Option<String>,
}

fn stored_password_hash(conn: &mut PgConnection) -> String {
    diesel::sql_query("SELECT password_hash FROM accounts WHERE provider = 'credential'")
        .get_result::<StoredHash>(conn)
        .unwrap()
        .password_hash
        .expect("credential account has a hash")
}

fn assert_about(actual: DateTime<Utc>, expected: DateTime<Utc>) {
    let off = (actual - expected).num_milliseconds().abs();
    assert!(off < 5_000, "{actual} is not about {expected}");
}

// ---------------------------------------------------------------------------
// 2. Sessions.

#[test]
fn session_validates_to_itself_and_its_user_and_nothing_else_does() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let ip: std::net::IpAddr = "2001:db8::7".parse().unwrap();
    let (created, token) = conn
        .sessions()
        .create(ada.id, HOUR, Some(ip), Some("Mozilla/5.0"))
        .unwrap();
    assert_eq!(created.user_id, ada.id);
    assert_eq!(created.ip_address, Some(ipnet::IpNet::from(ip)));
    assert_eq!(created.user_agent.as_deref(), Some("Mozilla/5.0"));
    assert_eq!(created.revoked_at, None);
    assert_about(created.expires_at, Utc::now() + chrono::Duration::hours(1));
    assert_eq!(format!("{token:?}"), "Token(<redacted>)");

    let (session, user) = conn.sessions().validate(token.as_str()).unwrap().unwrap();
    assert_eq!(session, created);
    assert_eq!(user, conn.users().get(ada.id).unwrap());

    let long = "x".repeat(10_000);
    let mut tampered = token.as_str().to_owned();
    tampered.replace_range(0..1, if tampered.starts_with('A') { "B" } else { "A" });
    let with_nul = format!("{}\0", token.as_str());
    for garbage in [
        "garbage",
        "",
        long.as_str(),
        "\0",
        "abc\0def",
        with_nul.as_str(),
        tampered.as_str(),
        &token.as_str()[..42],
    ] {
        assert_eq!(
            conn.sessions().validate(garbage).unwrap(),
            None,
            "{:?}",
            &garbage[..garbage.len().min(50)]
        );
    }

    let err = conn.sessions().create(ada.id, Duration::ZERO, None, None);
    assert!(
        matches!(&err, Err(Error::Invalid { field, .. }) if field == "ttl"),
        "{err:?}"
    );
}

#[test]
fn expired_and_revoked_sessions_do_not_validate() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");

    let (expired, expired_token) = session(&mut conn, ada.id);
    exec(
        &mut conn,
        "UPDATE sessions SET created_at = now() - interval '2 hours',
                             last_seen_at = now() - interval '2 hours',
                             expires_at = now() - interval '1 second'
          WHERE id = $1",
        expired.id,
    );
    assert_eq!(
        conn.sessions().validate(expired_token.as_str()).unwrap(),
        None
    );

    let (revoked, revoked_token) = session(&mut conn, ada.id);
    assert!(conn
        .sessions()
        .validate(revoked_token.as_str())
        .unwrap()
        .is_some());
    conn.sessions().revoke(revoked.id).unwrap();
    assert_eq!(
        conn.sessions().validate(revoked_token.as_str()).unwrap(),
        None
    );
    // Idempotent; an unknown session is NotFound.
    conn.sessions().revoke(revoked.id).unwrap();
    let err = conn.sessions().revoke(Uuid::now_v7()).unwrap_err();
    assert!(
        matches!(err, Error::NotFound { entity: "session" }),
        "{err:?}"
    );
}

#[test]
fn revoke_all_but_one_and_list_live_sessions_newest_first() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let bob = new_user(&mut conn, "bob@example.com");
    let (bobs, bobs_token) = session(&mut conn, bob.id);

    let sessions: Vec<_> = (0..4).map(|_| session(&mut conn, ada.id)).collect();
    let listed: Vec<Uuid> = conn
        .sessions()
        .list_for_user(ada.id)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    let newest_first: Vec<Uuid> = sessions.iter().rev().map(|(s, _)| s.id).collect();
    assert_eq!(listed, newest_first);

    // One already revoked and one expired are neither listed nor counted.
    conn.sessions().revoke(sessions[0].0.id).unwrap();
    exec(
        &mut conn,
        "UPDATE sessions SET created_at = now() - interval '2 hours',
                             expires_at = now() - interval '1 hour'
          WHERE id = $1",
        sessions[1].0.id,
    );
    let listed: Vec<Uuid> = conn
        .sessions()
        .list_for_user(ada.id)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![sessions[3].0.id, sessions[2].0.id]);

    let more: Vec<_> = (0..2).map(|_| session(&mut conn, ada.id)).collect();
    let keep = sessions[2].0.id;
    let n = conn
        .sessions()
        .revoke_all_for_user(ada.id, Some(keep))
        .unwrap();
    assert_eq!(n, 3, "sessions[3] and the two more");
    for (s, token) in sessions.iter().chain(&more) {
        let valid = conn.sessions().validate(token.as_str()).unwrap().is_some();
        assert_eq!(valid, s.id == keep, "session {}", s.id);
    }
    let listed: Vec<Uuid> = conn
        .sessions()
        .list_for_user(ada.id)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![keep]);

    assert_eq!(
        conn.sessions().revoke_all_for_user(ada.id, None).unwrap(),
        1
    );
    assert_eq!(
        conn.sessions().revoke_all_for_user(ada.id, None).unwrap(),
        0
    );
    assert!(conn.sessions().list_for_user(ada.id).unwrap().is_empty());
    // Bob's session was never touched.
    let (still, _) = conn
        .sessions()
        .validate(bobs_token.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(still.id, bobs.id);
}

#[test]
fn ban_and_soft_delete_end_sessions_at_once_and_lifting_them_restores() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let (_, token) = session(&mut conn, ada.id);
    let valid = |conn: &mut PgConnection| conn.sessions().validate(token.as_str()).unwrap();
    assert!(valid(&mut conn).is_some());

    conn.users().ban(ada.id, None, Some("spam")).unwrap();
    assert!(valid(&mut conn).is_none(), "permanent ban");
    conn.users().unban(ada.id).unwrap();
    assert!(valid(&mut conn).is_some(), "unbanned");

    conn.users()
        .ban(ada.id, Some(Utc::now() + chrono::Duration::hours(1)), None)
        .unwrap();
    assert!(valid(&mut conn).is_none(), "ban until an hour from now");
    // The ban ran out (ban() refuses past times, so move it back by hand).
    exec(
        &mut conn,
        "UPDATE users SET banned_at = now() - interval '2 days',
                          ban_expires_at = now() - interval '1 day'
          WHERE id = $1",
        ada.id,
    );
    let (_, user) = valid(&mut conn).expect("valid again after the ban expired");
    assert!(user.banned_at.is_some());
    assert!(!user.is_banned_at(Utc::now()));
    conn.users().unban(ada.id).unwrap();

    conn.users().soft_delete(ada.id).unwrap();
    assert!(valid(&mut conn).is_none(), "soft-deleted");
    conn.users().restore(ada.id).unwrap();
    assert!(valid(&mut conn).is_some(), "restored");
}

#[test]
fn sessions_are_refused_to_banned_deleted_and_missing_users() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");

    conn.users().ban(ada.id, None, None).unwrap();
    let err = conn
        .sessions()
        .create(ada.id, HOUR, None, None)
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");

    // An expired ban does not refuse.
    exec(
        &mut conn,
        "UPDATE users SET banned_at = now() - interval '2 days',
                          ban_expires_at = now() - interval '1 day'
          WHERE id = $1",
        ada.id,
    );
    let (_, token) = session(&mut conn, ada.id);
    assert!(conn.sessions().validate(token.as_str()).unwrap().is_some());

    let err = conn
        .sessions()
        .create(Uuid::now_v7(), HOUR, None, None)
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");

    conn.users().soft_delete(ada.id).unwrap();
    let err = conn
        .sessions()
        .create(ada.id, HOUR, None, None)
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM sessions WHERE user_id = $1",
            ada.id
        ),
        1,
        "only the session made while the user could sign in"
    );
}

// ---------------------------------------------------------------------------
// 3. Sliding expiry.

#[test]
fn touch_writes_at_most_once_a_minute_and_slides_the_expiry() {
    assert_eq!(TOUCH_INTERVAL, Duration::from_secs(60));
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let (created, token) = conn
        .sessions()
        .create(ada.id, Duration::from_secs(600), None, None)
        .unwrap();

    assert!(
        !conn.sessions().touch(created.id, HOUR).unwrap(),
        "just created: seen now"
    );
    let (unchanged, _) = conn.sessions().validate(token.as_str()).unwrap().unwrap();
    assert_eq!(unchanged, created);

    exec(
        &mut conn,
        "UPDATE sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1",
        created.id,
    );
    assert!(conn.sessions().touch(created.id, HOUR).unwrap());
    let (touched, _) = conn.sessions().validate(token.as_str()).unwrap().unwrap();
    assert_about(touched.expires_at, Utc::now() + chrono::Duration::hours(1));
    assert_about(touched.last_seen_at, Utc::now());
    assert!(touched.expires_at > created.expires_at + chrono::Duration::minutes(40));

    assert!(
        !conn.sessions().touch(created.id, HOUR).unwrap(),
        "second touch within the minute"
    );
    let (again, _) = conn.sessions().validate(token.as_str()).unwrap().unwrap();
    assert_eq!(again, touched);

    // A revoked session is not brought back by a touch.
    conn.sessions().revoke(created.id).unwrap();
    exec(
        &mut conn,
        "UPDATE sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1",
        created.id,
    );
    assert!(!conn.sessions().touch(created.id, HOUR).unwrap());
    assert!(!conn.sessions().touch(Uuid::now_v7(), HOUR).unwrap());
}

// ---------------------------------------------------------------------------
// 4. Purging sessions.

#[test]
fn purge_expired_sessions_deletes_exactly_the_dead_ones_in_batches() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let bob = new_user(&mut conn, "bob@example.com");

    let live: Vec<_> = (0..3).map(|_| session(&mut conn, ada.id)).collect();
    let mut dead = Vec::new();
    for owner in [ada.id, ada.id, bob.id] {
        let (s, _) = session(&mut conn, owner);
        exec(
            &mut conn,
            "UPDATE sessions SET created_at = now() - interval '2 hours',
                                 expires_at = now() - interval '1 hour'
              WHERE id = $1",
            s.id,
        );
        dead.push(s.id);
    }
    for owner in [ada.id, bob.id] {
        let (s, _) = session(&mut conn, owner);
        conn.sessions().revoke(s.id).unwrap();
        dead.push(s.id);
    }
    let (bobs_live, bobs_token) = session(&mut conn, bob.id);

    let err = conn.sessions().purge_expired(0).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "batch"),
        "{err:?}"
    );

    // 5 dead rows in batches of 2: 2 + 2 + 1.
    assert_eq!(conn.sessions().purge_expired(2).unwrap(), 5);
    assert_eq!(conn.sessions().purge_expired(2).unwrap(), 0);
    for id in dead {
        assert_eq!(
            count(
                &mut conn,
                "SELECT count(*) AS n FROM sessions WHERE id = $1",
                id
            ),
            0
        );
    }
    for (s, token) in &live {
        let (valid, _) = conn.sessions().validate(token.as_str()).unwrap().unwrap();
        assert_eq!(valid.id, s.id);
    }
    let (valid, _) = conn
        .sessions()
        .validate(bobs_token.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(valid.id, bobs_live.id);
    let total = diesel::sql_query("SELECT count(*) AS n FROM sessions")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
    assert_eq!(total, 4);
}

// ---------------------------------------------------------------------------
// 5. Verification tokens.

#[test]
fn verification_token_works_once_and_only_for_its_kind() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let (issued, token) = conn
        .verification_tokens()
        .issue(
            TokenKind::EmailVerification,
            " Ada@Example.COM ",
            Some(ada.id),
            HOUR,
        )
        .unwrap();
    assert_eq!(issued.email, "ada@example.com");
    assert_eq!(issued.used_at, None);
    assert_about(issued.expires_at, Utc::now() + chrono::Duration::hours(1));

    for wrong in [TokenKind::PasswordReset, TokenKind::MagicLink] {
        let err = conn
            .verification_tokens()
            .consume(wrong, token.as_str())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidToken), "{wrong:?}: {err:?}");
    }
    assert!(
        token_unused(&mut conn, issued.id),
        "a wrong kind uses nothing"
    );

    let redeemed = conn
        .verification_tokens()
        .consume(TokenKind::EmailVerification, token.as_str())
        .unwrap();
    assert_eq!(redeemed.id, issued.id);
    assert_eq!(redeemed.kind, TokenKind::EmailVerification);
    assert_eq!(redeemed.user_id, Some(ada.id));
    assert!(redeemed.used_at.is_some());

    let err = conn
        .verification_tokens()
        .consume(TokenKind::EmailVerification, token.as_str())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidToken), "second use: {err:?}");

    let long = "y".repeat(10_000);
    for garbage in ["", "garbage", "a\0b", long.as_str()] {
        let err = conn
            .verification_tokens()
            .consume(TokenKind::EmailVerification, garbage)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidToken), "{err:?}");
    }
}

#[test]
fn expired_verification_token_is_refused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let (issued, token) = conn
        .verification_tokens()
        .issue(TokenKind::MagicLink, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    exec(
        &mut conn,
        "UPDATE verification_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
        issued.id,
    );
    let err = conn
        .verification_tokens()
        .consume(TokenKind::MagicLink, token.as_str())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidToken), "{err:?}");
    assert!(token_unused(&mut conn, issued.id));

    let err = conn
        .verification_tokens()
        .issue(
            TokenKind::MagicLink,
            &ada.email,
            Some(ada.id),
            Duration::ZERO,
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "ttl"),
        "{err:?}"
    );
    let err = conn
        .verification_tokens()
        .issue(TokenKind::MagicLink, "not an email", None, HOUR)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "email"),
        "{err:?}"
    );
}

#[test]
fn reissuing_a_token_replaces_the_earlier_one_of_that_kind_only() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let bob = new_user(&mut conn, "bob@example.com");
    let issue = |conn: &mut PgConnection, kind, email: &str, user| {
        conn.verification_tokens()
            .issue(kind, email, user, HOUR)
            .unwrap()
            .1
    };
    let first = issue(
        &mut conn,
        TokenKind::PasswordReset,
        &ada.email,
        Some(ada.id),
    );
    let magic = issue(&mut conn, TokenKind::MagicLink, &ada.email, Some(ada.id));
    let bobs = issue(
        &mut conn,
        TokenKind::PasswordReset,
        &bob.email,
        Some(bob.id),
    );
    let second = issue(
        &mut conn,
        TokenKind::PasswordReset,
        &ada.email,
        Some(ada.id),
    );

    let mut consume = |kind, token: &Token| {
        conn.verification_tokens()
            .consume(kind, token.as_str())
            .map(|t| t.id)
    };
    let err = consume(TokenKind::PasswordReset, &first).unwrap_err();
    assert!(matches!(err, Error::InvalidToken), "replaced: {err:?}");
    consume(TokenKind::PasswordReset, &second).expect("the new one works");
    consume(TokenKind::MagicLink, &magic).expect("another kind is unaffected");
    consume(TokenKind::PasswordReset, &bobs).expect("another user is unaffected");

    // Without a user, the email is the target.
    let a = issue(&mut conn, TokenKind::MagicLink, "grace@example.com", None);
    let other = issue(&mut conn, TokenKind::MagicLink, "linus@example.com", None);
    let b = issue(&mut conn, TokenKind::MagicLink, "GRACE@example.com", None);
    let mut consume = |token: &Token| {
        conn.verification_tokens()
            .consume(TokenKind::MagicLink, token.as_str())
            .map(|t| t.id)
    };
    let err = consume(&a).unwrap_err();
    assert!(matches!(err, Error::InvalidToken), "replaced: {err:?}");
    consume(&b).expect("the new one works");
    consume(&other).expect("another email is unaffected");
}

#[test]
fn recent_count_counts_issued_tokens_in_the_window() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (issued, _) = conn
            .verification_tokens()
            .issue(TokenKind::PasswordReset, &ada.email, Some(ada.id), HOUR)
            .unwrap();
        ids.push(issued.id);
    }
    conn.verification_tokens()
        .issue(TokenKind::MagicLink, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    conn.verification_tokens()
        .issue(TokenKind::PasswordReset, "bob@example.com", None, HOUR)
        .unwrap();

    let mut recent = |email: &str, kind| {
        conn.verification_tokens()
            .recent_count(email, kind, HOUR)
            .unwrap()
    };
    assert_eq!(
        recent("ada@example.com", TokenKind::PasswordReset),
        3,
        "two of them invalidated, all three issued"
    );
    assert_eq!(recent("ADA@example.com ", TokenKind::PasswordReset), 3);
    assert_eq!(recent("ada@example.com", TokenKind::MagicLink), 1);
    assert_eq!(recent("ada@example.com", TokenKind::EmailVerification), 0);
    assert_eq!(recent("bob@example.com", TokenKind::PasswordReset), 1);
    assert_eq!(recent("carol@example.com", TokenKind::PasswordReset), 0);

    // Issued two hours ago: outside a one-hour window.
    exec(
        &mut conn,
        "UPDATE verification_tokens SET created_at = now() - interval '2 hours' WHERE id = $1",
        ids[0],
    );
    assert_eq!(
        conn.verification_tokens()
            .recent_count(&ada.email, TokenKind::PasswordReset, HOUR)
            .unwrap(),
        2
    );
    assert_eq!(
        conn.verification_tokens()
            .recent_count(&ada.email, TokenKind::PasswordReset, 3 * HOUR)
            .unwrap(),
        3
    );
}

#[test]
fn purge_expired_tokens_keeps_a_day_of_history() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let issue = |conn: &mut PgConnection, email: &str| {
        conn.verification_tokens()
            .issue(TokenKind::MagicLink, email, None, HOUR)
            .unwrap()
    };
    let (expired_long_ago, _) = issue(&mut conn, "a@example.com");
    let (used_long_ago, _) = issue(&mut conn, "b@example.com");
    let (live, _) = issue(&mut conn, "c@example.com");
    let (used_now, used_now_token) = issue(&mut conn, "d@example.com");
    let (expired_recently, _) = issue(&mut conn, "e@example.com");
    let (replaced, _) = issue(&mut conn, "f@example.com");
    let (replacement, _) = issue(&mut conn, "f@example.com");

    exec(
        &mut conn,
        "UPDATE verification_tokens SET created_at = now() - interval '3 days',
                                        expires_at = now() - interval '2 days'
          WHERE id = $1",
        expired_long_ago.id,
    );
    exec(
        &mut conn,
        "UPDATE verification_tokens SET created_at = now() - interval '3 days',
                                        used_at = now() - interval '2 days'
          WHERE id = $1",
        used_long_ago.id,
    );
    conn.verification_tokens()
        .consume(TokenKind::MagicLink, used_now_token.as_str())
        .unwrap();
    exec(
        &mut conn,
        "UPDATE verification_tokens SET expires_at = now() - interval '1 hour' WHERE id = $1",
        expired_recently.id,
    );

    let err = conn.verification_tokens().purge_expired(0).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "batch"),
        "{err:?}"
    );
    assert_eq!(conn.verification_tokens().purge_expired(1).unwrap(), 2);
    assert_eq!(conn.verification_tokens().purge_expired(1).unwrap(), 0);

    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let mut left: Vec<Uuid> = diesel::sql_query("SELECT id FROM verification_tokens")
        .load::<Id>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    left.sort();
    let mut kept = vec![
        live.id,
        used_now.id,
        expired_recently.id,
        replaced.id,
        replacement.id,
    ];
    kept.sort();
    assert_eq!(left, kept);
}

// ---------------------------------------------------------------------------
// 6. Redemption races.

/// Runs `f` on `threads` threads at once, each on its own pooled connection
/// (checked out before the start line).
fn race<T, F>(db: &TestDatabase, threads: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(&mut PgConnection) -> T + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let db = db.db().clone();
            let f = Arc::clone(&f);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let conn = db.conn();
                barrier.wait(); // even if the checkout failed: nobody hangs
                let mut conn = conn.unwrap();
                f(&mut conn)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn sixteen_threads_redeem_one_token_exactly_once() {
    let db = TestDatabase::with_builder(|b| b.max_size(20)).unwrap();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");

    // Control: read "unused", then mark used unconditionally. Under the race
    // more than one thread redeems the same token.
    let mut best = 0;
    for _round in 0..20 {
        let (issued, _) = conn
            .verification_tokens()
            .issue(TokenKind::PasswordReset, &ada.email, Some(ada.id), HOUR)
            .unwrap();
        let id = issued.id;
        let successes = race(&db, 16, move |conn| {
            let unused = diesel::sql_query(
                "SELECT used_at IS NULL AND expires_at > now() AS ok
                   FROM verification_tokens WHERE id = $1",
            )
            .bind::<diesel::sql_types::Uuid, _>(id)
            .get_result::<Flag>(conn)
            .unwrap()
            .ok;
            std::thread::yield_now();
            if unused {
                diesel::sql_query("UPDATE verification_tokens SET used_at = now() WHERE id = $1")
                    .bind::<diesel::sql_types::Uuid, _>(id)
                    .execute(conn)
                    .unwrap();
            }
            unused
        })
        .into_iter()
        .filter(|&ok| ok)
        .count();
        best = best.max(successes);
        if best > 1 {
            break;
        }
    }
    assert!(
        best > 1,
        "control: the naive SELECT-then-UPDATE redemption should double-spend"
    );

    let (issued, token) = conn
        .verification_tokens()
        .issue(TokenKind::PasswordReset, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    let token = Arc::new(token);
    let results = race(&db, 16, move |conn| {
        conn.verification_tokens()
            .consume(TokenKind::PasswordReset, token.as_str())
    });
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 1, "{results:?}");
    assert_eq!(ok[0].id, issued.id);
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(Error::InvalidToken)))
        .count();
    assert_eq!(refused, 15, "{results:?}");
    assert!(!token_unused(&mut conn, issued.id));
}

// ---------------------------------------------------------------------------
// 7. Flows.

#[test]
fn confirm_email_verifies_the_address_the_token_was_sent_to() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
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
    assert!(matches!(err, Error::InvalidToken), "{err:?}");
    let err = conn.auth().confirm_email("garbage").unwrap_err();
    assert!(matches!(err, Error::InvalidToken), "{err:?}");

    // The address changed after the token was sent: it confirms nothing.
    let bob = new_user(&mut conn, "bob@example.com");
    let (issued, token) = conn
        .verification_tokens()
        .issue(TokenKind::EmailVerification, &bob.email, Some(bob.id), HOUR)
        .unwrap();
    let moved = conn
        .users()
        .change_email(bob.id, bob.version, "bobby@example.com")
        .unwrap();
    let err = conn.auth().confirm_email(token.as_str()).unwrap_err();
    assert!(matches!(err, Error::InvalidToken), "{err:?}");
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
    let ada = new_user(&mut conn, "ada@example.com");
    let bob = new_user(&mut conn, "bob@example.com");
    conn.accounts().set_password(ada.id, PASSWORD).unwrap();
    let mut tokens: Vec<Token> = (0..2).map(|_| session(&mut conn, ada.id).1).collect();
    tokens.push(
        conn.auth()
            .sign_in_with_password(&ada.email, PASSWORD, client())
            .unwrap()
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
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "password"),
        "{err:?}"
    );
    assert!(
        token_unused(&mut conn, issued.id),
        "the transaction rolled back"
    );
    assert!(conn.accounts().verify_password(ada.id, PASSWORD).unwrap());
    for token in &tokens {
        assert!(conn.sessions().validate(token.as_str()).unwrap().is_some());
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
        assert_eq!(conn.sessions().validate(token.as_str()).unwrap(), None);
    }
    assert!(conn.sessions().list_for_user(ada.id).unwrap().is_empty());
    assert!(
        conn.sessions()
            .validate(bobs_token.as_str())
            .unwrap()
            .is_some(),
        "another user's session is untouched"
    );
    let err = conn
        .auth()
        .reset_password(reset.as_str(), "yet another password")
        .unwrap_err();
    assert!(matches!(err, Error::InvalidToken), "{err:?}");
    // A reset token does not confirm an email, nor the other way round.
    let (_, confirm) = conn
        .verification_tokens()
        .issue(TokenKind::EmailVerification, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    let err = conn
        .auth()
        .reset_password(confirm.as_str(), "yet another password")
        .unwrap_err();
    assert!(matches!(err, Error::InvalidToken), "{err:?}");
}

#[test]
fn magic_link_signs_in_once() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
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
    assert_eq!(
        signed.session.ip_address,
        client().ip.map(ipnet::IpNet::from)
    );
    let (session, user) = conn
        .sessions()
        .validate(signed.token.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(session, signed.session);
    assert_eq!(user.id, ada.id);
    let last_login = conn.users().get(ada.id).unwrap().last_login_at;
    assert_about(last_login.expect("last_login_at set"), Utc::now());
    let err = conn
        .auth()
        .sign_in_with_magic_link(link.as_str(), client())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidToken), "{err:?}");

    // A banned user is refused, and the link survives the refusal.
    let (issued, link) = conn
        .verification_tokens()
        .issue(TokenKind::MagicLink, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    conn.users().ban(ada.id, None, None).unwrap();
    let err = conn
        .auth()
        .sign_in_with_magic_link(link.as_str(), client())
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(token_unused(&mut conn, issued.id));
    conn.users().unban(ada.id).unwrap();
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
    assert!(matches!(err, Error::InvalidToken), "{err:?}");
}

#[test]
fn sign_in_with_password() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let no_password = new_user(&mut conn, "oauth-only@example.com");
    conn.accounts().set_password(ada.id, PASSWORD).unwrap();

    let signed = conn
        .auth()
        .sign_in_with_password(" ADA@Example.com", PASSWORD, client())
        .unwrap()
        .expect("right password");
    assert_eq!(signed.user.id, ada.id);
    let (session, user) = conn
        .sessions()
        .validate(signed.token.as_str())
        .unwrap()
        .unwrap();
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
        let result = conn
            .auth()
            .sign_in_with_password(email, password, client())
            .unwrap();
        assert!(result.is_none(), "{email} / {password}");
    }
    assert_eq!(conn.sessions().list_for_user(ada.id).unwrap().len(), 1);

    conn.users().ban(ada.id, None, Some("fraud")).unwrap();
    let err = conn
        .auth()
        .sign_in_with_password(&ada.email, PASSWORD, client())
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    let wrong = conn
        .auth()
        .sign_in_with_password(&ada.email, "wrong password", client())
        .unwrap();
    assert!(wrong.is_none(), "a wrong password does not reveal the ban");

    conn.users().unban(ada.id).unwrap();
    conn.users().soft_delete(ada.id).unwrap();
    let deleted = conn
        .auth()
        .sign_in_with_password(&ada.email, PASSWORD, client())
        .unwrap();
    assert!(deleted.is_none());
}

// ---------------------------------------------------------------------------
// 8. Accounts.

#[test]
fn oauth_accounts_link_find_and_unlink() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let keys = Keyring::new().with_key(1, [9; 32]).unwrap();
    let ada = new_user(&mut conn, "ada@example.com");
    let bob = new_user(&mut conn, "bob@example.com");
    let github = NewOAuthAccount {
        provider: "github",
        provider_account_id: "1815",
        access_token: Some("gho_access"),
        token_type: Some("bearer"),
        scope: Some("read:user"),
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
            matches!(&err, Error::Conflict { constraint } if constraint == "accounts_provider_account_key"),
            "{err:?}"
        );
    }
    let err = conn
        .accounts()
        .with_keys(&keys)
        .link_oauth(
            Uuid::now_v7(),
            &NewOAuthAccount {
                provider: "google",
                provider_account_id: "g-1",
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
                    provider,
                    provider_account_id: "x",
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "provider"),
            "{provider:?}: {err:?}"
        );
    }
    let err = conn
        .accounts()
        .with_keys(&keys)
        .link_oauth(
            ada.id,
            &NewOAuthAccount {
                provider: "google",
                provider_account_id: "",
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "provider_account_id"),
        "{err:?}"
    );

    // A soft-deleted user is not found through the identity.
    conn.users().soft_delete(ada.id).unwrap();
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
    let ada = new_user(&mut conn, "ada@example.com");
    for (provider, id) in [("github", "1815"), ("google", "ada-g")] {
        conn.accounts()
            .link_oauth(
                ada.id,
                &NewOAuthAccount {
                    provider,
                    provider_account_id: id,
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
    let ada = new_user(&mut conn, "ada@example.com");
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
            matches!(&err, Error::Invalid { field, .. } if field == "password"),
            "{:?}: {err:?}",
            &bad[..bad.len().min(20)]
        );
    }
    assert_eq!(
        count(
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
        .verify_password(Uuid::now_v7(), PASSWORD)
        .unwrap());
    let err = conn
        .accounts()
        .set_password(Uuid::now_v7(), PASSWORD)
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
    let ada = new_user(&mut conn, "ada@example.com");
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
        let user = new_user(conn, email);
        conn.accounts().set_password(user.id, PASSWORD).unwrap();
        conn.accounts()
            .link_oauth(
                user.id,
                &NewOAuthAccount {
                    provider: "github",
                    provider_account_id: email,
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
    let counts = |conn: &mut PgConnection, user: Uuid| {
        [
            "SELECT count(*) AS n FROM accounts WHERE user_id = $1",
            "SELECT count(*) AS n FROM sessions WHERE user_id = $1",
            "SELECT count(*) AS n FROM verification_tokens WHERE user_id = $1",
        ]
        .map(|sql| count(conn, sql, user))
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
