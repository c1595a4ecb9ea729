//! The subscription life cycle: one explicit table of legal transitions.

use crate::enums::SubscriptionStatus::{self, *};

/// Every legal `(from, to)` status change, made by this crate or reported
/// by the payment provider (`sync_from_provider`). Anything else is refused
/// with `Error::Invalid` naming both ends. A write that keeps the status is
/// not a status change (a renewal of an active subscription, a webhook
/// updating the period).
///
/// The provider's own jumps are in it too: `incomplete` to `active` (the
/// first payment went through) and `incomplete` to `canceled` (it never
/// did: Stripe's `incomplete_expired`), `trialing` straight to `canceled`.
pub const TRANSITIONS: &[(SubscriptionStatus, SubscriptionStatus)] = &[
    (Incomplete, Active),
    (Incomplete, Canceled),
    (Trialing, Active),
    (Trialing, PastDue),
    (Trialing, Canceled),
    (Active, PastDue),
    (Active, Canceled),
    (PastDue, Active),
    (PastDue, Unpaid),
    (PastDue, Canceled),
    (Unpaid, Active),
    (Unpaid, Canceled),
    (Canceled, Active),
];

/// The statuses from which `to` may be reached.
pub(crate) fn sources_of(to: SubscriptionStatus) -> Vec<SubscriptionStatus> {
    TRANSITIONS
        .iter()
        .filter(|(_, t)| *t == to)
        .map(|(f, _)| *f)
        .collect()
}

/// The statuses a write may find a row in when it leaves it in `to`: the
/// sources of `to` in [`TRANSITIONS`], and `to` itself (no status change).
pub(crate) fn sources_or_same(to: SubscriptionStatus) -> Vec<SubscriptionStatus> {
    let mut from = sources_of(to);
    from.push(to);
    from
}

/// The live statuses: a user has at most one subscription in them (the
/// partial unique index `subscriptions_one_live_per_user`).
pub const LIVE: [SubscriptionStatus; 3] = [Trialing, Active, PastDue];

/// Whether a subscription in `status` counts as live (at most one per user).
pub fn is_live(status: SubscriptionStatus) -> bool {
    LIVE.contains(&status)
}
