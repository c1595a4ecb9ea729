//! The r2d2 side of the pool: connection setup, the checkout check,
//! per-query tracing, and the counters behind `Database::pool_status`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{CacheSize, Instrumentation, InstrumentationEvent};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, ManageConnection, R2D2Connection};
use diesel::sql_types::{Nullable, Text};

use crate::query_trace::QueryTrace;

/// Session settings applied once to every new connection.
#[derive(Debug, Clone)]
pub(crate) struct SessionSettings {
    pub search_path: Option<String>,
    pub statement_timeout: Option<String>,
    pub application_name: String,
    /// Transaction-pooling mode: no statement cache, nothing set here.
    pub transaction_pooling: bool,
}

/// The r2d2 connection manager: Diesel's, plus session settings on connect
/// and a checkout check without a round trip: every checkout reads what the
/// server sent while the connection sat idle (a closed socket means the
/// backend is gone: killed, or the server restarted), and only a connection
/// idle for longer than `recheck_after` is also pinged. So a hot pool never
/// pings, and a pool that sat through a server restart, however recently
/// used, hands out working connections.
#[derive(Debug)]
pub struct PgManager {
    inner: ConnectionManager<PgConnection>,
    session: SessionSettings,
    recheck_after: Duration,
}

impl PgManager {
    pub(crate) fn new(
        inner: ConnectionManager<PgConnection>,
        session: SessionSettings,
        recheck_after: Duration,
    ) -> Self {
        PgManager {
            inner,
            session,
            recheck_after,
        }
    }
}

/// Per-connection state kept in Diesel's instrumentation slot: whether a
/// statement succeeded since the connection was checked out, when it was
/// last handed back after such a statement, whether it has been lost, its
/// statement cache found out of step with the server, or a statement
/// failed since checkout, and the per-statement tracing.
///
/// No clock is read per statement: `used` is a flag, and the time is taken
/// once per checkout, in `has_broken` when r2d2 takes the connection back.
/// So "idle" is measured from the return to the pool of a connection that
/// last did work then.
struct ConnState {
    last_ok: Instant,
    used: bool,
    lost: bool,
    /// A cached prepared statement failed in a way only a new connection
    /// cures (see [`stale_statement`]).
    stale: bool,
    failed: bool,
    trace: QueryTrace,
}

/// Whether a failure means Diesel's statement cache no longer matches the
/// server: a host ran `DEALLOCATE` on the connection (`prepared statement
/// "__diesel_stmt_0" does not exist`), or changed a column's type under a
/// cached statement that returns it (`cached plan must not change result
/// type`). Diesel keeps the statement, so every later call of it on that
/// connection would fail the same way; the connection is closed when it
/// comes back to the pool instead. Messages are in the C locale (set on
/// connect where the role may); SQLSTATE 26000 and 0A000 are broader
/// classes, so the message decides.
fn stale_statement(message: &str) -> bool {
    (message.starts_with("prepared statement \"") && message.ends_with("\" does not exist"))
        || message == "cached plan must not change result type"
}

pub use crate::query_trace::TRACE_TARGET;

impl Instrumentation for ConnState {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        use diesel::result::{DatabaseErrorKind as Kind, Error as E};
        if let InstrumentationEvent::FinishQuery { error, .. } = &event {
            match error {
                None => self.used = true,
                Some(E::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, _)) => {
                    self.lost = true
                }
                Some(E::DatabaseError(_, info)) if stale_statement(info.message()) => {
                    self.stale = true
                }
                // Diesel reports some losses as other kinds (a COPY's
                // error is always `Unknown`); `has_broken` looks closer.
                Some(_) => self.failed = true,
            }
        }
        self.trace.on_connection_event(event);
    }
}

fn state(conn: &mut PgConnection) -> Option<&mut ConnState> {
    conn.instrumentation().downcast_mut::<ConnState>()
}

/// Whether the server has closed the connection, found without a round
/// trip: libpq's `PQconsumeInput` reads whatever arrived while it sat idle,
/// without waiting. A backend that was terminated or shut down sends its
/// goodbye (`FATAL: terminating connection ..`, taken as a notice) and
/// closes the socket; the first read takes the message, the second sees
/// the end of the stream and marks the connection bad. Two non-blocking
/// reads on a healthy connection find nothing. Diesel reaches
/// `PQconsumeInput` through its notification iterator, so a notification
/// pending on a pooled connection is dropped here (LISTEN belongs on a
/// direct connection anyway).
fn closed_by_server(conn: &mut PgConnection) -> Option<diesel::result::Error> {
    let mut pending = conn.notifications_iter();
    (0..2).find_map(|_| pending.next().and_then(Result::err))
}

impl PgManager {
    /// Session settings, in one round trip. lc_messages is only set when
    /// the role may (a superuser, or `GRANT SET ON PARAMETER lc_messages`);
    /// errors are classified by message for a few kinds, and `build` checks
    /// the rest.
    fn apply_session_settings(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        diesel::sql_query(
            "SELECT set_config('search_path', COALESCE($1, current_setting('search_path')), false), \
                    set_config('statement_timeout', COALESCE($2, current_setting('statement_timeout')), false), \
                    set_config('application_name', $3, false), \
                    CASE WHEN has_parameter_privilege('lc_messages', 'SET') \
                         THEN set_config('lc_messages', 'C', false) END",
        )
        .bind::<Nullable<Text>, _>(self.session.search_path.as_deref())
        .bind::<Nullable<Text>, _>(self.session.statement_timeout.as_deref())
        .bind::<Text, _>(&self.session.application_name)
        .execute(conn)
        .map_err(diesel::r2d2::Error::QueryError)?;
        Ok(())
    }
}

impl ManageConnection for PgManager {
    type Connection = PgConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConnection, Self::Error> {
        let mut conn = self.inner.connect()?;
        if self.session.transaction_pooling {
            // Named statements and session settings would live on whichever
            // server connection the pooler lent, not on this client.
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        } else {
            self.apply_session_settings(&mut conn)?;
        }
        conn.set_instrumentation(ConnState {
            last_ok: Instant::now(),
            used: false,
            lost: false,
            stale: false,
            failed: false,
            trace: QueryTrace::default(),
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), Self::Error> {
        if let Some(e) = closed_by_server(conn) {
            return Err(diesel::r2d2::Error::QueryError(e));
        }
        // A socket can also die without a word (a network partition, a
        // host that vanished): only a ping finds that, so idle ones get one.
        let recent = state(conn).is_some_and(|s| s.last_ok.elapsed() < self.recheck_after);
        if recent {
            Ok(())
        } else {
            conn.ping().map_err(diesel::r2d2::Error::QueryError)
        }
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        // A lost connection, or one whose statement cache the server no
        // longer matches, is dropped when it comes back to the pool, so the
        // next checkout gets a fresh one. After any other failure the socket
        // is looked at too: Diesel does not always say that a failure was a
        // lost connection (a COPY cut short by a killed backend is one).
        if self.inner.has_broken(conn) {
            return true;
        }
        let Some(state) = state(conn) else {
            return false;
        };
        if std::mem::take(&mut state.used) {
            state.last_ok = Instant::now();
        }
        let failed = std::mem::take(&mut state.failed);
        state.lost || state.stale || (failed && closed_by_server(conn).is_some())
    }
}

/// Pool counters fed by r2d2's event hooks (lock-free).
#[derive(Debug, Default)]
pub(crate) struct PoolEvents {
    pub checkouts: AtomicU64,
    /// Checkouts that found no idle connection and had to wait.
    pub waits: AtomicU64,
    pub wait_micros: AtomicU64,
    pub timeouts: AtomicU64,
    pub connections_opened: AtomicU64,
    pub connections_closed: AtomicU64,
}

/// Hands r2d2's events to shared [`PoolEvents`].
#[derive(Debug)]
pub(crate) struct EventSink(pub Arc<PoolEvents>);

impl std::ops::Deref for EventSink {
    type Target = PoolEvents;
    fn deref(&self) -> &PoolEvents {
        &self.0
    }
}

impl r2d2::HandleEvent for EventSink {
    fn handle_acquire(&self, _: r2d2::event::AcquireEvent) {
        self.connections_opened.fetch_add(1, Ordering::Relaxed);
    }
    fn handle_release(&self, _: r2d2::event::ReleaseEvent) {
        self.connections_closed.fetch_add(1, Ordering::Relaxed);
    }
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
        // An idle connection is handed out in well under a millisecond;
        // anything slower waited for one to be returned or opened.
        if event.duration() >= Duration::from_millis(1) {
            self.waits.fetch_add(1, Ordering::Relaxed);
        }
        self.wait_micros
            .fetch_add(event.duration().as_micros() as u64, Ordering::Relaxed);
    }
    fn handle_timeout(&self, _: r2d2::event::TimeoutEvent) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }
}
