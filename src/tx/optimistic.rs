//! Optimistic locking: every versioned table is updated through
//! [`versioned_update!`], one `UPDATE .. WHERE id = $1 AND version = $2
//! RETURNING ..` statement, and a zero-row result is explained by
//! [`versioned`] as stale or missing.

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
    id: Uuid,
    expected: i32,
    current_version: impl FnOnce() -> QueryResult<Option<i32>>,
) -> Result<T> {
    match updated {
        Some(row) => Ok(row),
        None => match current_version()? {
            Some(actual) => Err(Error::Stale {
                entity,
                id,
                expected,
                actual,
            }),
            None => Err(Error::NotFound { entity }),
        },
    }
}

/// One optimistic-lock update of a versioned table.
///
/// `target` is the table with the filters that make a row visible (it is
/// used for the update and for explaining a miss); `set` is any changeset.
/// The `bump_version` trigger bumps the version; `updated_at = now()` keeps
/// an empty changeset one UPDATE (the value set_updated_at writes anyway).
macro_rules! versioned_update {
    (
        $conn:expr,
        table: $table:ident,
        target: $target:expr,
        entity: $entity:literal,
        id: $id:expr,
        expected: $expected:expr,
        set: $changes:expr,
        returning: $model:ty $(,)?
    ) => {{
        use diesel::prelude::*;
        let (id, expected) = ($id, $expected);
        let conn: &mut diesel::PgConnection = $conn;
        let updated = diesel::update(
            $target
                .filter($table::id.eq(id))
                .filter($table::version.eq(expected)),
        )
        .set(($changes, $table::updated_at.eq(diesel::dsl::now)))
        .returning(<$model>::as_returning())
        .get_result::<$model>(conn)
        .optional()?;
        $crate::tx::optimistic::versioned(updated, $entity, id, expected, || {
            $target
                .filter($table::id.eq(id))
                .select($table::version)
                .first::<i32>(conn)
                .optional()
        })
    }};
}
pub(crate) use versioned_update;

/// One unconditional change to a visible row (its version bumped by the
/// `bump_version` trigger), so concurrent optimistic writers notice (role changes, bans, publishing).
/// `NotFound` when nothing matched.
macro_rules! bump_update {
    (
        $conn:expr,
        table: $table:ident,
        target: $target:expr,
        entity: $entity:literal,
        id: $id:expr,
        set: $changes:expr,
        returning: $model:ty $(,)?
    ) => {{
        use diesel::prelude::*;
        let conn: &mut diesel::PgConnection = $conn;
        diesel::update($target.filter($table::id.eq($id)))
            .set($changes)
            .returning(<$model>::as_returning())
            .get_result::<$model>(conn)
            .optional()?
            .ok_or($crate::error::Error::NotFound { entity: $entity })
    }};
}
pub(crate) use bump_update;
