//! Per-statement `tracing` events, for pooled connections and for any
//! `PgConnection` a host opens itself.

use std::time::Instant;

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// Target of the per-query events: `saas_db::sql` at DEBUG level, with the
/// SQL text (never the bind values), duration in microseconds and error.
pub const TRACE_TARGET: &str = "saas_db::sql";

/// Diesel instrumentation that emits one `tracing` event per statement
/// (target [`TRACE_TARGET`], level DEBUG): the SQL without its bind values,
/// the duration in microseconds, and the error if it failed.
///
/// Every pooled connection carries one. A `PgConnection` you establish
/// yourself emits nothing until you install it:
///
/// ```no_run
/// use diesel::{Connection, PgConnection};
/// let mut conn = PgConnection::establish("postgres://app@localhost/app").unwrap();
/// conn.set_instrumentation(saas_db::QueryTrace::default());
/// ```
///
/// With no subscriber interested in [`TRACE_TARGET`], a statement costs one
/// cached callsite check: no clock read and no formatting.
#[derive(Debug, Default)]
pub struct QueryTrace {
    /// Start times of the running statements (only while a subscriber
    /// listens). A stack, because Diesel runs the enum type lookup of a
    /// query inside that query's start and finish events.
    started: Vec<Instant>,
}

impl Instrumentation for QueryTrace {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                // Checking the callsite interest is a few nanoseconds when no
                // subscriber is installed; then we skip the clock entirely.
                if tracing::enabled!(target: TRACE_TARGET, tracing::Level::DEBUG) {
                    self.started.push(Instant::now());
                }
            }
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                let Some(started) = self.started.pop() else {
                    return;
                };
                let micros = started.elapsed().as_micros() as u64;
                // Diesel's rendering appends the bind values; they may be
                // secrets (hashes, tokens, emails), so only the SQL goes out.
                let rendered = query.to_string();
                let sql = rendered.split(" -- binds: ").next().unwrap_or("");
                match error {
                    None => tracing::debug!(target: TRACE_TARGET, sql, micros, "query"),
                    Some(e) => {
                        tracing::debug!(target: TRACE_TARGET, sql, micros, error = %e, "query failed")
                    }
                }
            }
            _ => {}
        }
    }
}
