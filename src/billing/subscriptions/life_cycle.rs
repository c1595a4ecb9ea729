//! Status changes of a subscription, each one conditional UPDATE along
//! [`TRANSITIONS`](super::TRANSITIONS).

use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, Timestamptz};

use super::status::{sources_of, sources_or_same, LIVE};
use super::subscription::{Subscription, SubscriptionRepo};
use crate::access::Actor;
use crate::audit::{self, AuditEntry};
use crate::enums::SubscriptionStatus;
use crate::error::{Error, Found, Result};
use crate::ids::SubscriptionId;
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
            diesel::update(subs::table.find(id).filter(subs::status.eq_any(LIVE)))
                .set(subs::cancel_at_period_end.eq(true))
                .returning(Subscription::as_returning())
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
        let sql = "UPDATE subscriptions SET
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
                         ELSE subscriptions.status = ANY($3) END
              RETURNING subscriptions.*";
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
