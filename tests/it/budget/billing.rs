//! Round trips of subscribing and recording payments.

use saas_db::billing::NewSubscription;
use saas_db::enums::{BillingInterval, PaymentStatus};
use saas_db::Repos;
use saas_db_testing::TestDatabase;

use super::{assert_budget, Budget, Counted};
use crate::support::{new_payment, plan, user};

/// Round trips per operation (see the module docs of `budget`).
pub const BUDGET: Budget = &[
    ("subscriptions.start", 1),
    ("subscriptions.start (provider id)", 5),
    ("payments.record", 1),
    ("payments.record (provider id, first delivery)", 1),
    ("payments.record (provider id, redelivery)", 2),
];

#[test]
fn subscribe() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let pro = plan(&mut counted.conn, "Pro", 2900, BillingInterval::Month);
    let users: Vec<_> = (0..4)
        .map(|i| user(&mut counted.conn, &format!("u{i}@example.com")).id)
        .collect();
    let (sub, trips) = counted.warmed(|c, i| {
        c.subscriptions()
            .start(&NewSubscription::new(users[i], pro.id))
            .unwrap()
    });
    assert_eq!(sub.user_id, users[1]);
    assert_budget(BUDGET, "subscriptions.start", &trips);

    let provider_ids = ["sub_0", "sub_1"];
    let (sub, trips) = counted.warmed(|c, i| {
        c.subscriptions()
            .start(&NewSubscription::new(users[2 + i], pro.id).provider(provider_ids[i], None))
            .unwrap()
    });
    assert_eq!(sub.user_id, users[3]);
    assert_budget(BUDGET, "subscriptions.start (provider id)", &trips);
}

// `.into()` keeps the input compiling whether its text fields are `&str`
// or `Cow<str>`.
#[allow(clippy::useless_conversion)]
#[test]
fn record_payments() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let ada = user(&mut counted.conn, "ada@example.com");
    let (_, trips) = counted.warmed(|c, _| {
        c.payments()
            .record(&new_payment(ada.id, 900, "USD", PaymentStatus::Succeeded))
            .unwrap()
    });
    assert_budget(BUDGET, "payments.record", &trips);

    let provider_ids = ["pi_0", "pi_1"];
    let record = |c: &mut diesel::PgConnection, provider_id: &'static str| {
        let mut payment = new_payment(ada.id, 900, "USD", PaymentStatus::Succeeded);
        payment.provider_payment_id = Some(provider_id.into());
        c.payments().record(&payment).unwrap()
    };
    let ((_, new), trips) = counted.warmed(|c, i| record(c, provider_ids[i]));
    assert!(new);
    assert_budget(
        BUDGET,
        "payments.record (provider id, first delivery)",
        &trips,
    );
    let ((_, new), trips) = counted.warmed(|c, i| record(c, provider_ids[i]));
    assert!(!new);
    assert_budget(BUDGET, "payments.record (provider id, redelivery)", &trips);
}
