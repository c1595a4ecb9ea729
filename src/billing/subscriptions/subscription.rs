//! The `subscriptions` table: [`Subscription`] and [`SubscriptionRepo`]
//! (from `conn.subscriptions()`): starting, reading and listing; the
//! status changes are in `life_cycle.rs`, provider webhooks in
//! `provider_sync.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Interval, Nullable};
use serde::{Deserialize, Serialize};

use super::status::LIVE;
use crate::enums::SubscriptionStatus;
use crate::error::{Found, Result};
use crate::ids::{PlanId, SubscriptionId, UserId};
use crate::schema::subscriptions as subs;
use crate::sql::interval;
use crate::tx::update_versioned;
use crate::validate;

/// A user's subscription to a plan.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    QueryableByName,
    Selectable,
    Identifiable,
    Serialize,
    Deserialize,
)]
#[diesel(table_name = subs, check_for_backend(diesel::pg::Pg))]
pub struct Subscription {
    /// Id.
    pub id: SubscriptionId,
    /// Subscriber.
    pub user_id: UserId,
    /// Plan.
    pub plan_id: PlanId,
    /// Life-cycle state.
    pub status: SubscriptionStatus,
    /// Customer id at the payment provider.
    pub provider_customer_id: Option<String>,
    /// Subscription id at the payment provider (unique).
    pub provider_subscription_id: Option<String>,
    /// Current billing period start.
    pub current_period_start: Option<DateTime<Utc>>,
    /// Current billing period end.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Ends at the period end instead of renewing.
    pub cancel_at_period_end: bool,
    /// When it was canceled.
    pub canceled_at: Option<DateTime<Utc>>,
    /// When the trial ends.
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Subscriptions repository.
pub struct SubscriptionRepo<'c> {
    pub(super) conn: &'c mut PgConnection,
}

impl<'c> SubscriptionRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        SubscriptionRepo { conn }
    }

    /// Starts a subscription to an active plan: `trialing` until `now +
    /// trial` when a trial is given (the trial is its first period), else
    /// `active` with a first period of the plan's interval. One statement.
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] with `subscriptions_one_live_per_user` when the
    /// user already has a live (trialing, active, past due) subscription;
    /// [`crate::Error::NotFound`] for a missing or archived plan;
    /// [`crate::Error::ForeignKey`] with `subscriptions_user_id_fkey` for an unknown user;
    /// [`crate::Error::Invalid`] naming `trial` outside [`validate::duration`]'s bounds.
    pub fn start(
        &mut self,
        user_id: UserId,
        plan_id: PlanId,
        trial: Option<Duration>,
    ) -> Result<Subscription> {
        let trial = trial
            .map(|t| validate::duration("trial", t, validate::DURATION_MAX))
            .transpose()?;
        // `RETURNING subscriptions.*`: `Subscription` is read by column
        // name (`QueryableByName`), so column order does not matter.
        let sql = "INSERT INTO subscriptions (id, user_id, plan_id, status, trial_ends_at,
                                        current_period_start, current_period_end)
             SELECT $1, $2, p.id,
                    CASE WHEN $4::interval IS NULL THEN 'active' ELSE 'trialing' END::subscription_status,
                    now() + $4, now(),
                    -- a trial is the first period; otherwise one plan interval
                    coalesce(now() + $4,
                             now() + CASE p.interval WHEN 'year' THEN interval '1 year'
                                                     ELSE interval '1 month' END)
               FROM subscription_plans p WHERE p.id = $3 AND p.is_active
             RETURNING subscriptions.*";
        diesel::sql_query(sql)
            .bind::<diesel::sql_types::Uuid, _>(SubscriptionId::now_v7())
            .bind::<diesel::sql_types::Uuid, _>(user_id)
            .bind::<diesel::sql_types::Uuid, _>(plan_id)
            .bind::<Nullable<Interval>, _>(trial.map(interval))
            .get_result(self.conn)
            .found("active plan")
    }

    /// The subscription.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    pub fn get(&mut self, id: SubscriptionId) -> Result<Subscription> {
        crate::sql::one(self.conn, subs::table.find(id), "subscription")
    }

    /// Moves a subscription to another plan if it is still at `expected_version`.
    ///
    /// # Errors
    /// [`crate::Error::Stale`], [`crate::Error::NotFound`], [`crate::Error::ForeignKey`] for an unknown plan.
    pub fn change_plan(
        &mut self,
        id: SubscriptionId,
        expected_version: i32,
        plan_id: PlanId,
    ) -> Result<Subscription> {
        update_versioned(
            self.conn,
            diesel::update(
                subs::table
                    .find(id)
                    .filter(subs::version.eq(expected_version)),
            )
            .set(subs::plan_id.eq(plan_id))
            .returning(Subscription::as_returning()),
            ("subscription", id, expected_version),
            subs::table.find(id).select(subs::version),
        )
    }

    /// The user's live subscription, if any.
    ///
    /// # Errors
    /// Database errors only.
    pub fn live_for_user(&mut self, user_id: UserId) -> Result<Option<Subscription>> {
        Ok(subs::table
            .filter(subs::user_id.eq(user_id))
            .filter(subs::status.eq_any(LIVE))
            .select(Subscription::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// Every subscription the user ever had, newest first.
    ///
    /// # Errors
    /// Database errors only.
    pub fn history_for_user(&mut self, user_id: UserId) -> Result<Vec<Subscription>> {
        Ok(subs::table
            .filter(subs::user_id.eq(user_id))
            .order((subs::created_at.desc(), subs::id.desc()))
            .select(Subscription::as_select())
            .load(self.conn)?)
    }
}
