//! Status changes of a subscription, each one conditional UPDATE along
//! [`TRANSITIONS`](super::TRANSITIONS).

use diesel::prelude::*;
use diesel::sql_types::{Array, Bool};

use super::statements::{CancelAtPeriodEnd, Renew, Transition};
use super::status::{sources_of, sources_or_same, LIVE};
use super::subscription::{Subscription, SubscriptionRepo};
use crate::access::Actor;
use crate::audit::{self, AuditEntry};
use crate::enums::SubscriptionStatus;
use crate::error::{Error, Found, Result};
use crate::ids::SubscriptionId;
use crate::prepared::Prepared;
use crate::schema::sql_types::SubscriptionStatus as StatusSql;
use crate::schema::subscriptions as subs;

impl SubscriptionRepo<'_> {
    /// `actor` cancels now (`canceled`), or at the end of the current period
    /// (`cancel_at_period_end`, status unchanged until `renew`). Audited: a
    /// `canceled` entry by the actor with the changed fields, in the same
    /// transaction as the change.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the transition when it is not allowed;
    /// [`Error::NotFound`].
    pub fn cancel(
        &mut self,
        actor: &Actor,
        id: SubscriptionId,
        at_period_end: bool,
    ) -> Result<Subscription> {
        let lock = |c: &mut PgConnection| -> Result<Subscription> {
            subs::table
                .find(id)
                .select(Subscription::as_select())
                .for_update()
                .first(c)
                .found("subscription")
        };
        let entry = AuditEntry::new("canceled", "subscription", Some(id.into())).by(actor.user_id);
        audit::audited(self.conn, entry, lock, |c| {
            let mut repo = SubscriptionRepo::new(c);
            if !at_period_end {
                return repo.transition(id, SubscriptionStatus::Canceled);
            }
            Prepared::<CancelAtPeriodEnd>::new()
                .bind::<diesel::sql_types::Uuid, _>(id)
                .bind::<Array<StatusSql>, _>(LIVE.as_slice())
                .get_result(repo.conn)
                .optional()?
                .map_or_else(|| Err(repo.refusal(id, SubscriptionStatus::Canceled)), Ok)
        })
    }

    /// Starts the next period after a successful payment: the period moves
    /// forward by the plan's interval and the status becomes `active`; a
    /// subscription set to cancel at period end becomes `canceled` instead.
    /// Only a live subscription renews, and only along
    /// [`TRANSITIONS`](super::TRANSITIONS) (checked in the same statement).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `status` when it is not live; [`Error::NotFound`].
    pub fn renew(&mut self, id: SubscriptionId) -> Result<Subscription> {
        Prepared::<Renew>::new()
            .bind::<diesel::sql_types::Uuid, _>(id)
            .bind::<Array<StatusSql>, _>(LIVE.as_slice())
            .bind::<Array<StatusSql>, _>(sources_or_same(SubscriptionStatus::Active))
            .bind::<Array<StatusSql>, _>(sources_of(SubscriptionStatus::Canceled))
            .get_result(self.conn)
            .optional()?
            .map_or_else(|| Err(self.refusal(id, SubscriptionStatus::Active)), Ok)
    }

    /// `active`/`trialing` to `past_due` (a renewal payment failed).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `status` when the transition is not allowed;
    /// [`Error::NotFound`].
    pub fn mark_past_due(&mut self, id: SubscriptionId) -> Result<Subscription> {
        self.transition(id, SubscriptionStatus::PastDue)
    }

    /// `past_due` to `unpaid` (retries ran out).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `status` when the transition is not allowed;
    /// [`Error::NotFound`].
    pub fn mark_unpaid(&mut self, id: SubscriptionId) -> Result<Subscription> {
        self.transition(id, SubscriptionStatus::Unpaid)
    }

    /// Back to `active` from `past_due`, `unpaid`, `canceled` or `incomplete`.
    ///
    /// # Errors
    /// As [`SubscriptionRepo::mark_past_due`]; [`Error::Conflict`] with
    /// `subscriptions_one_live_per_user` when the user has another live one.
    pub fn reactivate(&mut self, id: SubscriptionId) -> Result<Subscription> {
        self.transition(id, SubscriptionStatus::Active)
    }

    /// One conditional UPDATE: changes the status only from a status the
    /// transition table allows, so concurrent changes cannot skip a check.
    fn transition(&mut self, id: SubscriptionId, to: SubscriptionStatus) -> Result<Subscription> {
        Prepared::<Transition>::new()
            .bind::<StatusSql, _>(to)
            .bind::<Bool, _>(to == SubscriptionStatus::Canceled)
            .bind::<diesel::sql_types::Uuid, _>(id)
            .bind::<Array<StatusSql>, _>(sources_of(to))
            .get_result(self.conn)
            .optional()?
            .map_or_else(|| Err(self.refusal(id, to)), Ok)
    }

    /// Why a conditional status change matched nothing.
    fn refusal(&mut self, id: SubscriptionId, to: SubscriptionStatus) -> Error {
        match self.get(id) {
            Ok(current) => Error::invalid(
                "status",
                format!("cannot go from {:?} to {:?}", current.status, to),
            ),
            Err(e) => e,
        }
    }
}
