//! [`ChangeFeed`]: a consumer of the change feed on its own connection.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use diesel::sql_types::{BigInt, Double, Integer, Nullable};
use serde::Serialize;

use super::changes::{self, CapturedTable, Change, Filter};
use super::cursor::ChangeCursor;
use crate::error::{Error, Result};
use crate::ids::{TeamId, UserId};
use crate::pool::PgManager;
use crate::validate;

/// The channel the capture trigger notifies (with an empty payload).
pub const CHANNEL: &str = "saas_db_changes";

/// Longest [`ChangeFeed::poll`] timeout: one hour.
pub const POLL_TIMEOUT_MAX: Duration = Duration::from_secs(3600);

/// Largest [`ChangeFeed::batch`].
pub const BATCH_MAX: i64 = 10_000;

/// A consumer of the change feed, on a dedicated connection (not from the
/// pool) that LISTENs for the capture trigger's notifications. Open it
/// with [`Database::change_feed`](crate::Database::change_feed), restrict
/// it with [`tables`](ChangeFeed::tables), [`team`](ChangeFeed::team) and
/// [`user`](ChangeFeed::user), then call [`poll`](ChangeFeed::poll) in a
/// loop. See the module docs for the delivery guarantee.
pub struct ChangeFeed {
    manager: std::sync::Arc<PgManager>,
    conn: Option<PgConnection>,
    cursor: ChangeCursor,
    filter: Filter,
    batch: i64,
    recheck: Duration,
    slice: Duration,
    stats: FeedStats,
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("cursor", &self.cursor)
            .field("filter", &self.filter)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

/// Counters of one [`ChangeFeed`] since it opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedStats {
    /// Calls of [`ChangeFeed::poll`].
    pub polls: u64,
    /// Changes delivered.
    pub delivered: u64,
    /// Reads of the `changes` table.
    pub queries: u64,
    /// Reads started by a notification.
    pub notified: u64,
    /// Reads started by the timer backstop.
    pub rechecks: u64,
    /// Connections re-opened after one was lost.
    pub reconnects: u64,
}

/// How far a long-open transaction holds the feed back (nothing is lost:
/// the held-back changes are delivered once it ends).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedLag {
    /// Committed changes (of this feed's filter) not deliverable yet.
    pub held_back: i64,
    /// How long the oldest transaction with a transaction id on this
    /// database has been open; `None` when there is none, or when this
    /// role may not see it in `pg_stat_activity` (`pg_read_all_stats`
    /// shows other roles' sessions).
    pub oldest_transaction: Option<Duration>,
}

#[derive(QueryableByName)]
struct Int8 {
    #[diesel(sql_type = BigInt)]
    v: i64,
}

#[derive(QueryableByName)]
struct Oldest {
    #[diesel(sql_type = Nullable<Double>)]
    secs: Option<f64>,
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// A connection with the pool's session settings, LISTENing.
fn open(manager: &PgManager) -> Result<PgConnection> {
    let mut conn = manager
        .connect()
        .map_err(|e| Error::Connection(e.to_string()))?;
    // CHANNEL is a constant identifier.
    conn.batch_execute("LISTEN saas_db_changes")?;
    Ok(conn)
}

/// Whether the server has closed `conn`: two non-blocking reads (as the
/// pool's checkout check does; a notification read here is dropped, which
/// only costs a wake-up since the caller re-reads the table).
fn lost(conn: &mut PgConnection) -> bool {
    let mut pending = conn.notifications_iter();
    (0..2).any(|_| matches!(pending.next(), Some(Err(_))))
}

/// The boundary below which every transaction has ended, as a cursor.
fn boundary(conn: &mut PgConnection) -> Result<ChangeCursor> {
    let row: Int8 =
        diesel::sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS v")
            .get_result(conn)?;
    Ok(ChangeCursor::at(row.v, 0))
}

/// The transaction id the server hands out next: no change, and no
/// cursor the feed gave out, is beyond it.
fn next_xid(conn: &mut PgConnection) -> Result<i64> {
    let row: Int8 =
        diesel::sql_query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS v")
            .get_result(conn)?;
    Ok(row.v)
}

/// [`FeedLag`] for `filter`.
pub(crate) fn lag(conn: &mut PgConnection, filter: &Filter) -> Result<FeedLag> {
    let held_back = changes::held_back(conn, filter)?;
    let oldest: Oldest = diesel::sql_query(
        "SELECT extract(epoch FROM clock_timestamp() - xact_start)::float8 AS secs
           FROM pg_stat_activity
          WHERE backend_xid IS NOT NULL AND datname = current_database()
          ORDER BY age(backend_xid) DESC LIMIT 1",
    )
    .get_result::<Oldest>(conn)
    .optional()?
    .unwrap_or(Oldest { secs: None });
    Ok(FeedLag {
        held_back,
        oldest_transaction: oldest.secs.map(|s| Duration::from_secs_f64(s.max(0.0))),
    })
}

impl ChangeFeed {
    pub(crate) fn open(
        manager: std::sync::Arc<PgManager>,
        from: ChangeCursor,
    ) -> Result<ChangeFeed> {
        let mut conn = open(&manager)?;
        let cursor =
            match from.position() {
                Some((xid, _)) if xid > next_xid(&mut conn)? => return Err(Error::invalid(
                    "cursor",
                    "ahead of every transaction on this server (forged, or from another server)",
                )),
                Some(_) => from,
                None => boundary(&mut conn)?,
            };
        Ok(ChangeFeed {
            manager,
            conn: Some(conn),
            cursor,
            filter: Filter::default(),
            batch: 1000,
            recheck: Duration::from_millis(500),
            slice: Duration::from_millis(1),
            stats: FeedStats::default(),
        })
    }

    /// Only changes of these tables (default: every captured table). An
    /// empty list lets nothing through: a caller that computed the tables
    /// a subscriber may see and found none gets no changes, not all.
    pub fn tables(mut self, tables: &[CapturedTable]) -> Self {
        self.filter.tables = Some(tables.to_vec());
        self
    }

    /// Only changes of rows owned by this team (team-scoped tables:
    /// teams, team_members, team_invitations, projects). The cursor then
    /// never names another team's change: it moves past them to a boundary.
    pub fn team(mut self, team_id: TeamId) -> Self {
        self.filter.team = Some(team_id);
        self
    }

    /// Only changes of rows owned by this user (users, user_profiles,
    /// posts, post_tags, subscriptions, payments, and the user's team
    /// memberships). With [`team`](ChangeFeed::team) too, both must match.
    pub fn user(mut self, user_id: UserId) -> Self {
        self.filter.user = Some(user_id);
        self
    }

    /// Most changes one [`poll`](ChangeFeed::poll) returns (default 1000).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `batch` outside 1..=[`BATCH_MAX`].
    pub fn batch(mut self, n: i64) -> Result<Self> {
        self.batch = validate::range("batch", n, 1..=BATCH_MAX)?;
        Ok(self)
    }

    /// How often a waiting poll reads the table even without a
    /// notification (default 500 ms): the backstop for a notification
    /// that never comes, e.g. when the transaction that held the feed back
    /// wrote nothing captured. And how often it looks for one (default
    /// 1 ms: Diesel's notification check never blocks, so waiting is a
    /// sleep; each look is one non-blocking socket read).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `recheck` or `slice` outside 1 µs..=1 h.
    pub fn timing(mut self, recheck: Duration, slice: Duration) -> Result<Self> {
        self.recheck = validate::duration("recheck", recheck, POLL_TIMEOUT_MAX)?;
        self.slice = validate::duration("slice", slice, POLL_TIMEOUT_MAX)?;
        Ok(self)
    }

    /// The position after the last change delivered (or skipped by the
    /// filter): hand it to a client, and reopen a feed from it to resume.
    pub fn cursor(&self) -> ChangeCursor {
        self.cursor
    }

    /// Counters since the feed opened.
    pub fn stats(&self) -> &FeedStats {
        &self.stats
    }

    fn conn(&mut self) -> Result<&mut PgConnection> {
        if self.conn.is_none() {
            self.conn = Some(open(&self.manager)?);
            self.stats.reconnects += 1;
        }
        Ok(self.conn.as_mut().expect("just opened"))
    }

    /// Runs `f` on the connection; when the connection turns out lost,
    /// opens a new one and runs `f` once more (the changes are in the
    /// table: nothing is lost with the connection).
    fn with_conn<T>(&mut self, f: impl Fn(&mut PgConnection) -> Result<T>) -> Result<T> {
        match f(self.conn()?) {
            Err(e) if matches!(e, Error::Connection(_)) || self.conn.as_mut().is_some_and(lost) => {
                self.conn = None;
                let result = f(self.conn()?);
                if matches!(result, Err(Error::Connection(_))) {
                    self.conn = None;
                }
                result
            }
            other => other,
        }
    }

    /// The server process of the feed's connection (for `pg_stat_activity`).
    ///
    /// # Errors
    /// [`Error::Connection`] when no connection can be made.
    pub fn backend_pid(&mut self) -> Result<i32> {
        self.with_conn(|c| {
            Ok(diesel::sql_query("SELECT pg_backend_pid() AS pid")
                .get_result::<Pid>(c)?
                .pid)
        })
    }

    /// How far open transactions hold this feed back.
    ///
    /// # Errors
    /// Database and connection errors.
    pub fn lag(&mut self) -> Result<FeedLag> {
        let filter = self.filter.clone();
        self.with_conn(|c| lag(c, &filter))
    }

    /// Whether a notification (or a lost connection) arrived; drains them.
    fn notified(&mut self) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return true;
        };
        let mut any = false;
        let mut lost = false;
        for n in conn.notifications_iter() {
            match n {
                Ok(_) => any = true,
                Err(_) => {
                    lost = true;
                    break;
                }
            }
        }
        if lost {
            self.conn = None;
        }
        any || lost
    }

    fn read(&mut self) -> Result<Vec<Change>> {
        let (filter, batch) = (self.filter.clone(), self.batch);
        let after = self.cursor.position().unwrap_or((0, 0));
        self.stats.queries += 1;
        let (changes, cursor) = self.with_conn(|c| changes::fetch(c, &filter, after, batch))?;
        self.cursor = cursor;
        self.stats.delivered += changes.len() as u64;
        Ok(changes)
    }

    /// Committed changes after the cursor, at most [`batch`](ChangeFeed::batch),
    /// in (xid, id) order; the cursor moves past them. Returns at once when
    /// some are pending, else waits for a notification (re-reading the
    /// table on the [`timing`](ChangeFeed::timing) backstop) and returns
    /// an empty `Vec` when `timeout` passes.
    ///
    /// A lost connection (a killed backend, a server restart) is replaced
    /// on the spot and the read resumes from the cursor: nothing is lost
    /// or repeated. If no new connection can be made, the error is
    /// returned and the next poll tries again (the cursor is unchanged).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `timeout` outside 1 µs..=[`POLL_TIMEOUT_MAX`];
    /// [`Error::Connection`] when the server cannot be reached; database
    /// errors (a role that may not read `changes`: [`Error::Forbidden`]).
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<Change>> {
        validate::duration("timeout", timeout, POLL_TIMEOUT_MAX)?;
        let deadline = Instant::now() + timeout;
        self.stats.polls += 1;
        // Notifications already queued are covered by this first read.
        self.notified();
        loop {
            let changes = self.read()?;
            if !changes.is_empty() {
                return Ok(changes);
            }
            let next_check = Instant::now() + self.recheck;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(Vec::new());
                }
                if self.notified() {
                    self.stats.notified += 1;
                    break;
                }
                if now >= next_check {
                    self.stats.rechecks += 1;
                    break;
                }
                std::thread::sleep(self.slice.min(deadline - now));
            }
        }
    }
}
