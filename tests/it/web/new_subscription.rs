//! `NewSubscription` from a request body, and built from `Default`.

use std::time::Duration;

use saas_db::billing::NewSubscription;
use saas_db::enums::{BillingInterval, SubscriptionStatus};
use saas_db::{Repos, UserId};
use saas_db_testing::TestDatabase;

use crate::support::{assert_invalid, plan, user};

/// A body gives the plan, trial and provider ids, never the subscriber: a
/// `user_id` in it is ignored, and the host sets it from the session.
/// `NewSubscription` had no `Deserialize` (nor `Default`) before.
#[test]
fn a_new_subscription_from_json_takes_no_subscriber() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com");
    let eve = user(&mut conn, "eve@example.com");
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let body = format!(
        r#"{{"plan_id": "{}", "user_id": "{}", "trial": {{"secs": 1209600, "nanos": 0}},
            "provider_subscription_id": "sub_1Nx", "provider_customer_id": "cus_9s"}}"#,
        pro.id.uuid(),
        eve.id.uuid()
    );
    let mut new: NewSubscription = serde_json::from_str(&body).unwrap();
    assert_eq!(
        new.user_id,
        UserId::default(),
        "user_id was read from the body"
    );
    assert_eq!(new.trial, Some(Duration::from_secs(14 * 86_400)));
    // Not set from the session yet: refused before the database.
    assert_invalid(conn.subscriptions().start(&new), "user_id");

    new.user_id = ann.id;
    let sub = conn.subscriptions().start(&new).unwrap();
    assert_eq!((sub.user_id, sub.plan_id), (ann.id, pro.id));
    assert_eq!(sub.status, SubscriptionStatus::Trialing);
    assert_eq!(sub.provider_subscription_id.as_deref(), Some("sub_1Nx"));
    assert_eq!(sub.provider_customer_id.as_deref(), Some("cus_9s"));

    let plain = format!(r#"{{"plan_id": "{}"}}"#, pro.id.uuid());
    let plain: NewSubscription = serde_json::from_str(&plain).unwrap();
    assert_eq!(plain, NewSubscription::new(UserId::default(), pro.id));
    let error = serde_json::from_str::<NewSubscription>("{}").unwrap_err();
    assert!(
        error.to_string().contains("missing field `plan_id`"),
        "{error}"
    );
}

/// `Default` leaves both ids nil: `start` names the unset one before the
/// database (a nil user used to come back as a `ForeignKey` error, a nil
/// plan as `NotFound`), and the connection stays usable.
#[test]
fn a_default_new_subscription_names_its_unset_ids() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com");
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    assert_invalid(
        conn.subscriptions().start(&NewSubscription::default()),
        "user_id",
    );
    let no_plan = NewSubscription {
        user_id: ann.id,
        ..Default::default()
    };
    assert_invalid(conn.subscriptions().start(&no_plan), "plan_id");
    let sub = conn
        .subscriptions()
        .start(&NewSubscription {
            plan_id: pro.id,
            ..no_plan
        })
        .unwrap();
    assert_eq!(sub.status, SubscriptionStatus::Active);
}
