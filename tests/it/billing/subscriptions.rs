//! Subscriptions: starting one (once per user, even under a race), changing plan, canceling.

use super::*;
use saas_db::ids::{PlanId, SubscriptionId, UserId};

#[test]
fn start_sets_status_period_and_trial() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let monthly = plan(&mut conn, "Monthly", 1_000, BillingInterval::Month);
    let yearly = plan(&mut conn, "Yearly", 10_000, BillingInterval::Year);
    let (a, b, c, d) = (
        user(&mut conn, "a@example.com").id,
        user(&mut conn, "b@example.com").id,
        user(&mut conn, "c@example.com").id,
        user(&mut conn, "d@example.com").id,
    );

    let before = Utc::now() - chrono::Duration::seconds(60);
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(a, monthly.id))
        .unwrap();
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

    let year = conn
        .subscriptions()
        .start(&NewSubscription::new(b, yearly.id))
        .unwrap();
    assert_eq!(year.status, SubscriptionStatus::Active);
    let (start, end) = (
        year.current_period_start.unwrap(),
        year.current_period_end.unwrap(),
    );
    assert!((365..=366).contains(&(end - start).num_days()));
    assert_eq!(end, plus_interval(&mut conn, start, "1 year"));

    let trial = conn
        .subscriptions()
        .start(&NewSubscription::new(c, monthly.id).trial(Duration::from_secs(14 * 86_400)))
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
        let err = conn
            .subscriptions()
            .start(&NewSubscription::new(who, plan_id))
            .unwrap_err();
        assert!(
            is_conflict(&err, "subscriptions_one_live_per_user"),
            "{err:?}"
        );
    }

    // Archived or unknown plans are not offered; unknown users are refused.
    conn.plans().archive(yearly.id).unwrap();
    for plan_id in [yearly.id, PlanId(Uuid::now_v7())] {
        let err = conn
            .subscriptions()
            .start(&NewSubscription::new(d, plan_id))
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    let err = conn
        .subscriptions()
        .start(&NewSubscription::new(UserId(Uuid::now_v7()), monthly.id))
        .unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "subscriptions_user_id_fkey"),
        "{err:?}"
    );
    assert_eq!(conn.subscriptions().live_for_user(d).unwrap(), None);
    assert_eq!(conn.subscriptions().live_for_user(a).unwrap(), Some(sub));
    let err = conn
        .subscriptions()
        .get(SubscriptionId(Uuid::now_v7()))
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
fn concurrent_starts_for_one_user_admit_exactly_one() {
    let db = TestDatabase::with_builder(|b| b.max_size(9)).unwrap();
    let (alice, plan_id) = {
        let mut conn = db.conn().unwrap();
        (
            user(&mut conn, "alice@example.com").id,
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
                conn.subscriptions()
                    .start(&NewSubscription::new(alice, plan_id))
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
    let alice = user(&mut conn, "alice@example.com").id;
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, basic.id))
        .unwrap();
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
        .change_plan(sub.id, moved.version, PlanId(Uuid::now_v7()))
        .unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "subscriptions_plan_id_fkey"),
        "{err:?}"
    );
    let err = conn
        .subscriptions()
        .change_plan(SubscriptionId(Uuid::now_v7()), 1, pro.id)
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
        user(&mut conn, "a@example.com").id,
        user(&mut conn, "b@example.com").id,
    );

    // Now.
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(a, pro.id))
        .unwrap();
    let canceled = conn
        .subscriptions()
        .cancel(&acting_as(sub.user_id), sub.id, false)
        .unwrap();
    assert_eq!(canceled.status, SubscriptionStatus::Canceled);
    assert!(canceled.canceled_at.is_some());
    assert_eq!(canceled.version, sub.version + 1);
    assert_eq!(conn.subscriptions().live_for_user(a).unwrap(), None);
    for at_period_end in [false, true] {
        let err = conn
            .subscriptions()
            .cancel(&acting_as(sub.user_id), sub.id, at_period_end)
            .unwrap_err();
        assert!(is_invalid(&err, "status"), "{err:?}");
    }
    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), canceled);

    // At period end: still active until renew.
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(b, pro.id))
        .unwrap();
    let pending = conn
        .subscriptions()
        .cancel(&acting_as(sub.user_id), sub.id, true)
        .unwrap();
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
            .cancel(&support_agent(), SubscriptionId(Uuid::now_v7()), false)
            .unwrap_err(),
        conn.subscriptions()
            .cancel(&support_agent(), SubscriptionId(Uuid::now_v7()), true)
            .unwrap_err(),
        conn.subscriptions()
            .renew(SubscriptionId(Uuid::now_v7()))
            .unwrap_err(),
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
