//! Plans, a subscription life cycle, payments with a webhook replay and a
//! refund, and the analytics report.
//!
//! ```sh
//! cargo run --example billing     # throwaway PostgreSQL unless DATABASE_URL is set
//! ```

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use saas_db::billing::{analytics, NewPayment, NewPlan};
use saas_db::enums::{BillingInterval, PaymentStatus};
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos};
use uuid::Uuid;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = saas_db::embedded::EmbeddedPostgres::url_or_start()?;
    let db = Database::builder(&url).schema("billing_example").build()?;
    let mut conn = db.conn()?;

    println!("1. plans");
    let plan = |name, price, interval, order| NewPlan {
        name,
        description: None,
        price_cents: price,
        currency: "USD",
        interval,
        features: vec!["Projects", "Email support"],
        sort_order: order,
    };
    let starter = conn
        .plans()
        .create(&plan("Starter", 900, BillingInterval::Month, 1))?;
    let pro = conn
        .plans()
        .create(&plan("Pro", 2900, BillingInterval::Month, 2))?;
    let pro_yearly = conn
        .plans()
        .create(&plan("Pro yearly", 29_000, BillingInterval::Year, 3))?;
    for p in conn.plans().list_active()? {
        println!(
            "   {:<11} {:>8} / {:?}",
            p.name,
            money(p.price_cents),
            p.interval
        );
    }

    println!("\n2. a subscription's life");
    let ada = conn
        .users()
        .create(&NewUser::new("ada@example.com", "Ada"))?;
    let sub =
        conn.subscriptions()
            .start(ada.id, starter.id, Some(Duration::from_secs(14 * 86_400)))?;
    println!(
        "   started on Starter: {:?} until {}",
        sub.status,
        sub.trial_ends_at.unwrap().date_naive()
    );
    let sub = conn.subscriptions().renew(sub.id)?;
    println!(
        "   trial converted:    {:?}, period ends {}",
        sub.status,
        sub.current_period_end.unwrap().date_naive()
    );
    let sub = conn
        .subscriptions()
        .change_plan(sub.id, sub.version, pro.id)?;
    println!("   upgraded to Pro (version {})", sub.version);
    let sub = conn.subscriptions().mark_past_due(sub.id)?;
    println!("   a renewal failed:   {:?}", sub.status);
    match conn.subscriptions().mark_past_due(sub.id) {
        Err(e @ Error::Invalid { .. }) => println!("   marking it again:   {e}"),
        other => return Err(format!("expected Invalid, got {other:?}").into()),
    }
    let sub = conn.subscriptions().reactivate(sub.id)?;
    println!("   paid after all:     {:?}", sub.status);
    let sub = conn.subscriptions().cancel(sub.id, true)?;
    println!(
        "   cancel at period end: status {:?}, cancel_at_period_end {}",
        sub.status, sub.cancel_at_period_end
    );

    println!("\n3. payments");
    let pay = |user, cents, provider_id| NewPayment {
        user_id: user,
        subscription_id: None,
        amount_cents: cents,
        currency: "USD",
        status: PaymentStatus::Succeeded,
        provider_payment_id: provider_id,
        description: Some("Pro, monthly"),
        metadata: serde_json::json!({ "source": "example" }),
    };
    let (first, created) = conn.payments().record(&pay(ada.id, 2900, Some("pi_123")))?;
    let (replay, created_again) = conn.payments().record(&pay(ada.id, 2900, Some("pi_123")))?;
    println!(
        "   webhook delivered twice: created {created} then {created_again}; same row: {}",
        first.id == replay.id
    );
    let refunded = conn.payments().refund(first.id, 900)?;
    println!(
        "   refunded {} of {}",
        money(refunded.refunded_cents),
        money(refunded.amount_cents)
    );
    match conn.payments().refund(first.id, 5000) {
        Err(e @ Error::Invalid { .. }) => println!("   refund too large: {e}"),
        other => return Err(format!("expected Invalid, got {other:?}").into()),
    }

    println!("\n4. analytics over seeded customers");
    seed_customers(&mut conn, &[starter.id, pro.id, pro_yearly.id])?;
    println!("   monthly revenue (USD):");
    println!(
        "   {:<10} {:>9} {:>11} {:>8}",
        "month", "payments", "revenue", "growth"
    );
    for m in analytics::monthly_revenue(&mut conn, "USD", 6)? {
        let growth = m.growth_percent.map_or("-".into(), |g| format!("{g:+.1}%"));
        println!(
            "   {:<10} {:>9} {:>11} {:>8}",
            m.month,
            m.payment_count,
            money(m.revenue_cents),
            growth
        );
    }
    println!("\n   top customers (USD):");
    for c in analytics::top_customers(&mut conn, "USD", 3)? {
        println!(
            "   #{} {:<22} {:>3} payments {:>11}",
            c.rank,
            c.email,
            c.payment_count,
            money(c.total_cents)
        );
    }
    println!("\n   MRR by plan:");
    for p in analytics::mrr_by_plan(&mut conn)? {
        println!(
            "   {:<11} {:>3} subscriptions {:>11}",
            p.plan_name,
            p.subscriptions,
            money(p.mrr_cents)
        );
    }
    let dash = analytics::user_dashboard(&mut conn, ada.id)?.ok_or("no dashboard")?;
    println!(
        "\n   dashboard for {}: {:?} on {:?}, {} payments, net {:?}",
        dash.name,
        dash.subscription_status,
        dash.plan_name,
        dash.payment_count,
        dash.net_paid
    );
    Ok(())
}

fn money(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

/// Twenty customers with subscriptions and six months of payments.
fn seed_customers(
    conn: &mut PgConnection,
    plans: &[Uuid],
) -> Result<(), Box<dyn std::error::Error>> {
    for i in 0..20i64 {
        let email = format!("customer{i:02}@example.com");
        let user = conn.users().create(&NewUser::new(&email, "Customer"))?;
        conn.subscriptions()
            .start(user.id, plans[i as usize % plans.len()], None)?;
        // One payment per month for the last (i % 6) + 1 months.
        diesel::sql_query(
            "INSERT INTO payments (user_id, amount_cents, currency, status, created_at)
             SELECT $1, 900 + 100 * $2, $3, 'succeeded',
                    date_trunc('month', now()) - make_interval(months => m::int) + interval '3 days'
               FROM generate_series(0, $2 % 6) AS m",
        )
        .bind::<SqlUuid, _>(user.id)
        .bind::<BigInt, _>(i)
        .bind::<Text, _>("USD")
        .execute(conn)?;
    }
    Ok(())
}
