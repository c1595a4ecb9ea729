//! Plans, subscriptions and payments. Money is `i64` minor units (cents)
//! with an ISO 4217 currency; it is never summed across currencies. The
//! reporting queries over them are `conn.analytics()` ([`crate::views`]).

mod payments;
mod subscription_plans;
mod subscriptions;

pub use payments::{CurrencyTotal, NewPayment, Payment, PaymentChanges, PaymentRepo};
pub(crate) use subscription_plans::validate_currency;
pub use subscription_plans::{NewPlan, Plan, PlanChanges, PlanRepo, AMOUNT_MAX_CENTS};
pub use subscriptions::{
    is_live, NewSubscription, ProviderSubscription, Subscription, SubscriptionRepo, SyncOutcome,
    LIVE, TRANSITIONS,
};
