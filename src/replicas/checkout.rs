//! Taking a connection from a replica's pool, and telling "the replica is
//! down" from "the pool is busy" as soon as the replica refuses.
//!
//! r2d2 makes connections on its own threads and reports a failed one only
//! to its error handler: a plain `get_timeout` waits out the whole checkout
//! timeout even when the replica refused in a millisecond. So the pool gets
//! a [`ConnectWatch`] that counts refused connections, and the checkout
//! waits in short slices, giving up as soon as a refusal arrives.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::r2d2::Error as ManagerError;

use crate::pool::PgManager;

/// How long one wait for a connection lasts before the refusal counter is
/// looked at again.
const SLICE: Duration = Duration::from_micros(250);

/// What a replica's pool has seen of its connection attempts.
#[derive(Debug, Default)]
pub(crate) struct ConnectWatch {
    /// Connection attempts that failed (refused, timed out, rejected).
    refused: AtomicU64,
    /// Whether the latest attempt failed (cleared by a new connection).
    failing: AtomicBool,
}

/// The r2d2 error and event handler of a replica's pool, feeding a
/// [`ConnectWatch`].
#[derive(Debug, Clone, Default)]
pub(crate) struct WatchHandler(pub(crate) Arc<ConnectWatch>);

impl r2d2::HandleError<ManagerError> for WatchHandler {
    fn handle_error(&self, error: ManagerError) {
        // Only failures to connect count: a dead idle connection found by
        // the checkout test (a query error) says nothing about new ones.
        if let ManagerError::ConnectionError(e) = error {
            tracing::debug!(target: "saas_db::replicas", error = %e, "replica connection failed");
            self.0.refused.fetch_add(1, Ordering::SeqCst);
            self.0.failing.store(true, Ordering::SeqCst);
        }
    }
}

impl r2d2::HandleEvent for WatchHandler {
    fn handle_acquire(&self, _: r2d2::event::AcquireEvent) {
        self.0.failing.store(false, Ordering::SeqCst);
    }
}

/// The outcome of [`checkout`].
pub(crate) enum Checkout {
    /// A tested connection.
    Got(r2d2::PooledConnection<PgManager>),
    /// The replica refuses connections, or none could be made in time.
    Down,
    /// Every connection is in use: the replica is fine, the read goes
    /// elsewhere.
    Busy,
}

/// Takes a connection from `pool` within `timeout`. Returns [`Checkout::Down`]
/// without waiting when the pool has no connection and the latest attempt
/// failed, and as soon as an attempt made while waiting fails.
pub(crate) fn checkout(
    pool: &r2d2::Pool<PgManager>,
    watch: &ConnectWatch,
    timeout: Duration,
) -> Checkout {
    if let Some(conn) = pool.try_get() {
        return Checkout::Got(conn);
    }
    let seen = watch.refused.load(Ordering::SeqCst);
    if watch.failing.load(Ordering::SeqCst) && pool.state().connections == 0 {
        return Checkout::Down;
    }
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match pool.get_timeout(left.min(SLICE)) {
            Ok(conn) => return Checkout::Got(conn),
            Err(_) if watch.refused.load(Ordering::SeqCst) != seen => return Checkout::Down,
            // No connection at all after the whole wait: a hung host still
            // connecting (libpq's connect_timeout ends that later).
            Err(_) if left <= SLICE && pool.state().connections == 0 => return Checkout::Down,
            Err(_) if left <= SLICE => return Checkout::Busy,
            Err(_) => {}
        }
    }
}
