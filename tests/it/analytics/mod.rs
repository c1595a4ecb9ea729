//! The reporting queries of `conn.analytics()` (`saas_db::views`), each
//! against a small hand-made dataset whose expected numbers are worked out
//! here: one user's dashboard, revenue rankings and trends, engagement and
//! MRR, and bad input.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::{acting_as, is_invalid, named_user, new_plan, plan};
use chrono::{Datelike, Months, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use saas_db::billing::{NewPlan, NewSubscription, Plan};
use saas_db::enums::{BillingInterval, SubscriptionStatus, Theme, UserRole};
use saas_db::ids::UserId;
use saas_db::users::{ProfileChanges, User};
use saas_db::views::{
    CurrencyNet, Engagement, EngagementLevel, MonthlyRevenue, PlanMrr, TopCustomer, UserDashboard,
};
use saas_db::Repos;
use saas_db_testing::TestDatabase;
use uuid::Uuid;

mod dashboard;
mod engagement;
mod revenue;

/// One payment row, written directly so `created_at` can be in the past.
pub(super) struct Pay<'a> {
    user_id: UserId,
    amount_cents: i64,
    refunded_cents: i64,
    currency: &'a str,
    status: &'a str,
}

pub(super) fn pay<'a>(
    user_id: UserId,
    amount_cents: i64,
    currency: &'a str,
    status: &'a str,
) -> Pay<'a> {
    Pay {
        user_id,
        amount_cents,
        refunded_cents: 0,
        currency,
        status,
    }
}

impl Pay<'_> {
    pub(super) fn refunded(mut self, cents: i64) -> Self {
        self.refunded_cents = cents;
        self
    }

    /// Created `days` days before now.
    pub(super) fn days_ago(&self, conn: &mut PgConnection, days: i32) {
        diesel::sql_query(
            "INSERT INTO payments (user_id, amount_cents, refunded_cents, currency, status, created_at)
             VALUES ($1, $2, $3, $4, $5::payment_status, now() - make_interval(days => $6))",
        )
        .bind::<diesel::sql_types::Uuid, _>(self.user_id)
        .bind::<BigInt, _>(self.amount_cents)
        .bind::<BigInt, _>(self.refunded_cents)
        .bind::<Text, _>(self.currency)
        .bind::<Text, _>(self.status)
        .bind::<Integer, _>(days)
        .execute(conn)
        .unwrap();
    }

    /// Created on the 15th, 12:00 UTC, of the month `months_back` months
    /// before the current UTC month.
    pub(super) fn in_month(&self, conn: &mut PgConnection, months_back: i32) {
        diesel::sql_query(
            "INSERT INTO payments (user_id, amount_cents, refunded_cents, currency, status, created_at)
             VALUES ($1, $2, $3, $4, $5::payment_status,
                     (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => $6)
                      + interval '14 days 12 hours') AT TIME ZONE 'UTC')",
        )
        .bind::<diesel::sql_types::Uuid, _>(self.user_id)
        .bind::<BigInt, _>(self.amount_cents)
        .bind::<BigInt, _>(self.refunded_cents)
        .bind::<Text, _>(self.currency)
        .bind::<Text, _>(self.status)
        .bind::<Integer, _>(months_back)
        .execute(conn)
        .unwrap();
    }
}

pub(super) fn usd(net_cents: i64) -> CurrencyNet {
    CurrencyNet {
        currency: "USD".into(),
        net_cents,
    }
}
