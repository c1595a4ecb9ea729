//! `user_dashboard`: one user's profile, live plan and money paid.

use super::*;
use saas_db::ids::UserId;

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
    let dash = conn.analytics().user_dashboard(ann.id).unwrap().unwrap();
    assert_eq!((dash.plan_name.as_deref(), dash.payment_count), (None, 3));
    assert_eq!(dash.net_paid, expected);

    // With a live USD plan the JPY money is still reported, on its own.
    let pro = plan(&mut conn, "Pro", 2_900, BillingInterval::Month);
    conn.subscriptions()
        .start(&NewSubscription::new(ann.id, pro.id))
        .unwrap();
    let dash = conn.analytics().user_dashboard(ann.id).unwrap().unwrap();
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
        .start(&NewSubscription::new(alice.id, basic.id))
        .unwrap();
    conn.subscriptions()
        .cancel(&acting_as(old.user_id), old.id, false)
        .unwrap();
    conn.subscriptions()
        .start(&NewSubscription::new(alice.id, pro.id))
        .unwrap();
    pay(alice.id, 1_000, "USD", "succeeded").days_ago(&mut conn, 3);
    pay(alice.id, 2_500, "USD", "succeeded")
        .refunded(500)
        .days_ago(&mut conn, 2);
    pay(alice.id, 700, "USD", "failed").days_ago(&mut conn, 1);
    pay(gone.id, 700, "USD", "succeeded").days_ago(&mut conn, 1);
    conn.users()
        .soft_delete(&acting_as(gone.id), gone.id)
        .unwrap();

    let dash = conn.analytics().user_dashboard(alice.id).unwrap().unwrap();
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

    let dash = conn.analytics().user_dashboard(bare.id).unwrap().unwrap();
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
        conn.analytics()
            .user_dashboard(UserId(Uuid::now_v7()))
            .unwrap(),
        None
    );
    assert_eq!(conn.analytics().user_dashboard(gone.id).unwrap(), None);
}
