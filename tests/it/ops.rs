//! Operational views: health (including a hung server), pool and connection
//! metrics, table sizes, slow queries, and per-query tracing.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use saas_db::ops::{HealthStatus, TABLES};
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos};
use saas_db_testing::EmbeddedPostgres;
use saas_db_testing::TestDatabase;

use crate::secrets::scan_sources::Captured;
use crate::support::names;

#[test]
fn healthy_database_reports_every_check() {
    let db = TestDatabase::new();
    let report = db.health();
    assert_eq!(report.status, HealthStatus::Healthy, "{report:#?}");
    let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        ["connect", "read", "write", "migrations", "extensions"]
    );
    assert!(report.checks.iter().all(|c| c.ok), "{report:#?}");
    assert!(report.latency.is_some());
}

#[test]
fn pending_migration_degrades_health() {
    let db = TestDatabase::new();
    let mut raw = PgConnection::establish(db.url()).unwrap();
    let reverted = raw.revert_last_migration(saas_db::MIGRATIONS).unwrap();
    let report = db.health();
    assert_eq!(report.status, HealthStatus::Degraded, "{report:#?}");
    let migrations = report
        .checks
        .iter()
        .find(|c| c.name == "migrations")
        .unwrap();
    assert!(!migrations.ok);
    assert!(
        migrations.detail.contains(&reverted.to_string()),
        "{}",
        migrations.detail
    );
}

#[test]
fn stopped_server_is_unavailable_quickly() {
    let pg = EmbeddedPostgres::start().unwrap();
    let db = Database::builder(pg.url()).max_size(1).build().unwrap();
    assert_eq!(db.health().status, HealthStatus::Healthy);
    drop(pg); // server stopped, socket directory removed
    let started = Instant::now();
    let report = db.health_within(Duration::from_secs(2));
    assert_eq!(report.status, HealthStatus::Unavailable, "{report:#?}");
    assert!(started.elapsed() < Duration::from_millis(2500));
}

/// Stops every process of a private cluster (SIGSTOP): the server is up but
/// answers nothing. Health must still return by its deadline.
#[test]
fn hung_server_is_reported_by_the_deadline() {
    let pg = EmbeddedPostgres::start().unwrap();
    let db = Database::builder(pg.url()).max_size(2).build().unwrap();
    assert_eq!(db.health().status, HealthStatus::Healthy);
    let pids = cluster_pids(&pg);
    assert!(!pids.is_empty());
    for &pid in &pids {
        unsafe { libc::kill(pid, libc::SIGSTOP) };
    }
    let started = Instant::now();
    let report = db.health_within(Duration::from_millis(500));
    let took = started.elapsed();
    for &pid in &pids {
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }
    assert_eq!(report.status, HealthStatus::Unavailable, "{report:#?}");
    assert!(
        took < Duration::from_millis(900),
        "health took {took:?} past a 500 ms deadline"
    );
}

/// The postmaster of `pg` and all its children.
fn cluster_pids(pg: &EmbeddedPostgres) -> Vec<i32> {
    let data = pg.log_path().parent().unwrap().join("data");
    let postmaster: i32 = std::fs::read_to_string(data.join("postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut pids = vec![postmaster];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let ppid: i32 = after.split_whitespace().nth(1).unwrap().parse().unwrap();
        if ppid == postmaster {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn pool_status_counts_checkouts_waits_and_timeouts() {
    let db = TestDatabase::with_builder(|b| {
        b.max_size(2).connection_timeout(Duration::from_millis(200))
    })
    .unwrap();
    let before = db.pool_status();
    let a = db.conn().unwrap();
    let b = db.conn().unwrap();
    let status = db.pool_status();
    assert_eq!(status.max_size, 2);
    assert_eq!(status.in_use, 2);
    assert_eq!(status.checkouts, before.checkouts + 2);
    assert!(db.conn().is_err());
    assert_eq!(db.pool_status().timeouts, before.timeouts + 1);
    drop((a, b));
    let after = db.pool_status();
    assert_eq!(after.in_use, 0);
    assert_eq!(after.idle, 2);
    assert!(after.connections_opened >= 2);
}

#[test]
fn connection_stats_see_idle_in_transaction() {
    let db = TestDatabase::with_builder(|b| b.max_size(4)).unwrap();
    let mut idle_in_tx = db.conn().unwrap();
    idle_in_tx.batch_execute("BEGIN; SELECT 1").unwrap();
    let _idle = {
        let mut c = db.conn().unwrap();
        c.users().count().unwrap();
        c
    };
    std::thread::sleep(Duration::from_millis(50));
    let stats = db.connection_stats().unwrap();
    assert!(stats.total >= 3, "{stats:?}");
    assert_eq!(stats.idle_in_transaction, 1, "{stats:?}");
    assert!(
        stats.active >= 1,
        "the stats query itself is active: {stats:?}"
    );
    assert!(stats.oldest_transaction_secs.unwrap() > 0.0);
    idle_in_tx.batch_execute("ROLLBACK").unwrap();
}

#[test]
fn table_sizes_cover_our_tables_and_sum_partitions() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let emails: Vec<String> = (0..2000).map(|i| format!("s{i}@x.example")).collect();
    let users: Vec<NewUser> = emails.iter().map(|e| NewUser::new(e, "S")).collect();
    conn.users().import(&users).unwrap();
    let entries: Vec<_> = (0..500)
        .map(|_| saas_db::audit::AuditEntry::new("seen", "user", None))
        .collect();
    saas_db::Repos::audit(&mut *conn)
        .record_many(&entries)
        .unwrap();
    conn.batch_execute("ANALYZE").unwrap();
    let sizes = db.table_sizes().unwrap();
    let get = |name: &str| {
        sizes
            .iter()
            .find(|t| t.table == name)
            .unwrap_or_else(|| panic!("{name} missing: {sizes:?}"))
    };
    assert_eq!(get("users").rows_estimate, 2000);
    assert!(get("users").index_bytes > 0);
    assert_eq!(get("audit_logs").rows_estimate, 500, "partitions summed");
    assert!(
        sizes.iter().all(|t| !t.table.starts_with("audit_logs_")),
        "partitions listed: {sizes:?}"
    );
    assert!(sizes
        .iter()
        .all(|t| t.table != "__diesel_schema_migrations"));
    assert_eq!(sizes[0].table, "users", "largest first: {sizes:?}");
}

/// A host's own table in the crate's schema is not listed (it used to be:
/// `table_sizes` listed every table of the schema, the host's largest
/// first); every table of the crate is, and `ops::TABLES` is exactly the
/// set of tables the migrations create.
#[test]
fn table_sizes_lists_only_the_crates_tables() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.batch_execute(
        "CREATE TABLE host_notes (id bigint PRIMARY KEY, body text NOT NULL);
         INSERT INTO host_notes SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g;
         ANALYZE host_notes",
    )
    .unwrap();
    let listed: BTreeSet<String> = db
        .table_sizes()
        .unwrap()
        .into_iter()
        .map(|t| t.table)
        .collect();
    assert!(!listed.contains("host_notes"), "{listed:?}");
    let ours: BTreeSet<String> = TABLES.iter().map(|t| t.to_string()).collect();
    assert_eq!(listed, ours);

    let migrated: BTreeSet<String> = names(
        &mut conn,
        "SELECT c.relname::text AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
            AND NOT c.relispartition
            AND c.relname NOT IN ('host_notes', '__diesel_schema_migrations')",
    );
    assert_eq!(migrated, ours, "ops::TABLES is not the migrated tables");
}

#[test]
fn slow_queries_need_pg_stat_statements() {
    let db = TestDatabase::new();
    let err = db.slow_queries(5).unwrap_err();
    assert!(
        matches!(&err, Error::NotAvailable(m) if m.contains("pg_stat_statements")),
        "{err:?}"
    );

    // With the library preloaded and the extension created, it reports.
    let pg = EmbeddedPostgres::start().unwrap();
    let mut admin = PgConnection::establish(pg.url()).unwrap();
    admin
        .batch_execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        .unwrap();
    drop(admin);
    pg.restart().unwrap();
    let db = Database::connect(pg.url()).unwrap();
    let mut conn = db.conn().unwrap();
    // Installed but created nowhere yet: still "not available".
    assert!(matches!(db.slow_queries(5), Err(Error::NotAvailable(_))));
    conn.batch_execute("CREATE EXTENSION pg_stat_statements")
        .unwrap();
    for _ in 0..3 {
        conn.batch_execute("SELECT pg_sleep(0.05)").unwrap();
    }
    let slow = db.slow_queries(5).unwrap();
    assert!(
        slow.iter()
            .any(|q| q.query.contains("pg_sleep") && q.calls == 3 && q.mean_ms >= 40.0),
        "{slow:#?}"
    );
}

#[test]
fn every_query_emits_a_tracing_event_with_sql_and_duration() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        conn.users().find_by_email("trace@example.com").unwrap();
        let _ = conn.users().create(&NewUser::new("trace@example.com", "T"));
        let _ = conn.users().create(&NewUser::new("trace@example.com", "T"));
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let events: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("saas_db::sql") && !l.contains("pg_type"))
        .collect();
    assert_eq!(events.len(), 3, "{text}");
    assert!(
        events[0].contains("SELECT")
            && events[0].contains("FROM \\\"users\\\"")
            && events[0].contains("micros="),
        "{}",
        events[0]
    );
    assert!(
        events[1].contains("INSERT INTO \\\"users\\\""),
        "{}",
        events[1]
    );
    assert!(
        events[2].contains("query failed") && events[2].contains("users_email_key"),
        "{}",
        events[2]
    );
    assert!(
        !text.contains("trace@example.com"),
        "bind values must not be logged: {text}"
    );

    // Without a subscriber nothing is captured (and nothing is formatted).
    let before = captured.0.lock().unwrap().len();
    conn.users().count().unwrap();
    assert_eq!(captured.0.lock().unwrap().len(), before);
}

/// Which connections emit: every pooled one, and a `PgConnection` of the
/// host's own once `saas_db::QueryTrace` is installed on it; a plain one
/// without it emits nothing (the README used to say "every statement"
/// without saying that only pooled connections carried the instrumentation).
#[test]
fn plain_connections_emit_once_query_trace_is_installed() {
    let db = TestDatabase::new();
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let events = |captured: &Captured| {
        String::from_utf8(captured.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .filter(|l| l.contains(saas_db::TRACE_TARGET) && l.contains("users"))
            .count()
    };
    let mut plain = PgConnection::establish(db.url()).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        plain.users().count().unwrap();
        assert_eq!(events(&captured), 0, "a plain connection emitted");
        plain.set_instrumentation(saas_db::QueryTrace::default());
        plain.users().count().unwrap();
        assert_eq!(events(&captured), 1);
        db.conn().unwrap().users().count().unwrap();
        assert_eq!(events(&captured), 2);
    });
}
