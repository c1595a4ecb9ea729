//! Every CHECK, unique index and trigger the billing tables rely on, hit
//! with hand-written SQL that bypasses the repositories' own checks (issue
//! 13: a loosened `payments_refund_within_amount` went unnoticed).

use diesel::prelude::*;
use diesel::sql_types::{Bool, Uuid as SqlUuid};
use saas_db::billing::{NewPayment, NewSubscription};
use saas_db::enums::{BillingInterval, PaymentStatus};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{is_conflict, plan, user};

/// Runs `sql` (with `$1` bound to `id`) and returns the crate's
/// classification of its error.
fn refused(conn: &mut PgConnection, sql: &str, id: impl Into<Uuid>) -> Error {
    let id: Uuid = id.into();
    let err = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .expect_err(sql);
    Error::from(err)
}

#[test]
fn billing_checks_refuse_hand_written_sql() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com").id;
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(ann, pro.id))
        .unwrap();
    let (payment, _) = conn
        .payments()
        .record(&NewPayment {
            user_id: ann,
            subscription_id: Some(sub.id),
            amount_cents: 1_000,
            currency: "USD".into(),
            status: PaymentStatus::Succeeded,
            provider_payment_id: Some("pi_1".into()),
            description: None,
            metadata: serde_json::json!({}),
        })
        .unwrap();

    let checks: &[(&str, Uuid, &str)] = &[
        // payments
        (
            "UPDATE payments SET refunded_cents = amount_cents + 1 WHERE id = $1",
            payment.id.into(),
            "payments_refund_within_amount",
        ),
        (
            "UPDATE payments SET refunded_cents = -1 WHERE id = $1",
            payment.id.into(),
            "payments_refund_within_amount",
        ),
        (
            "UPDATE payments SET amount_cents = -1, refunded_cents = -1 WHERE id = $1",
            payment.id.into(),
            "payments_amount_nonnegative",
        ),
        (
            "UPDATE payments SET currency = 'usd' WHERE id = $1",
            payment.id.into(),
            "payments_currency_format",
        ),
        (
            "UPDATE payments SET description = repeat('x', 1001) WHERE id = $1",
            payment.id.into(),
            "payments_description_length",
        ),
        (
            "UPDATE payments SET metadata = '[]' WHERE id = $1",
            payment.id.into(),
            "payments_metadata_object",
        ),
        // An UPDATE can no longer break it (bump_version writes old + 1,
        // migration 000021), so a copy of the row is inserted at version 0.
        (
            "INSERT INTO payments (user_id, amount_cents, currency, version)
             SELECT user_id, amount_cents, currency, 0 FROM payments WHERE id = $1",
            payment.id.into(),
            "payments_version_positive",
        ),
        // subscriptions
        (
            "UPDATE subscriptions SET current_period_end = current_period_start WHERE id = $1",
            sub.id.into(),
            "subscriptions_period_order",
        ),
        (
            "UPDATE subscriptions SET status = 'canceled', canceled_at = NULL WHERE id = $1",
            sub.id.into(),
            "subscriptions_canceled_has_timestamp",
        ),
        (
            "UPDATE subscriptions SET status = 'trialing', trial_ends_at = NULL WHERE id = $1",
            sub.id.into(),
            "subscriptions_trialing_has_end",
        ),
        // An UPDATE can no longer break it (bump_version writes old + 1,
        // migration 000021), so a copy of the row is inserted at version 0.
        (
            "INSERT INTO subscriptions (user_id, plan_id, status, trial_ends_at, canceled_at, version)
             SELECT user_id, plan_id, status, trial_ends_at, canceled_at, 0 FROM subscriptions WHERE id = $1",
            sub.id.into(),
            "subscriptions_version_positive",
        ),
        // plans
        (
            "UPDATE subscription_plans SET name = '' WHERE id = $1",
            pro.id.into(),
            "subscription_plans_name_length",
        ),
        (
            "UPDATE subscription_plans SET description = repeat('x', 2001) WHERE id = $1",
            pro.id.into(),
            "subscription_plans_description_length",
        ),
        (
            "UPDATE subscription_plans SET price_cents = -1 WHERE id = $1",
            pro.id.into(),
            "subscription_plans_price_nonnegative",
        ),
        (
            "UPDATE subscription_plans SET currency = 'US' WHERE id = $1",
            pro.id.into(),
            "subscription_plans_currency_format",
        ),
        (
            "UPDATE subscription_plans SET features = ARRAY['a', NULL] WHERE id = $1",
            pro.id.into(),
            "subscription_plans_features_no_nulls",
        ),
        // An UPDATE can no longer break it (bump_version writes old + 1,
        // migration 000021), so a copy of the row is inserted at version 0.
        (
            "INSERT INTO subscription_plans (name, price_cents, interval, version)
             SELECT name, price_cents, interval, 0 FROM subscription_plans WHERE id = $1",
            pro.id.into(),
            "subscription_plans_version_positive",
        ),
    ];
    for (sql, id, constraint) in checks {
        let err = refused(&mut conn, sql, *id);
        assert!(err.field() == Some(constraint), "{sql}: {err:?}");
    }

    let unique: &[(&str, Uuid, &str)] = &[
        (
            "INSERT INTO subscriptions (user_id, plan_id, status)
             SELECT user_id, plan_id, 'past_due' FROM subscriptions WHERE id = $1",
            sub.id.into(),
            "subscriptions_one_live_per_user",
        ),
        (
            "INSERT INTO payments (user_id, amount_cents, currency, provider_payment_id)
             SELECT user_id, 1, 'USD', provider_payment_id FROM payments WHERE id = $1",
            payment.id.into(),
            "payments_provider_payment_id_key",
        ),
    ];
    for (sql, id, name) in unique {
        let err = refused(&mut conn, sql, *id);
        assert!(is_conflict(&err, name), "{sql}: {err:?}");
    }
    // Nothing above was written, and the connection is still usable.
    assert_eq!(conn.payments().get(payment.id).unwrap(), payment);
    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), sub);
}

#[derive(QueryableByName)]
struct Stamped {
    #[diesel(sql_type = Bool)]
    now: bool,
}

/// The `set_updated_at` triggers of the three billing tables: a
/// hand-written UPDATE that changes a column stamps `updated_at` with the
/// transaction's time; one that changes nothing leaves it alone.
#[test]
fn billing_updated_at_triggers_fire_for_hand_written_updates() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com").id;
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(ann, pro.id))
        .unwrap();
    let payment = super::pay(&mut conn, ann, 1_000, "USD", PaymentStatus::Succeeded);
    for (table, column, id) in [
        ("payments", "description", payment.id.uuid()),
        ("subscriptions", "provider_customer_id", sub.id.uuid()),
        ("subscription_plans", "description", pro.id.uuid()),
    ] {
        let stamp = |conn: &mut PgConnection, set: &str| {
            diesel::sql_query(format!(
                "UPDATE {table} SET {column} = {set} WHERE id = $1 RETURNING updated_at = now() AS now"
            ))
            .bind::<SqlUuid, _>(id)
            .get_result::<Stamped>(conn)
            .unwrap()
            .now
        };
        assert!(
            !stamp(&mut conn, column),
            "{table}: a no-op update stamped it"
        );
        assert!(
            stamp(&mut conn, "'changed'"),
            "{table}: a change did not stamp it"
        );
    }
}
