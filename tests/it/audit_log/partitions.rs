//! Monthly partitions: creating the missing months, dropping whole past months.

use super::*;

#[test]
fn ensure_partitions_creates_only_the_missing_months() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for ahead in 0..=2 {
        let name = partition_of_month(&mut conn, ahead);
        assert!(table_exists(&mut conn, &name), "{name} from the migration");
    }
    let fourth = partition_of_month(&mut conn, 3);
    assert!(!table_exists(&mut conn, &fourth), "{fourth}");

    assert_eq!(conn.audit().ensure_partitions(3).unwrap(), 1);
    assert!(table_exists(&mut conn, &fourth), "{fourth}");
    assert_eq!(conn.audit().ensure_partitions(3).unwrap(), 0);
    assert_eq!(conn.audit().ensure_partitions(0).unwrap(), 0);
    let err = conn.audit().ensure_partitions(121).unwrap_err();
    assert!(err.field() == Some("months_ahead"), "{err:?}");
    let fifth = partition_of_month(&mut conn, 4);
    assert!(!table_exists(&mut conn, &fifth), "{fifth}");

    // An entry written now lands in this month's partition, not the default.
    conn.audit()
        .record(&AuditEntry::new("now", "doc", None))
        .unwrap();
    let current = partition_of_month(&mut conn, 0);
    assert_eq!(
        count(&mut conn, &format!("SELECT count(*) AS n FROM {current}")),
        1
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_logs_default"),
        0
    );
}

#[test]
fn drop_partitions_before_removes_whole_past_months() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for (name, from, to) in [
        ("audit_logs_p202501", "2025-01-01", "2025-02-01"),
        ("audit_logs_p202502", "2025-02-01", "2025-03-01"),
        ("audit_logs_p202503", "2025-03-01", "2025-04-01"),
    ] {
        run(
            &mut conn,
            &format!(
                "CREATE TABLE {name} PARTITION OF audit_logs
                 FOR VALUES FROM ('{from} 00:00+00') TO ('{to} 00:00+00')"
            ),
        )
        .unwrap();
    }
    let insert = |conn: &mut PgConnection, at: &str| {
        diesel::sql_query(
            "INSERT INTO audit_logs (id, action, entity, created_at) VALUES ($1, 'old', 'doc', $2::timestamptz)",
        )
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<Text, _>(at)
        .execute(conn)
        .unwrap();
    };
    insert(&mut conn, "2025-01-15 12:00+00");
    insert(&mut conn, "2025-01-31 23:59:59.999999+00");
    insert(&mut conn, "2025-02-10 00:00+00");
    insert(&mut conn, "2025-03-01 00:00+00");
    // Outside every monthly partition: the default one, never dropped.
    insert(&mut conn, "2024-06-01 00:00+00");
    let now = conn
        .audit()
        .record(&AuditEntry::new("now", "doc", None))
        .unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_logs_p202501"),
        2
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_logs_default"),
        1
    );

    let cutoff = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let dropped = conn.audit().drop_partitions_before(cutoff).unwrap();
    assert_eq!(dropped, ["audit_logs_p202501", "audit_logs_p202502"]);

    assert!(!table_exists(&mut conn, "audit_logs_p202501"));
    assert!(!table_exists(&mut conn, "audit_logs_p202502"));
    assert!(table_exists(&mut conn, "audit_logs_p202503"));
    for ahead in 0..=2 {
        let name = partition_of_month(&mut conn, ahead);
        assert!(table_exists(&mut conn, &name), "{name}");
    }
    assert_eq!(
        entries_between(&mut conn, "2025-01-01 00:00+00", "2025-03-01 00:00+00"),
        0
    );
    assert_eq!(
        entries_between(&mut conn, "2025-03-01 00:00+00", "2025-04-01 00:00+00"),
        1
    );
    assert_eq!(
        entries_between(&mut conn, "2024-06-01 00:00+00", "2024-07-01 00:00+00"),
        1
    );
    assert!(all_entries(&mut conn).contains(&now));
    assert_eq!(all_entries(&mut conn).len(), 3);

    assert!(conn
        .audit()
        .drop_partitions_before(cutoff)
        .unwrap()
        .is_empty());
    // A cutoff inside March keeps March (the month containing the cutoff).
    let end_of_march = Utc.with_ymd_and_hms(2025, 3, 31, 23, 59, 59).unwrap();
    assert!(conn
        .audit()
        .drop_partitions_before(end_of_march)
        .unwrap()
        .is_empty());
    assert!(table_exists(&mut conn, "audit_logs_p202503"));
    assert_eq!(all_entries(&mut conn).len(), 3);
}
