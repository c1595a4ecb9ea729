//! Writing entries: with the transaction, append-only (no UPDATE, DELETE or TRUNCATE), all-or-nothing batches.

use super::*;
use saas_db::ids::UserId;

#[test]
fn record_commits_and_rolls_back_with_its_transaction() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let doc = Uuid::now_v7();
    let actor = Uuid::now_v7();

    let err = conn
        .transaction::<(), Error, _>(|tx| {
            tx.audit()
                .record(&AuditEntry::new("rolled_back", "doc", Some(doc)).by(UserId(actor)))?;
            // Visible inside the transaction...
            assert_eq!(entries_about(tx, doc).len(), 1);
            Err(Error::invalid("test", "roll back"))
        })
        .unwrap_err();
    assert!(err.field() == Some("test"), "{err:?}");
    // ...and gone with it.
    assert!(entries_about(&mut conn, doc).is_empty());
    assert!(all_entries(&mut conn).is_empty());

    let ip: std::net::IpAddr = "2001:db8::7".parse().unwrap();
    let kept = conn
        .transaction::<_, Error, _>(|tx| {
            tx.audit().record(
                &AuditEntry::new("committed", "doc", Some(doc))
                    .by(UserId(actor))
                    .changes(json!({ "title": { "before": "a", "after": "b" } }))
                    .metadata(json!({ "request": 42 }))
                    .client(Some(ip), Some("agent/1")),
            )
        })
        .unwrap();
    assert_eq!(entries_about(&mut conn, doc), vec![kept.clone()]);
    assert_eq!(kept.action, "committed");
    assert_eq!(kept.entity, "doc");
    assert_eq!(kept.entity_id, Some(doc));
    assert_eq!(kept.actor_id, Some(UserId(actor)));
    assert_eq!(
        kept.changes,
        json!({ "title": { "before": "a", "after": "b" } })
    );
    assert_eq!(kept.metadata, json!({ "request": 42 }));
    assert_eq!(kept.ip_address, Some(ip));
    assert_eq!(kept.user_agent.as_deref(), Some("agent/1"));

    // Bad input is refused before the database, naming the field.
    let err = conn
        .audit()
        .record(&AuditEntry::new("", "doc", Some(doc)))
        .unwrap_err();
    assert!(err.field() == Some("action"), "{err:?}");
    let err = conn
        .audit()
        .record(&AuditEntry::new("x", "doc", None).metadata(json!({ "k": "nul\0" })))
        .unwrap_err();
    assert!(err.field() == Some("metadata"), "{err:?}");
    assert_eq!(all_entries(&mut conn).len(), 1);
}

#[test]
fn update_and_delete_are_refused_also_on_a_partition() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let doc = Uuid::now_v7();
    let entry = conn
        .audit()
        .record(&AuditEntry::new("original", "doc", Some(doc)))
        .unwrap();
    let partition = partition_of_month(&mut conn, 0);
    // The row is in this month's partition, so statements on it reach a row
    // (a trigger on zero rows would refuse nothing).
    assert_eq!(
        count(&mut conn, &format!("SELECT count(*) AS n FROM {partition}")),
        1
    );

    let statements = [
        ("UPDATE audit_logs SET action = 'x'".to_owned(), "UPDATE"),
        ("DELETE FROM audit_logs".to_owned(), "DELETE"),
        (format!("UPDATE {partition} SET action = 'x'"), "UPDATE"),
        (format!("DELETE FROM {partition}"), "DELETE"),
        // Moving a row to another partition is an UPDATE too.
        (
            "UPDATE audit_logs SET created_at = created_at - interval '5 years'".to_owned(),
            "UPDATE",
        ),
    ];
    for (sql, op) in &statements {
        let reason = forbidden_reason(run(&mut conn, sql));
        assert!(
            reason.contains("append-only") && reason.contains(op),
            "{sql}: {reason}"
        );
    }
    assert_eq!(all_entries(&mut conn), vec![entry]);
}

#[test]
fn truncate_is_refused_to_everyone_the_owner_included() {
    let db = TestDatabase::new();
    let mut owner = db.conn().unwrap();
    let app = Database::builder(&db.app_url().unwrap())
        .run_migrations(false)
        .max_size(1)
        .min_idle(Some(0))
        .build()
        .unwrap();
    let mut app = app.conn().unwrap();
    let partition = partition_of_month(&mut owner, 0);

    // The app role may append and read...
    let written = app
        .audit()
        .record(&AuditEntry::new("by_app", "doc", Some(Uuid::now_v7())))
        .unwrap();
    assert_eq!(all_entries(&mut app), vec![written.clone()]);
    // ...but not rewrite or remove it: no UPDATE, DELETE or TRUNCATE grant
    // on the log...
    for sql in [
        "UPDATE audit_logs SET action = 'x'",
        "DELETE FROM audit_logs",
        "TRUNCATE audit_logs",
    ] {
        let reason = forbidden_reason(run(&mut app, sql));
        assert!(reason.starts_with("permission denied"), "{sql}: {reason}");
    }
    // ...nor through a partition directly (refused by the grants, or by the
    // trigger where a grant reaches the partition).
    for sql in [
        format!("UPDATE {partition} SET action = 'x'"),
        format!("DELETE FROM {partition}"),
        format!("TRUNCATE {partition}"),
    ] {
        let reason = forbidden_reason(run(&mut app, &sql));
        assert!(
            reason.starts_with("permission denied") || reason.contains("append-only"),
            "{sql}: {reason}"
        );
    }
    assert_eq!(all_entries(&mut owner), vec![written]);
    // The app role cannot date an entry: created_at is the server's (it
    // used to accept any value, back- or post-dated).
    let backdated = run(
        &mut app,
        "INSERT INTO audit_logs (action, entity, created_at) VALUES ('x', 'doc', now() - interval '1 year')",
    );
    assert!(
        matches!(&backdated, Err(Error::Forbidden { reason }) if reason.starts_with("permission denied")),
        "{backdated:?}"
    );

    // The owner too: a statement-level guard on the log and on every
    // partition, including those made later by ensure_partitions (it used
    // to empty the log: the row trigger does not fire on TRUNCATE).
    owner
        .audit()
        .record(&AuditEntry::new("again", "doc", None))
        .unwrap();
    let later = {
        owner.audit().ensure_partitions(14).unwrap();
        partition_of_month(&mut owner, 13)
    };
    for sql in [
        "TRUNCATE audit_logs".to_owned(),
        format!("TRUNCATE {partition}"),
        format!("TRUNCATE {later}"),
        "TRUNCATE audit_logs_default".to_owned(),
    ] {
        let err = run(&mut owner, &sql).unwrap_err();
        assert!(
            matches!(&err, Error::Forbidden { reason } if reason.contains("append-only")),
            "{sql}: {err:?}"
        );
    }
    assert_eq!(all_entries(&mut owner).len(), 2);
}

#[test]
fn record_many_is_all_or_nothing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let doc = Uuid::now_v7();
    let actor = Uuid::now_v7();
    let actions: Vec<String> = (0..10).map(|i| format!("step_{i}")).collect();
    let mut entries: Vec<AuditEntry> = actions
        .iter()
        .map(|a| AuditEntry::new(a, "doc", Some(doc)).by(UserId(actor)))
        .collect();
    entries[3].action = "";

    let err = conn.audit().record_many(&entries).unwrap_err();
    assert!(err.field() == Some("entries[3].action"), "{err:?}");
    assert!(all_entries(&mut conn).is_empty());
    // The same inside a transaction that goes on: nothing of the batch lands.
    conn.transaction::<_, Error, _>(|tx| {
        assert!(tx.audit().record_many(&entries).is_err());
        tx.audit().record(&AuditEntry::new("other", "doc", None))
    })
    .unwrap();
    assert!(entries_about(&mut conn, doc).is_empty());

    let long = "x".repeat(1025);
    entries[3].action = "step_3";
    entries[8].user_agent = Some(&long);
    let err = conn.audit().record_many(&entries).unwrap_err();
    assert!(err.field() == Some("entries[8].user_agent"), "{err:?}");
    assert!(entries_about(&mut conn, doc).is_empty());

    entries[8].user_agent = None;
    assert_eq!(conn.audit().record_many(&entries).unwrap(), 10);
    let written = entries_about(&mut conn, doc);
    let mut got: Vec<&str> = written.iter().map(|e| e.action.as_str()).collect();
    got.sort_unstable();
    let mut want: Vec<&str> = actions.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(got, want);
    assert!(written.iter().all(|e| e.actor_id == Some(UserId(actor))));
    assert_eq!(conn.audit().record_many(&[]).unwrap(), 0);
    assert_eq!(all_entries(&mut conn).len(), 11);
}
