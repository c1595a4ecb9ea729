//! Syncing subscriptions from the payment provider, replays and concurrent deliveries.

use super::*;
use saas_db::ids::{PlanId, SubscriptionId, UserId};

pub(super) fn delivery(
    user_id: UserId,
    plan_id: PlanId,
    provider_id: &str,
    t0: DateTime<Utc>,
) -> ProviderSubscription<'_> {
    ProviderSubscription {
        provider_subscription_id: provider_id.into(),
        provider_customer_id: Some("cus_1".into()),
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
    let alice = user(&mut conn, "alice@example.com").id;
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
        provider_subscription_id: "".into(),
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
        )
        .id;
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
        let ids: HashSet<SubscriptionId> =
            results.iter().map(|r| r.as_ref().unwrap().0.id).collect();
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
