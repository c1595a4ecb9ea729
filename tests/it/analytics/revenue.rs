//! Revenue: recent payers, top customers, monthly trends.

use super::*;
use saas_db::ids::UserId;

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
        .soft_delete(&acting_as(gone.id), gone.id)
        .unwrap();

    let ids = |users: Vec<User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    // Most recently updated first: refunded was created after recent.
    assert_eq!(
        ids(conn.analytics().users_with_recent_payments(7).unwrap()),
        vec![refunded.id, recent.id]
    );
    assert_eq!(
        ids(conn.analytics().users_with_recent_payments(31).unwrap())
            .into_iter()
            .collect::<HashSet<_>>(),
        HashSet::from([recent.id, old.id, refunded.id])
    );
    assert_eq!(
        ids(conn.analytics().users_with_recent_payments(1).unwrap()),
        Vec::<UserId>::new()
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
        conn.analytics().top_customers("USD", 3).unwrap(),
        vec![
            row(1, &u1, 2, 5_001, 2_501),
            tie_row(first_tie),
            tie_row(second_tie),
        ]
    );
    // Ranks skip after a tie.
    assert_eq!(
        conn.analytics().top_customers("USD", 10).unwrap(),
        vec![
            row(1, &u1, 2, 5_001, 2_501),
            tie_row(first_tie),
            tie_row(second_tie),
            row(4, &u4, 1, 1_000, 1_000),
        ]
    );
    assert_eq!(
        conn.analytics().top_customers("EUR", 3).unwrap(),
        vec![row(1, &u4, 1, 50_000, 50_000), row(2, &u5, 1, 600, 600)]
    );
    assert!(conn.analytics().top_customers("GBP", 3).unwrap().is_empty());
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
        conn.analytics().monthly_revenue("USD", 4).unwrap(),
        vec![
            row(3, 1, 1_000, 800, Some(25.0)),
            row(2, 0, 0, 1_000, Some(-100.0)),
            row(1, 2, 3_000, 0, None),
            row(0, 2, 4_500, 3_000, Some(50.0)),
        ]
    );
    assert_eq!(
        conn.analytics().monthly_revenue("USD", 1).unwrap(),
        vec![row(0, 2, 4_500, 3_000, Some(50.0))]
    );
    // EUR: M-2 2,000, M 7,777: growth against an empty month is None.
    assert_eq!(
        conn.analytics().monthly_revenue("EUR", 3).unwrap(),
        vec![
            row(2, 1, 2_000, 0, None),
            row(1, 0, 0, 2_000, Some(-100.0)),
            row(0, 1, 7_777, 0, None),
        ]
    );
}
