//! [`Database::write`] and [`Database::read`].

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{token::parse_lsn, Consistency, WriteToken, BEGIN_READ_ONLY};
use crate::database::Database;
use crate::error::{Error, Result};
use crate::sql::StaticSql;

/// The primary's WAL insert position, after a COMMIT: at or past the
/// commit record.
const INSERT_LSN: StaticSql<Text> = StaticSql::new("pg_current_wal_insert_lsn()::text");

impl Database {
    /// Runs `f` in a transaction on the primary, like
    /// [`Database::transaction`], and returns its result with a
    /// [`WriteToken`]: the WAL position after the COMMIT (taken only when
    /// replicas are configured; else `0/0`). Pass it to
    /// [`Consistency::AtLeast`] to read the write back.
    ///
    /// # Errors
    /// As [`Database::transaction`]; the position query's database errors.
    pub fn write<T, F>(&self, f: F) -> Result<(T, WriteToken)>
    where
        F: FnOnce(&mut PgConnection) -> Result<T>,
    {
        let mut conn = self.conn()?;
        let value = crate::tx::run_transaction(&mut conn, f)?;
        if self.replica_set().is_empty() {
            return Ok((value, WriteToken::default()));
        }
        // A cached prepared statement (its text is fixed): the token's only
        // cost is this one round trip after COMMIT.
        let lsn: String = diesel::select(INSERT_LSN).get_result(&mut *conn)?;
        let token = parse_lsn(&lsn)
            .map(WriteToken)
            .ok_or_else(|| Error::NotAvailable(format!("unreadable WAL position {lsn:?}")))?;
        Ok((value, token))
    }

    /// Runs `f` in a READ ONLY transaction where `consistency` says: on a
    /// replica (round robin over those up), or on the primary when asked,
    /// when none is configured or up, or when none has replayed the token
    /// within [`replica_wait`](crate::DatabaseBuilder::replica_wait). `f`
    /// may run twice (a replica failing mid-read, then the primary), so it
    /// must only read.
    ///
    /// # Errors
    /// [`Error::ReadOnly`] when `f` writes; what `f` returns; the primary's
    /// pool and database errors (a replica's failures fall back instead).
    pub fn read<T, F>(&self, consistency: Consistency<'_>, mut f: F) -> Result<T>
    where
        F: FnMut(&mut PgConnection) -> Result<T>,
    {
        let min_lsn = match consistency {
            Consistency::Primary => None,
            Consistency::Any => Some(0),
            Consistency::AtLeast(token) => Some(token.0),
        };
        if let Some(min_lsn) = min_lsn {
            if let Some(result) = self.replica_set().try_read(min_lsn, &mut f) {
                return result;
            }
        }
        let mut conn = self.conn()?;
        crate::tx::run_with_begin(&mut conn, Some(BEGIN_READ_ONLY), f)
    }
}
