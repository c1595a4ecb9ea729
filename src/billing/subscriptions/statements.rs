//! The subscriptions table's status changes as fixed-text statements that
//! Diesel prepares once per connection (`crate::prepared`).

use crate::prepared::Statement;
use crate::tx::versioned_update_sql;

/// The columns [`Subscription`](super::Subscription) reads, for the
/// RETURNING lists below (explicit, never `*`, so a column a host adds to
/// the table does not change a prepared statement's result type;
/// qualified, since `renew` joins the plan). A literal, so each statement
/// stays one `concat!`ed `&'static str`.
macro_rules! subscription_columns {
    () => {
        "subscriptions.id, subscriptions.user_id, subscriptions.plan_id, subscriptions.status,
         subscriptions.provider_customer_id, subscriptions.provider_subscription_id,
         subscriptions.current_period_start, subscriptions.current_period_end,
         subscriptions.cancel_at_period_end, subscriptions.canceled_at,
         subscriptions.trial_ends_at, subscriptions.version, subscriptions.created_at,
         subscriptions.updated_at"
    };
}

/// [`SubscriptionRepo::change_plan`](super::SubscriptionRepo::change_plan)
/// (see [`crate::tx::update_versioned`]).
pub(super) struct ChangePlan;

impl Statement for ChangePlan {
    const SQL: &'static str = versioned_update_sql!(
        "subscriptions",
        "plan_id = $1",
        "id = $2 AND version = $3",
        subscription_columns!(),
        "id = $4"
    );
}

/// A status change along the transition table: to `$1` from one of `$4`;
/// `canceled_at` is now when `$2` (the target is `canceled`), else NULL.
pub(super) struct Transition;

impl Statement for Transition {
    const SQL: &'static str = concat!(
        "UPDATE subscriptions
            SET status = $1, canceled_at = CASE WHEN $2 THEN now() ELSE NULL END,
                cancel_at_period_end = false
          WHERE id = $3 AND status = ANY($4) RETURNING ",
        subscription_columns!()
    );
}

/// `cancel` at the end of the period: a live subscription (`$2`) only.
pub(super) struct CancelAtPeriodEnd;

impl Statement for CancelAtPeriodEnd {
    const SQL: &'static str = concat!(
        "UPDATE subscriptions SET cancel_at_period_end = true
          WHERE id = $1 AND status = ANY($2) RETURNING ",
        subscription_columns!()
    );
}

/// `renew`: `$1` the subscription, `$2` the live statuses, `$3` the
/// statuses that may become `active`, `$4` those that may become `canceled`.
pub(super) struct Renew;

impl Statement for Renew {
    const SQL: &'static str = concat!(
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
                AND CASE WHEN NOT subscriptions.cancel_at_period_end THEN subscriptions.status = ANY($3)
                         ELSE subscriptions.status = ANY($4) END
              RETURNING ",
        subscription_columns!()
    );
}
