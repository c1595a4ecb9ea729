//! Plans, subscriptions and payments, and the reporting queries of the seed
//! applications ([`analytics`]). Money is `i64` minor units (cents) with an
//! ISO 4217 currency; it is never summed across currencies.

pub mod analytics;
mod payments;
mod plans;
mod provider_sync;
mod status;
mod subscriptions;
mod transfer;

pub use payments::{CurrencyTotal, NewPayment, Payment, PaymentChanges, PaymentRepo};
pub use plans::{NewPlan, Plan, PlanChanges, PlanRepo, AMOUNT_MAX_CENTS};
pub use provider_sync::{ProviderSubscription, SyncOutcome};
pub use status::{is_live, LIVE, TRANSITIONS};
pub use subscriptions::{Subscription, SubscriptionRepo};
pub use transfer::{TransferOptions, TransferReport};
