//! The `subscriptions` table: [`Subscription`] and [`SubscriptionRepo`]
//! (from `conn.subscriptions()`): starting, reading and listing; the
//! status changes are in `life_cycle.rs`, provider webhooks in
//! `provider_sync.rs`.

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{self, Integer, Interval, Nullable, Text};
use serde::{Deserialize, Serialize};

use super::provider_sync::provider_lock_key;
use super::statements::ChangePlan;
use super::status::LIVE;
use crate::enums::SubscriptionStatus;
use crate::error::{Error, Found, Result};
use crate::ids::{PlanId, SubscriptionId, UserId};
use crate::prepared::Prepared;
use crate::schema::subscriptions as subs;
use crate::sql::{advisory_xact_lock, interval};
use crate::tx::run_transaction;
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

/// A subscription to start with [`SubscriptionRepo::start`]: the user and
/// plan, and optionally a trial and the payment provider's ids.
///
/// It deserializes from a request body without `user_id` (the host sets it
/// from the session, as for [`NewPayment`](crate::billing::NewPayment)):
/// `{"plan_id": "..", "trial": {"secs": 1209600, "nanos": 0},
/// "provider_subscription_id": "sub_1Nx"}`, every field but `plan_id`
/// optional (`trial` as serde writes a `Duration`). `Default` leaves both
/// ids nil, which `start` refuses as [`Error::Invalid`]: fill them with
/// `..Default::default()` struct syntax or use [`NewSubscription::new`].
///
/// ```
/// # use std::time::Duration;
/// # use saas_db::{billing::NewSubscription, PlanId, UserId};
/// # let (user_id, plan_id) = (UserId(uuid::Uuid::nil()), PlanId(uuid::Uuid::nil()));
/// let new = NewSubscription::new(user_id, plan_id)
///     .trial(Duration::from_secs(14 * 86_400))
///     .provider("sub_1Nx", Some("cus_9s"));
/// assert_eq!(new.provider_subscription_id.as_deref(), Some("sub_1Nx"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NewSubscription<'a> {
    /// Subscriber (not deserialized).
    #[serde(skip_deserializing)]
    pub user_id: UserId,
    /// Plan (must be active).
    pub plan_id: PlanId,
    /// A trial: the first period, `trialing` until it ends. `None`: `active`
    /// for one plan interval.
    pub trial: Option<Duration>,
    /// The provider's subscription id (unique), so that its webhooks
    /// ([`SubscriptionRepo::sync_from_provider`]) update this row.
    #[serde(default)]
    pub provider_subscription_id: Option<Cow<'a, str>>,
    /// The provider's customer id.
    #[serde(default)]
    pub provider_customer_id: Option<Cow<'a, str>>,
}

impl<'a> NewSubscription<'a> {
    /// `user_id` subscribing to `plan_id`, no trial, no provider ids.
    pub fn new(user_id: UserId, plan_id: PlanId) -> Self {
        NewSubscription {
            user_id,
            plan_id,
            trial: None,
            provider_subscription_id: None,
            provider_customer_id: None,
        }
    }

    /// With a trial of this length.
    pub fn trial(mut self, trial: Duration) -> Self {
        self.trial = Some(trial);
        self
    }

    /// With the payment provider's subscription id (and customer id).
    pub fn provider(
        mut self,
        subscription_id: impl Into<Cow<'a, str>>,
        customer_id: Option<&'a str>,
    ) -> Self {
        self.provider_subscription_id = Some(subscription_id.into());
        self.provider_customer_id = customer_id.map(Cow::Borrowed);
        self
    }
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
    /// `active` with a first period of the plan's interval.
    ///
    /// With a provider id ([`NewSubscription::provider`]) it is the row the
    /// provider's webhooks update: a later
    /// [`sync_from_provider`](Self::sync_from_provider) for that id finds it
    /// and applies the provider's status and period (along
    /// [`TRANSITIONS`](super::TRANSITIONS)) instead of inserting a second
    /// live subscription. If the webhook came first (or `start` is
    /// retried), the row it made for this user is returned as it is: the
    /// provider's view wins. Both take the same per-provider-id lock, so
    /// the two orders cannot race into two rows. Without a provider id it
    /// is one statement, and a webhook for the same user then meets the
    /// one-live-subscription rule (`subscriptions_one_live_per_user`): use
    /// one path per subscription, or give `start` the provider's id.
    ///
    /// # Errors
    /// [`Error::Conflict`] with `subscriptions_one_live_per_user` when the
    /// user already has another live (trialing, active, past due)
    /// subscription, or with `subscriptions_provider_subscription_id_key`
    /// when the provider id belongs to another user's subscription;
    /// [`Error::NotFound`] for a missing or archived plan;
    /// [`Error::ForeignKey`] with `subscriptions_user_id_fkey` for an unknown user;
    /// [`Error::Invalid`] naming `user_id` or `plan_id` when nil (unset),
    /// `trial` outside [`validate::duration`]'s bounds,
    /// or `provider_subscription_id` / `provider_customer_id` (empty, over
    /// 255 bytes, a NUL).
    pub fn start(&mut self, new: &NewSubscription<'_>) -> Result<Subscription> {
        validate::id_set("user_id", new.user_id)?;
        validate::id_set("plan_id", new.plan_id)?;
        let trial = new
            .trial
            .map(|t| validate::duration("trial", t, validate::DURATION_MAX))
            .transpose()?;
        validate::opt_text(
            "provider_subscription_id",
            new.provider_subscription_id.as_deref(),
            1,
            255,
        )?;
        validate::opt_text(
            "provider_customer_id",
            new.provider_customer_id.as_deref(),
            1,
            255,
        )?;
        let Some(provider_id) = new.provider_subscription_id.as_deref() else {
            return insert(self.conn, new, trial);
        };
        run_transaction(self.conn, |tx| {
            advisory_xact_lock(tx, &provider_lock_key(provider_id))?;
            let existing: Option<Subscription> = subs::table
                .filter(subs::provider_subscription_id.eq(provider_id))
                .select(Subscription::as_select())
                .first(tx)
                .optional()?;
            match existing {
                Some(sub) if sub.user_id == new.user_id => Ok(sub),
                Some(_) => Err(Error::Conflict {
                    constraint: "subscriptions_provider_subscription_id_key".into(),
                }),
                None => insert(tx, new, trial),
            }
        })
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
            Prepared::<ChangePlan>::new()
                .bind::<sql_types::Uuid, _>(plan_id)
                .bind::<sql_types::Uuid, _>(id)
                .bind::<Integer, _>(expected_version)
                .bind::<sql_types::Uuid, _>(id),
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

/// The INSERT of `start`: one statement, the plan's activity and interval
/// read where the row is made.
fn insert(
    conn: &mut PgConnection,
    new: &NewSubscription<'_>,
    trial: Option<Duration>,
) -> Result<Subscription> {
    // `RETURNING subscriptions.*`: `Subscription` is read by column
    // name (`QueryableByName`), so column order does not matter.
    let sql = "INSERT INTO subscriptions (id, user_id, plan_id, status, trial_ends_at,
                                    current_period_start, current_period_end,
                                    provider_subscription_id, provider_customer_id)
         SELECT $1, $2, p.id,
                CASE WHEN $4::interval IS NULL THEN 'active' ELSE 'trialing' END::subscription_status,
                now() + $4, now(),
                -- a trial is the first period; otherwise one plan interval
                coalesce(now() + $4,
                         now() + CASE p.interval WHEN 'year' THEN interval '1 year'
                                                 ELSE interval '1 month' END),
                $5, $6
           FROM subscription_plans p WHERE p.id = $3 AND p.is_active
         RETURNING subscriptions.*";
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Uuid, _>(SubscriptionId::now_v7())
        .bind::<diesel::sql_types::Uuid, _>(new.user_id)
        .bind::<diesel::sql_types::Uuid, _>(new.plan_id)
        .bind::<Nullable<Interval>, _>(trial.map(interval))
        .bind::<Nullable<Text>, _>(new.provider_subscription_id.as_deref())
        .bind::<Nullable<Text>, _>(new.provider_customer_id.as_deref())
        .get_result(conn)
        .found("active plan")
}
