//! Pool counters, pg_stat_activity, table sizes, pg_stat_statements.

use std::sync::atomic::Ordering;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Nullable, Text};
use serde::{Deserialize, Serialize};

use crate::database::Database;
use crate::error::{Error, Result};

/// The pool right now, plus counters since it was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolStatus {
    /// Configured maximum.
    pub max_size: u32,
    /// Open connections.
    pub connections: u32,
    /// Open and idle.
    pub idle: u32,
    /// Checked out.
    pub in_use: u32,
    /// Checkouts so far.
    pub checkouts: u64,
    /// Checkouts that had to wait for a connection (returned or opened).
    pub waits: u64,
    /// Total time spent waiting in checkouts.
    pub total_wait: Duration,
    /// Checkouts that gave up ([`Error::PoolTimeout`]).
    pub timeouts: u64,
    /// Connections opened so far.
    pub connections_opened: u64,
    /// Connections closed so far (broken, expired, idle too long).
    pub connections_closed: u64,
    /// Reads served by a replica ([`crate::Database::read`]).
    pub replica_reads: u64,
    /// Reads meant for a replica that went to the primary (every replica
    /// behind after the wait, or down).
    pub replica_fallbacks: u64,
    /// Times the circuit breaker took a replica out.
    pub replica_down: u64,
}

/// Client connections to this database, from `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, Deserialize)]
pub struct ConnectionStats {
    /// All client backends on this database.
    #[diesel(sql_type = BigInt)]
    pub total: i64,
    /// Running a statement.
    #[diesel(sql_type = BigInt)]
    pub active: i64,
    /// Waiting for a statement.
    #[diesel(sql_type = BigInt)]
    pub idle: i64,
    /// Inside a transaction but doing nothing: holds locks and snapshots.
    #[diesel(sql_type = BigInt)]
    pub idle_in_transaction: i64,
    /// Age of the oldest connection, in seconds.
    #[diesel(sql_type = Nullable<Double>)]
    pub oldest_connection_secs: Option<f64>,
    /// Age of the oldest open transaction, in seconds.
    #[diesel(sql_type = Nullable<Double>)]
    pub oldest_transaction_secs: Option<f64>,
}

/// The crate's own tables, as its migrations create them (a partitioned
/// table by its parent's name): what [`Database::table_sizes`] reports.
/// Tables a host keeps in the same schema are not in it. A catalog test
/// (`tests/it/ops.rs`) checks it against a freshly migrated database.
pub const TABLES: &[&str] = &[
    "accounts",
    "audit_logs",
    "categories",
    "changes",
    "outbox_messages",
    "payments",
    "post_tags",
    "posts",
    "projects",
    "sessions",
    "subscription_plans",
    "subscriptions",
    "tags",
    "team_invitations",
    "team_members",
    "teams",
    "user_profiles",
    "users",
    "verification_tokens",
];

/// Size of one of our tables (partitioned tables summed over partitions).
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, Deserialize)]
pub struct TableSize {
    /// Table name.
    #[diesel(sql_type = Text)]
    pub table: String,
    /// Planner's row estimate (from the last ANALYZE; -1 or 0 if never).
    #[diesel(sql_type = BigInt)]
    pub rows_estimate: i64,
    /// Heap, TOAST and indexes.
    #[diesel(sql_type = BigInt)]
    pub total_bytes: i64,
    /// Indexes only.
    #[diesel(sql_type = BigInt)]
    pub index_bytes: i64,
}

/// One statement from `pg_stat_statements`.
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, Deserialize)]
pub struct SlowQuery {
    /// Normalised statement text.
    #[diesel(sql_type = Text)]
    pub query: String,
    /// Times run.
    #[diesel(sql_type = BigInt)]
    pub calls: i64,
    /// Mean execution time, milliseconds.
    #[diesel(sql_type = Double)]
    pub mean_ms: f64,
    /// Total execution time, milliseconds.
    #[diesel(sql_type = Double)]
    pub total_ms: f64,
    /// Rows returned or affected, in all.
    #[diesel(sql_type = BigInt)]
    pub rows: i64,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    present: bool,
}

impl Database {
    /// Pool occupancy and counters (no round trip).
    pub fn pool_status(&self) -> PoolStatus {
        let state = self.pool().state();
        let e = self.events();
        PoolStatus {
            max_size: self.pool().max_size(),
            connections: state.connections,
            idle: state.idle_connections,
            in_use: state.connections - state.idle_connections,
            checkouts: e.checkouts.load(Ordering::Relaxed),
            waits: e.waits.load(Ordering::Relaxed),
            total_wait: Duration::from_micros(e.wait_micros.load(Ordering::Relaxed)),
            timeouts: e.timeouts.load(Ordering::Relaxed),
            connections_opened: e.connections_opened.load(Ordering::Relaxed),
            connections_closed: e.connections_closed.load(Ordering::Relaxed),
            replica_reads: self.replica_set().reads.load(Ordering::Relaxed),
            replica_fallbacks: self.replica_set().fallbacks.load(Ordering::Relaxed),
            replica_down: self.replica_set().down.load(Ordering::Relaxed),
        }
    }

    /// Client connections to this database by state, from `pg_stat_activity`.
    ///
    /// # Errors
    /// Pool and database errors.
    pub fn connection_stats(&self) -> Result<ConnectionStats> {
        let mut conn = self.conn()?;
        Ok(diesel::sql_query(
            "SELECT count(*) AS total,
                    count(*) FILTER (WHERE state = 'active') AS active,
                    count(*) FILTER (WHERE state = 'idle') AS idle,
                    count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_in_transaction,
                    EXTRACT(EPOCH FROM now() - min(backend_start))::float8 AS oldest_connection_secs,
                    EXTRACT(EPOCH FROM now() - min(xact_start))::float8 AS oldest_transaction_secs
               FROM pg_stat_activity
              WHERE datname = current_database() AND backend_type = 'client backend'",
        )
        .get_result(&mut *conn)?)
    }

    /// The crate's own tables ([`TABLES`]), largest first, in its schema
    /// (the builder's, else the connection's current schema); a host's
    /// tables in the same schema are left out. Partitioned tables (the
    /// audit log) are reported once, summed over their partitions.
    ///
    /// # Errors
    /// Pool and database errors.
    pub fn table_sizes(&self) -> Result<Vec<TableSize>> {
        let mut conn = self.conn()?;
        Ok(diesel::sql_query(
            "SELECT c.relname::text AS table,
                    sizes.rows_estimate, sizes.total_bytes, sizes.index_bytes
               FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               -- The table itself plus, for a partitioned one, every partition
               -- (pg_partition_tree returns nothing for a plain table).
               CROSS JOIN LATERAL (
                   SELECT coalesce(sum(greatest(p.reltuples, 0)), 0)::bigint AS rows_estimate,
                          coalesce(sum(pg_total_relation_size(p.oid)), 0)::bigint AS total_bytes,
                          coalesce(sum(pg_indexes_size(p.oid)), 0)::bigint AS index_bytes
                     FROM pg_class p
                    WHERE p.oid IN (SELECT c.oid UNION SELECT relid FROM pg_partition_tree(c.oid))
                      AND p.relkind <> 'p' -- a partitioned parent's estimate repeats its partitions''
               ) sizes
              WHERE n.nspname = coalesce($1, current_schema())
                AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND c.relname = ANY($2)
              ORDER BY sizes.total_bytes DESC, c.relname",
        )
        .bind::<Nullable<Text>, _>(self.schema())
        .bind::<Array<Text>, _>(TABLES)
        .load(&mut *conn)?)
    }

    /// The `n` statements with the highest mean time on this database, from
    /// `pg_stat_statements`.
    ///
    /// # Errors
    /// [`Error::NotAvailable`] when the extension is not installed in this
    /// database or not loaded through `shared_preload_libraries`.
    pub fn slow_queries(&self, n: i64) -> Result<Vec<SlowQuery>> {
        let mut conn = self.conn()?;
        let installed: Flag = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS present",
        )
        .get_result(&mut *conn)?;
        if !installed.present {
            return Err(Error::NotAvailable(
                "pg_stat_statements is not installed in this database \
                 (add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements)"
                    .into(),
            ));
        }
        diesel::sql_query(
            "SELECT query, calls, mean_exec_time AS mean_ms, total_exec_time AS total_ms, rows
               FROM pg_stat_statements
              WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              ORDER BY mean_exec_time DESC
              LIMIT $1",
        )
        .bind::<BigInt, _>(n.clamp(1, 1000))
        .load(&mut *conn)
        .map_err(Error::from)
    }
}
