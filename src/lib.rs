#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod access;
#[cfg(feature = "tokio")]
mod async_run;
pub mod audit;
pub mod auth;
pub mod billing;
pub(crate) mod conn_url;
pub mod content;
pub mod database;
pub mod enums;
pub(crate) mod env;
pub mod error;
pub mod http;
pub mod identity;
pub mod ids;
pub(crate) mod inet;
pub(crate) mod keyring;
pub mod live;
pub(crate) mod migrate;
pub mod ops;
pub mod outbox;
pub mod pagination;
pub mod pool;
pub(crate) mod pooling;
pub(crate) mod prepared;
pub(crate) mod query_trace;
pub mod replicas;
/// The tables, as `diesel print-schema` writes them (`cargo run --example
/// print_schema`; never edited by hand). The doc comments are the catalog's
/// `COMMENT ON TABLE` / `COMMENT ON COLUMN` texts.
pub mod schema;
pub(crate) mod serde_support;
pub(crate) mod server_locale;
pub(crate) mod slug;
pub(crate) mod sql;
pub mod teams;
pub mod tenancy;
pub mod tx;
pub mod users;
pub mod validate;
pub mod views;

pub use database::{Database, DatabaseBuilder, PooledConn, MIGRATIONS, MIGRATIONS_FINGERPRINT};
pub use env::DATABASE_URL_VAR;
pub use error::{Error, Result};
pub use http::ErrorBody;
pub use ids::{
    AccountId, AuditLogId, CategoryId, InvitationId, OutboxMessageId, PaymentId, PlanId, PostId,
    ProjectId, SessionId, SubscriptionId, TagId, TeamId, UserId, VerificationTokenId,
};
pub use pagination::{Cursor, Page, PageRequest};
pub use query_trace::{QueryTrace, TRACE_TARGET};

// The crates a host needs next to ours, at the versions we were built
// with: `saas_db::diesel::prelude::*` for its own queries,
// `saas_db::serde_json::json!` for payment metadata, `saas_db::uuid::Uuid`
// and `saas_db::chrono` for ids and times. (Diesel's derives and `table!`
// name `diesel` themselves: see the README's "Joining your own table to ours".)
#[doc(no_inline)]
pub use chrono;
#[doc(no_inline)]
pub use diesel;
#[doc(no_inline)]
pub use serde_json;
#[doc(no_inline)]
pub use uuid;

/// The names most handlers use: `use saas_db::prelude::*;`.
///
/// [`Database`], [`Repos`] (the `conn.users()` methods), [`Error`] and
/// [`Result`], paging ([`PageRequest`], [`Page`], [`Cursor`]), every typed
/// id, and the acting user ([`Actor`](crate::access::Actor)).
pub mod prelude {
    pub use crate::access::Actor;
    pub use crate::ids::{
        AccountId, AuditLogId, CategoryId, InvitationId, OutboxMessageId, PaymentId, PlanId,
        PostId, ProjectId, SessionId, SubscriptionId, TagId, TeamId, UserId, VerificationTokenId,
    };
    pub use crate::{Cursor, Database, Error, Page, PageRequest, Repos, Result};
}

use diesel::PgConnection;

/// Hands out the repositories on any [`PgConnection`]: a pooled one (through
/// deref), a plain one, or the one inside a transaction, so repository calls
/// mix freely with the caller's own Diesel queries.
pub trait Repos {
    /// Users and profiles.
    fn users(&mut self) -> users::UserRepo<'_>;
    /// The append-only audit log.
    fn audit(&mut self) -> audit::AuditRepo<'_>;
    /// OAuth and credential accounts.
    fn accounts(&mut self) -> auth::AccountRepo<'_>;
    /// Sign-in sessions.
    fn sessions(&mut self) -> auth::SessionRepo<'_>;
    /// Single-use verification tokens.
    fn verification_tokens(&mut self) -> auth::VerificationTokenRepo<'_>;
    /// The sign-in flows (confirm email, reset password, magic link, password).
    fn auth(&mut self) -> auth::AuthFlows<'_>;
    /// Subscription plans.
    fn plans(&mut self) -> billing::PlanRepo<'_>;
    /// Subscriptions.
    fn subscriptions(&mut self) -> billing::SubscriptionRepo<'_>;
    /// Payments.
    fn payments(&mut self) -> billing::PaymentRepo<'_>;
    /// Posts: publishing, listings, search, tags of a post.
    fn posts(&mut self) -> content::PostRepo<'_>;
    /// Tags.
    fn tags(&mut self) -> content::TagRepo<'_>;
    /// Categories.
    fn categories(&mut self) -> content::CategoryRepo<'_>;
    /// Teams, members and invitations.
    fn teams(&mut self) -> teams::TeamRepo<'_>;
    /// Team-scoped projects.
    fn projects(&mut self) -> teams::ProjectRepo<'_>;
    /// The transactional outbox: enqueue side effects in this transaction.
    fn outbox(&mut self) -> outbox::OutboxRepo<'_>;
    /// Billing analytics: revenue, top customers, engagement, MRR, dashboards.
    fn analytics(&mut self) -> views::AnalyticsRepo<'_>;
}

impl Repos for PgConnection {
    fn users(&mut self) -> users::UserRepo<'_> {
        users::UserRepo::new(self)
    }
    fn audit(&mut self) -> audit::AuditRepo<'_> {
        audit::AuditRepo::new(self)
    }
    fn accounts(&mut self) -> auth::AccountRepo<'_> {
        auth::AccountRepo::new(self)
    }
    fn sessions(&mut self) -> auth::SessionRepo<'_> {
        auth::SessionRepo::new(self)
    }
    fn verification_tokens(&mut self) -> auth::VerificationTokenRepo<'_> {
        auth::VerificationTokenRepo::new(self)
    }
    fn auth(&mut self) -> auth::AuthFlows<'_> {
        auth::AuthFlows::new(self)
    }
    fn plans(&mut self) -> billing::PlanRepo<'_> {
        billing::PlanRepo::new(self)
    }
    fn subscriptions(&mut self) -> billing::SubscriptionRepo<'_> {
        billing::SubscriptionRepo::new(self)
    }
    fn payments(&mut self) -> billing::PaymentRepo<'_> {
        billing::PaymentRepo::new(self)
    }
    fn posts(&mut self) -> content::PostRepo<'_> {
        content::PostRepo::new(self)
    }
    fn tags(&mut self) -> content::TagRepo<'_> {
        content::TagRepo::new(self)
    }
    fn categories(&mut self) -> content::CategoryRepo<'_> {
        content::CategoryRepo::new(self)
    }
    fn teams(&mut self) -> teams::TeamRepo<'_> {
        teams::TeamRepo::new(self)
    }
    fn projects(&mut self) -> teams::ProjectRepo<'_> {
        teams::ProjectRepo::new(self)
    }
    fn outbox(&mut self) -> outbox::OutboxRepo<'_> {
        outbox::OutboxRepo::new(self)
    }
    fn analytics(&mut self) -> views::AnalyticsRepo<'_> {
        views::AnalyticsRepo::new(self)
    }
}
