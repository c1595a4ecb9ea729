//! The transactional outbox: delivery exactly once per claim under 8
//! workers, leases and their fence, retries and dead letters, enqueueing in
//! the caller's transaction, dedupe keys, hostile input, the app role's
//! rights, and the auth flows' emails that never hold a token. Each test
//! has a control that shows the naive way failing.

mod attacks;
mod auth_mail;
mod delivery;
mod enqueue;
mod leases;
mod rls;

use crate::support::count_bound;
use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::Repos;
use serde_json::json;
use uuid::Uuid;

/// Messages of `topic` in the table, whatever their state.
fn messages(conn: &mut PgConnection, topic: &str) -> i64 {
    count_bound::<Text, _>(
        conn,
        "SELECT count(*) AS n FROM outbox_messages WHERE topic = $1",
        topic,
    )
}

/// Enqueues `n` messages `{"n": i}` on `topic`, autocommit; their ids.
fn seed(conn: &mut PgConnection, topic: &str, n: usize) -> Vec<Uuid> {
    (0..n)
        .map(
            |i| match conn.outbox().enqueue(topic, &json!({ "n": i }), None) {
                Ok(saas_db::outbox::Enqueued::New(id)) => id,
                other => panic!("enqueue: {other:?}"),
            },
        )
        .collect()
}
