//! Verification tokens: single use, kinds, expiry, reissue, purging and the redemption race.

use super::*;
use crate::support::race_conns;
use saas_db::ids::VerificationTokenId;

#[test]
fn verification_token_works_once_and_only_for_its_kind() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
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
        assert!(matches!(err, Error::Unauthorized), "{wrong:?}: {err:?}");
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
    assert!(matches!(err, Error::Unauthorized), "second use: {err:?}");

    let long = "y".repeat(10_000);
    for garbage in ["", "garbage", "a\0b", long.as_str()] {
        let err = conn
            .verification_tokens()
            .consume(TokenKind::EmailVerification, garbage)
            .unwrap_err();
        assert!(matches!(err, Error::Unauthorized), "{err:?}");
    }
}

#[test]
fn expired_verification_token_is_refused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
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
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
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
    assert!(err.field() == Some("ttl"), "{err:?}");
    let err = conn
        .verification_tokens()
        .issue(TokenKind::MagicLink, "not an email", None, HOUR)
        .unwrap_err();
    assert!(err.field() == Some("email"), "{err:?}");
}

#[test]
fn reissuing_a_token_replaces_the_earlier_one_of_that_kind_only() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let bob = user(&mut conn, "bob@example.com");
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
    assert!(matches!(err, Error::Unauthorized), "replaced: {err:?}");
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
    assert!(matches!(err, Error::Unauthorized), "replaced: {err:?}");
    consume(&b).expect("the new one works");
    consume(&other).expect("another email is unaffected");
}

#[test]
fn recent_count_counts_issued_tokens_in_the_window() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
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
        Uuid::from(ids[0]),
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
    assert!(err.field() == Some("batch"), "{err:?}");
    assert_eq!(conn.verification_tokens().purge_expired(1).unwrap(), 2);
    assert_eq!(conn.verification_tokens().purge_expired(1).unwrap(), 0);

    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: VerificationTokenId,
    }
    let mut left: Vec<VerificationTokenId> =
        diesel::sql_query("SELECT id FROM verification_tokens")
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

#[test]
fn sixteen_threads_redeem_one_token_exactly_once() {
    let db = TestDatabase::with_builder(|b| b.max_size(20)).unwrap();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");

    // Control: read "unused", then mark used unconditionally. Under the race
    // more than one thread redeems the same token.
    let mut best = 0;
    for _round in 0..20 {
        let (issued, _) = conn
            .verification_tokens()
            .issue(TokenKind::PasswordReset, &ada.email, Some(ada.id), HOUR)
            .unwrap();
        let id = issued.id;
        let successes = race_conns(&db, 16, move |conn| {
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
    let results = race_conns(&db, 16, move |conn| {
        conn.verification_tokens()
            .consume(TokenKind::PasswordReset, token.as_str())
    });
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 1, "{results:?}");
    assert_eq!(ok[0].id, issued.id);
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Unauthorized)))
        .count();
    assert_eq!(refused, 15, "{results:?}");
    assert!(!token_unused(&mut conn, issued.id));
}
