//! Billing analytics, `conn.analytics()` ([`AnalyticsRepo`]): the seed
//! applications' reporting queries over users, payments, subscriptions and
//! plans, each one statement with a typed result row. The SQL shape of each (join, EXISTS, window, CTE) is in
//! its doc comment. Money is summed per currency, net of refunds, over
//! payments that succeeded (including those later refunded).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::dsl::exists;
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Integer, Nullable, Text, Timestamptz};
use serde::{Deserialize, Serialize};

use crate::billing::validate_currency;
use crate::enums::{BillingInterval, PaymentStatus};
use crate::error::{Error, Result};
use crate::ids::{PlanId, UserId};
use crate::schema::{payments, sql_types, users};
use crate::sql::{interval, now_tz};
use crate::users::User;

/// Billing analytics: reads across users and billing. Get one with
/// [`crate::Repos::analytics`].
pub struct AnalyticsRepo<'c> {
    pub(super) conn: &'c mut PgConnection,
}

/// A customer ranked by payment volume.
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, Deserialize)]
pub struct TopCustomer {
    /// 1 for the largest; ties share a rank.
    #[diesel(sql_type = BigInt)]
    pub rank: i64,
    /// User id.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: UserId,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Email.
    #[diesel(sql_type = Text)]
    pub email: String,
    /// Succeeded payments.
    #[diesel(sql_type = BigInt)]
    pub payment_count: i64,
    /// Their net total.
    #[diesel(sql_type = BigInt)]
    pub total_cents: i64,
    /// Mean per payment, rounded.
    #[diesel(sql_type = BigInt)]
    pub average_cents: i64,
}

/// Revenue of one calendar month (UTC).
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, Deserialize)]
pub struct MonthlyRevenue {
    /// First day of the month.
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    /// Succeeded payments that month.
    #[diesel(sql_type = BigInt)]
    pub payment_count: i64,
    /// Their net total (0 for a month without revenue).
    #[diesel(sql_type = BigInt)]
    pub revenue_cents: i64,
    /// The month before's net total.
    #[diesel(sql_type = BigInt)]
    pub previous_cents: i64,
    /// Change against the month before, in percent, two decimals; `None`
    /// when the month before had no revenue.
    #[diesel(sql_type = Nullable<Double>)]
    pub growth_percent: Option<f64>,
}

/// How engaged a user is, by succeeded payments: none (0), low (1-2),
/// medium (3-9), high (10 or more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, FromSqlRow, AsExpression)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum EngagementLevel {
    /// No payment.
    None,
    /// 1 or 2.
    Low,
    /// 3 to 9.
    Medium,
    /// 10 or more.
    High,
}

impl FromSql<Text, Pg> for EngagementLevel {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        match <String as FromSql<Text, Pg>>::from_sql(value)?.as_str() {
            "none" => Ok(EngagementLevel::None),
            "low" => Ok(EngagementLevel::Low),
            "medium" => Ok(EngagementLevel::Medium),
            "high" => Ok(EngagementLevel::High),
            other => Err(format!("unknown engagement level {other:?}").into()),
        }
    }
}

/// One user's engagement.
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, Deserialize)]
pub struct Engagement {
    /// User id.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: UserId,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Succeeded payments.
    #[diesel(sql_type = BigInt)]
    pub payment_count: i64,
    /// The latest of them.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_payment_at: Option<DateTime<Utc>>,
    /// Whole days since then.
    #[diesel(sql_type = Nullable<Integer>)]
    pub days_since_last_activity: Option<i32>,
    /// The level.
    #[diesel(sql_type = Text)]
    pub level: EngagementLevel,
}

/// Monthly recurring revenue of one plan.
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, Deserialize)]
pub struct PlanMrr {
    /// Plan id.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub plan_id: PlanId,
    /// Plan name.
    #[diesel(sql_type = Text)]
    pub plan_name: String,
    /// Plan currency.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Plan interval.
    #[diesel(sql_type = sql_types::BillingInterval)]
    pub interval: BillingInterval,
    /// Paying subscriptions (active or past due).
    #[diesel(sql_type = BigInt)]
    pub subscriptions: i64,
    /// Their monthly revenue: yearly prices divided by 12, rounded to the cent.
    #[diesel(sql_type = BigInt)]
    pub mrr_cents: i64,
}

impl<'c> AnalyticsRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        AnalyticsRepo { conn }
    }

    /// Users with a succeeded payment in the last `days` days, most recently
    /// updated first (seed: getUsersWithRecentActivity).
    ///
    /// Shape: **EXISTS subquery**: `users WHERE EXISTS (SELECT .. FROM payments
    /// WHERE payments.user_id = users.id AND created_at > now() - $days)`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for `days` outside 1..=3650.
    pub fn users_with_recent_payments(&mut self, days: u32) -> Result<Vec<User>> {
        if !(1..=3650).contains(&days) {
            return Err(Error::invalid("days", "must be between 1 and 3650"));
        }
        let since = now_tz() - interval(std::time::Duration::from_secs(u64::from(days) * 86_400));
        Ok(users::table
            .filter(users::deleted_at.is_null())
            .filter(exists(
                payments::table
                    .filter(payments::user_id.eq(users::id))
                    .filter(
                        payments::status
                            .eq_any([PaymentStatus::Succeeded, PaymentStatus::Refunded]),
                    )
                    .filter(payments::created_at.gt(since)),
            ))
            .order((users::updated_at.desc(), users::id))
            .select(User::as_select())
            .load(self.conn)?)
    }

    /// The `limit` customers with the largest net volume in `currency` (seed:
    /// getTopUsersByTransactionVolume).
    ///
    /// Shape: **window function**: `RANK() OVER (ORDER BY sum(net) DESC)` over
    /// payments joined to users and grouped by user.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad currency or a limit outside 1..=1000.
    pub fn top_customers(&mut self, currency: &str, limit: i64) -> Result<Vec<TopCustomer>> {
        validate_currency(currency)?;
        crate::pagination::check_row_limit(limit)?;
        Ok(diesel::sql_query(
            "SELECT rank() OVER (ORDER BY sum(p.amount_cents - p.refunded_cents) DESC) AS rank,
                    u.id AS user_id, u.name, u.email,
                    count(*) AS payment_count,
                    sum(p.amount_cents - p.refunded_cents)::bigint AS total_cents,
                    round(avg(p.amount_cents - p.refunded_cents))::bigint AS average_cents
               FROM payments p
               JOIN users u ON u.id = p.user_id
              WHERE p.status IN ('succeeded', 'refunded') AND p.currency = $1
              GROUP BY u.id
              ORDER BY rank, u.id
              LIMIT $2",
        )
        .bind::<Text, _>(currency)
        .bind::<BigInt, _>(limit)
        .load(self.conn)?)
    }

    /// Net revenue in `currency` for each of the last `months` calendar months
    /// (UTC), oldest first, including the current one; months without revenue
    /// appear with zero (seed: getMonthlyTransactionTrends).
    ///
    /// Shape: **DATE_TRUNC and LAG**: a `generate_series` of months LEFT JOINed
    /// to payments grouped by `date_trunc('month', ..)`, with
    /// `LAG(revenue) OVER (ORDER BY month)` for the previous month and growth.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad currency or `months` outside 1..=120.
    pub fn monthly_revenue(&mut self, currency: &str, months: i32) -> Result<Vec<MonthlyRevenue>> {
        validate_currency(currency)?;
        if !(1..=120).contains(&months) {
            return Err(Error::invalid("months", "must be between 1 and 120"));
        }
        Ok(diesel::sql_query(
            "WITH bounds AS (
                 SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AS this_month
             ), series AS (
                 -- one month more than asked, so the first month has a predecessor
                 SELECT generate_series(this_month - make_interval(months => $2), this_month,
                                        interval '1 month') AS month
                   FROM bounds
             ), revenue AS (
                 SELECT date_trunc('month', p.created_at AT TIME ZONE 'UTC') AS month,
                        count(*) AS payments, sum(p.amount_cents - p.refunded_cents) AS cents
                   FROM payments p, bounds b
                  WHERE p.status IN ('succeeded', 'refunded') AND p.currency = $1
                    AND p.created_at >= (b.this_month - make_interval(months => $2)) AT TIME ZONE 'UTC'
                  GROUP BY 1
             ), monthly AS (
                 SELECT s.month, coalesce(r.payments, 0) AS payment_count,
                        coalesce(r.cents, 0)::bigint AS revenue_cents,
                        lag(coalesce(r.cents, 0)) OVER (ORDER BY s.month) AS previous
                   FROM series s LEFT JOIN revenue r ON r.month = s.month
             )
             SELECT month::date AS month, payment_count, revenue_cents,
                    coalesce(previous, 0)::bigint AS previous_cents,
                    round((revenue_cents - previous) * 100.0 / nullif(previous, 0), 2)::float8
                        AS growth_percent
               FROM monthly, bounds
              WHERE month > bounds.this_month - make_interval(months => $2)
              ORDER BY month",
        )
        .bind::<Text, _>(currency)
        .bind::<Integer, _>(months)
        .load(self.conn)?)
    }

    /// Engagement of every live user, or of one (seed: getUserEngagementMetrics),
    /// most engaged first.
    ///
    /// Shape: **CTE**: `WITH activity AS (users LEFT JOIN payments GROUP BY
    /// user), scored AS (SELECT .., CASE .. END AS level, days since last
    /// payment FROM activity) SELECT .. FROM scored`.
    ///
    /// # Errors
    /// Database errors only.
    pub fn engagement(&mut self, user_id: Option<UserId>) -> Result<Vec<Engagement>> {
        Ok(diesel::sql_query(
            "WITH activity AS (
                 SELECT u.id AS user_id, u.name, count(p.id) AS payment_count,
                        max(p.created_at) AS last_payment_at
                   FROM users u
                   LEFT JOIN payments p
                          ON p.user_id = u.id AND p.status IN ('succeeded', 'refunded')
                  WHERE u.deleted_at IS NULL AND ($1::uuid IS NULL OR u.id = $1)
                  GROUP BY u.id
             ), scored AS (
                 SELECT user_id, name, payment_count, last_payment_at,
                        extract(day FROM now() - last_payment_at)::int AS days_since_last_activity,
                        CASE WHEN payment_count = 0 THEN 'none'
                             WHEN payment_count <= 2 THEN 'low'
                             WHEN payment_count <= 9 THEN 'medium'
                             ELSE 'high' END AS level
                   FROM activity
             )
             SELECT * FROM scored ORDER BY payment_count DESC, user_id",
        )
        .bind::<Nullable<diesel::sql_types::Uuid>, _>(user_id)
        .load(self.conn)?)
    }

    /// MRR per plan over paying subscriptions, yearly plans normalised to
    /// months; plans without paying subscriptions are left out. Largest first.
    ///
    /// Shape: **join with conditional aggregate**: subscriptions JOIN plans,
    /// `sum(CASE interval WHEN 'year' THEN price / 12.0 ELSE price END)`.
    ///
    /// # Errors
    /// Database errors only.
    pub fn mrr_by_plan(&mut self) -> Result<Vec<PlanMrr>> {
        Ok(diesel::sql_query(
            "SELECT pl.id AS plan_id, pl.name AS plan_name, pl.currency, pl.interval,
                    count(*) AS subscriptions,
                    round(sum(CASE pl.interval WHEN 'year' THEN pl.price_cents / 12.0
                                               ELSE pl.price_cents END))::bigint AS mrr_cents
               FROM subscriptions s
               JOIN subscription_plans pl ON pl.id = s.plan_id
              WHERE s.status IN ('active', 'past_due')
              GROUP BY pl.id
              ORDER BY mrr_cents DESC, pl.id",
        )
        .load(self.conn)?)
    }
}
