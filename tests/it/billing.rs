//! Billing: plans, the subscription life cycle and its transition table,
//! provider sync, payments (idempotent recording, settling, refunds under
//! concurrency, keyset listing, totals) and moving data between users.

mod checks;
mod payment_versions;
mod transitions;

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use saas_db::billing::{
    CurrencyTotal, NewPayment, NewPlan, Payment, Plan, PlanChanges, ProviderSubscription,
    Subscription, SyncOutcome, TransferOptions, TransferReport, TRANSITIONS,
};
use saas_db::enums::{BillingInterval, PaymentStatus, SubscriptionStatus, Theme};
use saas_db::testing::TestDatabase;
use saas_db::users::{NewUser, ProfileChanges};
use saas_db::{Error, PageRequest, Repos};
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count_payments_of(conn: &mut PgConnection, user_id: Uuid) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM payments WHERE user_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(user_id)
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

fn user(conn: &mut PgConnection, email: &str) -> Uuid {
    conn.users()
        .create(&NewUser::new(email, "Someone"))
        .unwrap()
        .id
}

fn new_plan(name: &str, price_cents: i64, interval: BillingInterval) -> NewPlan<'_> {
    NewPlan {
        name,
        description: None,
        price_cents,
        currency: "USD",
        interval,
        features: vec![],
        sort_order: 0,
    }
}

fn plan(conn: &mut PgConnection, name: &str, price_cents: i64, interval: BillingInterval) -> Plan {
    conn.plans()
        .create(&new_plan(name, price_cents, interval))
        .unwrap()
}

fn new_payment(
    user_id: Uuid,
    amount_cents: i64,
    currency: &str,
    status: PaymentStatus,
) -> NewPayment<'_> {
    NewPayment {
        user_id,
        subscription_id: None,
        amount_cents,
        currency,
        status,
        provider_payment_id: None,
        description: None,
        metadata: serde_json::json!({}),
    }
}

fn pay(
    conn: &mut PgConnection,
    user_id: Uuid,
    amount_cents: i64,
    currency: &str,
    status: PaymentStatus,
) -> Payment {
    let (p, created) = conn
        .payments()
        .record(&new_payment(user_id, amount_cents, currency, status))
        .unwrap();
    assert!(created);
    p
}

/// A time PostgreSQL stores exactly (microseconds).
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

#[derive(QueryableByName)]
struct Ts {
    #[diesel(sql_type = Timestamptz)]
    t: DateTime<Utc>,
}

/// `t + interval` computed by the server (calendar months, session time zone),
/// the same arithmetic the repository's SQL does.
fn plus_interval(conn: &mut PgConnection, t: DateTime<Utc>, interval: &str) -> DateTime<Utc> {
    diesel::sql_query("SELECT $1 + $2::interval AS t")
        .bind::<Timestamptz, _>(t)
        .bind::<Text, _>(interval)
        .get_result::<Ts>(conn)
        .unwrap()
        .t
}

fn is_conflict(err: &Error, name: &str) -> bool {
    matches!(err, Error::Conflict { constraint } if constraint == name)
}

fn is_invalid(err: &Error, name: &str) -> bool {
    matches!(err, Error::Invalid { field, .. } if field == name)
}

/// The Postgres label of a status (`PastDue` is `past_due`).
fn label(status: SubscriptionStatus) -> String {
    serde_json::to_value(status)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// Puts a subscription into `status` directly, satisfying the CHECKs
/// (canceled needs canceled_at, trialing needs trial_ends_at).
fn force_status(conn: &mut PgConnection, id: Uuid, status: SubscriptionStatus) {
    let n = diesel::sql_query(
        "UPDATE subscriptions SET status = $1::subscription_status,
                canceled_at = CASE WHEN $1 = 'canceled' THEN now() END,
                trial_ends_at = CASE WHEN $1 = 'trialing' THEN now() + interval '7 days' END,
                cancel_at_period_end = false
          WHERE id = $2",
    )
    .bind::<Text, _>(label(status))
    .bind::<diesel::sql_types::Uuid, _>(id)
    .execute(conn)
    .unwrap();
    assert_eq!(n, 1);
}

// ------------------------------------------------------------------ plans

#[test]
fn plans_create_get_update_list_archive() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = conn
        .plans()
        .create(&NewPlan {
            name: "Pro",
            description: Some("For growing teams"),
            price_cents: 2_900,
            currency: "USD",
            interval: BillingInterval::Month,
            features: vec!["SSO", "Audit log", "Priorität ✓"],
            sort_order: 2,
        })
        .unwrap();
    assert_eq!(
        pro.features,
        vec![
            "SSO".to_string(),
            "Audit log".to_string(),
            "Priorität ✓".to_string()
        ]
    );
    assert_eq!(pro.description.as_deref(), Some("For growing teams"));
    assert_eq!((pro.price_cents, pro.currency.as_str()), (2_900, "USD"));
    assert_eq!(pro.interval, BillingInterval::Month);
    assert!(pro.is_active);
    assert_eq!(pro.version, 1);
    assert_eq!(conn.plans().get(pro.id).unwrap(), pro);

    // Versioned update.
    let changes = PlanChanges {
        price_cents: Some(3_900),
        description: Some(None),
        features: Some(vec!["SSO"]),
        ..Default::default()
    };
    let updated = conn.plans().update(pro.id, 1, &changes).unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.price_cents, 3_900);
    assert_eq!(updated.description, None);
    assert_eq!(updated.features, vec!["SSO".to_string()]);
    assert_eq!(updated.name, "Pro");
    assert!(updated.updated_at >= pro.updated_at);
    let err = conn.plans().update(pro.id, 1, &changes).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Stale {
                entity: "plan",
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(conn.plans().get(pro.id).unwrap(), updated);
    let err = conn
        .plans()
        .update(Uuid::now_v7(), 1, &changes)
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");

    // list_active: sort_order, archived ones left out.
    let mut enterprise = new_plan("Enterprise", 9_900, BillingInterval::Year);
    enterprise.sort_order = 3;
    let enterprise = conn.plans().create(&enterprise).unwrap();
    let mut basic = new_plan("Basic", 900, BillingInterval::Month);
    basic.sort_order = 1;
    let basic = conn.plans().create(&basic).unwrap();
    let legacy = conn
        .plans()
        .create(&new_plan("Legacy", 500, BillingInterval::Month))
        .unwrap();
    let names = |plans: Vec<Plan>| plans.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(
        names(conn.plans().list_active().unwrap()),
        ["Legacy", "Basic", "Pro", "Enterprise"]
    );
    let archived = conn.plans().archive(legacy.id).unwrap();
    assert!(!archived.is_active);
    assert_eq!(archived.version, legacy.version + 1);
    assert_eq!(conn.plans().get(legacy.id).unwrap(), archived);
    assert_eq!(
        names(conn.plans().list_active().unwrap()),
        ["Basic", "Pro", "Enterprise"]
    );
    assert_eq!(
        conn.plans()
            .list_active()
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        [basic.id, pro.id, enterprise.id]
    );
    let err = conn.plans().archive(Uuid::now_v7()).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");
    let err = conn.plans().get(Uuid::now_v7()).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");
}

#[test]
fn plans_refuse_bad_input_conflicts_and_deleting_used_plans() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 2_900, BillingInterval::Month);

    let err = conn
        .plans()
        .create(&new_plan("Pro", 100, BillingInterval::Year))
        .unwrap_err();
    assert!(is_conflict(&err, "subscription_plans_name_key"), "{err:?}");

    for currency in ["usd", "US", "USDX", "", "U$D"] {
        let mut p = new_plan("Odd", 100, BillingInterval::Month);
        p.currency = currency;
        let err = conn.plans().create(&p).unwrap_err();
        assert!(is_invalid(&err, "currency"), "{currency:?}: {err:?}");
    }
    let err = conn
        .plans()
        .create(&new_plan("Negative", -1, BillingInterval::Month))
        .unwrap_err();
    assert!(is_invalid(&err, "price_cents"), "{err:?}");
    let err = conn
        .plans()
        .update(
            pro.id,
            pro.version,
            &PlanChanges {
                price_cents: Some(-5),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(is_invalid(&err, "price_cents"), "{err:?}");
    // Renaming onto a taken name is a conflict too.
    let other = plan(&mut conn, "Other", 100, BillingInterval::Month);
    let err = conn
        .plans()
        .update(
            other.id,
            other.version,
            &PlanChanges {
                name: Some("Pro"),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(is_conflict(&err, "subscription_plans_name_key"), "{err:?}");
    // Nothing of that was written (equal sort_order: id order).
    assert_eq!(
        conn.plans().list_active().unwrap(),
        vec![pro.clone(), other.clone()]
    );
    conn.plans().delete(other.id).unwrap();

    // A plan with a subscription cannot be deleted.
    let alice = user(&mut conn, "alice@example.com");
    conn.subscriptions().start(alice, pro.id, None).unwrap();
    let err = conn.plans().delete(pro.id).unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "subscriptions_plan_id_fkey"),
        "{err:?}"
    );
    assert_eq!(conn.plans().get(pro.id).unwrap(), pro);

    // An unused one can.
    let unused = plan(&mut conn, "Unused", 100, BillingInterval::Month);
    conn.plans().delete(unused.id).unwrap();
    let err = conn.plans().get(unused.id).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");
    let err = conn.plans().delete(unused.id).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");
}

// ---------------------------------------------------------- subscriptions

#[test]
fn start_sets_status_period_and_trial() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let monthly = plan(&mut conn, "Monthly", 1_000, BillingInterval::Month);
    let yearly = plan(&mut conn, "Yearly", 10_000, BillingInterval::Year);
    let (a, b, c, d) = (
        user(&mut conn, "a@example.com"),
        user(&mut conn, "b@example.com"),
        user(&mut conn, "c@example.com"),
        user(&mut conn, "d@example.com"),
    );

    let before = Utc::now() - chrono::Duration::seconds(60);
    let sub = conn.subscriptions().start(a, monthly.id, None).unwrap();
    assert_eq!(sub.status, SubscriptionStatus::Active);
    assert_eq!((sub.user_id, sub.plan_id), (a, monthly.id));
    assert_eq!(sub.trial_ends_at, None);
    assert_eq!(sub.canceled_at, None);
    assert!(!sub.cancel_at_period_end);
    assert_eq!(sub.version, 1);
    let (start, end) = (
        sub.current_period_start.unwrap(),
        sub.current_period_end.unwrap(),
    );
    assert!(start > before && start < Utc::now() + chrono::Duration::seconds(60));
    assert!(
        (28..=31).contains(&(end - start).num_days()),
        "{start} .. {end}"
    );
    assert_eq!(end, plus_interval(&mut conn, start, "1 month"));
    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), sub);

    let year = conn.subscriptions().start(b, yearly.id, None).unwrap();
    assert_eq!(year.status, SubscriptionStatus::Active);
    let (start, end) = (
        year.current_period_start.unwrap(),
        year.current_period_end.unwrap(),
    );
    assert!((365..=366).contains(&(end - start).num_days()));
    assert_eq!(end, plus_interval(&mut conn, start, "1 year"));

    let trial = conn
        .subscriptions()
        .start(c, monthly.id, Some(Duration::from_secs(14 * 86_400)))
        .unwrap();
    assert_eq!(trial.status, SubscriptionStatus::Trialing);
    let trial_end = trial.trial_ends_at.unwrap();
    let start = trial.current_period_start.unwrap();
    assert_eq!(trial_end - start, chrono::Duration::days(14));
    let expected = Utc::now() + chrono::Duration::days(14);
    assert!(
        (trial_end - expected).num_seconds().abs() < 60,
        "{trial_end}"
    );

    // One live subscription per user, whatever the plan.
    for (who, plan_id) in [(a, monthly.id), (a, yearly.id), (c, yearly.id)] {
        let err = conn.subscriptions().start(who, plan_id, None).unwrap_err();
        assert!(
            is_conflict(&err, "subscriptions_one_live_per_user"),
            "{err:?}"
        );
    }

    // Archived or unknown plans are not offered; unknown users are refused.
    conn.plans().archive(yearly.id).unwrap();
    for plan_id in [yearly.id, Uuid::now_v7()] {
        let err = conn.subscriptions().start(d, plan_id, None).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    let err = conn
        .subscriptions()
        .start(Uuid::now_v7(), monthly.id, None)
        .unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "subscriptions_user_id_fkey"),
        "{err:?}"
    );
    assert_eq!(conn.subscriptions().live_for_user(d).unwrap(), None);
    assert_eq!(conn.subscriptions().live_for_user(a).unwrap(), Some(sub));
    let err = conn.subscriptions().get(Uuid::now_v7()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: "subscription"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn concurrent_starts_for_one_user_admit_exactly_one() {
    let db = TestDatabase::with_builder(|b| b.max_size(9)).unwrap();
    let (alice, plan_id) = {
        let mut conn = db.conn().unwrap();
        (
            user(&mut conn, "alice@example.com"),
            plan(&mut conn, "Pro", 1_000, BillingInterval::Month).id,
        )
    };
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let db = db.db().clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut conn = db.conn().unwrap();
                barrier.wait();
                conn.subscriptions().start(alice, plan_id, None)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            is_conflict(err, "subscriptions_one_live_per_user"),
            "{err:?}"
        );
    }
    let mut conn = db.conn().unwrap();
    assert_eq!(
        conn.subscriptions().history_for_user(alice).unwrap().len(),
        1
    );
}

#[test]
fn change_plan_is_versioned() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let basic = plan(&mut conn, "Basic", 1_000, BillingInterval::Month);
    let pro = plan(&mut conn, "Pro", 3_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com");
    let sub = conn.subscriptions().start(alice, basic.id, None).unwrap();
    let moved = conn
        .subscriptions()
        .change_plan(sub.id, sub.version, pro.id)
        .unwrap();
    assert_eq!(moved.plan_id, pro.id);
    assert_eq!(moved.version, sub.version + 1);
    assert_eq!(moved.status, sub.status);
    let err = conn
        .subscriptions()
        .change_plan(sub.id, sub.version, basic.id)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Stale {
                entity: "subscription",
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), moved);
    let err = conn
        .subscriptions()
        .change_plan(sub.id, moved.version, Uuid::now_v7())
        .unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "subscriptions_plan_id_fkey"),
        "{err:?}"
    );
    let err = conn
        .subscriptions()
        .change_plan(Uuid::now_v7(), 1, pro.id)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: "subscription"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn cancel_now_and_at_period_end() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let (a, b) = (
        user(&mut conn, "a@example.com"),
        user(&mut conn, "b@example.com"),
    );

    // Now.
    let sub = conn.subscriptions().start(a, pro.id, None).unwrap();
    let canceled = conn.subscriptions().cancel(sub.id, false).unwrap();
    assert_eq!(canceled.status, SubscriptionStatus::Canceled);
    assert!(canceled.canceled_at.is_some());
    assert_eq!(canceled.version, sub.version + 1);
    assert_eq!(conn.subscriptions().live_for_user(a).unwrap(), None);
    for at_period_end in [false, true] {
        let err = conn
            .subscriptions()
            .cancel(sub.id, at_period_end)
            .unwrap_err();
        assert!(is_invalid(&err, "status"), "{err:?}");
    }
    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), canceled);

    // At period end: still active until renew.
    let sub = conn.subscriptions().start(b, pro.id, None).unwrap();
    let pending = conn.subscriptions().cancel(sub.id, true).unwrap();
    assert_eq!(pending.status, SubscriptionStatus::Active);
    assert!(pending.cancel_at_period_end);
    assert_eq!(pending.canceled_at, None);
    assert_eq!(pending.version, sub.version + 1);
    assert_eq!(
        conn.subscriptions().live_for_user(b).unwrap(),
        Some(pending.clone())
    );
    let ended = conn.subscriptions().renew(sub.id).unwrap();
    assert_eq!(ended.status, SubscriptionStatus::Canceled);
    assert!(ended.canceled_at.is_some());
    assert_eq!(ended.current_period_start, pending.current_period_start);
    assert_eq!(ended.current_period_end, pending.current_period_end);
    assert_eq!(ended.version, pending.version + 1);
    assert_eq!(conn.subscriptions().live_for_user(b).unwrap(), None);
    let err = conn.subscriptions().renew(sub.id).unwrap_err();
    assert!(is_invalid(&err, "status"), "{err:?}");

    for err in [
        conn.subscriptions()
            .cancel(Uuid::now_v7(), false)
            .unwrap_err(),
        conn.subscriptions()
            .cancel(Uuid::now_v7(), true)
            .unwrap_err(),
        conn.subscriptions().renew(Uuid::now_v7()).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::NotFound {
                    entity: "subscription"
                }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn renew_moves_the_period_by_exactly_one_interval() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let monthly = plan(&mut conn, "Monthly", 1_000, BillingInterval::Month);
    let yearly = plan(&mut conn, "Yearly", 10_000, BillingInterval::Year);
    let (a, b, c, d) = (
        user(&mut conn, "a@example.com"),
        user(&mut conn, "b@example.com"),
        user(&mut conn, "c@example.com"),
        user(&mut conn, "d@example.com"),
    );

    for (who, plan_id, step) in [(a, monthly.id, "1 month"), (b, yearly.id, "1 year")] {
        let mut sub = conn.subscriptions().start(who, plan_id, None).unwrap();
        for _ in 0..3 {
            let renewed = conn.subscriptions().renew(sub.id).unwrap();
            let old_end = sub.current_period_end.unwrap();
            assert_eq!(renewed.status, SubscriptionStatus::Active);
            assert_eq!(renewed.current_period_start, Some(old_end));
            assert_eq!(
                renewed.current_period_end,
                Some(plus_interval(&mut conn, old_end, step))
            );
            assert_eq!(renewed.version, sub.version + 1);
            sub = renewed;
        }
    }

    // A trial ends with the first renewal.
    let trial = conn
        .subscriptions()
        .start(c, monthly.id, Some(Duration::from_secs(7 * 86_400)))
        .unwrap();
    let renewed = conn.subscriptions().renew(trial.id).unwrap();
    assert_eq!(renewed.status, SubscriptionStatus::Active);
    assert!(renewed.trial_ends_at.unwrap() < trial.trial_ends_at.unwrap());
    assert_eq!(renewed.current_period_start, trial.current_period_end);

    // A successful retry brings a past-due subscription back.
    let sub = conn.subscriptions().start(d, monthly.id, None).unwrap();
    let late = conn.subscriptions().mark_past_due(sub.id).unwrap();
    let renewed = conn.subscriptions().renew(late.id).unwrap();
    assert_eq!(renewed.status, SubscriptionStatus::Active);
    assert_eq!(renewed.current_period_start, sub.current_period_end);
}

#[test]
fn past_due_unpaid_and_reactivate_follow_the_table() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com");
    let sub = conn.subscriptions().start(alice, pro.id, None).unwrap();

    let err = conn.subscriptions().mark_unpaid(sub.id).unwrap_err();
    match &err {
        Error::Invalid { field, reason } => {
            assert_eq!(field, "status");
            assert!(
                reason.contains("Active") && reason.contains("Unpaid"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), sub);

    let late = conn.subscriptions().mark_past_due(sub.id).unwrap();
    assert_eq!(late.status, SubscriptionStatus::PastDue);
    assert_eq!(late.version, 2);
    assert_eq!(
        conn.subscriptions().live_for_user(alice).unwrap(),
        Some(late.clone())
    );
    let unpaid = conn.subscriptions().mark_unpaid(sub.id).unwrap();
    assert_eq!(unpaid.status, SubscriptionStatus::Unpaid);
    assert_eq!(unpaid.version, 3);
    assert_eq!(conn.subscriptions().live_for_user(alice).unwrap(), None);
    let back = conn.subscriptions().reactivate(sub.id).unwrap();
    assert_eq!(back.status, SubscriptionStatus::Active);
    assert_eq!(back.canceled_at, None);
    assert_eq!(back.version, 4);

    let canceled = conn.subscriptions().cancel(sub.id, false).unwrap();
    let err = conn.subscriptions().mark_past_due(sub.id).unwrap_err();
    match &err {
        Error::Invalid { field, reason } => {
            assert_eq!(field, "status");
            assert!(
                reason.contains("Canceled") && reason.contains("PastDue"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), canceled);
    let back = conn.subscriptions().reactivate(sub.id).unwrap();
    assert_eq!(back.status, SubscriptionStatus::Active);
    assert_eq!(back.canceled_at, None);

    for err in [
        conn.subscriptions()
            .mark_past_due(Uuid::now_v7())
            .unwrap_err(),
        conn.subscriptions()
            .mark_unpaid(Uuid::now_v7())
            .unwrap_err(),
        conn.subscriptions().reactivate(Uuid::now_v7()).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::NotFound {
                    entity: "subscription"
                }
            ),
            "{err:?}"
        );
    }
}

type Method = fn(&mut PgConnection, Uuid) -> saas_db::Result<Subscription>;

#[test]
fn every_status_change_is_allowed_exactly_when_the_table_says_so() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com");
    let sub = conn.subscriptions().start(alice, pro.id, None).unwrap();

    let methods: [(SubscriptionStatus, &str, Method); 4] = [
        (SubscriptionStatus::PastDue, "mark_past_due", |c, id| {
            c.subscriptions().mark_past_due(id)
        }),
        (SubscriptionStatus::Unpaid, "mark_unpaid", |c, id| {
            c.subscriptions().mark_unpaid(id)
        }),
        (SubscriptionStatus::Active, "reactivate", |c, id| {
            c.subscriptions().reactivate(id)
        }),
        (SubscriptionStatus::Canceled, "cancel now", |c, id| {
            c.subscriptions().cancel(id, false)
        }),
    ];
    // The table only leads to these four targets, so this covers it all.
    assert!(TRANSITIONS
        .iter()
        .all(|(_, to)| methods.iter().any(|(m, _, _)| m == to)));

    let (mut allowed, mut refused) = (0, 0);
    for &from in SubscriptionStatus::ALL {
        for (to, name, method) in &methods {
            force_status(&mut conn, sub.id, from);
            let before = conn.subscriptions().get(sub.id).unwrap();
            assert_eq!(before.status, from);
            let result = method(&mut conn, sub.id);
            let legal = TRANSITIONS.contains(&(from, *to));
            match result {
                Ok(after) => {
                    assert!(legal, "{name} from {from:?} succeeded: {after:?}");
                    assert_eq!(after.status, *to);
                    assert_eq!(after.version, before.version + 1);
                    assert_eq!(
                        after.canceled_at.is_some(),
                        *to == SubscriptionStatus::Canceled
                    );
                    assert!(!after.cancel_at_period_end);
                    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), after);
                    allowed += 1;
                }
                Err(err) => {
                    assert!(!legal, "{name} from {from:?} failed: {err:?}");
                    match &err {
                        Error::Invalid { field, reason } => {
                            assert_eq!(field, "status");
                            assert!(
                                reason.contains(&format!("{from:?}"))
                                    && reason.contains(&format!("{to:?}")),
                                "{name} from {from:?}: {reason}"
                            );
                        }
                        other => panic!("{name} from {from:?}: {other:?}"),
                    }
                    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), before);
                    refused += 1;
                }
            }
        }
    }
    assert_eq!(allowed, TRANSITIONS.len());
    assert_eq!(
        allowed + refused,
        SubscriptionStatus::ALL.len() * methods.len()
    );
}

#[test]
fn reactivate_conflicts_with_another_live_subscription_and_history_is_newest_first() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let basic = plan(&mut conn, "Basic", 1_000, BillingInterval::Month);
    let pro = plan(&mut conn, "Pro", 3_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com");
    let bob = user(&mut conn, "bob@example.com");
    let bobs = conn.subscriptions().start(bob, basic.id, None).unwrap();

    let first = conn.subscriptions().start(alice, basic.id, None).unwrap();
    let first = conn.subscriptions().cancel(first.id, false).unwrap();
    let second = conn.subscriptions().start(alice, pro.id, None).unwrap();
    let err = conn.subscriptions().reactivate(first.id).unwrap_err();
    assert!(
        is_conflict(&err, "subscriptions_one_live_per_user"),
        "{err:?}"
    );
    assert_eq!(conn.subscriptions().get(first.id).unwrap(), first);
    assert_eq!(
        conn.subscriptions().live_for_user(alice).unwrap(),
        Some(second.clone())
    );

    let second = conn.subscriptions().cancel(second.id, false).unwrap();
    let third = conn.subscriptions().start(alice, basic.id, None).unwrap();
    let history = conn.subscriptions().history_for_user(alice).unwrap();
    assert_eq!(history, vec![third.clone(), second, first]);
    assert_eq!(
        conn.subscriptions().live_for_user(alice).unwrap(),
        Some(third)
    );
    assert_eq!(
        conn.subscriptions().history_for_user(bob).unwrap(),
        vec![bobs]
    );
    assert!(conn
        .subscriptions()
        .history_for_user(Uuid::now_v7())
        .unwrap()
        .is_empty());
}

// ------------------------------------------------------------- provider sync

fn delivery(
    user_id: Uuid,
    plan_id: Uuid,
    provider_id: &str,
    t0: DateTime<Utc>,
) -> ProviderSubscription<'_> {
    ProviderSubscription {
        provider_subscription_id: provider_id,
        provider_customer_id: Some("cus_1"),
        user_id,
        plan_id,
        status: SubscriptionStatus::Active,
        current_period_start: Some(t0),
        current_period_end: Some(t0 + chrono::Duration::days(30)),
        cancel_at_period_end: false,
        canceled_at: None,
        trial_ends_at: None,
    }
}

#[test]
fn sync_from_provider_inserts_updates_and_ignores_replays() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com");
    let t0 = micros(Utc::now());
    let incoming = delivery(alice, pro.id, "sub_123", t0);

    let (inserted, outcome) = conn.subscriptions().sync_from_provider(&incoming).unwrap();
    assert_eq!(outcome, SyncOutcome::Inserted);
    assert_eq!(inserted.version, 1);
    assert_eq!(
        inserted.provider_subscription_id.as_deref(),
        Some("sub_123")
    );
    assert_eq!(inserted.provider_customer_id.as_deref(), Some("cus_1"));
    assert_eq!(inserted.status, SubscriptionStatus::Active);
    assert_eq!(inserted.current_period_start, Some(t0));
    assert_eq!(
        inserted.current_period_end,
        Some(t0 + chrono::Duration::days(30))
    );

    std::thread::sleep(Duration::from_millis(5));
    let (replayed, outcome) = conn.subscriptions().sync_from_provider(&incoming).unwrap();
    assert_eq!(outcome, SyncOutcome::Unchanged);
    assert_eq!(replayed, inserted, "a replay must write nothing");
    assert_eq!(conn.subscriptions().get(inserted.id).unwrap(), inserted);

    let changed = ProviderSubscription {
        cancel_at_period_end: true,
        ..incoming.clone()
    };
    let (updated, outcome) = conn.subscriptions().sync_from_provider(&changed).unwrap();
    assert_eq!(outcome, SyncOutcome::Updated);
    assert_eq!(updated.id, inserted.id);
    assert_eq!(updated.version, 2);
    assert!(updated.cancel_at_period_end);
    assert!(updated.updated_at > inserted.updated_at);
    let (again, outcome) = conn.subscriptions().sync_from_provider(&changed).unwrap();
    assert_eq!(outcome, SyncOutcome::Unchanged);
    assert_eq!(again, updated);

    // The provider is the source of truth: any state, also "backwards".
    let ended = ProviderSubscription {
        status: SubscriptionStatus::Canceled,
        canceled_at: Some(t0),
        ..changed.clone()
    };
    let (canceled, outcome) = conn.subscriptions().sync_from_provider(&ended).unwrap();
    assert_eq!(outcome, SyncOutcome::Updated);
    assert_eq!(canceled.status, SubscriptionStatus::Canceled);
    assert_eq!(canceled.version, 3);
    let (back, outcome) = conn.subscriptions().sync_from_provider(&incoming).unwrap();
    assert_eq!(outcome, SyncOutcome::Updated);
    assert_eq!(back.version, 4);
    assert_eq!(back.status, SubscriptionStatus::Active);
    assert!(!back.cancel_at_period_end);

    assert_eq!(
        conn.subscriptions().history_for_user(alice).unwrap(),
        vec![back]
    );
    let bad = ProviderSubscription {
        provider_subscription_id: "",
        ..incoming.clone()
    };
    let err = conn.subscriptions().sync_from_provider(&bad).unwrap_err();
    assert!(is_invalid(&err, "provider_subscription_id"), "{err:?}");
}

/// Ten rounds of eight threads delivering the same new provider subscription
/// (in `status`) at once: exactly one row, one `Inserted`, seven `Unchanged`.
fn delivery_race(status: SubscriptionStatus) {
    let db = TestDatabase::with_builder(|b| b.max_size(9)).unwrap();
    let pro = {
        let mut conn = db.conn().unwrap();
        plan(&mut conn, "Pro", 1_000, BillingInterval::Month)
    };
    let t0 = micros(Utc::now());
    for round in 0..10 {
        let alice = user(
            &mut db.conn().unwrap(),
            &format!("alice{round}@example.com"),
        );
        let provider_id = format!("sub_race_{round}");
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let db = db.db().clone();
                let barrier = Arc::clone(&barrier);
                let provider_id = provider_id.clone();
                let plan_id = pro.id;
                std::thread::spawn(move || {
                    let mut conn = db.conn().unwrap();
                    let incoming = ProviderSubscription {
                        status,
                        canceled_at: (status == SubscriptionStatus::Canceled).then_some(t0),
                        ..delivery(alice, plan_id, &provider_id, t0)
                    };
                    barrier.wait();
                    conn.subscriptions().sync_from_provider(&incoming)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let n = diesel::sql_query(
            "SELECT count(*) AS n FROM subscriptions WHERE provider_subscription_id = $1",
        )
        .bind::<Text, _>(&provider_id)
        .get_result::<Count>(&mut *db.conn().unwrap())
        .unwrap()
        .n;
        assert_eq!(n, 1, "round {round}: one row per provider subscription");
        let outcomes: Vec<SyncOutcome> = results
            .iter()
            .map(|r| match r {
                Ok((_, outcome)) => *outcome,
                Err(e) => panic!("round {round}: a delivery failed: {e:?}"),
            })
            .collect();
        let inserted = outcomes
            .iter()
            .filter(|o| **o == SyncOutcome::Inserted)
            .count();
        let unchanged = outcomes
            .iter()
            .filter(|o| **o == SyncOutcome::Unchanged)
            .count();
        assert_eq!((inserted, unchanged), (1, 7), "round {round}: {outcomes:?}");
        let ids: HashSet<Uuid> = results.iter().map(|r| r.as_ref().unwrap().0.id).collect();
        assert_eq!(ids.len(), 1);
    }
}

/// A subscription that is not live is only covered by the upsert's arbiter
/// (`provider_subscription_id`): the race is clean.
#[test]
fn concurrent_deliveries_of_a_canceled_provider_subscription_make_one_row() {
    delivery_race(SubscriptionStatus::Canceled);
}

/// The common case, a live subscription, also hits the partial unique index
/// `subscriptions_one_live_per_user`, which is not the upsert's arbiter.
#[test]
fn concurrent_deliveries_of_an_active_provider_subscription_make_one_row() {
    delivery_race(SubscriptionStatus::Active);
}

// ----------------------------------------------------------------- payments

#[test]
fn record_is_idempotent_by_provider_payment_id() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = user(&mut conn, "alice@example.com");
    let mut first = new_payment(alice, 2_500, "USD", PaymentStatus::Pending);
    first.provider_payment_id = Some("pi_1");
    first.description = Some("March");
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
    bad.currency = "USD";
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
            Uuid::now_v7(),
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
    let alice = user(&mut db.conn().unwrap(), "alice@example.com");
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
                    p.provider_payment_id = Some(&provider_id);
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
        let ids: HashSet<Uuid> = results.iter().map(|(p, _)| p.id).collect();
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
    let alice = user(&mut conn, "alice@example.com");

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
        conn.payments().refund(Uuid::now_v7(), 1).unwrap_err(),
        conn.payments().mark_succeeded(Uuid::now_v7()).unwrap_err(),
        conn.payments().mark_failed(Uuid::now_v7()).unwrap_err(),
        conn.payments().get(Uuid::now_v7()).unwrap_err(),
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
    let alice = user(&mut db.conn().unwrap(), "alice@example.com");
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
    let alice = user(&mut conn, "alice@example.com");
    let bob = user(&mut conn, "bob@example.com");
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
    let alice = user(&mut conn, "alice@example.com");
    let bob = user(&mut conn, "bob@example.com");
    let carol = user(&mut conn, "carol@example.com");

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

// ---------------------------------------------------------------- transfers

fn version_of(conn: &mut PgConnection, id: Uuid) -> i32 {
    conn.users().get(id).unwrap().version
}

fn profile(theme: Theme, bio: &str) -> ProfileChanges<'_> {
    ProfileChanges {
        theme: Some(theme),
        bio: Some(Some(bio)),
        ..Default::default()
    }
}

#[test]
fn transfer_moves_payments_and_profile() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = user(&mut conn, "a@example.com");
    let b = user(&mut conn, "b@example.com");
    conn.users()
        .upsert_profile(a, &profile(Theme::Dark, "A's bio"))
        .unwrap();
    conn.users()
        .upsert_profile(b, &profile(Theme::Light, "B's bio"))
        .unwrap();
    for cents in [100, 200, 300] {
        pay(&mut conn, a, cents, "USD", PaymentStatus::Succeeded);
    }
    pay(&mut conn, b, 50, "USD", PaymentStatus::Succeeded);
    let (va, vb) = (version_of(&mut conn, a), version_of(&mut conn, b));

    let both = TransferOptions {
        payments: true,
        profile: true,
    };
    let report = conn.payments().transfer_user_data(a, b, both).unwrap();
    assert_eq!(
        report,
        TransferReport {
            payments_moved: 3,
            profile_moved: true
        }
    );
    assert_eq!(count_payments_of(&mut conn, a), 0);
    assert_eq!(count_payments_of(&mut conn, b), 4);
    assert_eq!(conn.users().find_profile(a).unwrap(), None);
    let moved = conn.users().profile(b).unwrap();
    assert_eq!(moved.theme, Theme::Dark);
    assert_eq!(moved.bio.as_deref(), Some("A's bio"));
    assert_eq!(version_of(&mut conn, a), va + 1);
    assert_eq!(version_of(&mut conn, b), vb + 1);
}

#[test]
fn transfer_of_payments_only_leaves_profiles() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = user(&mut conn, "a@example.com");
    let b = user(&mut conn, "b@example.com");
    let pa = conn
        .users()
        .upsert_profile(a, &profile(Theme::Dark, "A's bio"))
        .unwrap();
    let pb = conn
        .users()
        .upsert_profile(b, &profile(Theme::Light, "B's bio"))
        .unwrap();
    pay(&mut conn, a, 100, "USD", PaymentStatus::Succeeded);
    pay(&mut conn, a, 200, "EUR", PaymentStatus::Failed);
    let (va, vb) = (version_of(&mut conn, a), version_of(&mut conn, b));

    let report = conn
        .payments()
        .transfer_user_data(
            a,
            b,
            TransferOptions {
                payments: true,
                profile: false,
            },
        )
        .unwrap();
    assert_eq!(
        report,
        TransferReport {
            payments_moved: 2,
            profile_moved: false
        }
    );
    assert_eq!(count_payments_of(&mut conn, a), 0);
    assert_eq!(count_payments_of(&mut conn, b), 2);
    assert_eq!(conn.users().find_profile(a).unwrap(), Some(pa));
    assert_eq!(conn.users().find_profile(b).unwrap(), Some(pb));
    assert_eq!(version_of(&mut conn, a), va + 1);
    assert_eq!(version_of(&mut conn, b), vb + 1);
}

#[test]
fn transfer_to_a_missing_user_changes_nothing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = user(&mut conn, "a@example.com");
    let gone = user(&mut conn, "gone@example.com");
    conn.users().soft_delete(gone).unwrap();
    let pa = conn
        .users()
        .upsert_profile(a, &profile(Theme::Dark, "A's bio"))
        .unwrap();
    pay(&mut conn, a, 100, "USD", PaymentStatus::Succeeded);
    pay(&mut conn, a, 200, "USD", PaymentStatus::Succeeded);
    let va = version_of(&mut conn, a);
    let both = TransferOptions {
        payments: true,
        profile: true,
    };

    for target in [Uuid::now_v7(), gone] {
        let err = conn
            .payments()
            .transfer_user_data(a, target, both)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotFound {
                    entity: "target user"
                }
            ),
            "{err:?}"
        );
    }
    let err = conn
        .payments()
        .transfer_user_data(Uuid::now_v7(), a, both)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: "source user"
            }
        ),
        "{err:?}"
    );
    let err = conn.payments().transfer_user_data(a, a, both).unwrap_err();
    assert!(is_invalid(&err, "to"), "{err:?}");

    assert_eq!(count_payments_of(&mut conn, a), 2);
    assert_eq!(conn.users().find_profile(a).unwrap(), Some(pa));
    assert_eq!(version_of(&mut conn, a), va);
}

#[test]
fn opposite_transfers_at_once_both_complete() {
    let db = TestDatabase::with_builder(|b| b.max_size(3)).unwrap();
    let (a, b) = {
        let mut conn = db.conn().unwrap();
        let a = user(&mut conn, "a@example.com");
        let b = user(&mut conn, "b@example.com");
        conn.users()
            .upsert_profile(a, &profile(Theme::Dark, "A's bio"))
            .unwrap();
        for _ in 0..2 {
            pay(&mut conn, a, 100, "USD", PaymentStatus::Succeeded);
            pay(&mut conn, b, 100, "USD", PaymentStatus::Succeeded);
        }
        (a, b)
    };
    let both = TransferOptions {
        payments: true,
        profile: true,
    };
    for round in 0..20 {
        let (va, vb) = {
            let mut conn = db.conn().unwrap();
            (version_of(&mut conn, a), version_of(&mut conn, b))
        };
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = [(a, b), (b, a)]
            .into_iter()
            .map(|(from, to)| {
                let db = db.db().clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let mut conn = db.conn().unwrap();
                    barrier.wait();
                    conn.payments().transfer_user_data(from, to, both)
                })
            })
            .collect();
        for t in threads {
            let result = t.join().unwrap();
            assert!(result.is_ok(), "round {round}: {result:?}");
        }
        let mut conn = db.conn().unwrap();
        let (na, nb) = (
            count_payments_of(&mut conn, a),
            count_payments_of(&mut conn, b),
        );
        assert_eq!(na + nb, 4, "round {round}");
        assert!(na == 0 || nb == 0, "round {round}: {na} / {nb}");
        assert_eq!(version_of(&mut conn, a), va + 2);
        assert_eq!(version_of(&mut conn, b), vb + 2);
        let profiles = [a, b]
            .into_iter()
            .filter(|&u| conn.users().find_profile(u).unwrap().is_some())
            .count();
        assert_eq!(profiles, 1, "round {round}: exactly one profile remains");
    }
}
