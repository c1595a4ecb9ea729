//! [`Error`] for web servers: the HTTP status of every variant
//! ([`Error::http_status`], no `http` dependency), a stable code
//! ([`Error::code`]) and a body that is safe to show a client
//! ([`Error::public_body`]), and, with the `axum` feature, `IntoResponse for
//! Error` built from them.
//!
//! The body never carries the server's message, SQL, a constraint name, a
//! row's values or a secret: those stay in the `Display` text, which the
//! axum response logs (with `tracing`) for server errors. For a CHECK the
//! database refused, `field` names the constraint (see [`Error::field`]).

use serde::Serialize;

use crate::error::Error;

/// What a client is told about an [`Error`]: serialize it as the JSON body
/// of an error response (`{"code":"not_found","message":"user not found"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// [`Error::code`]: stable, snake_case, one per variant.
    pub code: &'static str,
    /// A sentence for people: no SQL, no server message, no input echoed
    /// beyond the field's name, no secret.
    pub message: String,
    /// The input field at fault ([`Error::field`]), when the error names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// What every "try again later" error tells the client.
const UNAVAILABLE: &str = "the service is busy or the database is unavailable; try again";
/// What every error that is the server's fault tells the client.
const INTERNAL: &str = "internal server error";

impl Error {
    /// The HTTP status code for this error: 404 not found; 409 for
    /// conflicts (a taken unique value, a lost optimistic-lock update, a
    /// foreign key refusing the change); 422 invalid input, 400 a bad
    /// cursor; 401 an invalid token, 403 forbidden; 503 for what may
    /// succeed when tried again (timeouts, locks, pool exhaustion,
    /// serialization failures, a lost connection, a runtime shutting
    /// down); 500 for everything else.
    pub fn http_status(&self) -> u16 {
        // Exhaustive on purpose: a new variant must choose its status here.
        match self {
            Error::NotFound { .. } => 404,
            Error::Conflict { .. } | Error::Stale { .. } | Error::ForeignKey { .. } => 409,
            Error::Invalid { .. } => 422,
            Error::InvalidCursor { .. } => 400,
            Error::Unauthorized => 401,
            Error::Forbidden { .. } => 403,
            Error::Timeout
            | Error::Locked
            | Error::PoolTimeout { .. }
            | Error::Retryable { .. }
            | Error::Connection(_)
            | Error::Cancelled => 503,
            Error::CommitUnknown(_)
            | Error::NotAvailable(_)
            | Error::Pooled { .. }
            | Error::Decrypt { .. }
            | Error::ReadOnly(_)
            | Error::LeaseLost { .. }
            | Error::Panicked(_)
            | Error::Migration(_)
            | Error::Database(_) => 500,
        }
    }

    /// A stable, snake_case name of the variant (`not_found`, `conflict`,
    /// `invalid`, ...), for clients to branch on and for metrics labels.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::Conflict { .. } => "conflict",
            Error::Stale { .. } => "stale",
            Error::Invalid { .. } => "invalid",
            Error::ForeignKey { .. } => "foreign_key",
            Error::Forbidden { .. } => "forbidden",
            Error::Unauthorized => "unauthorized",
            Error::InvalidCursor { .. } => "invalid_cursor",
            Error::Timeout => "timeout",
            Error::Locked => "locked",
            Error::PoolTimeout { .. } => "pool_timeout",
            Error::Retryable { .. } => "retryable",
            Error::Connection(_) => "connection",
            Error::CommitUnknown(_) => "commit_unknown",
            Error::NotAvailable(_) => "not_available",
            Error::Pooled { .. } => "pooled",
            Error::Decrypt { .. } => "decrypt",
            Error::ReadOnly(_) => "read_only",
            Error::LeaseLost { .. } => "lease_lost",
            Error::Panicked(_) => "panicked",
            Error::Cancelled => "cancelled",
            Error::Migration(_) => "migration",
            Error::Database(_) => "database",
        }
    }

    /// The body to show a client: [`Error::code`], a safe message, and the
    /// field at fault when there is one. Server errors say only "internal
    /// server error"; log the error itself (its `Display`) for the details.
    pub fn public_body(&self) -> ErrorBody {
        let field = self.field().map(str::to_owned);
        let message = match self {
            Error::NotFound { entity } => format!("{entity} not found"),
            Error::Conflict { .. } => match &field {
                Some(field) => format!("{field} is already taken"),
                None => "the value is already taken".to_owned(),
            },
            Error::Stale { entity, .. } => {
                format!("the {entity} was changed by someone else; reload it and try again")
            }
            // The crate's own checks give reasons like "must not be blank";
            // a CHECK refused by the server gives the server's message,
            // which names the table (server messages quote identifiers).
            Error::Invalid { field, reason } if !reason.contains('"') => {
                format!("invalid {field}: {reason}")
            }
            Error::Invalid { field, .. } => format!("invalid {field}"),
            Error::ForeignKey { .. } => {
                "a record it refers to does not exist, or it is still referred to".to_owned()
            }
            Error::Forbidden { .. } => "not allowed".to_owned(),
            Error::Unauthorized => {
                "not signed in, or the credentials or token are wrong".to_owned()
            }
            Error::InvalidCursor { reason } => format!("invalid cursor: {reason}"),
            Error::CommitUnknown(_) => {
                "the outcome of the change is unknown; check before trying again".to_owned()
            }
            _ if self.http_status() == 503 => UNAVAILABLE.to_owned(),
            _ => INTERNAL.to_owned(),
        };
        ErrorBody {
            code: self.code(),
            message,
            field,
        }
    }
}

/// The status of [`Error::http_status`] and the JSON [`ErrorBody`] of
/// [`Error::public_body`]. Server errors (5xx) are logged with `tracing` at
/// ERROR, with the full error, since the client is not told the details.
#[cfg(feature = "axum")]
impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        use axum::http::StatusCode;
        let status =
            StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, code = self.code(), "request failed");
        }
        (status, axum::Json(self.public_body())).into_response()
    }
}
