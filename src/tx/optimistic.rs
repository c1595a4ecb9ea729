//! Optimistic locking: a versioned change is one plain Diesel
//! `UPDATE .. WHERE id = $1 AND version = $2 RETURNING ..` statement (the
//! `bump_version` trigger moves the version, migration 000021), and a
//! zero-row result is explained by [`versioned`] as stale or missing.
//!
//! The pattern at each call site:
//!
//! ```ignore
//! let updated = diesel::update(users::table.find(id).filter(users::version.eq(expected)))
//!     // updated_at = now() (what set_updated_at writes anyway) keeps an
//!     // empty changeset one UPDATE that still bumps the version.
//!     .set((changes, users::updated_at.eq(now)))
//!     .returning(User::as_returning())
//!     .get_result(conn)
//!     .optional()?;
//! versioned(updated, "user", id, expected, || {
//!     users::table.find(id).select(users::version).first(conn).optional()
//! })
//! ```

use diesel::QueryResult;
use uuid::Uuid;

use crate::error::{Error, Result};

/// Explains the outcome of a versioned update: the row, or why there is
/// none. `current_version` is only run when the update matched nothing.
///
/// # Errors
/// [`Error::Stale`] when the row exists at another version,
/// [`Error::NotFound`] when it does not exist (or is not visible).
pub(crate) fn versioned<T>(
    updated: Option<T>,
    entity: &'static str,
    id: impl Into<Uuid>,
    expected: i32,
    current_version: impl FnOnce() -> QueryResult<Option<i32>>,
) -> Result<T> {
    match updated {
        Some(row) => Ok(row),
        None => match current_version()? {
            Some(actual) => Err(Error::Stale {
                entity,
                id: id.into(),
                expected,
                actual,
            }),
            None => Err(Error::NotFound { entity }),
        },
    }
}
