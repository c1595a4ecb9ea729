//! The subscription life cycle: renewals, past due, unpaid, reactivation and the transition table.

use super::*;
use saas_db::ids::{SubscriptionId, UserId};

#[test]
fn renew_moves_the_period_by_exactly_one_interval() {
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

    for (who, plan_id, step) in [(a, monthly.id, "1 month"), (b, yearly.id, "1 year")] {
        let mut sub = conn
            .subscriptions()
            .start(&NewSubscription::new(who, plan_id))
            .unwrap();
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
        .start(&NewSubscription::new(c, monthly.id).trial(Duration::from_secs(7 * 86_400)))
        .unwrap();
    let renewed = conn.subscriptions().renew(trial.id).unwrap();
    assert_eq!(renewed.status, SubscriptionStatus::Active);
    assert!(renewed.trial_ends_at.unwrap() < trial.trial_ends_at.unwrap());
    assert_eq!(renewed.current_period_start, trial.current_period_end);

    // A successful retry brings a past-due subscription back.
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(d, monthly.id))
        .unwrap();
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
    let alice = user(&mut conn, "alice@example.com").id;
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, pro.id))
        .unwrap();

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

    let canceled = conn
        .subscriptions()
        .cancel(&acting_as(sub.user_id), sub.id, false)
        .unwrap();
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
            .mark_past_due(SubscriptionId(Uuid::now_v7()))
            .unwrap_err(),
        conn.subscriptions()
            .mark_unpaid(SubscriptionId(Uuid::now_v7()))
            .unwrap_err(),
        conn.subscriptions()
            .reactivate(SubscriptionId(Uuid::now_v7()))
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

type Method = fn(&mut PgConnection, SubscriptionId) -> saas_db::Result<Subscription>;

#[test]
fn every_status_change_is_allowed_exactly_when_the_table_says_so() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com").id;
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, pro.id))
        .unwrap();

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
            c.subscriptions().cancel(&support_agent(), id, false)
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
    let alice = user(&mut conn, "alice@example.com").id;
    let bob = user(&mut conn, "bob@example.com").id;
    let bobs = conn
        .subscriptions()
        .start(&NewSubscription::new(bob, basic.id))
        .unwrap();

    let first = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, basic.id))
        .unwrap();
    let first = conn
        .subscriptions()
        .cancel(&acting_as(first.user_id), first.id, false)
        .unwrap();
    let second = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, pro.id))
        .unwrap();
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

    let second = conn
        .subscriptions()
        .cancel(&acting_as(second.user_id), second.id, false)
        .unwrap();
    let third = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, basic.id))
        .unwrap();
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
        .history_for_user(UserId(Uuid::now_v7()))
        .unwrap()
        .is_empty());
}
