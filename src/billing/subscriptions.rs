//! Subscriptions: [`SubscriptionRepo`], from `conn.subscriptions()`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use diesel::sql_types::{Array, Bool, Interval, Nullable, Timestamptz};
use serde::Serialize;
use uuid::Uuid;

use super::status::{sources_of, sources_or_same, LIVE};
use crate::access::Actor;
use crate::audit;
use crate::enums::SubscriptionStatus;
use crate::error::{Error, Found, Result};
use crate::schema::sql_types::SubscriptionStatus as StatusSql;
use crate::schema::subscriptions as subs;
use crate::sql::interval;
use crate::tx::versioned;
use crate::validate;

/// A user's subscription to a plan.
#[derive(
    Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Serialize,
)]
#[diesel(table_name = subs, check_for_backend(diesel::pg::Pg))]
pub struct Subscription {
    /// Id.
    pub id: Uuid,
    /// Subscriber.
    pub user_id: Uuid,
    /// Plan.
    pub plan_id: Uuid,
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

/// The RETURNING clause of the hand-written statements (every column, in
/// `Subscription`'s order), as a literal so statements are `&'static str`.
macro_rules! returning_subscription {
    () => {
        " RETURNING subscriptions.id, subscriptions.user_id, subscriptions.plan_id, \
         subscriptions.status, subscriptions.provider_customer_id, \
         subscriptions.provider_subscription_id, subscriptions.current_period_start, \
         subscriptions.current_period_end, subscriptions.cancel_at_period_end, \
         subscriptions.canceled_at, subscriptions.trial_ends_at, subscriptions.version, \
         subscriptions.created_at, subscriptions.updated_at"
    };
}

/// Subscriptions repository.
pub struct SubscriptionRepo<'c> {
    pub(super) conn: &'c mut PgConnection,
    actor: Option<Uuid>,
}

impl<'c> SubscriptionRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        SubscriptionRepo { conn, actor: None }
    }

    /// The same repository, acting for `actor`: `cancel` then writes a
    /// `canceled` audit entry with the changed fields, in the same
    /// transaction as the change.
    pub fn acting(mut self, actor: &Actor) -> Self {
        self.actor = Some(actor.user_id);
        self
    }

    /// Starts a subscription to an active plan: `trialing` until `now +
    /// trial` when a trial is given (the trial is its first period), else
    /// `active` with a first period of the plan's interval. One statement.
    ///
    /// # Errors
    /// [`Error::Conflict`] with `subscriptions_one_live_per_user` when the
    /// user already has a live (trialing, active, past due) subscription;
    /// [`Error::NotFound`] for a missing or archived plan;
    /// [`Error::ForeignKey`] with `subscriptions_user_id_fkey` for an unknown user;
    /// [`Error::Invalid`] naming `trial` outside [`validate::duration`]'s bounds.
    pub fn start(
        &mut self,
        user_id: Uuid,
        plan_id: Uuid,
        trial: Option<Duration>,
    ) -> Result<Subscription> {
        let trial = trial
            .map(|t| validate::duration("trial", t, validate::DURATION_MAX))
            .transpose()?;
        let sql = concat!(
            "INSERT INTO subscriptions (id, user_id, plan_id, status, trial_ends_at,
                                        current_period_start, current_period_end)
             SELECT $1, $2, p.id,
                    CASE WHEN $4::interval IS NULL THEN 'active' ELSE 'trialing' END::subscription_status,
                    now() + $4, now(),
                    -- a trial is the first period; otherwise one plan interval
                    coalesce(now() + $4,
                             now() + CASE p.interval WHEN 'year' THEN interval '1 year'
                                                     ELSE interval '1 month' END)
               FROM subscription_plans p WHERE p.id = $3 AND p.is_active",
            returning_subscription!()
        );
        diesel::sql_query(sql)
            .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
            .bind::<diesel::sql_types::Uuid, _>(user_id)
            .bind::<diesel::sql_types::Uuid, _>(plan_id)
            .bind::<Nullable<Interval>, _>(trial.map(interval))
            .get_result(self.conn)
            .found("active plan")
    }

    /// The subscription.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn get(&mut self, id: Uuid) -> Result<Subscription> {
        subs::table
            .find(id)
            .select(Subscription::as_select())
            .first(self.conn)
            .found("subscription")
    }

    /// Moves a subscription to another plan if it is still at `expected_version`.
    ///
    /// # Errors
    /// [`Error::Stale`], [`Error::NotFound`], [`Error::ForeignKey`] for an unknown plan.
    pub fn change_plan(
        &mut self,
        id: Uuid,
        expected_version: i32,
        plan_id: Uuid,
    ) -> Result<Subscription> {
        let updated = diesel::update(
            subs::table
                .find(id)
                .filter(subs::version.eq(expected_version)),
        )
        .set(subs::plan_id.eq(plan_id))
        .returning(Subscription::as_returning())
        .get_result(self.conn)
        .optional()?;
        versioned(updated, "subscription", id, expected_version, || {
            subs::table
                .find(id)
                .select(subs::version)
                .first(self.conn)
                .optional()
        })
    }

    /// Cancels now (`canceled`), or at the end of the current period
    /// (`cancel_at_period_end`, status unchanged until `renew`). Audited
    /// when the repository is [`acting`](SubscriptionRepo::acting) for someone.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the transition when it is not allowed;
    /// [`Error::NotFound`].
    pub fn cancel(&mut self, id: Uuid, at_period_end: bool) -> Result<Subscription> {
        let lock = |c: &mut PgConnection| -> Result<Subscription> {
            subs::table
                .find(id)
                .select(Subscription::as_select())
                .for_update()
                .first(c)
                .found("subscription")
        };
        let actor = self.actor;
        audit::audited(
            self.conn,
            actor,
            "canceled",
            ("subscription", id),
            lock,
            |c| {
                let mut repo = SubscriptionRepo::new(c);
                if !at_period_end {
                    return repo.transition(id, SubscriptionStatus::Canceled);
                }
                diesel::update(subs::table.find(id).filter(subs::status.eq_any(LIVE)))
                    .set(subs::cancel_at_period_end.eq(true))
                    .returning(Subscription::as_returning())
                    .get_result(repo.conn)
                    .optional()?
                    .map_or_else(|| Err(repo.refusal(id, SubscriptionStatus::Canceled)), Ok)
            },
        )
    }

    /// Starts the next period after a successful payment: the period moves
    /// forward by the plan's interval and the status becomes `active`; a
    /// subscription set to cancel at period end becomes `canceled` instead.
    /// Only a live subscription renews, and only along
    /// [`TRANSITIONS`](super::TRANSITIONS) (checked in the same statement).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `status` when it is not live; [`Error::NotFound`].
    pub fn renew(&mut self, id: Uuid) -> Result<Subscription> {
        let sql = concat!(
            "UPDATE subscriptions SET
                 status = CASE WHEN subscriptions.cancel_at_period_end THEN 'canceled' ELSE 'active' END::subscription_status,
                 canceled_at = CASE WHEN subscriptions.cancel_at_period_end THEN now() END,
                 current_period_start = CASE WHEN subscriptions.cancel_at_period_end THEN subscriptions.current_period_start
                                             ELSE coalesce(subscriptions.current_period_end, now()) END,
                 current_period_end = CASE WHEN subscriptions.cancel_at_period_end THEN subscriptions.current_period_end
                                           ELSE coalesce(subscriptions.current_period_end, now())
                                                + CASE p.interval WHEN 'year' THEN interval '1 year'
                                                                  ELSE interval '1 month' END END,
                 trial_ends_at = CASE WHEN subscriptions.status = 'trialing' THEN least(subscriptions.trial_ends_at, now())
                                      ELSE subscriptions.trial_ends_at END
               FROM subscription_plans p
              WHERE subscriptions.id = $1 AND p.id = subscriptions.plan_id
                AND subscriptions.status = ANY($2)
                -- the status it ends in must be reachable by the transition table
                AND CASE WHEN subscriptions.cancel_at_period_end THEN subscriptions.status = ANY($4)
                         ELSE subscriptions.status = ANY($3) END",
            returning_subscription!()
        );
        diesel::sql_query(sql)
            .bind::<diesel::sql_types::Uuid, _>(id)
            .bind::<Array<StatusSql>, _>(LIVE.to_vec())
            .bind::<Array<StatusSql>, _>(sources_or_same(SubscriptionStatus::Active))
            .bind::<Array<StatusSql>, _>(sources_of(SubscriptionStatus::Canceled))
            .get_result(self.conn)
            .optional()?
            .map_or_else(|| Err(self.refusal(id, SubscriptionStatus::Active)), Ok)
    }

    /// `active`/`trialing` to `past_due` (a renewal payment failed).
    ///
    /// # Errors
    /// As [`SubscriptionRepo::cancel`].
    pub fn mark_past_due(&mut self, id: Uuid) -> Result<Subscription> {
        self.transition(id, SubscriptionStatus::PastDue)
    }

    /// `past_due` to `unpaid` (retries ran out).
    ///
    /// # Errors
    /// As [`SubscriptionRepo::cancel`].
    pub fn mark_unpaid(&mut self, id: Uuid) -> Result<Subscription> {
        self.transition(id, SubscriptionStatus::Unpaid)
    }

    /// Back to `active` from `past_due`, `unpaid`, `canceled` or `incomplete`.
    ///
    /// # Errors
    /// As [`SubscriptionRepo::cancel`]; [`Error::Conflict`] with
    /// `subscriptions_one_live_per_user` when the user has another live one.
    pub fn reactivate(&mut self, id: Uuid) -> Result<Subscription> {
        self.transition(id, SubscriptionStatus::Active)
    }

    /// One conditional UPDATE: changes the status only from a status the
    /// transition table allows, so concurrent changes cannot skip a check.
    fn transition(&mut self, id: Uuid, to: SubscriptionStatus) -> Result<Subscription> {
        let canceled_at = diesel::dsl::sql::<Nullable<Timestamptz>>("CASE WHEN ")
            .bind::<Bool, _>(to == SubscriptionStatus::Canceled)
            .sql(" THEN now() ELSE NULL END");
        diesel::update(
            subs::table
                .find(id)
                .filter(subs::status.eq_any(sources_of(to))),
        )
        .set((
            subs::status.eq(to),
            subs::canceled_at.eq(canceled_at),
            subs::cancel_at_period_end.eq(false),
        ))
        .returning(Subscription::as_returning())
        .get_result(self.conn)
        .optional()?
        .map_or_else(|| Err(self.refusal(id, to)), Ok)
    }

    /// Why a conditional status change matched nothing.
    pub(super) fn refusal(&mut self, id: Uuid, to: SubscriptionStatus) -> Error {
        match self.get(id) {
            Ok(current) => Error::invalid(
                "status",
                format!("cannot go from {:?} to {:?}", current.status, to),
            ),
            Err(e) => e,
        }
    }

    /// The user's live subscription, if any.
    ///
    /// # Errors
    /// Database errors only.
    pub fn live_for_user(&mut self, user_id: Uuid) -> Result<Option<Subscription>> {
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
    pub fn history_for_user(&mut self, user_id: Uuid) -> Result<Vec<Subscription>> {
        Ok(subs::table
            .filter(subs::user_id.eq(user_id))
            .order((subs::created_at.desc(), subs::id.desc()))
            .select(Subscription::as_select())
            .load(self.conn)?)
    }
}
