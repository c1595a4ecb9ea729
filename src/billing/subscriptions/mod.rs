//! Subscriptions: the [`Subscription`] row and [`SubscriptionRepo`], from
//! `conn.subscriptions()`, in one file per concern: starting and reading
//! (`subscription.rs`), status changes (`life_cycle.rs`), provider webhooks
//! (`provider_sync.rs`), the transition table (`status.rs`) and the status
//! changes' fixed-text statements (`statements.rs`).

mod life_cycle;
mod provider_sync;
mod statements;
mod status;
mod subscription;

pub use provider_sync::{ProviderSubscription, SyncOutcome};
pub use status::{is_live, LIVE, TRANSITIONS};
pub use subscription::{NewSubscription, Subscription, SubscriptionRepo};
