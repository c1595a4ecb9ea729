//! Item 12: durations too long for a timestamp are refused, naming the
//! field, by one shared check (`validate::duration`).

use std::time::Duration;

use saas_db::auth::SessionOptions;
use saas_db::billing::NewSubscription;
use saas_db::enums::TokenKind;
use saas_db::ops::HealthStatus;
use saas_db::validate::{DURATION_MAX, STATEMENT_TIMEOUT_MAX};
use saas_db::{Error, Repos};

use super::rows::fresh_user;
use super::{assert_invalid, still_usable, World};

/// Each used to fail in the database with `Error::Database("timestamp out
/// of range")` (`now() + $ttl`).
#[test]
fn durations_beyond_a_timestamp_are_invalid() {
    let w = World::new();
    let mut conn = w.db.conn().unwrap();
    let long = DURATION_MAX + Duration::from_secs(1);
    for d in [Duration::MAX, long] {
        assert_invalid(
            conn.sessions().create(w.user.id, SessionOptions::new(d)),
            "ttl",
        );
        assert_invalid(conn.sessions().touch(w.session_id, d), "ttl");
        assert_invalid(
            conn.verification_tokens()
                .issue(TokenKind::MagicLink, "a@example.com", None, d),
            "ttl",
        );
        assert_invalid(
            conn.verification_tokens()
                .recent_count("a@example.com", TokenKind::MagicLink, d),
            "window",
        );
        let user = fresh_user(&mut conn, &w).unwrap();
        assert_invalid(
            conn.subscriptions()
                .start(&NewSubscription::new(user.id, w.plan.id).trial(d)),
            "trial",
        );
        let client = SessionOptions {
            ttl: d,
            ip: None,
            user_agent: None,
        };
        assert_invalid(
            conn.auth()
                .sign_in_with_password(&w.user.email, w.password(), client),
            "ttl",
        );
        still_usable(&mut conn).unwrap();
    }
    // The longest accepted duration works end to end.
    let (session, _) = conn
        .sessions()
        .create(w.user.id, SessionOptions::new(DURATION_MAX))
        .unwrap();
    assert!(session.expires_at > chrono::Utc::now() + chrono::Duration::days(36_500));
    let user = fresh_user(&mut conn, &w).unwrap();
    let trial = conn
        .subscriptions()
        .start(&NewSubscription::new(user.id, w.plan.id).trial(DURATION_MAX))
        .unwrap();
    assert!(trial.trial_ends_at.is_some());
    assert_eq!(
        conn.verification_tokens()
            .recent_count("a@example.com", TokenKind::MagicLink, DURATION_MAX)
            .unwrap(),
        0
    );
}

/// Statement timeouts are bounded by what PostgreSQL accepts; a pool wait
/// of zero or `Duration::MAX` used to panic inside r2d2 (its assertion, or
/// `Instant + Duration` overflowing on the first checkout); a health check
/// with `Duration::MAX` as deadline lost its check thread to the same
/// overflow and reported the server unavailable.
#[test]
fn timeouts_are_bounded() {
    let w = World::new();
    let builder = || {
        saas_db::Database::builder(w.db.url())
            .run_migrations(false)
            .min_idle(Some(0))
    };
    for d in [Duration::ZERO, Duration::MAX] {
        assert_invalid(
            builder().connection_timeout(d).build(),
            "connection_timeout",
        );
        assert_invalid(builder().statement_timeout(d).build(), "statement_timeout");
        let policy = saas_db::tx::RetryPolicy::new().statement_timeout(d);
        assert_invalid(
            w.db.transaction_with_retry(&policy, |_| Ok(())),
            "statement_timeout",
        );
    }
    let over = STATEMENT_TIMEOUT_MAX + Duration::from_millis(1);
    assert_invalid(
        builder().statement_timeout(over).build(),
        "statement_timeout",
    );
    let db = builder()
        .statement_timeout(STATEMENT_TIMEOUT_MAX)
        .connection_timeout(DURATION_MAX)
        .build()
        .unwrap();
    db.conn().unwrap();
    let report = w.db.health_within(Duration::MAX);
    assert_ne!(report.status, HealthStatus::Unavailable, "{report:?}");
    let inside =
        w.db.transaction(|tx| saas_db::tx::set_local_statement_timeout(tx, Duration::MAX));
    assert!(
        matches!(&inside, Err(Error::Invalid { field, .. }) if field == "statement_timeout"),
        "{inside:?}"
    );
}
