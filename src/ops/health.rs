//! `db.health()`: a report that never panics and never waits past its deadline.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Text};
use serde::Serialize;

use crate::database::{Database, MIGRATIONS};
use crate::error::Result;

/// Extensions the schema needs (plpgsql runs the triggers).
pub const REQUIRED_EXTENSIONS: &[&str] = &["plpgsql"];

/// Overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HealthStatus {
    /// Every check passed.
    Healthy,
    /// Reachable and readable, but something needs attention (read-only
    /// server, pending migrations, missing extension).
    Degraded,
    /// Unreachable, unreadable, or no answer before the deadline.
    Unavailable,
}

/// One check of a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// `connect`, `read`, `write`, `migrations`, `extensions`, `deadline`,
    /// or `replica` (one per configured replica: in recovery, lag in bytes).
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// The result of [`Database::health`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// Overall verdict.
    pub status: HealthStatus,
    /// Each check, in order.
    pub checks: Vec<HealthCheck>,
    /// Round trip of a trivial query, if one completed.
    pub latency: Option<Duration>,
    /// How long the whole report took.
    pub elapsed: Duration,
}

impl Database {
    /// [`Database::health_within`] with a 2 s deadline.
    pub fn health(&self) -> HealthReport {
        self.health_within(Duration::from_secs(2))
    }

    /// Checks connectivity, a read, that the server accepts writes (not in
    /// recovery, not read-only), that migrations are up to date and the
    /// required extensions are present, and measures round-trip latency.
    /// With replicas configured, adds one `replica` check each (reachable,
    /// in recovery, lag in bytes behind the primary); a failing one
    /// degrades the report.
    /// Returns by `deadline` whatever the server does: the checks run on
    /// their own thread with the deadline as their statement timeout, and
    /// a check still running then is reported as unavailable.
    ///
    /// The deadline is capped at [`crate::validate::STATEMENT_TIMEOUT_MAX`]
    /// (the longest statement timeout PostgreSQL accepts).
    pub fn health_within(&self, deadline: Duration) -> HealthReport {
        let deadline = deadline.min(crate::validate::STATEMENT_TIMEOUT_MAX);
        let started = Instant::now();
        let (tx, rx) = mpsc::channel();
        let db = self.clone();
        let spawned = std::thread::Builder::new()
            .name("saas-db-health".into())
            .spawn(move || {
                let _ = tx.send(run_checks(&db, started + deadline));
            });
        let (checks, latency) = match spawned {
            Err(e) => (
                vec![check(
                    "connect",
                    false,
                    format!("cannot start check thread: {e}"),
                )],
                None,
            ),
            Ok(_) => match rx.recv_timeout(deadline.saturating_sub(started.elapsed())) {
                Ok(result) => result,
                Err(_) => (
                    vec![check(
                        "deadline",
                        false,
                        format!("no answer within {deadline:?}"),
                    )],
                    None,
                ),
            },
        };
        let fatal = ["connect", "read", "deadline"];
        let status = if checks.iter().any(|c| !c.ok && fatal.contains(&c.name)) {
            HealthStatus::Unavailable
        } else if checks.iter().any(|c| !c.ok) {
            HealthStatus::Degraded
        } else {
            HealthStatus::Healthy
        };
        HealthReport {
            status,
            checks,
            latency,
            elapsed: started.elapsed(),
        }
    }
}

fn check(name: &'static str, ok: bool, detail: impl Into<String>) -> HealthCheck {
    HealthCheck {
        name,
        ok,
        detail: detail.into(),
    }
}

#[derive(QueryableByName)]
struct ServerState {
    #[diesel(sql_type = Bool)]
    in_recovery: bool,
    #[diesel(sql_type = Bool)]
    read_only: bool,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn run_checks(db: &Database, deadline: Instant) -> (Vec<HealthCheck>, Option<Duration>) {
    let remaining = || deadline.saturating_duration_since(Instant::now());
    let mut conn = match db.pool().get_timeout(remaining()) {
        Ok(conn) => conn,
        Err(e) => {
            return (
                vec![check("connect", false, crate::Error::from(e).to_string())],
                None,
            )
        }
    };
    let mut checks = vec![check("connect", true, "pooled connection checked out")];
    let pg: &mut PgConnection = &mut conn;
    let started = Instant::now();
    if let Err(e) = diesel::sql_query("SELECT 1").execute(pg) {
        checks.push(check("read", false, crate::Error::from(e).to_string()));
        return (checks, None);
    }
    let latency = started.elapsed();
    checks.push(check("read", true, format!("round trip {latency:?}")));
    // The rest runs in a read-only transaction bounded by the deadline, so
    // nothing it sets outlives it on the pooled connection.
    let rest = (|| -> Result<Vec<HealthCheck>> {
        AnsiTransactionManager::begin_transaction_sql(pg, "BEGIN READ ONLY")?;
        let result = (|| -> Result<Vec<HealthCheck>> {
            crate::tx::set_local_statement_timeout(pg, remaining().max(Duration::from_millis(1)))?;
            Ok(vec![
                write_check(pg)?,
                migrations_check(pg)?,
                extensions_check(pg)?,
            ])
        })();
        let _ = AnsiTransactionManager::rollback_transaction(pg);
        result
    })();
    match rest {
        Ok(more) => checks.extend(more),
        Err(e) => checks.push(check("write", false, e.to_string())),
    }
    checks.extend(crate::replicas::health::checks(db, pg, deadline));
    (checks, Some(latency))
}

fn write_check(conn: &mut PgConnection) -> Result<HealthCheck> {
    let state: ServerState = diesel::sql_query(
        "SELECT pg_is_in_recovery() AS in_recovery,
                current_setting('default_transaction_read_only')::bool AS read_only",
    )
    .get_result(conn)?;
    Ok(if state.in_recovery {
        check(
            "write",
            false,
            "server is in recovery (a standby): writes are refused",
        )
    } else if state.read_only {
        check("write", false, "default_transaction_read_only is on")
    } else {
        check("write", true, "primary, accepting writes")
    })
}

fn migrations_check(conn: &mut PgConnection) -> Result<HealthCheck> {
    let known: Vec<String> = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|e| crate::Error::Migration(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let table: Name = diesel::sql_query(
        "SELECT coalesce(to_regclass('__diesel_schema_migrations')::text, '') AS name",
    )
    .get_result(conn)?;
    let applied: Vec<Name> = if table.name.is_empty() {
        Vec::new()
    } else {
        diesel::sql_query(
            "SELECT version AS name FROM __diesel_schema_migrations WHERE version = ANY($1)",
        )
        .bind::<Array<Text>, _>(&known)
        .load(conn)?
    };
    let pending: Vec<&String> = known
        .iter()
        .filter(|v| !applied.iter().any(|a| &a.name == *v))
        .collect();
    Ok(if pending.is_empty() {
        check(
            "migrations",
            true,
            format!("{} applied, none pending", known.len()),
        )
    } else {
        check("migrations", false, format!("pending: {pending:?}"))
    })
}

fn extensions_check(conn: &mut PgConnection) -> Result<HealthCheck> {
    let present: Vec<Name> =
        diesel::sql_query("SELECT extname::text AS name FROM pg_extension WHERE extname = ANY($1)")
            .bind::<Array<Text>, _>(REQUIRED_EXTENSIONS)
            .load(conn)?;
    let missing: Vec<&&str> = REQUIRED_EXTENSIONS
        .iter()
        .filter(|e| !present.iter().any(|p| p.name == **e))
        .collect();
    Ok(if missing.is_empty() {
        check(
            "extensions",
            true,
            format!("present: {REQUIRED_EXTENSIONS:?}"),
        )
    } else {
        check("extensions", false, format!("missing: {missing:?}"))
    })
}
