//! Item 11: numbers that SQL arithmetic would overflow are refused first.

use saas_db::billing::{NewPayment, NewPlan, PlanChanges, AMOUNT_MAX_CENTS};
use saas_db::Repos;

use super::{assert_invalid, still_usable, valid_payment, valid_plan, World};

/// `refund(id, i64::MAX)` used to fail in the database with
/// `Error::Database("bigint out of range")` (`refunded_cents + $amount`).
#[test]
fn refunds_beyond_the_money_limit_are_invalid() {
    let w = World::new();
    let mut conn = w.db.conn().unwrap();
    for amount in [i64::MAX, AMOUNT_MAX_CENTS + 1, i64::MIN, 0, -1] {
        assert_invalid(conn.payments().refund(w.payment.id, amount), "amount_cents");
        still_usable(&mut conn).unwrap();
    }
    assert_eq!(conn.payments().get(w.payment.id).unwrap(), w.payment);
}

/// Amounts up to the limit work end to end: the largest payment refunded
/// in full, with the SQL sums still in range.
#[test]
fn the_largest_amount_is_paid_refunded_and_summed() {
    let w = World::new();
    let mut conn = w.db.conn().unwrap();
    let (payment, _) = conn
        .payments()
        .record(&NewPayment {
            amount_cents: AMOUNT_MAX_CENTS,
            ..valid_payment(w.user.id)
        })
        .unwrap();
    conn.payments().mark_succeeded(payment.id).unwrap();
    let refunded = conn
        .payments()
        .refund(payment.id, AMOUNT_MAX_CENTS)
        .unwrap();
    assert_eq!(refunded.refunded_cents, AMOUNT_MAX_CENTS);
    let totals = conn
        .payments()
        .totals_per_currency(Some(w.user.id))
        .unwrap();
    assert_eq!(
        totals[0].gross_cents,
        AMOUNT_MAX_CENTS + w.payment.amount_cents
    );

    for amount in [AMOUNT_MAX_CENTS + 1, i64::MAX] {
        let payment = NewPayment {
            amount_cents: amount,
            ..valid_payment(w.user.id)
        };
        assert_invalid(conn.payments().record(&payment), "amount_cents");
        let plan = NewPlan {
            price_cents: amount,
            ..valid_plan("Too dear")
        };
        assert_invalid(conn.plans().create(&plan), "price_cents");
        let changes = PlanChanges {
            price_cents: Some(amount),
            ..Default::default()
        };
        assert_invalid(
            conn.plans().update(w.plan.id, w.plan.version, &changes),
            "price_cents",
        );
    }
    assert_eq!(conn.plans().get(w.plan.id).unwrap(), w.plan);
}

/// A pool or hasher sized by a stray number used to take the process
/// down: `max_size(u32::MAX)` aborted on a failed allocation inside r2d2,
/// and `min_idle` above `max_size` panicked there.
#[test]
fn pool_and_hasher_sizes_are_bounded() {
    let w = World::new();
    let build = |b: saas_db::DatabaseBuilder| b.run_migrations(false).min_idle(Some(0)).build();
    let builder = || saas_db::Database::builder(w.db.url());
    assert_invalid(build(builder().max_size(u32::MAX)), "max_size");
    assert_invalid(build(builder().max_size(0)), "max_size");
    assert_invalid(
        builder()
            .run_migrations(false)
            .max_size(2)
            .min_idle(Some(3))
            .build(),
        "min_idle",
    );
    let largest = build(builder().max_size(saas_db::database::POOL_MAX_SIZE)).unwrap();
    assert_eq!(largest.pool().max_size(), saas_db::database::POOL_MAX_SIZE);

    use saas_db::auth::PasswordHasher;
    assert_invalid(PasswordHasher::new(u32::MAX, 2, 1), "memory_kib");
    assert_invalid(PasswordHasher::new(19_456, u32::MAX, 1), "iterations");
    assert_invalid(PasswordHasher::new(19_456, 2, u32::MAX), "lanes");
    assert_invalid(PasswordHasher::new(8, 2, 4), "argon2 params");
    PasswordHasher::new(19_456, 2, 1).unwrap();
}
