//! The reporting queries of `saas_db::billing::analytics`, each against a
//! small hand-made dataset whose expected numbers are worked out here.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::{is_invalid, named_user, new_plan, plan, self_actor};
use chrono::{Datelike, Months, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use saas_db::billing::analytics::{
    self, CurrencyNet, Engagement, EngagementLevel, MonthlyRevenue, PlanMrr, TopCustomer,
    UserDashboard,
};
use saas_db::billing::{NewPlan, Plan};
use saas_db::enums::{BillingInterval, SubscriptionStatus, Theme, UserRole};
use saas_db::testing::TestDatabase;
use saas_db::users::{ProfileChanges, User};
use saas_db::Repos;
use uuid::Uuid;

/// One payment row, written directly so `created_at` can be in the past.
struct Pay<'a> {
    user_id: Uuid,
    amount_cents: i64,
    refunded_cents: i64,
    currency: &'a str,
    status: &'a str,
}

fn pay<'a>(user_id: Uuid, amount_cents: i64, currency: &'a str, status: &'a str) -> Pay<'a> {
    Pay {
        user_id,
        amount_cents,
        refunded_cents: 0,
        currency,
        status,
    }
}

impl Pay<'_> {
    fn refunded(mut self, cents: i64) -> Self {
        self.refunded_cents = cents;
        self
    }

    /// Created `days` days before now.
    fn days_ago(&self, conn: &mut PgConnection, days: i32) {
        diesel::sql_query(
            "INSERT INTO payments (user_id, amount_cents, refunded_cents, currency, status, created_at)
             VALUES ($1, $2, $3, $4, $5::payment_status, now() - make_interval(days => $6))",
        )
        .bind::<diesel::sql_types::Uuid, _>(self.user_id)
        .bind::<BigInt, _>(self.amount_cents)
        .bind::<BigInt, _>(self.refunded_cents)
        .bind::<Text, _>(self.currency)
        .bind::<Text, _>(self.status)
        .bind::<Integer, _>(days)
        .execute(conn)
        .unwrap();
    }

    /// Created on the 15th, 12:00 UTC, of the month `months_back` months
    /// before the current UTC month.
    fn in_month(&self, conn: &mut PgConnection, months_back: i32) {
        diesel::sql_query(
            "INSERT INTO payments (user_id, amount_cents, refunded_cents, currency, status, created_at)
             VALUES ($1, $2, $3, $4, $5::payment_status,
                     (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => $6)
                      + interval '14 days 12 hours') AT TIME ZONE 'UTC')",
        )
        .bind::<diesel::sql_types::Uuid, _>(self.user_id)
        .bind::<BigInt, _>(self.amount_cents)
        .bind::<BigInt, _>(self.refunded_cents)
        .bind::<Text, _>(self.currency)
        .bind::<Text, _>(self.status)
        .bind::<Integer, _>(months_back)
        .execute(conn)
        .unwrap();
    }
}

fn usd(net_cents: i64) -> CurrencyNet {
    CurrencyNet {
        currency: "USD".into(),
        net_cents,
    }
}

/// Issue 13 item 6: without a live plan, `user_dashboard` used to return one
/// `net_paid_cents` summed over every currency (here 1,000 USD + 5,000 JPY
/// = 6,000 of nothing); now it returns one net per currency, with or
/// without a plan.
#[test]
fn user_dashboard_keeps_each_currency_apart() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = named_user(&mut conn, "ann@example.com", "Ann");
    pay(ann.id, 1_000, "USD", "succeeded").days_ago(&mut conn, 3);
    pay(ann.id, 5_500, "JPY", "succeeded")
        .refunded(500)
        .days_ago(&mut conn, 2);
    pay(ann.id, 900, "EUR", "failed").days_ago(&mut conn, 1);
    let expected = vec![
        CurrencyNet {
            currency: "JPY".into(),
            net_cents: 5_000,
        },
        usd(1_000),
    ];
    let dash = analytics::user_dashboard(&mut conn, ann.id)
        .unwrap()
        .unwrap();
    assert_eq!((dash.plan_name.as_deref(), dash.payment_count), (None, 3));
    assert_eq!(dash.net_paid, expected);

    // With a live USD plan the JPY money is still reported, on its own.
    let pro = plan(&mut conn, "Pro", 2_900, BillingInterval::Month);
    conn.subscriptions().start(ann.id, pro.id, None).unwrap();
    let dash = analytics::user_dashboard(&mut conn, ann.id)
        .unwrap()
        .unwrap();
    assert_eq!(dash.plan_name.as_deref(), Some("Pro"));
    assert_eq!(dash.net_paid, expected);
}

#[test]
fn user_dashboard_joins_profile_subscription_and_payments() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = named_user(&mut conn, "alice@example.com", "Alice");
    let bare = named_user(&mut conn, "bare@example.com", "Bare");
    let gone = named_user(&mut conn, "gone@example.com", "Gone");
    conn.users()
        .upsert_profile(
            alice.id,
            &ProfileChanges {
                theme: Some(Theme::Dark),
                email_notifications: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    let basic = plan(&mut conn, "Basic", 900, BillingInterval::Month);
    let pro = plan(&mut conn, "Pro", 2_900, BillingInterval::Month);
    // An earlier, canceled subscription must not show or multiply rows.
    let old = conn
        .subscriptions()
        .start(alice.id, basic.id, None)
        .unwrap();
    conn.subscriptions().cancel(old.id, false).unwrap();
    conn.subscriptions().start(alice.id, pro.id, None).unwrap();
    pay(alice.id, 1_000, "USD", "succeeded").days_ago(&mut conn, 3);
    pay(alice.id, 2_500, "USD", "succeeded")
        .refunded(500)
        .days_ago(&mut conn, 2);
    pay(alice.id, 700, "USD", "failed").days_ago(&mut conn, 1);
    pay(gone.id, 700, "USD", "succeeded").days_ago(&mut conn, 1);
    conn.users()
        .soft_delete(&self_actor(gone.id), gone.id)
        .unwrap();

    let dash = analytics::user_dashboard(&mut conn, alice.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        dash,
        UserDashboard {
            user_id: alice.id,
            name: "Alice".into(),
            email: "alice@example.com".into(),
            role: UserRole::User,
            theme: Some(Theme::Dark),
            email_notifications: Some(false),
            subscription_status: Some(SubscriptionStatus::Active),
            plan_name: Some("Pro".into()),
            payment_count: 3,
            net_paid: vec![usd(1_000 + 2_500 - 500)],
        }
    );

    let dash = analytics::user_dashboard(&mut conn, bare.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        dash,
        UserDashboard {
            user_id: bare.id,
            name: "Bare".into(),
            email: "bare@example.com".into(),
            role: UserRole::User,
            theme: None,
            email_notifications: None,
            subscription_status: None,
            plan_name: None,
            payment_count: 0,
            net_paid: vec![],
        }
    );

    assert_eq!(
        analytics::user_dashboard(&mut conn, Uuid::now_v7()).unwrap(),
        None
    );
    assert_eq!(analytics::user_dashboard(&mut conn, gone.id).unwrap(), None);
}

#[test]
fn users_with_recent_payments_needs_a_recent_settled_payment() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let recent = named_user(&mut conn, "recent@example.com", "Recent");
    let old = named_user(&mut conn, "old@example.com", "Old");
    let failed = named_user(&mut conn, "failed@example.com", "Failed");
    let refunded = named_user(&mut conn, "refunded@example.com", "Refunded");
    let gone = named_user(&mut conn, "gone@example.com", "Gone");
    named_user(&mut conn, "nothing@example.com", "Nothing");

    pay(recent.id, 1_000, "USD", "succeeded").days_ago(&mut conn, 2);
    pay(recent.id, 1_000, "USD", "succeeded").days_ago(&mut conn, 40);
    pay(old.id, 1_000, "USD", "succeeded").days_ago(&mut conn, 30);
    pay(failed.id, 1_000, "USD", "failed").days_ago(&mut conn, 1);
    pay(failed.id, 1_000, "USD", "pending").days_ago(&mut conn, 1);
    // Succeeded, later refunded in full: it was a payment in the window.
    pay(refunded.id, 1_000, "EUR", "refunded")
        .refunded(1_000)
        .days_ago(&mut conn, 3);
    pay(gone.id, 1_000, "USD", "succeeded").days_ago(&mut conn, 1);
    conn.users()
        .soft_delete(&self_actor(gone.id), gone.id)
        .unwrap();

    let ids = |users: Vec<User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    // Most recently updated first: refunded was created after recent.
    assert_eq!(
        ids(analytics::users_with_recent_payments(&mut conn, 7).unwrap()),
        vec![refunded.id, recent.id]
    );
    assert_eq!(
        ids(analytics::users_with_recent_payments(&mut conn, 31).unwrap())
            .into_iter()
            .collect::<HashSet<_>>(),
        HashSet::from([recent.id, old.id, refunded.id])
    );
    assert_eq!(
        ids(analytics::users_with_recent_payments(&mut conn, 1).unwrap()),
        Vec::<Uuid>::new()
    );
}

#[test]
fn top_customers_rank_by_net_volume_with_ties() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let u1 = named_user(&mut conn, "u1@example.com", "One");
    let u2 = named_user(&mut conn, "u2@example.com", "Two");
    let u3 = named_user(&mut conn, "u3@example.com", "Three");
    let u4 = named_user(&mut conn, "u4@example.com", "Four");
    let u5 = named_user(&mut conn, "u5@example.com", "Five");

    // u1: 2,000 + 3,001 = 5,001 over 2 payments, mean 2,500.5 -> 2,501.
    pay(u1.id, 2_000, "USD", "succeeded").days_ago(&mut conn, 1);
    pay(u1.id, 3_001, "USD", "succeeded").days_ago(&mut conn, 2);
    // u2 and u3 tie at 3,000 net.
    pay(u2.id, 3_000, "USD", "succeeded").days_ago(&mut conn, 1);
    pay(u3.id, 4_000, "USD", "succeeded")
        .refunded(1_000)
        .days_ago(&mut conn, 1);
    // u4: 1,000 USD; the big EUR and failed USD payments do not count.
    pay(u4.id, 1_000, "USD", "succeeded").days_ago(&mut conn, 1);
    pay(u4.id, 50_000, "EUR", "succeeded").days_ago(&mut conn, 1);
    pay(u4.id, 99_999, "USD", "failed").days_ago(&mut conn, 1);
    pay(u4.id, 88_888, "USD", "pending").days_ago(&mut conn, 1);
    // u5: EUR only.
    pay(u5.id, 600, "EUR", "succeeded").days_ago(&mut conn, 1);

    let row = |rank, u: &User, payment_count, total_cents, average_cents| TopCustomer {
        rank,
        user_id: u.id,
        name: u.name.clone(),
        email: u.email.clone(),
        payment_count,
        total_cents,
        average_cents,
    };
    let (first_tie, second_tie) = if u2.id < u3.id {
        (&u2, &u3)
    } else {
        (&u3, &u2)
    };
    let tie_row = |u: &User| row(2, u, 1, 3_000, 3_000);
    assert_eq!(
        analytics::top_customers(&mut conn, "USD", 3).unwrap(),
        vec![
            row(1, &u1, 2, 5_001, 2_501),
            tie_row(first_tie),
            tie_row(second_tie),
        ]
    );
    // Ranks skip after a tie.
    assert_eq!(
        analytics::top_customers(&mut conn, "USD", 10).unwrap(),
        vec![
            row(1, &u1, 2, 5_001, 2_501),
            tie_row(first_tie),
            tie_row(second_tie),
            row(4, &u4, 1, 1_000, 1_000),
        ]
    );
    assert_eq!(
        analytics::top_customers(&mut conn, "EUR", 3).unwrap(),
        vec![row(1, &u4, 1, 50_000, 50_000), row(2, &u5, 1, 600, 600)]
    );
    assert!(analytics::top_customers(&mut conn, "GBP", 3)
        .unwrap()
        .is_empty());
}

#[test]
fn monthly_revenue_fills_gaps_and_computes_growth() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = named_user(&mut conn, "a@example.com", "A").id;
    let b = named_user(&mut conn, "b@example.com", "B").id;

    // M-5: outside the window and not the predecessor of its first month.
    pay(a, 123_456, "USD", "succeeded").in_month(&mut conn, 5);
    // M-4: only the "previous" of the first month shown.
    pay(a, 800, "USD", "succeeded").in_month(&mut conn, 4);
    // M-3: 1,000.
    pay(a, 1_000, "USD", "succeeded").in_month(&mut conn, 3);
    pay(b, 5_000, "USD", "failed").in_month(&mut conn, 3);
    // M-2: nothing in USD.
    pay(b, 2_000, "EUR", "succeeded").in_month(&mut conn, 2);
    // M-1: 1,000 + 2,000.
    pay(a, 1_000, "USD", "succeeded").in_month(&mut conn, 1);
    pay(b, 2_000, "USD", "succeeded").in_month(&mut conn, 1);
    // M: 5,000 - 500, plus one refunded in full (counted, nets 0).
    pay(a, 5_000, "USD", "succeeded")
        .refunded(500)
        .in_month(&mut conn, 0);
    pay(b, 700, "USD", "refunded")
        .refunded(700)
        .in_month(&mut conn, 0);
    pay(b, 9_999, "USD", "failed").in_month(&mut conn, 0);
    pay(b, 9_999, "USD", "pending").in_month(&mut conn, 0);
    pay(b, 7_777, "EUR", "succeeded").in_month(&mut conn, 0);

    let this_month = Utc::now().date_naive().with_day(1).unwrap();
    let month = |back: u32| -> NaiveDate { this_month - Months::new(back) };
    let row = |back, payment_count, revenue_cents, previous_cents, growth_percent| MonthlyRevenue {
        month: month(back),
        payment_count,
        revenue_cents,
        previous_cents,
        growth_percent,
    };
    assert_eq!(
        analytics::monthly_revenue(&mut conn, "USD", 4).unwrap(),
        vec![
            row(3, 1, 1_000, 800, Some(25.0)),
            row(2, 0, 0, 1_000, Some(-100.0)),
            row(1, 2, 3_000, 0, None),
            row(0, 2, 4_500, 3_000, Some(50.0)),
        ]
    );
    assert_eq!(
        analytics::monthly_revenue(&mut conn, "USD", 1).unwrap(),
        vec![row(0, 2, 4_500, 3_000, Some(50.0))]
    );
    // EUR: M-2 2,000, M 7,777: growth against an empty month is None.
    assert_eq!(
        analytics::monthly_revenue(&mut conn, "EUR", 3).unwrap(),
        vec![
            row(2, 1, 2_000, 0, None),
            row(1, 0, 0, 2_000, Some(-100.0)),
            row(0, 1, 7_777, 0, None),
        ]
    );
}

#[test]
fn engagement_levels_and_days_since_last_payment() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    // (succeeded payments, expected level)
    let cases = [
        (0, EngagementLevel::None),
        (1, EngagementLevel::Low),
        (2, EngagementLevel::Low),
        (3, EngagementLevel::Medium),
        (5, EngagementLevel::Medium),
        (9, EngagementLevel::Medium),
        (10, EngagementLevel::High),
        (12, EngagementLevel::High),
    ];
    let mut expected = Vec::new();
    let mut twelve = None;
    for (n, level) in cases {
        let u = named_user(
            &mut conn,
            &format!("n{n}@example.com"),
            &format!("User {n}"),
        );
        // Failed and pending payments never count.
        pay(u.id, 100, "USD", "failed").days_ago(&mut conn, 0);
        pay(u.id, 100, "USD", "pending").days_ago(&mut conn, 0);
        // The twelve-payment user last paid 10 days ago, the others 1 day ago.
        let newest = if n == 12 { 10 } else { 1 };
        for i in 0..n {
            pay(u.id, 100, "USD", "succeeded").days_ago(&mut conn, newest + i);
        }
        if n == 12 {
            twelve = Some(u.id);
        }
        expected.push((
            u.id,
            n as i64,
            level,
            (n > 0).then_some(newest),
            u.name.clone(),
        ));
    }
    let gone = named_user(&mut conn, "gone@example.com", "Gone");
    pay(gone.id, 100, "USD", "succeeded").days_ago(&mut conn, 1);
    conn.users()
        .soft_delete(&self_actor(gone.id), gone.id)
        .unwrap();

    expected.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let rows = analytics::engagement(&mut conn, None).unwrap();
    let summary = |rows: &[Engagement]| {
        rows.iter()
            .map(|r| {
                (
                    r.user_id,
                    r.payment_count,
                    r.level,
                    r.days_since_last_activity,
                    r.name.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&rows), expected);
    for r in &rows {
        assert_eq!(r.last_payment_at.is_some(), r.payment_count > 0);
    }

    let twelve = twelve.unwrap();
    let one = analytics::engagement(&mut conn, Some(twelve)).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].user_id, twelve);
    assert_eq!(one[0].payment_count, 12);
    assert_eq!(one[0].level, EngagementLevel::High);
    assert_eq!(one[0].days_since_last_activity, Some(10));
    let since = Utc::now() - one[0].last_payment_at.unwrap();
    assert!(
        (since - chrono::Duration::days(10)).num_seconds().abs() < 60,
        "{since:?}"
    );
    assert!(analytics::engagement(&mut conn, Some(Uuid::now_v7()))
        .unwrap()
        .is_empty());
    assert!(analytics::engagement(&mut conn, Some(gone.id))
        .unwrap()
        .is_empty());
}

#[test]
fn mrr_by_plan_counts_paying_subscriptions_per_month() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let team = plan(&mut conn, "Team", 1_000, BillingInterval::Month);
    let annual = plan(&mut conn, "Annual", 12_000, BillingInterval::Year);
    let starter = conn
        .plans()
        .create(&NewPlan {
            currency: "EUR",
            ..new_plan("Starter", 500, BillingInterval::Month)
        })
        .unwrap();
    let trial_only = plan(&mut conn, "Trial only", 700, BillingInterval::Month);
    let dead = plan(&mut conn, "Dead", 900, BillingInterval::Month);
    let mut next_user = {
        let mut n = 0;
        move |conn: &mut PgConnection| {
            n += 1;
            named_user(conn, &format!("u{n}@example.com"), "U").id
        }
    };
    let trial = Some(Duration::from_secs(7 * 86_400));
    let mut subs = |conn: &mut PgConnection, plan_id: Uuid, trial: Option<Duration>| {
        let u = next_user(conn);
        conn.subscriptions().start(u, plan_id, trial).unwrap()
    };

    // Team: 2 active count; a trialing and a canceled one do not.
    subs(&mut conn, team.id, None);
    subs(&mut conn, team.id, None);
    subs(&mut conn, team.id, trial);
    let s = subs(&mut conn, team.id, None);
    conn.subscriptions().cancel(s.id, false).unwrap();
    // Annual: 12,000 a year is 1,000 a month.
    subs(&mut conn, annual.id, None);
    // Starter: past due still counts.
    let s = subs(&mut conn, starter.id, None);
    conn.subscriptions().mark_past_due(s.id).unwrap();
    // Trial only and Dead: nothing paying (trialing, canceled, unpaid).
    subs(&mut conn, trial_only.id, trial);
    let s = subs(&mut conn, dead.id, None);
    conn.subscriptions().cancel(s.id, false).unwrap();
    let s = subs(&mut conn, dead.id, None);
    conn.subscriptions().mark_past_due(s.id).unwrap();
    conn.subscriptions().mark_unpaid(s.id).unwrap();

    let row = |p: &Plan, subscriptions, mrr_cents| PlanMrr {
        plan_id: p.id,
        plan_name: p.name.clone(),
        currency: p.currency.clone(),
        interval: p.interval,
        subscriptions,
        mrr_cents,
    };
    assert_eq!(
        analytics::mrr_by_plan(&mut conn).unwrap(),
        vec![
            row(&team, 2, 2_000),
            row(&annual, 1, 1_000),
            row(&starter, 1, 500)
        ]
    );
}

#[test]
fn analytics_refuse_bad_input() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for currency in ["usd", "US", "EURO", ""] {
        let err = analytics::top_customers(&mut conn, currency, 3).unwrap_err();
        assert!(is_invalid(&err, "currency"), "{currency:?}: {err:?}");
        let err = analytics::monthly_revenue(&mut conn, currency, 3).unwrap_err();
        assert!(is_invalid(&err, "currency"), "{currency:?}: {err:?}");
    }
    for limit in [0, -1, 1_001] {
        let err = analytics::top_customers(&mut conn, "USD", limit).unwrap_err();
        assert!(is_invalid(&err, "limit"), "{limit}: {err:?}");
    }
    for months in [0, -1, 121] {
        let err = analytics::monthly_revenue(&mut conn, "USD", months).unwrap_err();
        assert!(is_invalid(&err, "months"), "{months}: {err:?}");
    }
    for days in [0, 3_651] {
        let err = analytics::users_with_recent_payments(&mut conn, days).unwrap_err();
        assert!(is_invalid(&err, "days"), "{days}: {err:?}");
    }
    // The edges are accepted.
    assert!(analytics::top_customers(&mut conn, "USD", 1_000).is_ok());
    assert_eq!(
        analytics::monthly_revenue(&mut conn, "USD", 120)
            .unwrap()
            .len(),
        120
    );
    assert!(analytics::users_with_recent_payments(&mut conn, 3_650).is_ok());
}
