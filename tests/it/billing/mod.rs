//! Billing: plans, the subscription life cycle and its transition table,
//! provider sync, payments (idempotent recording, settling, refunds under
//! concurrency, keyset listing, totals) and moving data between users.

mod checks;
mod payment_versions;
mod payments;
mod plans;
mod provider_sync;
mod start_and_sync;
mod subscription_lifecycle;
mod subscriptions;
mod transfers;
mod transitions;

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::support::{
    acting_as, count_bound, is_conflict, is_invalid, micros, new_payment, new_plan, plan,
    support_agent, user, Count,
};
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use saas_db::billing::{
    CurrencyTotal, NewPlan, NewSubscription, Payment, Plan, PlanChanges, ProviderSubscription,
    Subscription, SyncOutcome, TRANSITIONS,
};
use saas_db::enums::{BillingInterval, PaymentStatus, SubscriptionStatus, Theme};
use saas_db::ids::{SubscriptionId, UserId};
use saas_db::users::ProfileChanges;
use saas_db::users::{TransferOptions, TransferReport};
use saas_db::{Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

fn count_payments_of(conn: &mut PgConnection, user_id: UserId) -> i64 {
    count_bound::<diesel::sql_types::Uuid, _>(
        conn,
        "SELECT count(*) AS n FROM payments WHERE user_id = $1",
        user_id,
    )
}

fn pay(
    conn: &mut PgConnection,
    user_id: UserId,
    amount_cents: i64,
    currency: &str,
    status: PaymentStatus,
) -> Payment {
    let (p, created) = conn
        .payments()
        .record(&new_payment(user_id, amount_cents, currency, status))
        .unwrap();
    assert!(created);
    p
}

#[derive(QueryableByName)]
struct Ts {
    #[diesel(sql_type = Timestamptz)]
    t: DateTime<Utc>,
}

/// `t + interval` computed by the server (calendar months, session time zone),
/// the same arithmetic the repository's SQL does.
fn plus_interval(conn: &mut PgConnection, t: DateTime<Utc>, interval: &str) -> DateTime<Utc> {
    diesel::sql_query("SELECT $1 + $2::interval AS t")
        .bind::<Timestamptz, _>(t)
        .bind::<Text, _>(interval)
        .get_result::<Ts>(conn)
        .unwrap()
        .t
}

/// The Postgres label of a status (`PastDue` is `past_due`).
fn label(status: SubscriptionStatus) -> String {
    serde_json::to_value(status)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// Puts a subscription into `status` directly, satisfying the CHECKs
/// (canceled needs canceled_at, trialing needs trial_ends_at).
fn force_status(conn: &mut PgConnection, id: SubscriptionId, status: SubscriptionStatus) {
    let n = diesel::sql_query(
        "UPDATE subscriptions SET status = $1::subscription_status,
                canceled_at = CASE WHEN $1 = 'canceled' THEN now() END,
                trial_ends_at = CASE WHEN $1 = 'trialing' THEN now() + interval '7 days' END,
                cancel_at_period_end = false
          WHERE id = $2",
    )
    .bind::<Text, _>(label(status))
    .bind::<diesel::sql_types::Uuid, _>(id)
    .execute(conn)
    .unwrap();
    assert_eq!(n, 1);
}

/// Profile changes setting the theme and bio.
fn profile(theme: Theme, bio: &str) -> ProfileChanges<'_> {
    ProfileChanges {
        theme: Some(theme),
        bio: Some(Some(bio.into())),
        ..Default::default()
    }
}
