//! Typed ids: one newtype over [`Uuid`] per table, so an id of one table
//! cannot be passed where another's is expected. They map to SQL `uuid`
//! through Diesel (`.find(id)`, `.eq(id)`, `Queryable`, `Insertable`,
//! `Option<UserId>` for a nullable column), serialize as the bare UUID
//! string (`serde(transparent)`), print and parse like a UUID, and are
//! `Copy`. `Default` is the nil UUID, which no row has. Every model field
//! that holds an id and every repository signature uses them; they are
//! re-exported at the crate root (`saas_db::UserId`).
//!
//! ```
//! use saas_db::ids::UserId;
//!
//! let id: UserId = "0190f0a4-5e3c-7cc4-9c5d-3f4f1f2a6b7c".parse().unwrap();
//! assert_eq!(id.to_string(), "0190f0a4-5e3c-7cc4-9c5d-3f4f1f2a6b7c");
//! assert_eq!(serde_json::to_string(&id).unwrap(), "\"0190f0a4-5e3c-7cc4-9c5d-3f4f1f2a6b7c\"");
//! let raw: uuid::Uuid = id.into(); // and back: UserId::from(raw), UserId(raw)
//! assert_eq!(UserId(raw), id);
//! assert!("not a uuid".parse::<UserId>().is_err());
//! ```
//!
//! A post is loaded by its id:
//!
//! ```no_run
//! use saas_db::content::NewPost;
//! use saas_db::users::NewUser;
//! use saas_db::{Database, Repos};
//!
//! fn main() -> saas_db::Result<()> {
//!     let db = Database::connect("postgres://app@localhost/app")?;
//!     let mut conn = db.conn()?;
//!     let user = conn.users().create(&NewUser::new("ann@example.com", "Ann"))?;
//!     let new = NewPost { author_id: user.id, title: "Hello".into(), ..Default::default() };
//!     let post = conn.posts().create(&new)?;
//!     let again = conn.posts().get(post.id)?;
//!     assert_eq!(again.author_id, user.id);
//!     Ok(())
//! }
//! ```
//!
//! and the same program with the user's id in the post's place does not
//! compile (`expected PostId, found UserId`):
//!
//! ```compile_fail,E0308
//! use saas_db::content::NewPost;
//! use saas_db::users::NewUser;
//! use saas_db::{Database, Repos};
//!
//! fn main() -> saas_db::Result<()> {
//!     let db = Database::connect("postgres://app@localhost/app")?;
//!     let mut conn = db.conn()?;
//!     let user = conn.users().create(&NewUser::new("ann@example.com", "Ann"))?;
//!     let new = NewPost { author_id: user.id, title: "Hello".into(), ..Default::default() };
//!     let post = conn.posts().create(&new)?;
//!     let again = conn.posts().get(user.id)?;
//!     assert_eq!(again.author_id, user.id);
//!     Ok(())
//! }
//! ```

use std::fmt;
use std::str::FromStr;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Defines one id newtype with its Diesel mapping and conversions. It only
/// generates types and trait impls; it runs no query.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize, AsExpression, FromSqlRow,
        )]
        #[diesel(sql_type = sql_types::Uuid)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The underlying UUID.
            pub const fn uuid(self) -> Uuid {
                self.0
            }

            /// A new time-ordered (UUIDv7) id, the kind the repositories
            /// generate for new rows.
            pub fn now_v7() -> Self {
                $name(Uuid::now_v7())
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::from_str(s).map($name)
            }
        }

        impl ToSql<sql_types::Uuid, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <Uuid as ToSql<sql_types::Uuid, Pg>>::to_sql(&self.0, out)
            }
        }

        impl FromSql<sql_types::Uuid, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                <Uuid as FromSql<sql_types::Uuid, Pg>>::from_sql(bytes).map($name)
            }
        }
    };
}

id_type!(
    /// A user's id (`users.id`).
    UserId
);
id_type!(
    /// A sign-in account's id (`accounts.id`).
    AccountId
);
id_type!(
    /// A session's id (`sessions.id`).
    SessionId
);
id_type!(
    /// A verification token's id (`verification_tokens.id`).
    VerificationTokenId
);
id_type!(
    /// A subscription plan's id (`subscription_plans.id`).
    PlanId
);
id_type!(
    /// A subscription's id (`subscriptions.id`).
    SubscriptionId
);
id_type!(
    /// A payment's id (`payments.id`).
    PaymentId
);
id_type!(
    /// A post's id (`posts.id`).
    PostId
);
id_type!(
    /// A category's id (`categories.id`).
    CategoryId
);
id_type!(
    /// A tag's id (`tags.id`).
    TagId
);
id_type!(
    /// A team's id (`teams.id`).
    TeamId
);
id_type!(
    /// A team invitation's id (`team_invitations.id`).
    InvitationId
);
id_type!(
    /// A project's id (`projects.id`).
    ProjectId
);
id_type!(
    /// An audit log entry's id (`audit_logs.id`).
    AuditLogId
);
id_type!(
    /// An outbox message's id (`outbox_messages.id`).
    OutboxMessageId
);
