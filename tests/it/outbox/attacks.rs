//! A hostile review of the outbox: tokens mailed through it that outlive
//! the address they went to, backoffs and operator edits that strand a
//! message, and extreme inputs that must stay typed errors or round-trip
//! exactly.

use std::time::Duration;

use crate::support::client;
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use saas_db::enums::TokenKind;
use saas_db::outbox::auth_mail::AUTH_EMAIL_TOPIC;
use saas_db::outbox::{Failed, NewMessage};
use saas_db::users::NewUser;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use serde_json::json;

use super::{deliver, seed};
use crate::support::acting_as;

/// The tokens a sender would have emailed for every `auth.email` message
/// (claimed, issued and acked by [`deliver`]), by kind.
fn tokens_sent(db: &TestDatabase) -> Vec<(TokenKind, String)> {
    deliver(db)
        .into_iter()
        .filter_map(|(email, token)| Some((email.kind, token?)))
        .collect()
}

/// A user whose mailbox was taken over changes their address to lock the
/// intruder out. The password-reset and magic-link tokens already mailed
/// through the outbox to the old address must die with it. They used to
/// still reset the password and sign in (only `confirm_email` compared the
/// token's address with the user's). The control: the same kinds of token
/// mailed to the new address work.
#[test]
fn tokens_mailed_to_an_old_address_die_with_the_address_change() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .auth()
        .sign_up(
            &NewUser::new("old@example.com", "Victim"),
            "long enough password",
        )
        .unwrap();
    tokens_sent(&db);
    for kind in [TokenKind::PasswordReset, TokenKind::MagicLink] {
        conn.auth().request_email(kind, "old@example.com").unwrap();
    }
    let stolen = tokens_sent(&db);
    let stolen = |kind| {
        stolen
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let user = conn.users().get(user.id).unwrap();
    conn.auth()
        .change_email(user.id, user.version, "new@example.com")
        .unwrap();

    let reset = conn
        .auth()
        .reset_password(&stolen(TokenKind::PasswordReset), "intruder's passphrase");
    assert!(matches!(reset, Err(Error::Unauthorized)), "{reset:?}");
    let signed_in = conn
        .auth()
        .sign_in_with_magic_link(&stolen(TokenKind::MagicLink), client());
    assert!(
        matches!(signed_in, Err(Error::Unauthorized)),
        "{signed_in:?}"
    );

    // Control: tokens mailed to the current address work.
    for kind in [TokenKind::PasswordReset, TokenKind::MagicLink] {
        conn.auth().request_email(kind, "new@example.com").unwrap();
    }
    let mine = tokens_sent(&db);
    let tokens: Vec<TokenKind> = mine.iter().map(|(k, _)| *k).collect();
    assert!(tokens.contains(&TokenKind::PasswordReset), "{tokens:?}");
    for (kind, token) in mine {
        match kind {
            TokenKind::PasswordReset => {
                conn.auth()
                    .reset_password(&token, "the owner's new passphrase")
                    .unwrap();
            }
            TokenKind::MagicLink => {
                conn.auth()
                    .sign_in_with_magic_link(&token, client())
                    .unwrap();
            }
            TokenKind::EmailVerification => {}
        }
    }
}

/// A backoff of `Duration::MAX` (a host's "never retry on its own") used
/// to overflow `now() + interval` in the database: `fail` was a raw
/// database error ("timestamp out of range") instead of a retry, and the
/// message stayed leased. Now the backoff is capped at 100 years. The
/// control: the same failure with the default backoff retries within 2 s.
#[test]
fn an_extreme_backoff_schedules_a_retry_far_off_instead_of_failing() {
    let db = TestDatabase::new();
    seed(&mut db.conn().unwrap(), "far", 1);
    seed(&mut db.conn().unwrap(), "near", 1);
    let far = db.outbox("far").backoff(Duration::MAX, Duration::MAX);
    let claimed = far.claim(1, Duration::from_secs(60)).unwrap();
    let outcome = far.fail(&claimed[0], "upstream down");
    let Ok(Failed::Retry(at)) = outcome else {
        panic!("{outcome:?}");
    };
    let years = (at - chrono::Utc::now()).num_days() / 365;
    assert!((45..=101).contains(&years), "{years} years");
    assert_eq!(far.stats().unwrap().scheduled, 1);
    assert_eq!(far.stats().unwrap().leased, 0, "the lease is released");

    let near = db.outbox("near");
    let claimed = near.claim(1, Duration::from_secs(60)).unwrap();
    let Ok(Failed::Retry(at)) = near.fail(&claimed[0], "upstream down") else {
        panic!("control");
    };
    assert!(at < chrono::Utc::now() + chrono::Duration::seconds(2));
}

/// An operator stops retrying a poison message by lowering its
/// `max_attempts` to the attempts it has used, while it waits out a
/// backoff. The claim used to dead-letter only messages whose *lease* ran
/// out, so this one (no lease) was neither claimable nor dead: stuck for
/// ever, counted as "ready" by `stats`. Now the next claim dead-letters it,
/// keeping its last error. The control: an untouched message of the same
/// history is claimed again.
#[test]
fn a_message_whose_attempts_were_cut_is_dead_lettered_not_stranded() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ids = seed(&mut conn, "hooks", 2);
    let outbox = db
        .outbox("hooks")
        .backoff(Duration::from_millis(1), Duration::from_millis(1));
    for claimed in outbox.claim(10, Duration::from_secs(60)).unwrap() {
        outbox.fail(&claimed, "500 from the receiver").unwrap();
    }
    diesel::sql_query("UPDATE outbox_messages SET max_attempts = attempts WHERE id = $1")
        .bind::<SqlUuid, _>(ids[0])
        .execute(&mut conn)
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));

    let again = outbox.claim(10, Duration::from_secs(60)).unwrap();
    let again: Vec<_> = again.iter().map(|c| (c.id, c.attempts)).collect();
    assert_eq!(again, vec![(ids[1], 2)], "control: retried as attempt 2");
    let dead = outbox.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, ids[0]);
    assert_eq!(dead[0].last_error.as_deref(), Some("500 from the receiver"));
    let stats = outbox.stats().unwrap();
    assert_eq!((stats.ready, stats.dead), (0, 1), "{stats:?}");
}

/// Attacks that held, kept as cheap guards of unguarded inputs: a NUL in
/// a payload *key*, sub-microsecond and 100-year delays, JSON numbers at
/// the edges of i64/u64/f64 (returned exactly as enqueued), a batch ack
/// listing one claim twice, and an ack under another topic's handle (the
/// lease token, not the topic, is the capability).
#[test]
fn edge_inputs_are_refused_typed_or_round_trip_exactly() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let bad = conn.outbox().enqueue("edge", &json!({ "k\0": 1 }), None);
    assert!(matches!(bad, Err(Error::Invalid { ref field, .. }) if field == "payload"));
    let ok = json!({});
    let tiny = conn
        .outbox()
        .enqueue_message(&NewMessage::new("edge", &ok).delay(Duration::from_nanos(1)));
    assert!(matches!(tiny, Err(Error::Invalid { ref field, .. }) if field == "delay"));
    let far = NewMessage::new("edge", &ok).delay(saas_db::validate::DURATION_MAX);
    assert!(conn.outbox().enqueue_message(&far).unwrap().is_new());

    let numbers = json!({ "max": u64::MAX, "min": i64::MIN, "f": f64::MAX, "tiny": 5e-324 });
    conn.outbox().enqueue("edge", &numbers, None).unwrap();
    let outbox = db.outbox("edge");
    let claimed = outbox.claim(10, Duration::from_secs(60)).unwrap();
    assert_eq!(claimed.len(), 1, "the 100-year delay is not claimable");
    assert_eq!(claimed[0].payload, numbers);

    let lost = outbox
        .ack_all(&[claimed[0].clone(), claimed[0].clone()])
        .unwrap();
    assert!(lost.is_empty(), "{lost:?}");
    assert!(matches!(
        outbox.ack(&claimed[0]),
        Err(Error::LeaseLost { .. })
    ));

    seed(&mut conn, "other", 1);
    let other = db
        .outbox("other")
        .claim(1, Duration::from_secs(60))
        .unwrap();
    outbox.ack(&other[0]).unwrap();
    assert_eq!(db.outbox("other").stats().unwrap().leased, 0);
}

/// A payload number outside f64's range, written by hand-written SQL as
/// the app role in a user's transaction (enqueueing is open to it), used
/// to be stored; every claim of the topic then failed to read it back
/// (`DeserializationError("Invalid Json")`) while leasing the whole batch,
/// so healthy messages burned their attempts too. The table now refuses
/// such a number. The control: the same jsonb read back directly is the
/// error every claim would have hit.
#[test]
fn an_unreadable_payload_number_cannot_be_planted_to_block_a_topic() {
    let db = TestDatabase::new();
    let mut owner = db.conn().unwrap();
    let alice = owner
        .users()
        .create(&NewUser::new("alice@example.com", "Alice"))
        .unwrap();
    seed(&mut owner, AUTH_EMAIL_TOPIC, 3);
    let app = crate::support::app_database(&db);
    for planted in [r#"{"n": 1e400}"#, r#"{"a": [{"n": -2e308}]}"#] {
        let forged = app.as_user(alice.id, |tx| {
            diesel::sql_query("INSERT INTO outbox_messages (topic, payload) VALUES ($1, $2::jsonb)")
                .bind::<diesel::sql_types::Text, _>(AUTH_EMAIL_TOPIC)
                .bind::<diesel::sql_types::Text, _>(planted)
                .execute(tx)
                .map_err(Error::from)
        });
        assert!(
            matches!(forged, Err(Error::Invalid { .. })),
            "{planted}: {forged:?}"
        );
    }
    let claimed = app
        .outbox(AUTH_EMAIL_TOPIC)
        .claim(10, Duration::from_secs(60))
        .unwrap();
    assert_eq!(claimed.len(), 3);

    // Control: what a claim would have read.
    #[derive(QueryableByName, Debug)]
    struct Payload {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        #[allow(dead_code)]
        p: serde_json::Value,
    }
    let read =
        diesel::sql_query(r#"SELECT '{"n": 1e400}'::jsonb AS p"#).get_result::<Payload>(&mut owner);
    assert!(read.is_err(), "{read:?}");
}

/// A magic link requested before its user was banned used to be issued
/// when the message was delivered (the ban was checked only at enqueue).
/// Now the sender issues nothing for a banned user. The control: the
/// same request for an unbanned user issues a token.
#[test]
fn a_user_banned_after_the_request_is_sent_no_token() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let banned = conn
        .users()
        .create(&NewUser::new("banned@example.com", "Banned"))
        .unwrap();
    conn.users()
        .create(&NewUser::new("fine@example.com", "Fine"))
        .unwrap();
    for email in ["banned@example.com", "fine@example.com"] {
        conn.auth()
            .request_email(TokenKind::MagicLink, email)
            .unwrap();
    }
    conn.users()
        .ban(&acting_as(banned.id), banned.id, None, Some("abuse"))
        .unwrap();
    let sent = tokens_sent(&db);
    assert_eq!(sent.len(), 1, "only the unbanned user's: {sent:?}");
}

/// A server restart with a worker's batch claimed and a business
/// transaction open: the lease survives (no second worker gets the
/// message while it runs, and the worker's ack still lands), and the open
/// transaction's user and message are gone together. The control: the
/// same enqueue autocommitted before the restart survives it, alone.
#[test]
fn a_restart_keeps_leases_and_drops_an_open_write_with_its_message() {
    use saas_db::Database;
    use saas_db_testing::EmbeddedPostgres;
    let pg = EmbeddedPostgres::start().unwrap();
    let db = Database::connect(pg.url()).unwrap();
    let mut conn = db.conn().unwrap();
    seed(&mut conn, "mail", 2);
    let outbox = db.outbox("mail");
    let claimed = outbox.claim(10, Duration::from_secs(60)).unwrap();
    assert_eq!(claimed.len(), 2);

    let mut open = PgConnection::establish(pg.url()).unwrap();
    diesel::connection::SimpleConnection::batch_execute(&mut open, "BEGIN").unwrap();
    open.users()
        .create(&NewUser::new("torn@example.com", "Torn"))
        .unwrap();
    open.outbox()
        .enqueue("welcome", &json!({ "email": "torn@example.com" }), None)
        .unwrap();
    conn.outbox()
        .enqueue("welcome", &json!({ "control": true }), None)
        .unwrap();
    drop(conn);
    pg.restart().unwrap();
    let commit = diesel::connection::SimpleConnection::batch_execute(&mut open, "COMMIT");
    assert!(commit.is_err(), "the open transaction died with the server");

    assert!(outbox
        .claim(10, Duration::from_secs(60))
        .unwrap()
        .is_empty());
    assert_eq!(outbox.stats().unwrap().leased, 2, "leases survive");
    assert!(outbox.ack_all(&claimed).unwrap().is_empty());
    let mut conn = db.conn().unwrap();
    assert!(conn
        .users()
        .find_by_email("torn@example.com")
        .unwrap()
        .is_none());
    let welcome = db
        .outbox("welcome")
        .claim(10, Duration::from_secs(60))
        .unwrap();
    let payloads: Vec<_> = welcome.iter().map(|c| c.payload.clone()).collect();
    assert_eq!(payloads, vec![json!({ "control": true })]);
}
