//! Engagement levels, MRR per plan, and bad input refused before the
//! database.

use super::*;
use saas_db::ids::{PlanId, UserId};

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
        .soft_delete(&acting_as(gone.id), gone.id)
        .unwrap();

    expected.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let rows = conn.analytics().engagement(None).unwrap();
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
    let one = conn.analytics().engagement(Some(twelve)).unwrap();
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
    assert!(conn
        .analytics()
        .engagement(Some(UserId(Uuid::now_v7())))
        .unwrap()
        .is_empty());
    assert!(conn
        .analytics()
        .engagement(Some(gone.id))
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
            currency: "EUR".into(),
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
    let mut subs = |conn: &mut PgConnection, plan_id: PlanId, trial: Option<Duration>| {
        let u = next_user(conn);
        conn.subscriptions()
            .start(&NewSubscription {
                trial,
                ..NewSubscription::new(u, plan_id)
            })
            .unwrap()
    };

    // Team: 2 active count; a trialing and a canceled one do not.
    subs(&mut conn, team.id, None);
    subs(&mut conn, team.id, None);
    subs(&mut conn, team.id, trial);
    let s = subs(&mut conn, team.id, None);
    conn.subscriptions()
        .cancel(&acting_as(s.user_id), s.id, false)
        .unwrap();
    // Annual: 12,000 a year is 1,000 a month.
    subs(&mut conn, annual.id, None);
    // Starter: past due still counts.
    let s = subs(&mut conn, starter.id, None);
    conn.subscriptions().mark_past_due(s.id).unwrap();
    // Trial only and Dead: nothing paying (trialing, canceled, unpaid).
    subs(&mut conn, trial_only.id, trial);
    let s = subs(&mut conn, dead.id, None);
    conn.subscriptions()
        .cancel(&acting_as(s.user_id), s.id, false)
        .unwrap();
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
        conn.analytics().mrr_by_plan().unwrap(),
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
        let err = conn.analytics().top_customers(currency, 3).unwrap_err();
        assert!(is_invalid(&err, "currency"), "{currency:?}: {err:?}");
        let err = conn.analytics().monthly_revenue(currency, 3).unwrap_err();
        assert!(is_invalid(&err, "currency"), "{currency:?}: {err:?}");
    }
    for limit in [0, -1, 1_001] {
        let err = conn.analytics().top_customers("USD", limit).unwrap_err();
        assert!(is_invalid(&err, "limit"), "{limit}: {err:?}");
    }
    for months in [0, -1, 121] {
        let err = conn.analytics().monthly_revenue("USD", months).unwrap_err();
        assert!(is_invalid(&err, "months"), "{months}: {err:?}");
    }
    for days in [0, 3_651] {
        let err = conn
            .analytics()
            .users_with_recent_payments(days)
            .unwrap_err();
        assert!(is_invalid(&err, "days"), "{days}: {err:?}");
    }
    // The edges are accepted.
    assert!(conn.analytics().top_customers("USD", 1_000).is_ok());
    assert_eq!(
        conn.analytics().monthly_revenue("USD", 120).unwrap().len(),
        120
    );
    assert!(conn.analytics().users_with_recent_payments(3_650).is_ok());
}
