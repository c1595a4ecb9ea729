//! Payments: idempotent recording, settling, refunds under concurrency, listing, totals.

use super::*;
use saas_db::ids::{PaymentId, UserId};

#[test]
fn record_is_idempotent_by_provider_payment_id() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = user(&mut conn, "alice@example.com").id;
    let mut first = new_payment(alice, 2_500, "USD", PaymentStatus::Pending);
    first.provider_payment_id = Some("pi_1".into());
    first.description = Some("March".into());
    first.metadata = serde_json::json!({"invoice": "in_1"});
    let (row, created) = conn.payments().record(&first).unwrap();
    assert!(created);
    assert_eq!(row.amount_cents, 2_500);
    assert_eq!(row.refunded_cents, 0);
    assert_eq!(row.status, PaymentStatus::Pending);
    assert_eq!(row.provider_payment_id.as_deref(), Some("pi_1"));
    assert_eq!(row.metadata, serde_json::json!({"invoice": "in_1"}));
    assert_eq!(conn.payments().get(row.id).unwrap(), row);

    let (again, created) = conn.payments().record(&first).unwrap();
    assert!(!created);
    assert_eq!(again, row);
    // A replay with other details still returns what was recorded first.
    let mut different = first.clone();
    different.amount_cents = 9_999;
    let (again, created) = conn.payments().record(&different).unwrap();
    assert!(!created);
    assert_eq!(again, row);
    assert_eq!(count_payments_of(&mut conn, alice), 1);

    // Without a provider id every call is a new payment.
    let anon = new_payment(alice, 100, "EUR", PaymentStatus::Succeeded);
    let (a, created_a) = conn.payments().record(&anon).unwrap();
    let (b, created_b) = conn.payments().record(&anon).unwrap();
    assert!(created_a && created_b);
    assert_ne!(a.id, b.id);
    assert_eq!(count_payments_of(&mut conn, alice), 3);

    // Bad input.
    let mut bad = new_payment(alice, 100, "usd", PaymentStatus::Pending);
    let err = conn.payments().record(&bad).unwrap_err();
    assert!(is_invalid(&err, "currency"), "{err:?}");
    bad.currency = "USD".into();
    bad.amount_cents = -1;
    let err = conn.payments().record(&bad).unwrap_err();
    assert!(is_invalid(&err, "amount_cents"), "{err:?}");
    bad.amount_cents = 1;
    bad.metadata = serde_json::json!([1, 2]);
    let err = conn.payments().record(&bad).unwrap_err();
    assert!(is_invalid(&err, "metadata"), "{err:?}");
    let err = conn
        .payments()
        .record(&new_payment(
            UserId(Uuid::now_v7()),
            1,
            "USD",
            PaymentStatus::Pending,
        ))
        .unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "payments_user_id_fkey"),
        "{err:?}"
    );
    assert_eq!(count_payments_of(&mut conn, alice), 3);
}

#[test]
fn webhook_replay_race_records_one_payment() {
    let db = TestDatabase::with_builder(|b| b.max_size(9)).unwrap();
    let alice = user(&mut db.conn().unwrap(), "alice@example.com").id;
    for round in 0..5 {
        let provider_id = format!("pi_race_{round}");
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let db = db.db().clone();
                let barrier = Arc::clone(&barrier);
                let provider_id = provider_id.clone();
                std::thread::spawn(move || {
                    let mut conn = db.conn().unwrap();
                    let mut p = new_payment(alice, 4_200, "USD", PaymentStatus::Succeeded);
                    p.provider_payment_id = Some(provider_id.as_str().into());
                    barrier.wait();
                    conn.payments().record(&p)
                })
            })
            .collect();
        let results: Vec<(Payment, bool)> = threads
            .into_iter()
            .map(|t| t.join().unwrap().unwrap())
            .collect();
        assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
        let ids: HashSet<PaymentId> = results.iter().map(|(p, _)| p.id).collect();
        assert_eq!(ids.len(), 1, "every delivery returns the one row");
        let n =
            diesel::sql_query("SELECT count(*) AS n FROM payments WHERE provider_payment_id = $1")
                .bind::<Text, _>(&provider_id)
                .get_result::<Count>(&mut *db.conn().unwrap())
                .unwrap()
                .n;
        assert_eq!(n, 1);
    }
    assert_eq!(count_payments_of(&mut db.conn().unwrap(), alice), 5);
}

#[test]
fn settle_and_refund() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = user(&mut conn, "alice@example.com").id;

    let p = pay(&mut conn, alice, 5_000, "USD", PaymentStatus::Pending);
    let err = conn.payments().refund(p.id, 100).unwrap_err();
    assert!(is_invalid(&err, "status"), "{err:?}");
    let ok = conn.payments().mark_succeeded(p.id).unwrap();
    assert_eq!(ok.status, PaymentStatus::Succeeded);
    for err in [
        conn.payments().mark_succeeded(p.id).unwrap_err(),
        conn.payments().mark_failed(p.id).unwrap_err(),
    ] {
        assert!(is_invalid(&err, "status"), "{err:?}");
    }

    let f = pay(&mut conn, alice, 700, "USD", PaymentStatus::Pending);
    let failed = conn.payments().mark_failed(f.id).unwrap();
    assert_eq!(failed.status, PaymentStatus::Failed);
    for err in [
        conn.payments().mark_succeeded(f.id).unwrap_err(),
        conn.payments().refund(f.id, 100).unwrap_err(),
    ] {
        assert!(is_invalid(&err, "status"), "{err:?}");
    }

    let partial = conn.payments().refund(p.id, 2_000).unwrap();
    assert_eq!(partial.refunded_cents, 2_000);
    assert_eq!(partial.status, PaymentStatus::Succeeded);
    for amount in [3_001, 0, -5] {
        let err = conn.payments().refund(p.id, amount).unwrap_err();
        assert!(is_invalid(&err, "amount_cents"), "{amount}: {err:?}");
    }
    assert_eq!(conn.payments().get(p.id).unwrap(), partial);
    let full = conn.payments().refund(p.id, 3_000).unwrap();
    assert_eq!(full.status, PaymentStatus::Refunded);
    assert_eq!(full.refunded_cents, full.amount_cents);
    let err = conn.payments().refund(p.id, 1).unwrap_err();
    assert!(is_invalid(&err, "status"), "{err:?}");
    assert_eq!(conn.payments().get(p.id).unwrap(), full);

    for err in [
        conn.payments()
            .refund(PaymentId(Uuid::now_v7()), 1)
            .unwrap_err(),
        conn.payments()
            .mark_succeeded(PaymentId(Uuid::now_v7()))
            .unwrap_err(),
        conn.payments()
            .mark_failed(PaymentId(Uuid::now_v7()))
            .unwrap_err(),
        conn.payments().get(PaymentId(Uuid::now_v7())).unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::NotFound { entity: "payment" }),
            "{err:?}"
        );
    }
}

/// 16 threads, each refunding 1,000 three times, started together.
fn refund_race<F>(db: &TestDatabase, refund: F) -> Vec<Result<(), Error>>
where
    F: Fn(&mut PgConnection) -> Result<(), Error> + Send + Sync + 'static,
{
    let refund = Arc::new(refund);
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let db = db.db().clone();
            let barrier = Arc::clone(&barrier);
            let refund = Arc::clone(&refund);
            std::thread::spawn(move || {
                let mut conn = db.conn().unwrap();
                barrier.wait();
                (0..3).map(|_| refund(&mut conn)).collect::<Vec<_>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

#[test]
fn concurrent_refunds_never_refund_more_than_was_paid() {
    let db = TestDatabase::with_builder(|b| b.max_size(16)).unwrap();

    // Control: read, then write without a condition, on a copy of the table
    // without its CHECK. Refunds are lost and more is paid out than recorded.
    db.conn()
        .unwrap()
        .batch_execute(
            "CREATE TABLE naive_payments (id int PRIMARY KEY, amount_cents bigint NOT NULL,
                                          refunded_cents bigint NOT NULL);
             INSERT INTO naive_payments VALUES (1, 10000, 0);",
        )
        .unwrap();
    let naive = refund_race(&db, |conn| {
        let read = diesel::sql_query("SELECT refunded_cents AS n FROM naive_payments WHERE id = 1")
            .get_result::<Count>(conn)?
            .n;
        if read + 1_000 > 10_000 {
            return Err(Error::invalid("amount_cents", "nothing left"));
        }
        std::thread::sleep(Duration::from_millis(20));
        diesel::sql_query("UPDATE naive_payments SET refunded_cents = $1 WHERE id = 1")
            .bind::<BigInt, _>(read + 1_000)
            .execute(conn)?;
        Ok(())
    });
    let naive_successes = naive.iter().filter(|r| r.is_ok()).count() as i64;
    let naive_recorded = diesel::sql_query("SELECT refunded_cents AS n FROM naive_payments")
        .get_result::<Count>(&mut *db.conn().unwrap())
        .unwrap()
        .n;
    assert!(
        naive_successes > 10,
        "control: the naive version should pay out more than 10 refunds, paid {naive_successes}"
    );
    assert_ne!(
        naive_successes * 1_000,
        naive_recorded,
        "control: the naive version should lose refunds"
    );

    // The repository's conditional UPDATE.
    let alice = user(&mut db.conn().unwrap(), "alice@example.com").id;
    let payment = pay(
        &mut db.conn().unwrap(),
        alice,
        10_000,
        "USD",
        PaymentStatus::Succeeded,
    );
    let id = payment.id;
    let results = refund_race(&db, move |conn| {
        conn.payments().refund(id, 1_000).map(|_| ())
    });
    let successes = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(successes, 10, "{results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            is_invalid(err, "amount_cents") || is_invalid(err, "status"),
            "{err:?}"
        );
    }
    let row = db.conn().unwrap().payments().get(id).unwrap();
    assert_eq!(row.refunded_cents, 10_000);
    assert_eq!(row.status, PaymentStatus::Refunded);
}

#[test]
fn list_for_user_pages_newest_first() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = user(&mut conn, "alice@example.com").id;
    let bob = user(&mut conn, "bob@example.com").id;
    for _ in 0..20 {
        pay(&mut conn, alice, 100, "USD", PaymentStatus::Succeeded);
    }
    // 25 in one transaction share created_at: the id breaks the ties,
    // also across page boundaries.
    db.transaction(|tx| {
        for i in 0..25 {
            tx.payments()
                .record(&new_payment(alice, 200 + i, "USD", PaymentStatus::Pending))?;
        }
        Ok(())
    })
    .unwrap();
    for _ in 0..10 {
        pay(&mut conn, alice, 300, "EUR", PaymentStatus::Failed);
    }
    for _ in 0..3 {
        pay(&mut conn, bob, 100, "USD", PaymentStatus::Succeeded);
    }

    let mut seen: Vec<Payment> = Vec::new();
    let mut sizes = Vec::new();
    let mut page = conn
        .payments()
        .list_for_user(alice, PageRequest::first(20))
        .unwrap();
    loop {
        sizes.push(page.items.len());
        seen.extend(page.items.iter().cloned());
        match page.next_cursor() {
            Some(cursor) => {
                page = conn
                    .payments()
                    .list_for_user(alice, PageRequest::after(cursor, 20))
                    .unwrap();
            }
            None => break,
        }
        assert!(sizes.len() < 10, "runaway paging");
    }
    assert_eq!(sizes, [20, 20, 15]);
    assert_eq!(seen.len(), 55);
    assert_eq!(seen.iter().map(|p| p.id).collect::<HashSet<_>>().len(), 55);
    assert!(seen.iter().all(|p| p.user_id == alice));
    for pair in seen.windows(2) {
        assert!(
            (pair[0].created_at, pair[0].id) > (pair[1].created_at, pair[1].id),
            "out of order: {pair:?}"
        );
    }
    let ties = seen
        .windows(2)
        .filter(|w| w[0].created_at == w[1].created_at)
        .count();
    assert!(ties >= 24, "the transaction's payments share created_at");
}

#[test]
fn totals_per_currency_sum_settled_money_only() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = user(&mut conn, "alice@example.com").id;
    let bob = user(&mut conn, "bob@example.com").id;
    let carol = user(&mut conn, "carol@example.com").id;

    pay(&mut conn, alice, 1_000, "USD", PaymentStatus::Succeeded);
    let p = pay(&mut conn, alice, 2_000, "USD", PaymentStatus::Succeeded);
    conn.payments().refund(p.id, 500).unwrap();
    let p = pay(&mut conn, bob, 300, "USD", PaymentStatus::Succeeded);
    conn.payments().refund(p.id, 300).unwrap(); // fully refunded
    pay(&mut conn, bob, 700, "USD", PaymentStatus::Failed);
    pay(&mut conn, bob, 900, "USD", PaymentStatus::Pending);
    pay(&mut conn, bob, 400, "EUR", PaymentStatus::Succeeded);
    pay(&mut conn, alice, 100, "EUR", PaymentStatus::Failed);
    pay(&mut conn, alice, 50, "EUR", PaymentStatus::Canceled);

    let total = |currency: &str, payments, gross_cents, refunded_cents| CurrencyTotal {
        currency: currency.to_owned(),
        payments,
        gross_cents,
        refunded_cents,
        net_cents: gross_cents - refunded_cents,
    };
    assert_eq!(
        conn.payments().totals_per_currency(None).unwrap(),
        vec![total("EUR", 1, 400, 0), total("USD", 3, 3_300, 800)]
    );
    assert_eq!(
        conn.payments().totals_per_currency(Some(alice)).unwrap(),
        vec![total("USD", 2, 3_000, 500)]
    );
    assert_eq!(
        conn.payments().totals_per_currency(Some(bob)).unwrap(),
        vec![total("EUR", 1, 400, 0), total("USD", 1, 300, 300)]
    );
    assert!(conn
        .payments()
        .totals_per_currency(Some(carol))
        .unwrap()
        .is_empty());
}
