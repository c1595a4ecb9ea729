//! The replica settings of [`DatabaseBuilder`], and building their pools.

use std::time::Duration;

use diesel::r2d2::ConnectionManager;

use super::checkout::WatchHandler;
use super::{with_connect_timeout, ReplicaSet, ReplicaTimings};
use crate::conn_url::ConnUrl;
use crate::database::DatabaseBuilder;
use crate::error::Result;
use crate::pool::{PgManager, SessionSettings};
use crate::validate;

/// Longest [`DatabaseBuilder::replica_wait`]: a read waits at most this
/// long for a replica before it goes to the primary.
pub const REPLICA_WAIT_MAX: Duration = Duration::from_secs(60);

/// Replica URLs and timings, as given to the builder.
#[derive(Debug, Clone)]
pub(crate) struct ReplicaConfig {
    urls: Vec<ConnUrl>,
    timings: ReplicaTimings,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            urls: Vec::new(),
            timings: ReplicaTimings {
                wait: Duration::from_millis(50),
                down_for: Duration::from_secs(5),
                checkout_timeout: Duration::from_millis(250),
            },
        }
    }
}

impl ReplicaConfig {
    /// Validates the timings and creates one pool per replica (connections
    /// are made on first use, so a replica that is down does not stop
    /// `build`).
    pub(crate) fn build(
        &self,
        session: &SessionSettings,
        max_size: u32,
        recheck_after: Duration,
    ) -> Result<ReplicaSet> {
        let t = self.timings;
        if t.wait > REPLICA_WAIT_MAX {
            validate::duration("replica_wait", t.wait, REPLICA_WAIT_MAX)?;
        }
        validate::duration("replica_down_for", t.down_for, validate::DURATION_MAX)?;
        validate::duration(
            "replica_checkout_timeout",
            t.checkout_timeout,
            validate::DURATION_MAX,
        )?;
        let pools = self
            .urls
            .iter()
            .map(|url| {
                let manager = PgManager::new(
                    ConnectionManager::new(with_connect_timeout(&url.0)),
                    session.clone(),
                    recheck_after,
                );
                let watch = WatchHandler::default();
                let pool = r2d2::Pool::builder()
                    .max_size(max_size)
                    .min_idle(Some(0))
                    .connection_timeout(t.checkout_timeout)
                    .test_on_check_out(true)
                    .error_handler(Box::new(watch.clone()))
                    .event_handler(Box::new(watch.clone()))
                    .build_unchecked(manager);
                (pool, watch.0)
            })
            .collect();
        Ok(ReplicaSet::new(pools, t))
    }
}

impl DatabaseBuilder {
    /// Adds a read replica (repeatable; one pool each, of `max_size`).
    /// Reads go there only through [`crate::Database::read`] with
    /// [`Consistency::AtLeast`](super::Consistency::AtLeast) or
    /// [`Consistency::Any`](super::Consistency::Any). A URL without
    /// `connect_timeout` gets `connect_timeout=2`, so a hung host fails.
    pub fn replica(mut self, url: &str) -> Self {
        self.replicas.urls.push(ConnUrl(url.to_owned()));
        self
    }
    /// How long a read with `AtLeast` polls a replica that has not yet
    /// replayed the token before it goes to the primary (default 50 ms,
    /// zero: check once; at most [`REPLICA_WAIT_MAX`]).
    pub fn replica_wait(mut self, t: Duration) -> Self {
        self.replicas.timings.wait = t;
        self
    }
    /// How long a replica that failed (connection refused or lost, connect
    /// timeout, a read cancelled by a recovery conflict) is kept out before
    /// it is tried again (default 5 s).
    pub fn replica_down_for(mut self, t: Duration) -> Self {
        self.replicas.timings.down_for = t;
        self
    }
    /// How long a read waits for a replica connection before it counts the
    /// replica as down (default 250 ms). A refused connection does not wait
    /// this long: the read falls back as soon as the refusal arrives, and
    /// the breaker keeps the replica out.
    pub fn replica_checkout_timeout(mut self, t: Duration) -> Self {
        self.replicas.timings.checkout_timeout = t;
        self
    }
}
