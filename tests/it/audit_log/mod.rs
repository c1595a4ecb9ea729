//! The audit log: entries commit and roll back with the transaction they are
//! written in; the table refuses UPDATE and DELETE (also on a partition, and
//! for the app role, whose grants also keep TRUNCATE out); newest-first
//! keyset listings (ties on `created_at` included); all-or-nothing COPY; the
//! audited repository changes record only the fields that changed, and a
//! failed change records nothing; partition upkeep and retention.

mod audited_changes;
mod listings;
mod partitions;
mod regressions;
mod writing;

use std::collections::HashSet;

use crate::support::{count, plan, site_admin, user, walk, Count, Name};
use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use saas_db::audit::{AuditEntry, AuditLog};
use saas_db::billing::{NewSubscription, Subscription};
use saas_db::enums::{BillingInterval, UserRole};
use saas_db::ids::{AuditLogId, PlanId};
use saas_db::schema::audit_logs;
use saas_db::{Database, Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use serde_json::json;
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    yes: bool,
}

/// Every entry in the log, read with plain Diesel (not through the repository).
fn all_entries(conn: &mut PgConnection) -> Vec<AuditLog> {
    audit_logs::table
        .select(AuditLog::as_select())
        .order((audit_logs::created_at, audit_logs::id))
        .load(conn)
        .unwrap()
}

/// Entries about one entity id, of any entity kind and actor.
fn entries_about(conn: &mut PgConnection, id: impl Into<Uuid>) -> Vec<AuditLog> {
    let id: Uuid = id.into();
    audit_logs::table
        .filter(audit_logs::entity_id.eq(id))
        .select(AuditLog::as_select())
        .order((audit_logs::created_at, audit_logs::id))
        .load(conn)
        .unwrap()
}

/// Entries whose `created_at` lies in `[from, to)`.
fn entries_between(conn: &mut PgConnection, from: &str, to: &str) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM audit_logs WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz",
    )
    .bind::<Text, _>(from)
    .bind::<Text, _>(to)
    .get_result::<Count>(conn)
    .unwrap()
    .n
}

fn table_exists(conn: &mut PgConnection, name: &str) -> bool {
    !diesel::sql_query("SELECT to_regclass($1) IS NULL AS yes")
        .bind::<Text, _>(name)
        .get_result::<Flag>(conn)
        .unwrap()
        .yes
}

/// `audit_logs_pYYYYMM` for the UTC month `months_ahead` after this one.
fn partition_of_month(conn: &mut PgConnection, months_ahead: i32) -> String {
    diesel::sql_query(
        "SELECT 'audit_logs_p' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC')
                                          + make_interval(months => $1), 'YYYYMM') AS name",
    )
    .bind::<diesel::sql_types::Integer, _>(months_ahead)
    .get_result::<Name>(conn)
    .unwrap()
    .name
}

fn forbidden_reason(result: Result<usize, Error>) -> String {
    match result {
        Err(Error::Forbidden { reason }) => reason,
        other => panic!("expected Error::Forbidden, got {other:?}"),
    }
}

fn run(conn: &mut PgConnection, sql: &str) -> Result<usize, Error> {
    diesel::sql_query(sql).execute(conn).map_err(Error::from)
}

/// Newest first: `(created_at, id)` descending, computed here from the rows
/// `record` returned rather than by the listing code.
/// The entries' ids, in order.
fn entry_ids(entries: &[AuditLog]) -> Vec<AuditLogId> {
    entries.iter().map(|e| e.id).collect()
}

fn newest_first(entries: &[AuditLog]) -> Vec<AuditLogId> {
    let mut sorted: Vec<&AuditLog> = entries.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.id)));
    sorted.into_iter().map(|e| e.id).collect()
}

fn subscription(conn: &mut PgConnection, email: &str, plan_id: PlanId) -> Subscription {
    let owner = user(conn, email).id;
    conn.subscriptions()
        .start(&NewSubscription::new(owner, plan_id))
        .unwrap()
}
