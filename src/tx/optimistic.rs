//! Optimistic locking: a versioned change is one plain Diesel
//! `UPDATE .. WHERE id = $1 AND version = $2 RETURNING ..` statement (the
//! `bump_version` trigger moves the version, migration 000021), and a
//! zero-row result is explained by [`versioned`] as stale or missing.
//! Every versioned table goes through [`update_versioned`]:
//!
//! ```ignore
//! update_versioned(
//!     conn,
//!     // updated_at = now() (what set_updated_at writes anyway) keeps an
//!     // empty changeset one UPDATE that still bumps the version.
//!     diesel::update(users::table.find(id).filter(users::version.eq(expected)))
//!         .set((changes, users::updated_at.eq(now)))
//!         .returning(User::as_returning()),
//!     ("user", id, expected),
//!     users::table.find(id).select(users::version),
//! )
//! ```

use diesel::dsl::Limit;
use diesel::query_dsl::methods::LimitDsl;
use diesel::query_dsl::LoadQuery;
use diesel::{OptionalExtension, PgConnection, QueryResult, RunQueryDsl};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Explains the outcome of a versioned update: the row, or why there is
/// none. `current_version` is only run when the update matched nothing.
///
/// # Errors
/// [`Error::Stale`] when the row exists at another version,
/// [`Error::NotFound`] when it does not exist (or is not visible).
fn versioned<T>(
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

/// Runs `update` (an `UPDATE .. WHERE <row> AND version = $expected
/// RETURNING ..` statement) and explains a miss with [`versioned`], reading
/// the row's version with `version` (the same row and visibility filters,
/// selecting `version`) only then. `what` is the entity, the row's id and
/// the expected version, for the error.
///
/// # Errors
/// [`Error::Stale`], [`Error::NotFound`], and the update's own errors.
pub(crate) fn update_versioned<'q, T, U, V>(
    conn: &mut PgConnection,
    update: U,
    what: (&'static str, impl Into<Uuid>, i32),
    version: V,
) -> Result<T>
where
    U: RunQueryDsl<PgConnection> + LoadQuery<'q, PgConnection, T>,
    V: RunQueryDsl<PgConnection> + LimitDsl,
    Limit<V>: LoadQuery<'q, PgConnection, i32>,
{
    let (entity, id, expected) = what;
    let updated = update.get_result(conn).optional()?;
    versioned(updated, entity, id, expected, || {
        version.first(conn).optional()
    })
}
