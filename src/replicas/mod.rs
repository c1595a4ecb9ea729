//! Read replicas: routing of [`crate::Database::read`] with
//! read-your-writes tokens and a circuit breaker.
//!
//! A read with [`Consistency::AtLeast`] checks the replica's
//! `pg_last_wal_replay_lsn()` in a statement of its own, before BEGIN (a
//! check inside the read's statement would run on a snapshot older than the
//! check), polling until the replica has replayed the token's position or
//! the configured wait runs out; then the read runs on the primary. A
//! server not in recovery (a replica since promoted) serves no read. A
//! replica whose connection is refused or lost, or which cancels a read for
//! a conflict with recovery, is kept out for the configured time and the
//! read goes to the primary. SQL is never parsed to decide anything.

mod checkout;
mod config;
pub(crate) mod health;
mod routing;
mod token;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{Nullable, Text};

use crate::error::{Error, Result};
use crate::pool::PgManager;
use crate::sql::StaticSql;
use checkout::{checkout, Checkout, ConnectWatch};

pub(crate) use config::ReplicaConfig;
pub use config::REPLICA_WAIT_MAX;
pub use token::{Consistency, WriteToken};

/// `BEGIN` of every [`crate::Database::read`].
pub(crate) const BEGIN_READ_ONLY: &str = "BEGIN READ ONLY";

/// One replica's pool and breaker.
struct Replica {
    pool: r2d2::Pool<PgManager>,
    watch: Arc<ConnectWatch>,
    down_until: Mutex<Option<Instant>>,
}

/// The configured replicas and their counters.
pub(crate) struct ReplicaSet {
    replicas: Vec<Replica>,
    wait: Duration,
    down_for: Duration,
    checkout_timeout: Duration,
    next: AtomicUsize,
    pub(crate) reads: AtomicU64,
    pub(crate) fallbacks: AtomicU64,
    pub(crate) down: AtomicU64,
}

/// Timings of the replica routing (see the builder's `replica_*` methods).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReplicaTimings {
    pub wait: Duration,
    pub down_for: Duration,
    pub checkout_timeout: Duration,
}

/// The replay position of a server in recovery; NULL on one that is not
/// (a primary, or a replica since promoted: `pg_last_wal_replay_lsn()`
/// keeps its last value after `pg_promote()`).
const REPLAY_LSN: StaticSql<Nullable<Text>> =
    StaticSql::new("CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END");

/// What [`ReplicaSet::wait_for`] found.
enum Replay {
    /// The replica has replayed the position.
    Reached,
    /// Still behind when the wait ran out.
    Behind,
    /// The server is not in recovery: not a replica (any more).
    NotReplica,
}

impl ReplicaSet {
    pub(crate) fn new(
        pools: Vec<(r2d2::Pool<PgManager>, Arc<ConnectWatch>)>,
        timings: ReplicaTimings,
    ) -> Self {
        ReplicaSet {
            replicas: pools
                .into_iter()
                .map(|(pool, watch)| Replica {
                    pool,
                    watch,
                    down_until: Mutex::new(None),
                })
                .collect(),
            wait: timings.wait,
            down_for: timings.down_for,
            checkout_timeout: timings.checkout_timeout,
            next: AtomicUsize::new(0),
            reads: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            down: AtomicU64::new(0),
        }
    }

    pub(crate) fn pools(&self) -> impl Iterator<Item = &r2d2::Pool<PgManager>> {
        self.replicas.iter().map(|r| &r.pool)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// Runs `f` read-only on a replica at `min_lsn` or later; `None` when
    /// no replica could serve it (down, or behind after the wait), and the
    /// caller reads on the primary.
    pub(crate) fn try_read<T>(
        &self,
        min_lsn: u64,
        f: &mut impl FnMut(&mut PgConnection) -> Result<T>,
    ) -> Option<Result<T>> {
        if self.replicas.is_empty() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.replicas.len();
        for replica in (0..n).map(|i| &self.replicas[(start + i) % n]) {
            if replica.is_down() {
                continue;
            }
            let mut conn = match checkout(&replica.pool, &replica.watch, self.checkout_timeout) {
                Checkout::Got(conn) => conn,
                Checkout::Down => {
                    self.open_breaker(replica);
                    continue;
                }
                Checkout::Busy => continue,
            };
            match self.wait_for(&mut conn, min_lsn) {
                Ok(Replay::Reached) => {}
                Ok(Replay::Behind) => break,
                // A promoted (split-off) replica is kept out like a dead one.
                Ok(Replay::NotReplica) | Err(_) => {
                    self.open_breaker(replica);
                    continue;
                }
            }
            match crate::tx::run_with_begin(&mut conn, Some(BEGIN_READ_ONLY), |c| f(c)) {
                Err(e) if replica_failed(&e) => self.open_breaker(replica),
                result => {
                    self.reads.fetch_add(1, Ordering::Relaxed);
                    return Some(result);
                }
            }
        }
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Polls the replay position until it reaches `min_lsn` or the wait
    /// runs out. A server not in recovery never qualifies.
    fn wait_for(&self, conn: &mut PgConnection, min_lsn: u64) -> Result<Replay> {
        let deadline = Instant::now() + self.wait;
        let mut pause = Duration::from_micros(200);
        loop {
            let replayed: Option<String> = diesel::select(REPLAY_LSN).get_result(conn)?;
            match replayed.as_deref().map(token::parse_lsn) {
                None => return Ok(Replay::NotReplica),
                Some(Some(lsn)) if lsn >= min_lsn => return Ok(Replay::Reached),
                Some(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Replay::Behind);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }

    fn open_breaker(&self, replica: &Replica) {
        *replica.down_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + self.down_for);
        self.down.fetch_add(1, Ordering::Relaxed);
    }
}

impl Replica {
    fn is_down(&self) -> bool {
        let mut until = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }
}

/// Failures that are the replica's, not the read's: the connection is
/// gone, or recovery cancelled the statement.
fn replica_failed(error: &Error) -> bool {
    match error {
        Error::Connection(_) | Error::CommitUnknown(_) | Error::PoolTimeout { .. } => true,
        Error::Database(DieselError::DatabaseError(_, info)) => info
            .message()
            .starts_with("canceling statement due to conflict with recovery"),
        _ => false,
    }
}

/// `url` with `connect_timeout=2` added when it sets none, so a hung
/// replica host fails the connection instead of blocking it forever.
pub(crate) fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        url.to_owned()
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}connect_timeout=2")
    } else {
        format!("{url} connect_timeout=2")
    }
}
