//! Defects found by these tests, each with the test that would fail on the old code.

use super::*;

/// Lookups refuse a NUL byte before the database, naming the field (see
/// bad_input/create.rs); `for_entity` sends it to the server instead.
#[test]
fn for_entity_refuses_a_nul_byte_before_the_database() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let err = conn
        .audit()
        .for_entity("d\0c", Uuid::now_v7(), PageRequest::first(1))
        .unwrap_err();
    assert!(err.field() == Some("entity"), "{err:?}");
}

/// An entry for a month without a partition lands in the default partition
/// (as documented); `ensure_partitions` must still create the other months
/// afterwards. (It used to abort on that month's CREATE TABLE, "updated
/// partition constraint for default partition would be violated", so no
/// later month was created and every later entry landed in the default.)
#[test]
fn ensure_partitions_survives_an_entry_in_the_default_partition() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    // What `record` writes four months from now if the daily job fell behind.
    run(
        &mut conn,
        "INSERT INTO audit_logs (action, entity, created_at)
         VALUES ('early', 'doc',
                 (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '4 months 1 hour')
                     AT TIME ZONE 'UTC')",
    )
    .unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_logs_default"),
        1
    );
    let created = conn.audit().ensure_partitions(5);
    assert!(matches!(created, Ok(n) if n >= 2), "{created:?}");
    for ahead in [3, 5] {
        let name = partition_of_month(&mut conn, ahead);
        assert!(table_exists(&mut conn, &name), "{name}");
    }
    assert_eq!(all_entries(&mut conn).len(), 1);
}

/// A change that changes nothing (unbanning someone who is not banned,
/// setting the role they have) is not history: no entry.
#[test]
fn a_change_that_changes_nothing_writes_no_entry() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "noop-admin@example.com");
    let target = user(&mut conn, "noop@example.com");
    conn.users().unban(&admin, target.id).unwrap();
    conn.users()
        .set_role(&admin, target.id, UserRole::User)
        .unwrap();
    assert!(entries_about(&mut conn, target.id).is_empty());
}

/// Retention never drops the month being written (or later ones).
#[test]
fn drop_partitions_before_refuses_a_cutoff_in_the_current_month() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for cutoff in [Utc::now(), Utc::now() + Duration::days(90)] {
        match conn.audit().drop_partitions_before(cutoff) {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "cutoff"),
            other => panic!("{other:?}"),
        }
    }
    for ahead in [0, 2] {
        let name = partition_of_month(&mut conn, ahead);
        assert!(table_exists(&mut conn, &name), "{name}");
    }
}
