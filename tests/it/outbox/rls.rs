//! The outbox under the application role (not owner, no BYPASSRLS): it
//! enqueues in any transaction, a user's included, but reads, settles and
//! deletes messages only outside a user's context, where workers run:
//! payloads hold email addresses, and user-scoped code must not see them.
//! The owner's connection is the control: it sees every message.

use std::time::Duration;

use diesel::prelude::*;
use saas_db::users::NewUser;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use serde_json::json;

use super::messages;
use crate::support::app_database;

#[test]
fn the_app_role_enqueues_anywhere_and_works_the_queue_only_outside_a_user() {
    let db = TestDatabase::new();
    let mut owner = db.conn().unwrap();
    let alice = owner
        .users()
        .create(&NewUser::new("alice@example.com", "Alice"))
        .unwrap();
    let bob = json!({ "email": "bob@example.com" });
    owner.outbox().enqueue("mail", &bob, None).unwrap();
    let app = app_database(&db);

    let mine = json!({ "email": alice.email });
    let first = app.as_user(alice.id, |tx| {
        tx.outbox().enqueue("mail", &mine, Some("alice-1"))
    });
    assert!(
        first.unwrap().is_new(),
        "enqueue inside a user's transaction"
    );
    let again = app.as_user(alice.id, |tx| {
        tx.outbox().enqueue("mail", &mine, Some("alice-1"))
    });
    assert!(
        !again.unwrap().is_new(),
        "dedupe works through the policies"
    );

    let seen = app
        .as_user(alice.id, |tx| {
            let visible = diesel::sql_query("SELECT count(*) AS n FROM outbox_messages")
                .get_result::<crate::support::Count>(tx)?
                .n;
            let changed =
                diesel::sql_query("UPDATE outbox_messages SET attempts = 0").execute(tx)?;
            let deleted = diesel::sql_query("DELETE FROM outbox_messages").execute(tx)?;
            Ok((visible, changed, deleted))
        })
        .unwrap();
    assert_eq!(
        seen,
        (0, 0, 0),
        "a user's context sees and touches no message"
    );
    assert_eq!(
        messages(&mut owner, "mail"),
        2,
        "control: the owner sees both"
    );

    // A forged message (already delivered, or leased) is refused.
    let forged = app.as_user(alice.id, |tx| {
        diesel::sql_query(
            "INSERT INTO outbox_messages (topic, payload, delivered_at) VALUES ('mail', '{}', now())",
        )
        .execute(tx)
        .map_err(Error::from)
    });
    assert!(matches!(forged, Err(Error::Forbidden { .. })), "{forged:?}");

    // Workers run as the app role with no user set.
    let outbox = app.outbox("mail");
    let claimed = outbox.claim(10, Duration::from_secs(60)).unwrap();
    assert_eq!(claimed.len(), 2);
    for message in &claimed {
        outbox.ack(message).unwrap();
    }
    assert_eq!(outbox.stats().unwrap().ready, 0);
    let purge = outbox.purge_delivered(100).unwrap();
    assert_eq!(
        purge, 0,
        "delivered messages are kept for the dedupe window"
    );
}

/// A back-dated message forged by hand-written SQL in a user's
/// transaction used to be stored: claimed before every honest message
/// (claims take the oldest `available_at` first) and reported by `stats`
/// as decades of lag. The enqueue policy now refuses it. The control: the
/// same row dated now is accepted.
#[test]
fn a_back_dated_message_cannot_jump_the_queue() {
    let db = TestDatabase::new();
    let mut owner = db.conn().unwrap();
    let alice = owner
        .users()
        .create(&NewUser::new("alice@example.com", "Alice"))
        .unwrap();
    let app = app_database(&db);
    let run = |sql: &'static str| {
        app.as_user(alice.id, |tx| {
            diesel::sql_query(sql).execute(tx).map_err(Error::from)
        })
    };
    for (forged, control) in [
        (
            "INSERT INTO outbox_messages (topic, payload, available_at) VALUES ('mail', '{}', '1970-01-01')",
            "INSERT INTO outbox_messages (topic, payload, available_at) VALUES ('mail', '{}', now())",
        ),
        (
            "INSERT INTO outbox_messages (topic, payload, created_at) VALUES ('mail', '{}', '1970-01-01')",
            "INSERT INTO outbox_messages (topic, payload, created_at) VALUES ('mail', '{}', now())",
        ),
    ] {
        let refused = run(forged);
        assert!(matches!(refused, Err(Error::Forbidden { .. })), "{forged}: {refused:?}");
        assert_eq!(run(control).unwrap(), 1, "control: {control}");
    }
    assert!(app.outbox("mail").stats().unwrap().oldest_ready_secs < 60.0);
}
