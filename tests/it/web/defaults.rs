//! Inputs with many fields built from `Default` (`NewUser`, `NewPlan`, `NewPayment`,
//! `ProviderSubscription` had none: every field had to be spelled out).

use saas_db::billing::{NewPayment, NewPlan, ProviderSubscription};
use saas_db::enums::{BillingInterval, PaymentStatus, SubscriptionStatus};
use saas_db::{PageRequest, Repos};
use saas_db_testing::TestDatabase;

use crate::support::{assert_invalid, user};

/// The README's one-liners work as written, and what they leave out is
/// the documented default; a forgotten currency or name is `Invalid`.
#[test]
fn inputs_built_from_default_are_complete() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com");

    let pro = conn
        .plans()
        .create(&NewPlan {
            name: "Pro".into(),
            price_cents: 900,
            currency: "USD".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (pro.interval, pro.sort_order, pro.features.len()),
        (BillingInterval::Month, 0, 0)
    );
    assert_invalid(
        conn.plans().create(&NewPlan {
            name: "Cheap".into(),
            ..Default::default()
        }),
        "currency",
    );
    assert_invalid(
        conn.plans().create(&NewPlan {
            currency: "USD".into(),
            ..Default::default()
        }),
        "name",
    );

    let user_id = ann.id;
    let (payment, new) = conn
        .payments()
        .record(&NewPayment {
            user_id,
            amount_cents: 500,
            currency: "USD".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(new);
    assert_eq!(
        (payment.status, payment.metadata.clone()),
        (PaymentStatus::Pending, serde_json::json!({}))
    );
    assert_invalid(
        conn.payments().record(&NewPayment {
            user_id,
            amount_cents: 500,
            ..Default::default()
        }),
        "currency",
    );
    assert_invalid(
        conn.payments().record(&NewPayment {
            amount_cents: 500,
            currency: "USD".into(),
            ..Default::default()
        }),
        "user_id",
    );

    let (sub, _) = conn
        .subscriptions()
        .sync_from_provider(&ProviderSubscription {
            provider_subscription_id: "sub_1".into(),
            user_id,
            plan_id: pro.id,
            status: SubscriptionStatus::Active,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (sub.status, sub.cancel_at_period_end),
        (SubscriptionStatus::Active, false)
    );
    assert_eq!(
        ProviderSubscription::default().status,
        SubscriptionStatus::Incomplete,
        "a forgotten status grants nothing"
    );
    assert_eq!(
        conn.payments()
            .list_for_user(user_id, PageRequest::default())
            .unwrap()
            .items
            .len(),
        1
    );
}

/// `NewUser` from `Default` (it had none, with `&str` fields every one had
/// to be spelled out or built with `NewUser::new`): a plain user with the
/// locale and time zone defaults, text from a `&str`, a borrowed `String`
/// or a moved `String`; a forgotten email is `Invalid` naming it.
#[test]
fn a_new_user_built_from_default_is_a_plain_user() {
    use saas_db::enums::UserRole;
    use saas_db::users::NewUser;

    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let name = String::from("Bea");
    let bea = conn
        .users()
        .create(&NewUser {
            email: "bea@example.com".into(),
            name: (&name).into(),
            username: Some(String::from("bea").into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (bea.role, bea.name.as_str(), bea.username.as_deref()),
        (UserRole::User, "Bea", Some("bea"))
    );
    assert_eq!((bea.locale.as_str(), bea.timezone.as_str()), ("en", "UTC"));
    assert_invalid(
        conn.users().create(&NewUser {
            name: "No email".into(),
            ..Default::default()
        }),
        "email",
    );
    assert_eq!(NewUser::default(), NewUser::new("", ""));
}
