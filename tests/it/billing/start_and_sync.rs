//! `subscriptions().start(..)` with the provider's id and
//! `sync_from_provider(..)` for the same subscription meet on one row.

use super::provider_sync::delivery;
use super::*;
use saas_db::ids::PlanId;

fn live_count(conn: &mut PgConnection, user_id: UserId) -> i64 {
    count_bound::<diesel::sql_types::Uuid, _>(
        conn,
        "SELECT count(*) AS n FROM subscriptions
          WHERE user_id = $1 AND status IN ('trialing', 'active', 'past_due')",
        user_id,
    )
}

/// A subscription started with the provider's id is the row its webhook
/// updates: no `Conflict`, one live subscription. It used to be a second
/// insert (`start` took no provider id), refused by
/// `subscriptions_one_live_per_user`; that is still what happens without
/// the id (the control).
#[test]
fn start_then_sync_for_the_same_provider_id_updates_the_started_row() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com").id;
    let new = NewSubscription::new(alice, pro.id)
        .trial(Duration::from_secs(14 * 86_400))
        .provider("sub_alice", Some("cus_alice"));
    let started = conn.subscriptions().start(&new).unwrap();
    assert_eq!(started.status, SubscriptionStatus::Trialing);
    assert_eq!(
        started.provider_subscription_id.as_deref(),
        Some("sub_alice")
    );
    assert_eq!(started.provider_customer_id.as_deref(), Some("cus_alice"));

    let t0 = micros(Utc::now());
    let webhook = delivery(alice, pro.id, "sub_alice", t0);
    let (synced, outcome) = conn.subscriptions().sync_from_provider(&webhook).unwrap();
    assert_eq!(outcome, SyncOutcome::Updated);
    assert_eq!(synced.id, started.id);
    assert_eq!(synced.status, SubscriptionStatus::Active);
    assert_eq!(synced.current_period_start, Some(t0));
    assert_eq!(synced.provider_customer_id.as_deref(), Some("cus_1"));
    assert_eq!(synced.version, started.version + 1);
    assert_eq!(live_count(&mut conn, alice), 1);
    let (_, outcome) = conn.subscriptions().sync_from_provider(&webhook).unwrap();
    assert_eq!(outcome, SyncOutcome::Unchanged);
    // `start` again (a retried request) returns the provider's row as it is.
    let again = conn.subscriptions().start(&new).unwrap();
    assert_eq!(again, conn.subscriptions().get(started.id).unwrap());
    assert_eq!(live_count(&mut conn, alice), 1);

    // Control: started without the provider's id, the webhook is a second
    // live subscription, which the index refuses.
    let bob = user(&mut conn, "bob@example.com").id;
    conn.subscriptions()
        .start(&NewSubscription::new(bob, pro.id))
        .unwrap();
    let err = conn
        .subscriptions()
        .sync_from_provider(&delivery(bob, pro.id, "sub_bob", t0))
        .unwrap_err();
    assert!(
        is_conflict(&err, "subscriptions_one_live_per_user"),
        "{err:?}"
    );
    assert_eq!(live_count(&mut conn, bob), 1);
}

/// The webhook came first: `start` with its id returns that row instead of
/// a Conflict. The id of another user's subscription is a Conflict naming
/// the provider key; a bad id is refused before the database.
#[test]
fn sync_then_start_returns_the_synced_row_and_foreign_ids_conflict() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com").id;
    let bob = user(&mut conn, "bob@example.com").id;
    let t0 = micros(Utc::now());
    let (synced, _) = conn
        .subscriptions()
        .sync_from_provider(&delivery(alice, pro.id, "sub_alice", t0))
        .unwrap();
    let started = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, pro.id).provider("sub_alice", None))
        .unwrap();
    assert_eq!(started, synced);
    assert_eq!(live_count(&mut conn, alice), 1);

    let err = conn
        .subscriptions()
        .start(&NewSubscription::new(bob, pro.id).provider("sub_alice", None))
        .unwrap_err();
    assert!(
        is_conflict(&err, "subscriptions_provider_subscription_id_key"),
        "{err:?}"
    );
    assert_eq!(live_count(&mut conn, bob), 0);

    let long = "s".repeat(256);
    for (id, customer, field) in [
        ("", None, "provider_subscription_id"),
        ("sub\0x", None, "provider_subscription_id"),
        (long.as_str(), None, "provider_subscription_id"),
        ("sub_bob", Some(""), "provider_customer_id"),
        ("sub_bob", Some("cus\0"), "provider_customer_id"),
    ] {
        let err = conn
            .subscriptions()
            .start(&NewSubscription::new(bob, pro.id).provider(id, customer))
            .unwrap_err();
        assert!(is_invalid(&err, field), "{id:?} {customer:?}: {err:?}");
    }
    assert_eq!(live_count(&mut conn, bob), 0);
}

/// `start` with a provider id and the webhook for it, at once, in both
/// orders many times: both succeed, one row. With the lock removed from
/// `start`, 2 runs in 3 failed here: the `start` that did not see the
/// webhook's uncommitted row inserted too, and got a `Conflict` on
/// `subscriptions_provider_subscription_id_key`.
#[test]
fn start_and_sync_racing_for_one_provider_id_make_one_row() {
    let db = TestDatabase::with_builder(|b| b.max_size(4)).unwrap();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let plan_id: PlanId = pro.id;
    let t0 = micros(Utc::now());
    for round in 0..12 {
        let who = user(&mut conn, &format!("u{round}@example.com")).id;
        let provider_id = format!("sub_{round}");
        let outcomes = crate::support::race(2, |i, barrier| {
            let mut conn = db.conn().unwrap();
            barrier.wait();
            if (i + round) % 2 == 0 {
                conn.subscriptions()
                    .start(&NewSubscription::new(who, plan_id).provider(&provider_id, None))
                    .map(|s| s.id)
            } else {
                conn.subscriptions()
                    .sync_from_provider(&delivery(who, plan_id, &provider_id, t0))
                    .map(|(s, _)| s.id)
            }
        });
        let ids: Vec<SubscriptionId> = outcomes
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("round {round}: {e:?}")))
            .collect();
        assert_eq!(ids[0], ids[1], "round {round}");
        assert_eq!(live_count(&mut conn, who), 1, "round {round}");
    }
}
