//! Every billing call: plans (create, list, archive, delete), a
//! subscription's life (start, renew, change_plan, mark_past_due,
//! reactivate, cancel, history), provider webhooks (`sync_from_provider`:
//! insert, replay, a legal and an illegal status jump; a `start` with the
//! provider's id that its webhook then updates), payments (record with
//! a webhook replay, mark_succeeded / mark_failed, refund, versioned update,
//! list_for_user paged, totals_per_currency, users().transfer_data) and every
//! conn.analytics() report (monthly_revenue, top_customers, mrr_by_plan,
//! user_dashboard, engagement, users_with_recent_payments).
//!
//! ```sh
//! cargo run --example billing     # throwaway PostgreSQL unless DATABASE_URL is set
//! ```

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use saas_db::access::Actor;
use saas_db::billing::{
    NewPayment, NewPlan, NewSubscription, PaymentChanges, ProviderSubscription,
};
use saas_db::enums::{BillingInterval, PaymentStatus, SubscriptionStatus};
use saas_db::ids::{PlanId, UserId};
use saas_db::users::{NewUser, TransferOptions};
use saas_db::{Database, Error, PageRequest, Repos};
use uuid::Uuid;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = saas_db_testing::EmbeddedPostgres::url_or_start()?;
    let db = Database::builder(&url).schema("billing_example").build()?;
    let mut conn = db.conn()?;

    println!("1. plans");
    let plan = |name, price, interval, order| NewPlan {
        name,
        description: None,
        price_cents: price,
        currency: "USD".into(),
        interval,
        features: vec!["Projects".into(), "Email support".into()],
        sort_order: order,
    };
    let starter = conn
        .plans()
        .create(&plan("Starter".into(), 900, BillingInterval::Month, 1))?;
    let pro = conn
        .plans()
        .create(&plan("Pro".into(), 2900, BillingInterval::Month, 2))?;
    let pro_yearly =
        conn.plans()
            .create(&plan("Pro yearly".into(), 29_000, BillingInterval::Year, 3))?;
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
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(ada.id, starter.id).trial(Duration::from_secs(14 * 86_400)))?;
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
    let sub = conn
        .subscriptions()
        .cancel(&Actor::from(&ada), sub.id, true)?;
    println!(
        "   cancel at period end: status {:?}, cancel_at_period_end {}",
        sub.status, sub.cancel_at_period_end
    );
    let sub = conn.subscriptions().renew(sub.id)?;
    println!("   period ended:       {:?}", sub.status);
    let history = conn.subscriptions().history_for_user(ada.id)?;
    println!("   history: {} subscription(s)", history.len());

    println!("\n2b. provider webhooks (sync_from_provider)");
    webhooks(&mut conn, pro.id)?;

    println!("\n3. payments");
    let pay = |user, cents, provider_id| NewPayment {
        user_id: user,
        subscription_id: None,
        amount_cents: cents,
        currency: "USD".into(),
        status: PaymentStatus::Succeeded,
        provider_payment_id: provider_id,
        description: Some("Pro, monthly".into()),
        metadata: serde_json::json!({ "source": "example" }),
    };
    let (first, created) = conn
        .payments()
        .record(&pay(ada.id, 2900, Some("pi_123".into())))?;
    let (replay, created_again) =
        conn.payments()
            .record(&pay(ada.id, 2900, Some("pi_123".into())))?;
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
    more_payments(&mut conn, ada.id)?;

    println!("\n4. analytics over seeded customers");
    seed_customers(
        &mut conn,
        &[starter.id.into(), pro.id.into(), pro_yearly.id.into()],
    )?;
    println!("   monthly revenue (USD):");
    println!(
        "   {:<10} {:>9} {:>11} {:>8}",
        "month", "payments", "revenue", "growth"
    );
    for m in conn.analytics().monthly_revenue("USD", 6)? {
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
    for c in conn.analytics().top_customers("USD", 3)? {
        println!(
            "   #{} {:<22} {:>3} payments {:>11}",
            c.rank,
            c.email,
            c.payment_count,
            money(c.total_cents)
        );
    }
    println!("\n   MRR by plan:");
    for p in conn.analytics().mrr_by_plan()? {
        println!(
            "   {:<11} {:>3} subscriptions {:>11}",
            p.plan_name,
            p.subscriptions,
            money(p.mrr_cents)
        );
    }
    let dash = conn
        .analytics()
        .user_dashboard(ada.id)?
        .ok_or("no dashboard")?;
    println!(
        "\n   dashboard for {}: {:?} on {:?}, {} payments, net {:?}",
        dash.name, dash.subscription_status, dash.plan_name, dash.payment_count, dash.net_paid
    );
    println!("\n   engagement (first 3):");
    for e in conn.analytics().engagement(None)?.iter().take(3) {
        println!(
            "   {:<10} {:>3} payments, level {:?}",
            e.name, e.payment_count, e.level
        );
    }
    let recent = conn.analytics().users_with_recent_payments(30)?;
    println!("   users who paid in the last 30 days: {}", recent.len());

    println!("\n5. retiring plans");
    let archived = conn.plans().archive(pro_yearly.id)?;
    println!(
        "   archived {:?}: active {}, {} plans still listed",
        archived.name,
        archived.is_active,
        conn.plans().list_active()?.len()
    );
    match conn.plans().delete(starter.id) {
        Err(e @ Error::ForeignKey { .. }) => println!("   deleting Starter: {e}"),
        other => return Err(format!("expected ForeignKey, got {other:?}").into()),
    }
    let unused = conn
        .plans()
        .create(&plan("Unused".into(), 100, BillingInterval::Month, 9))?;
    conn.plans().delete(unused.id)?;
    println!("   deleted the unused plan");
    Ok(())
}

/// A provider subscription arrives, is delivered again, moves on, and a
/// jump the transition table does not allow is refused.
fn webhooks(conn: &mut PgConnection, plan_id: PlanId) -> Result<(), Box<dyn std::error::Error>> {
    let grace = conn
        .users()
        .create(&NewUser::new("grace@example.com", "Grace"))?;
    let delivery = |status| ProviderSubscription {
        provider_subscription_id: "sub_grace".into(),
        provider_customer_id: Some("cus_grace".into()),
        user_id: grace.id,
        plan_id,
        status,
        current_period_start: None,
        current_period_end: None,
        cancel_at_period_end: false,
        canceled_at: None,
        trial_ends_at: None,
    };
    for status in [
        SubscriptionStatus::Incomplete,
        SubscriptionStatus::Incomplete,
        SubscriptionStatus::Active,
    ] {
        let (sub, outcome) = conn.subscriptions().sync_from_provider(&delivery(status))?;
        println!("   delivered {status:?}: {outcome:?}, now {:?}", sub.status);
    }
    match conn
        .subscriptions()
        .sync_from_provider(&delivery(SubscriptionStatus::Incomplete))
    {
        Err(e @ Error::Invalid { .. }) => println!("   delivered Incomplete again: {e}"),
        other => return Err(format!("expected Invalid, got {other:?}").into()),
    }

    // Started at checkout with the provider's id: its webhook updates it.
    let alan = conn
        .users()
        .create(&NewUser::new("alan@example.com", "Alan"))?;
    let started = conn.subscriptions().start(
        &NewSubscription::new(alan.id, plan_id)
            .trial(Duration::from_secs(7 * 86_400))
            .provider("sub_alan", Some("cus_alan")),
    )?;
    let (synced, outcome) = conn
        .subscriptions()
        .sync_from_provider(&ProviderSubscription {
            provider_subscription_id: "sub_alan".into(),
            provider_customer_id: Some("cus_alan".into()),
            user_id: alan.id,
            status: SubscriptionStatus::Active,
            ..delivery(SubscriptionStatus::Active)
        })?;
    println!(
        "   started {:?} with the provider's id, its webhook: {outcome:?} to {:?}, same row: {}",
        started.status,
        synced.status,
        synced.id == started.id
    );
    Ok(())
}

/// Settling, a versioned edit, paging, totals and a transfer.
fn more_payments(conn: &mut PgConnection, ada: UserId) -> Result<(), Box<dyn std::error::Error>> {
    let pending = |cents, currency| NewPayment {
        user_id: ada,
        subscription_id: None,
        amount_cents: cents,
        currency,
        status: PaymentStatus::Pending,
        provider_payment_id: None,
        description: None,
        metadata: serde_json::json!({}),
    };
    let (eur, _) = conn.payments().record(&pending(1500, "EUR".into()))?;
    let eur = conn.payments().mark_succeeded(eur.id)?;
    let (declined, _) = conn.payments().record(&pending(2900, "USD".into()))?;
    let declined = conn.payments().mark_failed(declined.id)?;
    println!(
        "   settled: EUR {:?} (version {}), USD {:?}",
        eur.status, eur.version, declined.status
    );
    let note = PaymentChanges {
        description: Some(Some("Pro, monthly (EU)".into())),
        ..Default::default()
    };
    let edited = conn.payments().update(eur.id, eur.version, &note)?;
    match conn.payments().update(eur.id, eur.version, &note) {
        Err(e @ Error::Stale { .. }) => println!("   edit at version {}: {e}", eur.version),
        other => return Err(format!("expected Stale, got {other:?}").into()),
    }
    println!("   edited: version {}", edited.version);
    let mut page = conn.payments().list_for_user(ada, PageRequest::first(2))?;
    for n in 1..=10 {
        println!("   page {n}: {} payment(s)", page.items.len());
        match page.next_cursor() {
            Some(cursor) => {
                page = conn
                    .payments()
                    .list_for_user(ada, PageRequest::after(cursor, 2))?
            }
            None => break,
        }
    }
    for t in conn.payments().totals_per_currency(Some(ada))? {
        println!(
            "   {}: {} payments, net {}",
            t.currency, t.payments, t.net_cents
        );
    }
    let new_account = conn
        .users()
        .create(&NewUser::new("ada.lovelace@example.com", "Ada"))?;
    let moved = conn
        .users()
        .transfer_data(ada, new_account.id, TransferOptions::default())?;
    println!(
        "   moved to Ada's new account: {} payments, profile {}",
        moved.payments_moved, moved.profile_moved
    );
    conn.users()
        .transfer_data(new_account.id, ada, TransferOptions::default())?;
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
        conn.subscriptions().start(&NewSubscription::new(
            user.id,
            PlanId(plans[i as usize % plans.len()]),
        ))?;
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
