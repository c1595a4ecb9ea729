//! Live data: a change feed with exactly-once delivery that survives
//! disconnects.
//!
//! Capture: AFTER row triggers on the tables a live UI watches (see
//! [`CapturedTable`]) write one row per insert, update and delete to
//! `changes` (ids and owner only, never row contents or secrets) in the
//! writing transaction, and `pg_notify` a constant payload on
//! [`CHANNEL`]. Consume: [`Database::change_feed`](crate::Database::change_feed)
//! opens a [`ChangeFeed`] on a dedicated connection; [`ChangeFeed::poll`]
//! returns changes after its [`ChangeCursor`].
//!
//! # The guarantee
//!
//! A feed reads `WHERE (xid, id) > cursor AND xid < xmin ORDER BY xid, id`,
//! where `xmin` is the oldest transaction still open: so it reads only
//! transactions that have ended, and a change can never appear behind a
//! cursor that has passed it.
//!
//! - Every committed change is delivered exactly once to a consumer that
//!   resumes from the last cursor it got (after a restart, a disconnect or
//!   a killed backend), as long as the change is retained.
//! - Order: a transaction's changes are contiguous and in statement order.
//!   Transactions that did not overlap come in commit order; overlapping
//!   ones in the order they took transaction ids (their first write).
//! - A long-open transaction holds back changes committed after it began,
//!   until it ends ([`ChangeFeed::lag`], [`crate::Database::feed_lag`]):
//!   delayed, never lost. `xmin` is the server's: a transaction open in
//!   another database of the same server holds the feed back too.
//! - The feed reads `changes` as its connection's role, under Row-Level
//!   Security: open it as the owner (or a BYPASSRLS role) and filter per
//!   subscriber with [`ChangeFeed::team`] / [`ChangeFeed::user`].
//! - A change says a row changed, not what it is now: read the current row;
//!   a row that is gone, or not visible to the reader, is deleted for it.
//!
//! Retention: changes older than [`DEFAULT_RETENTION`] are deleted by
//! [`crate::Database::purge_expired_changes`] (run it from a periodic job);
//! a consumer that stays away longer misses them and must reload its state.

mod changes;
mod cursor;
mod feed;
mod retention;

pub use changes::{CapturedTable, Change, ChangeOp};
pub use cursor::ChangeCursor;
pub use feed::{ChangeFeed, FeedLag, FeedStats, BATCH_MAX, CHANNEL, POLL_TIMEOUT_MAX};
pub use retention::{purge_changes_before, DEFAULT_RETENTION, PURGE_BATCH};
