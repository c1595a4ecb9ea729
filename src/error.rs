//! The crate's one error type, and the one place where database errors are
//! classified into variants a caller can act on.

use diesel::result::{DatabaseErrorKind, Error as DieselError, OptionalExtension};
use uuid::Uuid;

mod unique_fields;
pub use unique_fields::UNIQUE_FIELDS;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a saas-db call can fail with.
///
/// Database errors are classified once, in `From<diesel::result::Error>`, by
/// Diesel's error kind, constraint name and (for the kinds Diesel does not
/// distinguish) the server's message, which every connection pins to the C
/// locale when its role may, and which `DatabaseBuilder::build` otherwise
/// requires to be English. Messages name the constraint or field involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The row does not exist (or is soft-deleted and not asked for).
    #[error("{entity} not found")]
    NotFound {
        /// What was looked for (`"user"`, `"post"`, or `"row"` when unknown).
        entity: &'static str,
    },
    /// A unique constraint refused the value.
    #[error("conflict: the value is already taken ({constraint})")]
    Conflict {
        /// The unique constraint or index, e.g. `users_email_key`.
        constraint: String,
    },
    /// An optimistic-lock update lost: someone else changed the row first.
    #[error("stale {entity} {id}: expected version {expected}, the row is at version {actual}")]
    Stale {
        /// What was updated.
        entity: &'static str,
        /// Its id.
        id: Uuid,
        /// The version the caller based its change on.
        expected: i32,
        /// The version the row has now.
        actual: i32,
    },
    /// Bad input: caught before the database (NUL byte, too long, malformed
    /// email, ...) or refused by a CHECK / NOT NULL constraint.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, or the constraint that refused the row.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A foreign key refused the change (a missing parent, or a child row
    /// that forbids the delete).
    #[error("foreign key {constraint} refused the change")]
    ForeignKey {
        /// The foreign-key constraint.
        constraint: String,
    },
    /// The caller may not do this: a banned user signing in, an access
    /// rule, or the server refusing it for lack of privilege (a missing
    /// grant, not the owner, superuser-only, Row-Level Security, the
    /// append-only audit log's trigger).
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why.
        reason: String,
    },
    /// Authentication failed: the one answer for every credential a caller
    /// presents. A sign-in with an unknown email, a wrong password, or for
    /// a deleted user or one without a password; a session token that is
    /// unknown, expired or revoked, or whose user is banned or deleted; a
    /// one-time token (email verification, password reset, magic link,
    /// invitation) that is unknown, expired, already used or of another
    /// kind. Which of these is deliberately not said, and a password
    /// sign-in takes the same time for each. (Before, `sign_in_with_password`
    /// and `sessions().validate` returned `Ok(None)` and the token flows
    /// `Unauthorized`.)
    #[error("unauthorized: unknown or wrong credentials, session or token")]
    Unauthorized,
    /// A pagination cursor that is malformed, truncated, tampered with, or
    /// from another listing (or the same listing called with other
    /// parameters).
    #[error("invalid cursor: {reason}")]
    InvalidCursor {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The statement ran past its statement (or lock) timeout and was cancelled.
    #[error("statement timed out")]
    Timeout,
    /// A row lock could not be taken at once (`NOWAIT`).
    #[error("row is locked by another transaction")]
    Locked,
    /// No pooled connection became free within the pool's connection timeout.
    #[error("timed out waiting for a pooled connection: {detail}")]
    PoolTimeout {
        /// r2d2's report, including the last connection error if any.
        detail: String,
    },
    /// A serialization failure or deadlock; `attempts` is how many times the
    /// transaction ran (1 when no retry policy was in use).
    #[error("transaction failed after {attempts} attempt(s): {message}")]
    Retryable {
        /// How many times the transaction was tried.
        attempts: u32,
        /// The server's message for the last failure.
        message: String,
    },
    /// The connection failed or closed.
    #[error("connection error: {0}")]
    Connection(String),
    /// The connection was lost while COMMIT was in flight: the transaction
    /// may or may not have committed. Never retried blindly; check the
    /// database (or make the write idempotent) before trying again.
    #[error("connection lost during COMMIT, outcome unknown: {0}")]
    CommitUnknown(String),
    /// A server feature the call needs is not there (for example the
    /// `pg_stat_statements` extension).
    #[error("not available: {0}")]
    NotAvailable(String),
    /// Through a transaction-mode pooler
    /// ([`DatabaseBuilder::transaction_pooling`](crate::DatabaseBuilder::transaction_pooling)):
    /// a setting the server must apply to every connection, because the
    /// crate sets nothing for the session there, is missing.
    #[error("not possible through a transaction pooler: {what}; {fix}")]
    Pooled {
        /// The setting: `search_path` or `statement_timeout`.
        what: String,
        /// What the server applies now, and the exact
        /// `ALTER ROLE .. IN DATABASE .. SET ..;` to run before reconnecting.
        fix: String,
    },
    /// A stored secret (an OAuth provider token) could not be decrypted:
    /// the key it was encrypted with is not in the [`crate::auth::Keyring`],
    /// or the ciphertext was altered or copied from another row or column.
    #[error("cannot decrypt {field}: {reason}")]
    Decrypt {
        /// The column, e.g. `access_token`.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A write inside [`crate::Database::read`] (or on a replica): the
    /// server refused it because the transaction is read-only.
    #[error("read-only: {0}")]
    ReadOnly(String),
    /// An outbox worker's lease on a message is gone: it ran out and
    /// another worker claimed the message, or the message was settled
    /// (acked, failed, dead-lettered) since. The caller must not assume its
    /// delivery counted; see [`crate::outbox::Outbox::ack`].
    #[error("lease lost on outbox message {id}")]
    LeaseLost {
        /// The message.
        id: Uuid,
    },
    /// The closure given to `Database::run` or `Database::run_transaction`
    /// (feature `tokio`) panicked; this is the panic's message. The
    /// connection it held was discarded, not returned to the pool.
    #[error("the database task panicked: {0}")]
    Panicked(String),
    /// The blocking task of `Database::run` (feature `tokio`) was cancelled
    /// before it ran: the Tokio runtime is shutting down.
    #[error("the database task was cancelled: the runtime is shutting down")]
    Cancelled,
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Any other database error, unclassified.
    #[error(transparent)]
    Database(DieselError),
}

impl Error {
    /// Whether running the same transaction again may succeed: serialization
    /// failures, deadlocks, lock and pool waits, and statement timeouts.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Retryable { .. } | Error::Locked | Error::PoolTimeout { .. } | Error::Timeout
        )
    }

    /// Prefixes the field of an [`Error::Invalid`] with the item it came
    /// from in a batch: `email` becomes `users[17].email`.
    pub fn in_item(self, list: &str, index: usize) -> Self {
        match self {
            Error::Invalid { field, reason } => Error::Invalid {
                field: format!("{list}[{index}].{field}"),
                reason,
            },
            other => other,
        }
    }

    /// The constraint named by a [`Error::Conflict`] or [`Error::ForeignKey`]
    /// (e.g. `users_email_key`); `None` for every other variant.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Conflict { constraint } | Error::ForeignKey { constraint } => Some(constraint),
            _ => None,
        }
    }

    /// The input field at fault, for a form to mark: the field (or
    /// refusing CHECK constraint) named by an [`Error::Invalid`], e.g.
    /// `email` or `users[17].email`; for an [`Error::Conflict`] the field
    /// its unique constraint is about ([`UNIQUE_FIELDS`]: `users_email_key`
    /// is `email`); `None` for every other variant and for a constraint
    /// that is not the crate's.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            Error::Conflict { constraint } => UNIQUE_FIELDS
                .iter()
                .find(|(name, _)| name == constraint)
                .map(|(_, field)| *field),
            _ => None,
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Turns "no row" into [`Error::NotFound`]: `query.first(conn).found("user")`
/// is `query.first(conn).optional()?.ok_or(Error::NotFound { entity: "user" })`.
pub trait Found<T> {
    /// The row, [`Error::NotFound`] for `entity` when there was none.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the query returned no row; any other
    /// database error, classified.
    fn found(self, entity: &'static str) -> Result<T>;
}

impl<T> Found<T> for std::result::Result<T, DieselError> {
    fn found(self, entity: &'static str) -> Result<T> {
        self.optional()?.ok_or(Error::NotFound { entity })
    }
}

impl<T> Found<T> for Result<Option<T>> {
    fn found(self, entity: &'static str) -> Result<T> {
        self?.ok_or(Error::NotFound { entity })
    }
}

impl From<DieselError> for Error {
    fn from(error: DieselError) -> Self {
        classify(error)
    }
}

impl From<r2d2::Error> for Error {
    /// r2d2 reports every failed checkout as a timeout; when it carries the
    /// error of a failed connection attempt, the server is the problem, not
    /// pool exhaustion.
    fn from(error: r2d2::Error) -> Self {
        let detail = error.to_string();
        match detail.split_once(": ") {
            Some((_, cause)) if !cause.is_empty() => Error::Connection(cause.to_owned()),
            _ => Error::PoolTimeout { detail },
        }
    }
}

/// Triggers that refuse a change raise with one of these constraint names
/// (`RAISE .. USING CONSTRAINT = ..`): matched by name, so rewording the
/// message cannot change the classification.
const FORBIDDING_CONSTRAINTS: &[&str] = &["audit_logs_append_only"];

/// The C-locale messages of SQLSTATE class 42501 (insufficient_privilege)
/// in PostgreSQL 15, as prefixes; Diesel does not expose the SQLSTATE. They
/// cover missing grants (`permission denied for table ..`), ownership
/// (`must be owner of table ..` on ALTER, DROP, DETACH), superuser-only and
/// predefined-role-only operations (`must be superuser or have privileges of
/// the pg_read_server_files role to COPY from a file`), role membership, and
/// Row-Level Security. `COPY FROM not supported with row-level security` is
/// SQLSTATE 0A000 but is a policy refusing the write all the same.
const INSUFFICIENT_PRIVILEGE: &[&str] = &[
    "permission denied",
    "must be owner of ",
    "must be superuser",
    "must be a superuser to ",
    "must be a member of the role whose ",
    "must be member of role ",
    "must have admin option on role ",
    "must have CREATEROLE privilege",
    "only superuser can ",
    "new row violates row-level security policy",
    "target row violates row-level security policy",
    "query would be affected by row-level security policy",
    "COPY FROM not supported with row-level security",
];

fn is_insufficient_privilege(message: &str) -> bool {
    INSUFFICIENT_PRIVILEGE
        .iter()
        .any(|prefix| message.starts_with(prefix))
}

/// The classification: by Diesel's kind first, then by constraint name, then
/// by the (C-locale) message for what Diesel reports as `Unknown`.
fn classify(error: DieselError) -> Error {
    let (kind, info) = match error {
        DieselError::NotFound => return Error::NotFound { entity: "row" },
        DieselError::BrokenTransactionManager => {
            return Error::Connection("transaction state is broken; connection discarded".into())
        }
        DieselError::DatabaseError(kind, info) => (kind, info),
        other => return Error::Database(other),
    };
    let constraint = || info.constraint_name().unwrap_or("unknown").to_owned();
    match kind {
        DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ExclusionViolation => {
            Error::Conflict {
                constraint: constraint(),
            }
        }
        DatabaseErrorKind::ForeignKeyViolation | DatabaseErrorKind::RestrictViolation => {
            Error::ForeignKey {
                constraint: constraint(),
            }
        }
        DatabaseErrorKind::CheckViolation => Error::Invalid {
            field: constraint(),
            reason: info.message().to_owned(),
        },
        DatabaseErrorKind::NotNullViolation => Error::Invalid {
            field: info.column_name().unwrap_or("unknown").to_owned(),
            reason: "must not be null".into(),
        },
        DatabaseErrorKind::SerializationFailure => Error::Retryable {
            attempts: 1,
            message: info.message().to_owned(),
        },
        DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
            Error::Connection(info.message().to_owned())
        }
        _ => {
            let message = info.message();
            if message.starts_with("deadlock detected") {
                Error::Retryable {
                    attempts: 1,
                    message: message.to_owned(),
                }
            } else if message.starts_with("canceling statement due to statement timeout")
                || message.starts_with("canceling statement due to lock timeout")
            {
                Error::Timeout
            } else if info
                .constraint_name()
                .is_some_and(|name| FORBIDDING_CONSTRAINTS.contains(&name))
                || is_insufficient_privilege(message)
            {
                Error::Forbidden {
                    reason: message.to_owned(),
                }
            } else if message.starts_with("cannot execute ")
                && message.ends_with(" in a read-only transaction")
            {
                Error::ReadOnly(message.to_owned())
            } else if message.starts_with("could not obtain lock") {
                Error::Locked
            } else if message.contains("must be loaded via \"shared_preload_libraries\"")
                || message.contains("must be loaded via shared_preload_libraries")
            {
                Error::NotAvailable(message.to_owned())
            } else if message.starts_with("terminating connection")
                || message.contains("server closed the connection")
            {
                Error::Connection(message.to_owned())
            } else {
                Error::Database(DieselError::DatabaseError(kind, info))
            }
        }
    }
}
