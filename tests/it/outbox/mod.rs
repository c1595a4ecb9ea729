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

use std::time::Duration;

use crate::support::count_bound;
use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::ids::OutboxMessageId;
use saas_db::outbox::auth_mail::{AuthEmail, AUTH_EMAIL_TOPIC};
use saas_db::Repos;
use serde_json::json;

/// Messages of `topic` in the table, whatever their state.
fn messages(conn: &mut PgConnection, topic: &str) -> i64 {
    count_bound::<Text, _>(
        conn,
        "SELECT count(*) AS n FROM outbox_messages WHERE topic = $1",
        topic,
    )
}

/// Enqueues `n` messages `{"n": i}` on `topic`, autocommit; their ids.
fn seed(conn: &mut PgConnection, topic: &str, n: usize) -> Vec<OutboxMessageId> {
    (0..n)
        .map(
            |i| match conn.outbox().enqueue(topic, &json!({ "n": i }), None) {
                Ok(saas_db::outbox::Enqueued::New(id)) => id,
                other => panic!("enqueue: {other:?}"),
            },
        )
        .collect()
}

/// What a worker for `auth.email` does: claim, issue, "send", ack. The
/// tokens it would have emailed.
fn deliver(db: &saas_db_testing::TestDatabase) -> Vec<(AuthEmail, Option<String>)> {
    let outbox = db.outbox(AUTH_EMAIL_TOPIC);
    let mut conn = db.conn().unwrap();
    let mut sent = Vec::new();
    for claimed in outbox.claim(100, Duration::from_secs(60)).unwrap() {
        let email = AuthEmail::from_claimed(&claimed).unwrap();
        let token = email
            .issue_token(&mut conn, Duration::from_secs(3600))
            .unwrap()
            .map(|(_, token)| token.into_string());
        outbox.ack(&claimed).unwrap();
        sent.push((email, token));
    }
    sent
}
