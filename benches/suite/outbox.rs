//! The outbox: what an enqueue adds to a write transaction (the same
//! transaction with and without it, interleaved call by call), and claim +
//! ack throughput with 4 workers against 1, and 4 acking each claim's
//! batch in one statement (interleaved batch by batch).

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use diesel::connection::SimpleConnection;
use saas_db::audit::AuditEntry;
use saas_db::Repos;
use serde_json::json;

use crate::fixture::{Fixture, SAMPLE};

/// Messages each claim + ack sample drains.
pub const BATCH: usize = 400;

pub fn all(c: &mut Criterion, f: &Fixture) {
    enqueue_in_transaction(c, f);
    claim_and_ack(c, f);
    let mut conn = f.db.conn().unwrap();
    // Two calls: VACUUM cannot run in the implicit transaction of a batch.
    conn.batch_execute("DELETE FROM outbox_messages").unwrap();
    conn.batch_execute("VACUUM outbox_messages").unwrap();
}

/// A sign-in-like transaction (record the login, write an audit entry),
/// with and without enqueueing a message in it.
fn enqueue_in_transaction(c: &mut Criterion, f: &Fixture) {
    let size = f.size.label;
    let mut i = 0;
    let mut g = c.benchmark_group("outbox_enqueue_in_tx");
    for side in ["with_enqueue", "without"] {
        g.bench_function(BenchmarkId::new(side, size), |b| {
            b.iter_custom(|iters| {
                let (mut with, mut without) = (Duration::ZERO, Duration::ZERO);
                for _ in 0..iters {
                    i = (i + 1) % SAMPLE;
                    let id = f.user_ids[i];
                    let t = Instant::now();
                    f.db.transaction(|tx| {
                        tx.users().record_login(id)?;
                        tx.audit().record(
                            &AuditEntry::new("signed_in", "user", Some(id.into())).by(id),
                        )?;
                        tx.outbox()
                            .enqueue("bench.mail", &json!({ "user_id": id }), None)?;
                        Ok(())
                    })
                    .unwrap();
                    with += t.elapsed();
                    let t = Instant::now();
                    f.db.transaction(|tx| {
                        tx.users().record_login(id)?;
                        tx.audit().record(
                            &AuditEntry::new("signed_in", "user", Some(id.into())).by(id),
                        )?;
                        Ok(())
                    })
                    .unwrap();
                    without += t.elapsed();
                }
                if side == "with_enqueue" {
                    with
                } else {
                    without
                }
            })
        });
    }
    g.finish();
}

/// Seeds [`BATCH`] ready messages on `topic` (untimed), one statement.
fn seed(f: &Fixture, topic: &str) {
    use diesel::prelude::*;
    diesel::sql_query(
        "INSERT INTO outbox_messages (topic, payload)
         SELECT $1, jsonb_build_object('n', g) FROM generate_series(1, $2) g",
    )
    .bind::<diesel::sql_types::Text, _>(topic)
    .bind::<diesel::sql_types::Integer, _>(BATCH as i32)
    .execute(&mut f.db.conn().unwrap())
    .unwrap();
}

/// `workers` threads claim 10 at a time and ack each (or the 10 in one
/// `ack_all`), until the topic is empty; the wall time.
fn drain(f: &Fixture, topic: &str, workers: usize, batch_ack: bool) -> Duration {
    let outbox = f.db.outbox(topic);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let claimed = outbox.claim(10, Duration::from_secs(60)).unwrap();
                if claimed.is_empty() {
                    return;
                }
                if batch_ack {
                    assert!(outbox.ack_all(&claimed).unwrap().is_empty());
                    continue;
                }
                for message in &claimed {
                    outbox.ack(message).unwrap();
                }
            });
        }
    });
    t.elapsed()
}

fn claim_and_ack(c: &mut Criterion, f: &Fixture) {
    let size = f.size.label;
    let mut g = c.benchmark_group("outbox_claim_ack");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    for side in ["4_workers", "1_worker", "4_workers_ack_all"] {
        g.bench_function(BenchmarkId::new(side, size), |b| {
            b.iter_custom(|iters| {
                let (mut four, mut one, mut batched) =
                    (Duration::ZERO, Duration::ZERO, Duration::ZERO);
                for _ in 0..iters {
                    seed(f, "bench.four");
                    four += drain(f, "bench.four", 4, false);
                    seed(f, "bench.one");
                    one += drain(f, "bench.one", 1, false);
                    seed(f, "bench.batched");
                    batched += drain(f, "bench.batched", 4, true);
                    // Delivered rows would pile up over the samples.
                    f.db.conn()
                        .unwrap()
                        .batch_execute("DELETE FROM outbox_messages WHERE delivered_at IS NOT NULL")
                        .unwrap();
                }
                match side {
                    "4_workers" => four,
                    "1_worker" => one,
                    _ => batched,
                }
            })
        });
    }
    g.finish();
}
