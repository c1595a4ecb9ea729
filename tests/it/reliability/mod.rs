//! The bad day: serialization failures, deadlocks, timeouts, killed
//! backends, panics and job queues. Every test has a control showing the
//! failure that the mechanism under test prevents.

mod failures;
mod jobs;
mod retries;
mod transfers;

use diesel::connection::SimpleConnection;
use saas_db_testing::TestDatabase;

/// Runs `sql` (several statements) on a fresh pooled connection of `db`.
fn setup(db: &TestDatabase, sql: &str) {
    db.conn().unwrap().batch_execute(sql).unwrap();
}
