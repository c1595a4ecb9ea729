//! Opening a feed from a [`Database`], its lag, and retention.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};

use super::changes::Filter;
use super::cursor::ChangeCursor;
use super::feed::{lag, ChangeFeed, FeedLag};
use crate::error::{Error, Result};
use crate::sql::repeat_batches;
use crate::validate;
use crate::Database;

/// How long changes are kept by [`Database::purge_expired_changes`]: 7
/// days, long enough for a client to come back after a weekend and resume
/// from its cursor, short enough that the table stays small.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// Rows deleted per statement by a purge (each its own short transaction).
pub const PURGE_BATCH: i64 = 5_000;

/// Deletes changes recorded before `cutoff`, [`PURGE_BATCH`] rows per
/// statement; the number deleted. Outside a transaction each batch commits
/// on its own, so a large purge holds no long lock and no long transaction
/// (which would hold every feed back).
///
/// # Errors
/// [`Error::Invalid`] naming `cutoff` outside PostgreSQL's timestamp range;
/// database errors (the application role may not delete changes: run it as
/// the owner).
pub fn purge_changes_before(conn: &mut PgConnection, cutoff: DateTime<Utc>) -> Result<usize> {
    validate::timestamp("cutoff", cutoff)?;
    repeat_batches(PURGE_BATCH, |n| {
        diesel::sql_query(
            "DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE at < $2 LIMIT $1)",
        )
        .bind::<BigInt, _>(n)
        .bind::<Timestamptz, _>(cutoff)
        .execute(conn)
    })
}

impl Database {
    /// Opens a [`ChangeFeed`] that delivers changes after `from` (see
    /// [`crate::live`] for the guarantee), on a dedicated connection with
    /// the pool's session settings (schema, statement timeout, messages).
    ///
    /// # Errors
    /// [`Error::Pooled`] in
    /// [`transaction_pooling`](crate::DatabaseBuilder::transaction_pooling)
    /// mode: LISTEN needs a session of its own, so build a second
    /// `Database` on a direct URL for the feed. [`Error::Connection`] when
    /// no connection can be made. [`Error::Invalid`] naming `cursor` when
    /// `from` is ahead of every transaction id the server has handed out
    /// (forged, or from another server): it would never deliver anything.
    pub fn change_feed(&self, from: ChangeCursor) -> Result<ChangeFeed> {
        if self.transaction_pooling() {
            return Err(Error::Pooled {
                what: "change_feed (LISTEN and the feed's connection need a session)".into(),
                fix: "build a Database on a direct URL (not through the pooler) for the feed"
                    .into(),
            });
        }
        ChangeFeed::open(std::sync::Arc::clone(self.session_manager()), from)
    }

    /// How far open transactions hold every feed back (for metrics: report
    /// it as `feed_lag`).
    ///
    /// # Errors
    /// Pool and database errors.
    pub fn feed_lag(&self) -> Result<FeedLag> {
        lag(&mut *self.conn()?, &Filter::default())
    }

    /// Deletes changes recorded before `cutoff` in batches; see
    /// [`purge_changes_before`].
    ///
    /// # Errors
    /// As [`purge_changes_before`], and pool errors.
    pub fn purge_changes_before(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        purge_changes_before(&mut *self.conn()?, cutoff)
    }

    /// Deletes changes older than [`DEFAULT_RETENTION`]; the number deleted.
    ///
    /// # Errors
    /// As [`purge_changes_before`], and pool errors.
    pub fn purge_expired_changes(&self) -> Result<usize> {
        let retention = chrono::Duration::from_std(DEFAULT_RETENTION)
            .map_err(|e| Error::invalid("retention", e.to_string()))?;
        self.purge_changes_before(Utc::now() - retention)
    }
}
