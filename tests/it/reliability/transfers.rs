//! Concurrent transfers keep the total, and snapshot reads see it whole.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use saas_db::tx::{Isolation, RetryPolicy};
use saas_db_testing::TestDatabase;

use super::setup;
use crate::support::{count, Count};

#[test]
fn bank_transfers_keep_the_total_and_never_go_negative() {
    let db = TestDatabase::with_builder(|b| b.max_size(8)).unwrap();
    setup(
        &db,
        "CREATE TABLE bank (id int PRIMARY KEY, balance bigint NOT NULL);
         INSERT INTO bank SELECT g, 1000 FROM generate_series(1, 10) g;",
    );
    let total = 10_000;
    let stop = Arc::new(AtomicBool::new(false));
    let transfers: Vec<_> = (0..4u32)
        .map(|t| {
            let db = db.db().clone();
            std::thread::spawn(move || {
                let policy = RetryPolicy::new().attempts(50);
                let mut seed = t.wrapping_mul(2_654_435_761).wrapping_add(1);
                let mut next = move |m: u32| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed % m
                };
                for _ in 0..150 {
                    let from = next(10) as i32 + 1;
                    let to = (from + next(9) as i32) % 10 + 1;
                    let amount = i64::from(next(400)) + 1;
                    db.transaction_with_retry(&policy, |tx| {
                        let moved = diesel::sql_query(
                            "UPDATE bank SET balance = balance - $2 WHERE id = $1 AND balance >= $2",
                        )
                        .bind::<Integer, _>(from)
                        .bind::<BigInt, _>(amount)
                        .execute(tx)?;
                        if moved == 1 {
                            diesel::sql_query("UPDATE bank SET balance = balance + $2 WHERE id = $1")
                                .bind::<Integer, _>(to)
                                .bind::<BigInt, _>(amount)
                                .execute(tx)?;
                        }
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    let summers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.db().clone();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let policy = RetryPolicy::new()
                    .isolation(Isolation::RepeatableRead)
                    .read_only(true);
                let mut sums = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    // Ten separate reads: only a consistent snapshot adds up.
                    let sum = db
                        .transaction_with_retry(&policy, |tx| {
                            let mut sum = 0;
                            for id in 1..=10 {
                                sum += diesel::sql_query(
                                    "SELECT balance AS n FROM bank WHERE id = $1",
                                )
                                .bind::<Integer, _>(id)
                                .get_result::<Count>(tx)?
                                .n;
                            }
                            Ok(sum)
                        })
                        .unwrap();
                    sums.push(sum);
                }
                sums
            })
        })
        .collect();
    for t in transfers {
        t.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let sums: Vec<i64> = summers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(!sums.is_empty());
    assert!(
        sums.iter().all(|&s| s == total),
        "inconsistent sums seen: {:?}",
        sums.iter().filter(|&&s| s != total).collect::<Vec<_>>()
    );
    let mut conn = db.conn().unwrap();
    assert_eq!(
        count(&mut conn, "SELECT sum(balance)::bigint AS n FROM bank"),
        total
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM bank WHERE balance < 0"
        ),
        0
    );
}
