//! The subscription life cycle: one explicit table of legal transitions.

use crate::enums::SubscriptionStatus::{self, *};

/// Every legal `(from, to)` status change made by this crate. Anything else
/// is refused with `Error::Invalid` naming both ends. (`sync_from_provider`
/// is exempt: the payment provider is the source of truth.)
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

/// The live statuses: a user has at most one subscription in them (the
/// partial unique index `subscriptions_one_live_per_user`).
pub const LIVE: [SubscriptionStatus; 3] = [Trialing, Active, PastDue];

/// Whether a subscription in `status` counts as live (at most one per user).
pub fn is_live(status: SubscriptionStatus) -> bool {
    LIVE.contains(&status)
}
