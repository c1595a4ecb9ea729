//! Enqueueing: in the caller's transaction, dedupe keys (also racing), and
//! hostile input refused before the database with the connection, its
//! transaction and the pool still usable.

use std::time::Duration;

use diesel::prelude::*;
use saas_db::outbox::{Enqueued, NewMessage, LAST_ERROR_MAX};
use saas_db::users::NewUser;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use serde_json::json;

use super::messages;
use crate::support::assert_invalid;
use crate::support::{deep_json, race};

/// A business write and its message roll back together. The control: the
/// same enqueue on a second (autocommit) connection, the naive "send after
/// the write" done early, leaves a message for a user that never existed.
#[test]
fn a_rolled_back_transaction_leaves_no_message() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let mut side = db.conn().unwrap();
    let outcome = db.transaction(|tx| {
        let user = tx
            .users()
            .create(&NewUser::new("gone@example.com", "Gone"))?;
        let payload = json!({ "user_id": user.id });
        assert!(tx.outbox().enqueue("welcome", &payload, None)?.is_new());
        // Control: the naive way, outside the transaction.
        side.outbox().enqueue("welcome-naive", &payload, None)?;
        Err::<(), _>(Error::invalid("test", "roll back"))
    });
    assert!(matches!(outcome, Err(Error::Invalid { ref field, .. }) if field == "test"));
    assert!(conn
        .users()
        .find_by_email("gone@example.com")
        .unwrap()
        .is_none());
    assert_eq!(
        messages(&mut conn, "welcome"),
        0,
        "rolled back with the write"
    );
    assert_eq!(
        messages(&mut conn, "welcome-naive"),
        1,
        "control: an orphan message"
    );

    db.transaction(|tx| {
        tx.users()
            .create(&NewUser::new("kept@example.com", "Kept"))?;
        tx.outbox().enqueue("welcome", &json!({}), None)
    })
    .unwrap();
    assert_eq!(
        messages(&mut conn, "welcome"),
        1,
        "committed with the write"
    );
}

/// A dedupe key makes a second enqueue a no-op, also from 8 threads at
/// once, and also after delivery (delivered messages are kept for the
/// dedupe window). The control: the same race without a key writes 8.
#[test]
fn a_dedupe_key_makes_re_enqueueing_a_no_op_also_racing() {
    let db = TestDatabase::with_builder(|b| b.max_size(10)).unwrap();
    let mut conn = db.conn().unwrap();
    let payload = json!({ "invoice": 42 });
    let first = conn
        .outbox()
        .enqueue("receipts", &payload, Some("invoice-42"))
        .unwrap();
    assert!(first.is_new());
    let again = conn
        .outbox()
        .enqueue("receipts", &payload, Some("invoice-42"))
        .unwrap();
    assert_eq!(again, Enqueued::Duplicate);
    // The key is per topic.
    assert!(conn
        .outbox()
        .enqueue("audit", &payload, Some("invoice-42"))
        .unwrap()
        .is_new());

    let outcomes = race(8, |_, barrier| {
        let mut conn = db.conn().unwrap();
        barrier.wait();
        conn.outbox()
            .enqueue("race", &payload, Some("same"))
            .unwrap()
    });
    assert_eq!(
        outcomes.iter().filter(|o| o.is_new()).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(messages(&mut conn, "race"), 1);
    // Control: without a key every racer writes one.
    race(8, |_, barrier| {
        let mut conn = db.conn().unwrap();
        barrier.wait();
        conn.outbox().enqueue("race-naive", &payload, None).unwrap()
    });
    assert_eq!(messages(&mut conn, "race-naive"), 8);

    // Delivered, the key still holds.
    let outbox = db.outbox("receipts");
    let claimed = outbox.claim(10, Duration::from_secs(60)).unwrap();
    outbox.ack(&claimed[0]).unwrap();
    let after = conn
        .outbox()
        .enqueue("receipts", &payload, Some("invoice-42"))
        .unwrap();
    assert_eq!(after, Enqueued::Duplicate);
    // Past the retention window the purge deletes it and frees the key;
    // younger delivered rows stay.
    assert_eq!(outbox.purge_delivered(10).unwrap(), 0);
    diesel::sql_query(
        "UPDATE outbox_messages SET delivered_at = now() - interval '8 days'
          WHERE delivered_at IS NOT NULL",
    )
    .execute(&mut conn)
    .unwrap();
    assert_eq!(outbox.purge_delivered(10).unwrap(), 1);
    let later = conn
        .outbox()
        .enqueue("receipts", &payload, Some("invoice-42"))
        .unwrap();
    assert!(later.is_new());
}

/// NUL bytes, empty and oversized topics and keys, deep and huge JSON,
/// extreme leases and batch sizes: each an `Error::Invalid` naming the
/// field, before the database, so an open transaction is not aborted and
/// the pool works on. An error text with NULs and a megabyte is kept
/// cleaned and cut. The control: a NUL that reaches the server is a
/// database error that aborts the transaction.
#[test]
fn hostile_input_is_refused_before_the_database() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ok = json!({ "a": 1 });
    let huge = json!({ "blob": "x".repeat(saas_db::validate::JSON_MAX_BYTES) });
    let deep = deep_json(saas_db::validate::JSON_MAX_DEPTH + 1);
    let long_topic = "t".repeat(101);
    let long_key = "k".repeat(201);
    db.transaction(|tx| {
        let mut o = tx.outbox();
        assert_invalid(o.enqueue("a\0b", &ok, None), "topic");
        assert_invalid(o.enqueue("", &ok, None), "topic");
        assert_invalid(o.enqueue(&long_topic, &ok, None), "topic");
        assert_invalid(o.enqueue("white space", &ok, None), "topic");
        assert_invalid(o.enqueue("t", &ok, Some("k\0")), "dedupe_key");
        assert_invalid(o.enqueue("t", &ok, Some("")), "dedupe_key");
        assert_invalid(o.enqueue("t", &ok, Some(&long_key)), "dedupe_key");
        assert_invalid(o.enqueue("t", &json!({ "s": "a\0" }), None), "payload");
        assert_invalid(o.enqueue("t", &json!([1, 2]), None), "payload");
        assert_invalid(o.enqueue("t", &huge, None), "payload");
        assert_invalid(o.enqueue("t", &deep, None), "payload");
        let m = NewMessage::new("t", &ok);
        assert_invalid(
            o.enqueue_message(&m.clone().max_attempts(0)),
            "max_attempts",
        );
        assert_invalid(
            o.enqueue_message(&m.clone().max_attempts(101)),
            "max_attempts",
        );
        assert_invalid(o.enqueue_message(&m.clone().delay(Duration::MAX)), "delay");
        // The transaction is intact: the next enqueue works and commits.
        assert!(o.enqueue("t", &ok, Some(&"k".repeat(200)))?.is_new());
        Ok(())
    })
    .unwrap();
    crate::support::dismantle(deep);
    assert_eq!(messages(&mut conn, "t"), 1);

    let outbox = db.outbox("t");
    assert_invalid(outbox.claim(0, Duration::from_secs(1)), "n");
    assert_invalid(outbox.claim(-1, Duration::from_secs(1)), "n");
    assert_invalid(outbox.claim(i64::MAX, Duration::from_secs(1)), "n");
    assert_invalid(outbox.claim(1, Duration::ZERO), "lease");
    assert_invalid(outbox.claim(1, Duration::from_micros(999)), "lease");
    assert_invalid(outbox.claim(1, Duration::from_secs(25 * 3600)), "lease");
    assert_invalid(outbox.claim(1, Duration::MAX), "lease");
    assert_invalid(outbox.dead_letters(0), "limit");
    assert_invalid(outbox.purge_delivered(0), "batch");
    assert_invalid(
        db.outbox("bad\0topic").claim(1, Duration::from_secs(1)),
        "topic",
    );
    assert_invalid(db.outbox("").stats(), "topic");

    let claimed = outbox.claim(1, Duration::from_secs(60)).unwrap();
    assert_invalid(outbox.ack_all(&vec![claimed[0].clone(); 1_001]), "claimed");
    let error = format!("550 \0mailbox\0 {}", "y".repeat(1 << 20));
    outbox.fail(&claimed[0], &error).unwrap();
    let kept: Option<String> = {
        use saas_db::schema::outbox_messages as om;
        om::table
            .find(claimed[0].id)
            .select(om::last_error)
            .first(&mut conn)
            .unwrap()
    };
    let kept = kept.unwrap();
    assert_eq!(kept.chars().count(), LAST_ERROR_MAX, "cut");
    assert!(
        kept.starts_with("550 mailbox "),
        "NULs removed: {}",
        &kept[..20]
    );

    // Control: a NUL the crate did not catch is a server error that aborts
    // the transaction around it.
    let _ = db.transaction(|tx| {
        let nul = diesel::sql_query(
            "INSERT INTO outbox_messages (topic, payload) VALUES ('t', jsonb_build_object('s', $1::text))",
        )
        .bind::<diesel::sql_types::Text, _>("a\0b")
        .execute(tx);
        assert!(nul.is_err(), "the server refuses a NUL");
        let after = diesel::sql_query("SELECT 1").execute(tx);
        assert!(after.is_err(), "and the transaction is aborted");
        Ok(())
    });
    assert!(db
        .conn()
        .unwrap()
        .outbox()
        .enqueue("t", &ok, None)
        .unwrap()
        .is_new());
}
