//! Leases and their fence, retries and dead letters.

use std::thread::sleep;
use std::time::Duration;

use crate::support::count_bound;
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use saas_db::ids::OutboxMessageId;
use saas_db::outbox::{Failed, NewMessage};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use serde_json::json;

use super::seed;

/// A worker claims and dies (never acks or fails). After its lease the
/// message is claimed again, attempt 2, with a new token; the dead worker's
/// late ack and fail are refused by the fence, the live one's ack works.
/// The control: an ack by id alone (no fence) would have settled the
/// message under the second worker's feet.
#[test]
fn a_worker_that_dies_holding_a_lease_is_replaced_and_fenced_off() {
    let db = TestDatabase::new();
    let id = seed(&mut db.conn().unwrap(), "mail", 1)[0];
    let outbox = db.outbox("mail");
    let dead = outbox.claim(5, Duration::from_secs(1)).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 1);
    assert!(
        outbox.claim(5, Duration::from_secs(60)).unwrap().is_empty(),
        "not claimable while leased"
    );
    sleep(Duration::from_millis(1_200));
    let live = outbox.claim(5, Duration::from_secs(60)).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, id);
    assert_eq!(live[0].attempts, 2, "the lost attempt is counted");
    assert_ne!(live[0].lease_token, dead[0].lease_token);

    let late = outbox.ack(&dead[0]);
    assert!(
        matches!(late, Err(Error::LeaseLost { id: lost }) if lost == id.uuid()),
        "{late:?}"
    );
    let late = outbox.fail(&dead[0], "smtp timeout");
    assert!(matches!(late, Err(Error::LeaseLost { .. })), "{late:?}");

    // Control: without the fence the dead worker's ack would have landed.
    let mut conn = db.conn().unwrap();
    conn.build_transaction()
        .run(|tx| {
            let unfenced = diesel::sql_query(
                "UPDATE outbox_messages SET delivered_at = now(), lease_token = NULL,
                        leased_until = NULL WHERE id = $1",
            )
            .bind::<SqlUuid, _>(id)
            .execute(tx)?;
            assert_eq!(unfenced, 1, "an ack by id alone settles another's lease");
            Err::<(), _>(diesel::result::Error::RollbackTransaction)
        })
        .unwrap_err();

    outbox.ack(&live[0]).unwrap();
    assert!(
        matches!(outbox.ack(&live[0]), Err(Error::LeaseLost { .. })),
        "acked once"
    );
    assert!(outbox.claim(5, Duration::from_secs(60)).unwrap().is_empty());
}

/// A message that always fails: retried with backoff, dead-lettered after
/// `max_attempts`, listed, requeued, claimable again. A worker that crashes
/// on it every time (never calls `fail`) dead-letters it too, because
/// claims count attempts. The control: a message allowed 100 attempts (the
/// naive "retry forever") is still being delivered after as many failures.
#[test]
fn poison_messages_are_dead_lettered_listed_and_requeued() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let payload = json!({ "to": "x@example.com" });
    let poison = NewMessage::new("hooks", &payload).max_attempts(3);
    let forever = NewMessage::new("hooks", &payload).max_attempts(100);
    let poison = match conn.outbox().enqueue_message(&poison).unwrap() {
        saas_db::outbox::Enqueued::New(id) => id,
        other => panic!("{other:?}"),
    };
    conn.outbox().enqueue_message(&forever).unwrap();
    let outbox = db
        .outbox("hooks")
        .backoff(Duration::from_millis(1), Duration::from_millis(2));
    let mut outcomes = Vec::new();
    for round in 1..=3 {
        sleep(Duration::from_millis(5));
        let claimed = outbox.claim(10, Duration::from_secs(60)).unwrap();
        assert_eq!(claimed.len(), 2, "round {round}: both redelivered");
        for message in &claimed {
            assert_eq!(message.attempts, round);
            let outcome = outbox.fail(message, "HTTP 500 from the receiver").unwrap();
            if message.id == poison {
                outcomes.push(outcome);
            } else {
                assert!(
                    matches!(outcome, Failed::Retry(_)),
                    "control keeps retrying"
                );
            }
        }
    }
    assert!(matches!(
        outcomes[..],
        [Failed::Retry(_), Failed::Retry(_), Failed::Dead]
    ));
    sleep(Duration::from_millis(5));
    let left = outbox.claim(10, Duration::from_secs(60)).unwrap();
    assert_eq!(left.len(), 1, "only the control is still delivered");
    assert_ne!(left[0].id, poison);
    assert_eq!(left[0].attempts, 4);

    let dead = outbox.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, poison);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("HTTP 500 from the receiver")
    );
    assert!(dead[0].dead_at.is_some());

    let requeued = outbox.requeue(poison).unwrap();
    assert_eq!((requeued.attempts, requeued.dead_at), (0, None));
    assert!(matches!(
        outbox.requeue(poison),
        Err(Error::NotFound {
            entity: "dead letter"
        })
    ));
    let again = outbox.claim(10, Duration::from_secs(60)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (poison, 1));
    assert!(outbox.dead_letters(10).unwrap().is_empty());

    // A worker that crashes on the message every time: the claims count.
    let crashing = seed(&mut conn, "crash", 1)[0];
    let crash = db.outbox("crash");
    for _ in 0..saas_db::outbox::MAX_ATTEMPTS_DEFAULT {
        assert_eq!(crash.claim(1, Duration::from_millis(1)).unwrap().len(), 1);
        sleep(Duration::from_millis(3));
    }
    assert!(crash.claim(1, Duration::from_secs(60)).unwrap().is_empty());
    let dead = crash.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, crashing);
    assert_eq!(
        count_bound::<Text, _>(
            &mut conn,
            "SELECT count(*) AS n FROM outbox_messages WHERE topic = $1 AND lease_token IS NULL",
            "crash"
        ),
        1
    );
}

/// `fail` waits out the backoff: the message is not claimable before it
/// and is after; `stats` counts each state.
#[test]
fn retries_wait_for_the_backoff_and_stats_count_states() {
    let db = TestDatabase::new();
    seed(&mut db.conn().unwrap(), "mail", 3);
    let outbox = db
        .outbox("mail")
        .backoff(Duration::from_secs(2), Duration::from_secs(2));
    let claimed = outbox.claim(2, Duration::from_secs(60)).unwrap();
    let stats = outbox.stats().unwrap();
    assert_eq!(
        (stats.ready, stats.leased, stats.scheduled, stats.dead),
        (1, 2, 0, 0)
    );
    let Failed::Retry(at) = outbox.fail(&claimed[0], "busy").unwrap() else {
        panic!("first failure retries")
    };
    // Drawn from the upper half of the 2 s cap: at least 1 s away.
    assert!(
        at > chrono::Utc::now() + chrono::Duration::milliseconds(500),
        "{at}"
    );
    outbox.ack(&claimed[1]).unwrap();
    let stats = outbox.stats().unwrap();
    assert_eq!(
        (stats.ready, stats.leased, stats.scheduled, stats.dead),
        (1, 0, 1, 0)
    );
    let next = outbox.claim(10, Duration::from_secs(60)).unwrap();
    assert_eq!(next.len(), 1, "the failed one waits for its backoff");
    assert_ne!(next[0].id, claimed[0].id);
    sleep(Duration::from_millis(2_100));
    let retried = outbox.claim(10, Duration::from_secs(60)).unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (claimed[0].id, 2));
}

/// `ack_all` settles a batch in one statement, each message under its own
/// fence: the one whose lease ran out and was claimed again is reported,
/// not acked. The control: the same batch acked by id alone settles it.
#[test]
fn a_batch_ack_is_fenced_per_message() {
    let db = TestDatabase::new();
    let ids = seed(&mut db.conn().unwrap(), "mail", 3);
    let outbox = db.outbox("mail");
    let mut slow = outbox.claim(2, Duration::from_secs(60)).unwrap();
    slow.extend(outbox.claim(1, Duration::from_millis(100)).unwrap());
    assert_eq!(slow.len(), 3);
    sleep(Duration::from_millis(200));
    let other = outbox.claim(10, Duration::from_secs(60)).unwrap();
    assert_eq!(other.len(), 1, "the short lease ran out");
    assert_eq!(other[0].id, slow[2].id);

    // Control: by ids alone the batch would settle the other worker's message.
    let mut conn = db.conn().unwrap();
    conn.build_transaction()
        .run(|tx| {
            let unfenced = diesel::sql_query(
                "UPDATE outbox_messages SET delivered_at = now(), lease_token = NULL,
                        leased_until = NULL WHERE id = ANY($1)",
            )
            .bind::<diesel::sql_types::Array<SqlUuid>, _>(&ids)
            .execute(tx)?;
            assert_eq!(unfenced, 3);
            Err::<(), _>(diesel::result::Error::RollbackTransaction)
        })
        .unwrap_err();

    assert_eq!(outbox.ack_all(&slow).unwrap(), vec![slow[2].id]);
    assert!(outbox.ack_all(&slow[..2]).unwrap().len() == 2, "acked once");
    assert_eq!(outbox.ack_all(&[]).unwrap(), Vec::<OutboxMessageId>::new());
    outbox.ack(&other[0]).unwrap();
    assert_eq!(outbox.stats().unwrap().leased, 0);
    assert_eq!(
        count_bound::<Text, _>(
            &mut conn,
            "SELECT count(*) AS n FROM outbox_messages WHERE topic = $1 AND delivered_at IS NOT NULL",
            "mail"
        ),
        3
    );
}

/// 300,000 messages whose last attempt's lease ran out (a fleet of workers
/// that crashed on single-attempt messages) and a 1 s statement timeout
/// (wide enough for a bounded claim on a loaded CI machine, far too short
/// for the unbounded one). The claim dead-lettered all of them in the one statement that
/// also leases, so every claim timed out and the healthy message behind
/// them was never delivered. Now each claim dead-letters at most 1,000.
/// The control: the unbounded dead-lettering, run alone, times out.
#[test]
fn a_backlog_of_expired_last_attempts_cannot_block_the_claim() {
    let db = TestDatabase::with_builder(|b| b.statement_timeout(Duration::from_secs(1))).unwrap();
    let mut conn = db.conn().unwrap();
    diesel::sql_query("SET statement_timeout = 0")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(
        "INSERT INTO outbox_messages (topic, payload, attempts, max_attempts, lease_token,
                                      leased_until, available_at)
         SELECT 'crash', '{}', 1, 1, gen_random_uuid(), now() - interval '1 minute',
                now() - interval '2 minutes'
           FROM generate_series(1, 300000)",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("ANALYZE outbox_messages")
        .execute(&mut conn)
        .unwrap();
    let healthy = seed(&mut conn, "crash", 1)[0];
    let outbox = db.outbox("crash");
    let claimed = outbox.claim(1, Duration::from_secs(60)).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, healthy);
    let dead = count_bound::<Text, _>(
        &mut conn,
        "SELECT count(*) AS n FROM outbox_messages WHERE topic = $1 AND dead_at IS NOT NULL",
        "crash",
    );
    assert_eq!(dead, 1_000, "bounded per claim");

    // Control: the unbounded statement under the same timeout.
    diesel::sql_query("SET statement_timeout = '1s'")
        .execute(&mut conn)
        .unwrap();
    let unbounded = diesel::sql_query(
        "UPDATE outbox_messages SET dead_at = now(), lease_token = NULL, leased_until = NULL
          WHERE topic = 'crash' AND dead_at IS NULL AND attempts >= max_attempts
            AND leased_until <= now()",
    )
    .execute(&mut conn)
    .map_err(Error::from);
    assert!(matches!(unbounded, Err(Error::Timeout)), "{unbounded:?}");
}
