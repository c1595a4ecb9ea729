//! Eight workers and 1,000 messages: every message is delivered and acked
//! exactly once. The control is the naive worker (read unsettled rows, then
//! mark them): workers that read before any of them marks deliver the same
//! messages several times.

use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use saas_db_testing::TestDatabase;

use super::seed;
use crate::support::{count_bound, race};
use saas_db::ids::OutboxMessageId;

const WORKERS: usize = 8;
const MESSAGES: usize = 1_000;

/// How often each id was delivered, over all workers.
fn tally(deliveries: Vec<Vec<OutboxMessageId>>) -> HashMap<OutboxMessageId, usize> {
    let mut seen = HashMap::new();
    for id in deliveries.into_iter().flatten() {
        *seen.entry(id).or_insert(0) += 1;
    }
    seen
}

#[test]
fn eight_workers_ack_each_of_1000_messages_exactly_once() {
    let db = TestDatabase::with_builder(|b| b.max_size(WORKERS as u32 + 2)).unwrap();
    let ids = seed(&mut db.conn().unwrap(), "mail", MESSAGES);
    let outbox = db.outbox("mail");
    let deliveries = race(WORKERS, |_, barrier| {
        let mut delivered = Vec::new();
        let mut first = true;
        loop {
            let claimed = outbox.claim(10, Duration::from_secs(60)).unwrap();
            if first {
                // Every worker has claimed once before any acks: without
                // SKIP LOCKED and the lease they would hold the same rows.
                barrier.wait();
                first = false;
            }
            if claimed.is_empty() {
                return delivered;
            }
            for message in claimed {
                assert_eq!(message.attempts, 1);
                delivered.push(message.id);
                outbox.ack(&message).unwrap();
            }
        }
    });
    let per_worker: Vec<usize> = deliveries.iter().map(Vec::len).collect();
    let seen = tally(deliveries);
    assert_eq!(seen.len(), MESSAGES, "every message delivered");
    assert!(seen.values().all(|&n| n == 1), "none delivered twice");
    assert!(ids.iter().all(|id| seen.contains_key(id)));
    assert!(
        per_worker.iter().filter(|&&n| n > 0).count() > 1,
        "the work was shared: {per_worker:?}"
    );
    let mut conn = db.conn().unwrap();
    let acked = count_bound::<Text, _>(
        &mut conn,
        "SELECT count(*) AS n FROM outbox_messages
          WHERE topic = $1 AND delivered_at IS NOT NULL AND lease_token IS NULL AND attempts = 1",
        "mail",
    );
    assert_eq!(acked, MESSAGES as i64);
}

/// The control: the naive worker selects unsettled rows, delivers them,
/// then marks them delivered. Workers that select before one of them marks
/// (forced here for the first round, common under load) deliver the same
/// messages.
#[test]
fn control_select_then_mark_delivers_messages_more_than_once() {
    let db = TestDatabase::with_builder(|b| b.max_size(WORKERS as u32 + 2)).unwrap();
    seed(&mut db.conn().unwrap(), "mail", 200);
    let deliveries = race(WORKERS, |_, barrier| {
        let mut conn = db.conn().unwrap();
        let mut delivered = Vec::new();
        let mut first = true;
        loop {
            let batch: Vec<OutboxMessageId> = diesel::sql_query(
                "SELECT id FROM outbox_messages
                  WHERE topic = 'mail' AND delivered_at IS NULL ORDER BY id LIMIT 10",
            )
            .load::<Id>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|row| row.id)
            .collect();
            if first {
                barrier.wait();
                first = false;
            }
            if batch.is_empty() {
                return delivered;
            }
            delivered.extend(&batch);
            // One row per statement: overlapping batches marked in one
            // statement each can deadlock, a second way the naive worker
            // fails, but not the one this control is about.
            for id in batch {
                diesel::sql_query("UPDATE outbox_messages SET delivered_at = now() WHERE id = $1")
                    .bind::<SqlUuid, _>(id)
                    .execute(&mut conn)
                    .unwrap();
            }
        }
    });
    let seen = tally(deliveries);
    let repeated = seen.values().filter(|&&n| n > 1).count();
    assert_eq!(seen.len(), 200);
    assert!(
        repeated > 0,
        "the naive worker delivered some messages twice"
    );
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: OutboxMessageId,
}

/// Leases that lapse mid-delivery, all the time: 4 workers hold 10 ms
/// leases but take 0-19 ms per batch, so messages are claimed again under
/// slow workers. Delivery is then at least once, but each message is
/// acked (settled) exactly once and none is lost. The control: the stale
/// workers' acks that the fence refused (`LeaseLost`), each one an ack by
/// id alone would have landed on a message another worker held.
#[test]
fn lapsing_leases_still_settle_each_message_exactly_once() {
    use saas_db::outbox::NewMessage;
    use saas_db::{Error, Repos};
    const N: usize = 200;
    let db = TestDatabase::with_builder(|b| b.max_size(6)).unwrap();
    let mut conn = db.conn().unwrap();
    let payload = serde_json::json!({});
    for _ in 0..N {
        let message = NewMessage::new("flaky", &payload).max_attempts(100);
        conn.outbox().enqueue_message(&message).unwrap();
    }
    let outbox = db.outbox("flaky");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let outcomes = race(4, |worker, barrier| {
        barrier.wait();
        let (mut acked, mut lost, mut claims) = (Vec::new(), 0, 0);
        for round in 0.. {
            let s = outbox.stats().unwrap();
            if s.ready + s.scheduled + s.leased == 0 || std::time::Instant::now() > deadline {
                break;
            }
            let claimed = outbox.claim(5, Duration::from_millis(10)).unwrap();
            claims += claimed.len();
            std::thread::sleep(Duration::from_millis(
                ((round * 7 + worker * 5) % 20) as u64,
            ));
            for message in &claimed {
                match outbox.ack(message) {
                    Ok(()) => acked.push(message.id),
                    Err(Error::LeaseLost { .. }) => lost += 1,
                    Err(e) => panic!("{e:?}"),
                }
            }
        }
        (acked, lost, claims)
    });
    let lost: usize = outcomes.iter().map(|o| o.1).sum();
    let claims: usize = outcomes.iter().map(|o| o.2).sum();
    let seen = tally(outcomes.into_iter().map(|o| o.0).collect());
    assert_eq!(seen.len(), N, "every message settled");
    assert!(seen.values().all(|&n| n == 1), "each acked once");
    assert!(
        claims > N && lost > 0,
        "leases lapsed: {claims} claims, {lost} refused"
    );
    let dead = outbox.dead_letters(10).unwrap();
    assert!(dead.is_empty(), "{dead:?}");
}
