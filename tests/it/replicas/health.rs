//! Health reports each replica: in recovery, lag, down.

use std::time::Duration;

use diesel::prelude::*;
use saas_db::Database;

use super::{create, topology};

fn replica_check(db: &Database) -> (saas_db::ops::HealthStatus, saas_db::ops::HealthCheck) {
    let report = db.health();
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "replica")
        .cloned()
        .expect("a replica check");
    (report.status, check)
}

/// Health has one `replica` check: in recovery with its lag in bytes,
/// which grows while replay is paused; a stopped replica degrades the
/// report (the primary still serves). Control: a database without
/// replicas has no such check.
#[test]
fn health_reports_replica_state_and_lag() {
    use saas_db::ops::HealthStatus;
    let (primary, replica, db) = topology(Duration::from_secs(5));
    let (status, check) = replica_check(&db);
    assert_eq!(status, HealthStatus::Healthy);
    assert!(
        check.ok && check.detail.contains("in recovery, lag"),
        "{check:?}"
    );

    let mut on_replica = PgConnection::establish(replica.url()).unwrap();
    diesel::sql_query("SELECT pg_wal_replay_pause()")
        .execute(&mut on_replica)
        .unwrap();
    create(&db, 0);
    let (_, check) = replica_check(&db);
    assert!(
        check.ok && !check.detail.ends_with("lag 0 bytes"),
        "{check:?}"
    );
    drop(on_replica);

    replica.stop().unwrap();
    let (status, check) = replica_check(&db);
    assert_eq!(status, HealthStatus::Degraded);
    assert!(!check.ok, "{check:?}");

    let plain = Database::builder(primary.url())
        .run_migrations(false)
        .build()
        .unwrap();
    assert!(plain.health().checks.iter().all(|c| c.name != "replica"));
}
