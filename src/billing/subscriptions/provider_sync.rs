//! Provider webhooks: [`SubscriptionRepo::sync_from_provider`] applies the
//! payment provider's view of a subscription, idempotently and along the
//! transition table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use super::status::{sources_of, sources_or_same};
use super::subscription::{Subscription, SubscriptionRepo};
use crate::enums::SubscriptionStatus;
use crate::error::{Error, Result};
use crate::ids::{PlanId, SubscriptionId, UserId};
use crate::schema::subscriptions as subs;
use crate::sql::advisory_xact_lock;
use crate::tx::run_transaction;
use crate::validate;

/// The provider's view of a subscription, as a webhook delivers it.
/// `Default` is an `incomplete` subscription with nothing else set:
/// `ProviderSubscription { provider_subscription_id: "sub_1".into(), user_id,
/// plan_id, status: SubscriptionStatus::Active, ..Default::default() }`.
/// A subscriber or plan left unset is [`Error::Invalid`] naming `user_id` or
/// `plan_id`.
///
/// Deserialized (from your own mapping of the provider's event),
/// `provider_subscription_id`, `plan_id` and `status` are required;
/// `user_id` is never read from input: set it from your record of the
/// provider's customer.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Deserialize)]
#[diesel(table_name = subs, treat_none_as_null = true)]
pub struct ProviderSubscription<'a> {
    /// The provider's subscription id: the idempotency key.
    pub provider_subscription_id: Cow<'a, str>,
    /// The provider's customer id.
    #[serde(default)]
    pub provider_customer_id: Option<Cow<'a, str>>,
    /// Subscriber (not deserialized).
    #[serde(skip_deserializing)]
    pub user_id: UserId,
    /// Plan.
    pub plan_id: PlanId,
    /// Status as the provider reports it.
    pub status: SubscriptionStatus,
    /// Period start.
    pub current_period_start: Option<DateTime<Utc>>,
    /// Period end.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Cancels at period end.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// Canceled at.
    pub canceled_at: Option<DateTime<Utc>>,
    /// Trial end.
    pub trial_ends_at: Option<DateTime<Utc>>,
}

impl Default for ProviderSubscription<'_> {
    fn default() -> Self {
        ProviderSubscription {
            provider_subscription_id: Cow::Borrowed(""),
            provider_customer_id: None,
            user_id: UserId::default(),
            plan_id: PlanId::default(),
            status: SubscriptionStatus::Incomplete,
            current_period_start: None,
            current_period_end: None,
            cancel_at_period_end: false,
            canceled_at: None,
            trial_ends_at: None,
        }
    }
}

/// What `sync_from_provider` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SyncOutcome {
    /// First time this provider subscription was seen.
    Inserted,
    /// Something changed and was written (version bumped).
    Updated,
    /// A replay: nothing changed, nothing was written.
    Unchanged,
}

/// The advisory lock key under which every write that may create the row
/// of one provider subscription takes turns: `sync_from_provider` and
/// `start` with a provider id.
pub(super) fn provider_lock_key(provider_subscription_id: &str) -> String {
    format!("saas_db.subscription.{provider_subscription_id}")
}

impl SubscriptionRepo<'_> {
    /// Applies a provider webhook: inserts the subscription the first time,
    /// updates it when something differs, and writes nothing on a replay.
    /// One statement (an upsert whose update only fires when a column
    /// differs), so concurrent deliveries cannot create two rows. A first
    /// delivery may carry any status; a later one changes the status only
    /// along [`TRANSITIONS`](super::TRANSITIONS), checked in the same
    /// statement, so a concurrent `cancel` or `renew` cannot be skipped.
    /// A subscription [`start`](Self::start)ed with this provider id is
    /// such a stored row: the webhook updates it (its first delivery is
    /// `Updated`, or `Unchanged`), it does not insert a second one.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `status` for a status change the table does
    /// not allow (nothing is written), naming the field for a bad provider
    /// id or a time outside [`validate::timestamp`]'s range; FK and unique
    /// errors as for `start`.
    pub fn sync_from_provider(
        &mut self,
        incoming: &ProviderSubscription<'_>,
    ) -> Result<(Subscription, SyncOutcome)> {
        validate::id_set("user_id", incoming.user_id)?;
        validate::id_set("plan_id", incoming.plan_id)?;
        // Before the lock: its key carries the id, and a NUL in it would be
        // a server encoding error.
        validate::text(
            "provider_subscription_id",
            &incoming.provider_subscription_id,
            1,
            255,
        )?;
        validate::opt_text(
            "provider_customer_id",
            incoming.provider_customer_id.as_deref(),
            1,
            255,
        )?;
        for (field, time) in [
            ("current_period_start", incoming.current_period_start),
            ("current_period_end", incoming.current_period_end),
            ("canceled_at", incoming.canceled_at),
            ("trial_ends_at", incoming.trial_ends_at),
        ] {
            time.map(|t| validate::timestamp(field, t)).transpose()?;
        }
        // Deliveries of one provider subscription take turns: otherwise a
        // duplicate still being inserted trips the one-live-per-user index
        // (which ON CONFLICT does not cover) instead of being seen as a replay.
        run_transaction(self.conn, |tx| {
            advisory_xact_lock(tx, &provider_lock_key(&incoming.provider_subscription_id))?;
            SubscriptionRepo::new(tx).sync_locked(incoming)
        })
    }

    fn sync_locked(
        &mut self,
        incoming: &ProviderSubscription<'_>,
    ) -> Result<(Subscription, SyncOutcome)> {
        // The stored row, if any, is locked first: a concurrent `cancel`,
        // `renew` or `mark_*` changing its status mid-upsert sent the
        // upsert down its insert path now and then, where the
        // one-live-per-user index refused it as a second subscription
        // (`tests/it/billing/transitions.rs::racing_status_changes_cannot_skip_the_table`,
        // about 1 run in 6 on a loaded machine).
        subs::table
            .filter(subs::provider_subscription_id.eq(&incoming.provider_subscription_id))
            .select(subs::id)
            .for_update()
            .first::<SubscriptionId>(self.conn)
            .optional()?;
        let upsert = diesel::insert_into(subs::table)
            .values((subs::id.eq(SubscriptionId::now_v7()), incoming))
            .on_conflict(subs::provider_subscription_id)
            .do_update()
            .set(incoming);
        // ON CONFLICT .. DO UPDATE .. WHERE: the update only fires when the
        // delivery differs from what is stored.
        let written: Option<(Subscription, i32)> = diesel::query_dsl::methods::FilterDsl::filter(
            upsert,
            diesel::dsl::sql::<Bool>(
                "(subscriptions.provider_customer_id, subscriptions.user_id, subscriptions.plan_id, \
                  subscriptions.status, subscriptions.current_period_start, subscriptions.current_period_end, \
                  subscriptions.cancel_at_period_end, subscriptions.canceled_at, subscriptions.trial_ends_at) \
                 IS DISTINCT FROM \
                 (excluded.provider_customer_id, excluded.user_id, excluded.plan_id, excluded.status, \
                  excluded.current_period_start, excluded.current_period_end, excluded.cancel_at_period_end, \
                  excluded.canceled_at, excluded.trial_ends_at)",
            )
            // ... and only along the transition table: the check is part of
            // the statement, so a concurrent cancel or renew cannot slip in.
            .and(subs::status.eq_any(sources_or_same(incoming.status))),
        )
        .returning((Subscription::as_returning(), subs::version))
        .get_result(self.conn)
        .optional()?;
        match written {
            Some((sub, 1)) => Ok((sub, SyncOutcome::Inserted)),
            Some((sub, _)) => Ok((sub, SyncOutcome::Updated)),
            None => {
                let sub = subs::table
                    .filter(subs::provider_subscription_id.eq(&incoming.provider_subscription_id))
                    .select(Subscription::as_select())
                    .first(self.conn)?;
                if sub.status != incoming.status
                    && !sources_of(incoming.status).contains(&sub.status)
                {
                    return Err(Error::invalid(
                        "status",
                        format!("cannot go from {:?} to {:?}", sub.status, incoming.status),
                    ));
                }
                Ok((sub, SyncOutcome::Unchanged))
            }
        }
    }
}
