//! `AuditRepo::export` streams: over ~48 MB of entries, far more than the
//! socket buffers between the server and us hold, the exporting backend is
//! still running its statement (`pg_stat_activity.state = 'active'`) when
//! `each` gets the first row and when it gets the middle one. A loader that
//! read every row before handing out the first would find it idle. The
//! export is complete and in `(created_at, id)` order.

use crate::support::backend_pid;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};
use saas_db::audit::AuditEntry;
use saas_db::ids::AuditLogId;
use saas_db::Repos;
use saas_db_testing::TestDatabase;

const BATCHES: usize = 4;
const PER_BATCH: usize = 12_000;
const TOTAL: usize = BATCHES * PER_BATCH;

#[derive(QueryableByName, Debug)]
struct Activity {
    #[diesel(sql_type = Nullable<Text>)]
    state: Option<String>,
}

/// The `state` of backend `pid`, read on `watcher`.
fn state_of(watcher: &mut PgConnection, pid: i32) -> Option<String> {
    diesel::sql_query("SELECT state FROM pg_stat_activity WHERE pid = $1")
        .bind::<Integer, _>(pid)
        .get_result::<Activity>(watcher)
        .unwrap()
        .state
}

#[test]
fn export_hands_out_rows_while_the_statement_still_runs() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let padding = "x".repeat(1000);
    // Four batches, each its own transaction: later batches have later
    // created_at, so the order across batches is known.
    for batch in 0..BATCHES {
        let entries: Vec<AuditEntry<'_>> = (0..PER_BATCH)
            .map(|i| {
                AuditEntry::new("exported", "row", None)
                    .metadata(serde_json::json!({ "batch": batch, "i": i, "pad": padding }))
            })
            .collect();
        assert_eq!(conn.audit().record_many(&entries).unwrap(), PER_BATCH);
    }
    let pid = backend_pid(&mut conn);
    let mut watcher = PgConnection::establish(db.url()).unwrap();

    let mut seen = vec![false; TOTAL];
    let mut last: Option<(chrono::DateTime<chrono::Utc>, AuditLogId)> = None;
    let mut last_batch = 0;
    let mut delivered = 0usize;
    let mut states = Vec::new();
    let exported = conn
        .audit()
        .export(None, |entry| {
            if delivered == 0 || delivered == TOTAL / 2 {
                states.push((delivered, state_of(&mut watcher, pid)));
            }
            delivered += 1;
            let key = (entry.created_at, entry.id);
            assert!(last < Some(key), "out of order at row {delivered}");
            last = Some(key);
            let batch = entry.metadata["batch"].as_u64().unwrap() as usize;
            let i = entry.metadata["i"].as_u64().unwrap() as usize;
            assert!(batch >= last_batch, "batch {batch} after {last_batch}");
            last_batch = batch;
            let slot = &mut seen[batch * PER_BATCH + i];
            assert!(!*slot, "row {batch}/{i} exported twice");
            *slot = true;
            Ok(())
        })
        .unwrap();
    assert_eq!(exported, TOTAL as u64);
    assert_eq!(delivered, TOTAL);
    assert!(seen.iter().all(|&s| s), "every row exported");
    for (row, state) in &states {
        assert_eq!(
            state.as_deref(),
            Some("active"),
            "the statement had finished before row {row} was handed out"
        );
    }
    assert_eq!(states.len(), 2);
    // The control: once the export returns, the backend is idle.
    assert_eq!(state_of(&mut watcher, pid).as_deref(), Some("idle"));
}
