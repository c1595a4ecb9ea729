//! Optimistic locking: a versioned change is one cached statement (see
//! [`crate::prepared`]) that updates the row if it is still at the
//! expected version and, only when it is not, reads the row's current
//! version, so `Stale` and `NotFound` are told apart in the same round
//! trip. The `bump_version` trigger moves the version (migration 000021).
//! Every versioned table's statement has this shape:
//!
//! ```sql
//! WITH upd AS (
//!     UPDATE posts SET title = COALESCE($1, title), .., updated_at = now()
//!      WHERE id = $8 AND version = $9 AND deleted_at IS NULL
//!     RETURNING id, author_id, .., updated_at)
//! SELECT cur.version AS current_version, upd.*
//!   FROM (SELECT) AS one
//!   LEFT JOIN upd ON true
//!   LEFT JOIN (SELECT version FROM posts
//!               WHERE id = $10 AND deleted_at IS NULL
//!                 AND NOT EXISTS (SELECT FROM upd)) AS cur ON true
//! ```
//!
//! One row always comes back: the updated row (`current_version` NULL), or
//! no updated row and the current version (stale), or neither (missing or
//! invisible). `NOT EXISTS (SELECT FROM upd)` is a one-time filter, so a
//! successful update does not read the row again. The `cur` lookup has the
//! same row and visibility filters as the update.
//!
//! `updated_at = now()` (what `set_updated_at` writes anyway) keeps an
//! empty change an edit, as before: it still bumps the version.

/// The text of a versioned update statement (the shape in the module
/// docs), from its parts: table, SET list, the row filter of the update
/// (with `version = $n`), the RETURNING list, and the row filter of the
/// version lookup. Builds a string literal only (`concat!`), so each
/// statement stays one `&'static str` and its own cache key. The RETURNING
/// list is a literal or a macro that expands to one (the table's column
/// list, written once next to its statements), never `*`: see
/// [`crate::prepared`].
macro_rules! versioned_update_sql {
    ($table:literal, $set:literal, $filter:literal, $returning:expr, $current:literal) => {
        concat!(
            "WITH upd AS (UPDATE ",
            $table,
            " SET ",
            $set,
            " WHERE ",
            $filter,
            " RETURNING ",
            $returning,
            ") ",
            "SELECT cur.version AS current_version, upd.* FROM (SELECT) AS one ",
            "LEFT JOIN upd ON true ",
            "LEFT JOIN (SELECT version FROM ",
            $table,
            " WHERE ",
            $current,
            " AND NOT EXISTS (SELECT FROM upd)) AS cur ON true"
        )
    };
}
pub(crate) use versioned_update_sql;

use diesel::deserialize::{self, QueryableByName};
use diesel::dsl::Limit;
use diesel::pg::Pg;
use diesel::query_builder::QueryId;
use diesel::query_dsl::methods::LimitDsl;
use diesel::query_dsl::LoadQuery;
use diesel::row::NamedRow;
use diesel::sql_types::{Integer, Nullable};
use diesel::{OptionalExtension, PgConnection, QueryResult, RunQueryDsl};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The one row of a versioned update statement: the updated row, or the
/// row's current version when it was not updated, or neither.
pub(crate) struct Versioned<T> {
    current_version: Option<i32>,
    row: Option<T>,
}

impl<T: QueryableByName<Pg>> QueryableByName<Pg> for Versioned<T> {
    fn build<'a>(row: &impl NamedRow<'a, Pg>) -> deserialize::Result<Self> {
        Ok(Versioned {
            current_version: NamedRow::get::<Nullable<Integer>, Option<i32>>(
                row,
                "current_version",
            )?,
            // All NULL (the LEFT JOIN found no updated row) reads as None.
            row: Option::<T>::build(row)?,
        })
    }
}

/// Explains the outcome of a versioned update: the row, or why there is
/// none. `current_version` is only run when the update matched nothing.
///
/// # Errors
/// [`Error::Stale`] when the row exists at another version,
/// [`Error::NotFound`] when it does not exist (or is not visible).
fn versioned<T>(
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

/// Runs `update`, a cached versioned update statement of the shape in the
/// module docs, and explains a miss: [`Error::NotFound`] when no visible
/// row has the id, [`Error::Stale`] with the current version when it is at
/// another. One round trip, except when a concurrent writer committed a new
/// version after the statement's snapshot was taken (then the statement saw
/// the expected version but could not update it): `version` (the same row
/// and visibility filters, selecting `version`) then reads the version
/// that writer left. `what` is the entity, the row's id and the expected
/// version, for the error.
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
    U: RunQueryDsl<PgConnection> + QueryId + LoadQuery<'q, PgConnection, Versioned<T>>,
    V: RunQueryDsl<PgConnection> + LimitDsl,
    Limit<V>: LoadQuery<'q, PgConnection, i32>,
{
    debug_assert!(
        U::HAS_STATIC_QUERY_ID,
        "a versioned update must be a cached statement"
    );
    let (entity, id, expected) = what;
    let Versioned {
        current_version,
        row,
    } = update.get_result(conn)?;
    versioned(row, entity, id.into(), expected, || match current_version {
        Some(actual) if actual == expected => version.first(conn).optional(),
        seen => Ok(seen),
    })
}
