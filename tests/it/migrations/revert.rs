//! Reverting: all at once and one by one, each level back to the same schema.

use diesel_migrations::MigrationHarness;
use saas_db::MIGRATIONS;
use saas_db_testing::TestDatabase;

use super::inspect::{assert_nothing_left, assert_same_dump, schema_dump};
use super::{all_versions, applied_versions, raw_conn};

#[test]
fn migrations_revert_and_reapply_to_identical_schema() {
    let test_db = TestDatabase::new();
    let before = schema_dump(test_db.url());
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("CREATE TABLE public.users ")),
        "the dump should contain the users table"
    );

    let mut conn = raw_conn(&test_db);
    let all = all_versions();
    assert_eq!(
        applied_versions(&mut conn),
        all,
        "test database fully migrated"
    );
    let mut reverted: Vec<String> = conn
        .revert_all_migrations(MIGRATIONS)
        .expect("revert all migrations")
        .iter()
        .map(ToString::to_string)
        .collect();
    reverted.sort();
    assert_eq!(reverted, all, "every migration reverted");
    assert_nothing_left(&mut conn, "revert_all_migrations");

    let mut applied: Vec<String> = conn
        .run_pending_migrations(MIGRATIONS)
        .expect("re-apply migrations")
        .iter()
        .map(ToString::to_string)
        .collect();
    applied.sort();
    assert_eq!(applied, all, "every migration re-applied");
    drop(conn);

    let after = schema_dump(test_db.url());
    assert_same_dump(&before, &after, "fresh vs reverted and re-applied");
}

#[test]
fn each_migration_reverts_cleanly_one_by_one() {
    let test_db = TestDatabase::new();
    let mut conn = raw_conn(&test_db);
    let all = all_versions();
    assert!(
        all.len() >= 7,
        "expected the 7 domain migrations, got {all:?}"
    );
    assert_eq!(applied_versions(&mut conn), all);

    // Down, one at a time, newest first; the dump at each level is kept to
    // compare with the same level on the way up.
    let mut dumps_down = vec![schema_dump(test_db.url())];
    for level in (0..all.len()).rev() {
        let reverted = conn
            .revert_last_migration(MIGRATIONS)
            .unwrap_or_else(|e| panic!("reverting {}: {e}", all[level]))
            .to_string();
        assert_eq!(reverted, all[level], "reverted out of order");
        assert_eq!(
            applied_versions(&mut conn),
            all[..level],
            "after reverting {reverted}"
        );
        dumps_down.push(schema_dump(test_db.url()));
    }
    assert_nothing_left(&mut conn, "revert_last_migration down to zero");
    assert!(
        conn.revert_last_migration(MIGRATIONS).is_err(),
        "reverting with nothing applied should fail"
    );

    // Up, one at a time, oldest first; each level equals the same level on
    // the way down (so each down.sql undoes exactly its up.sql).
    dumps_down.reverse();
    assert_same_dump(&dumps_down[0], &schema_dump(test_db.url()), "level 0");
    for (level, version) in all.iter().enumerate() {
        let applied = conn
            .run_next_migration(MIGRATIONS)
            .unwrap_or_else(|e| panic!("applying {version}: {e}"))
            .to_string();
        assert_eq!(&applied, version, "applied out of order");
        assert_eq!(applied_versions(&mut conn), all[..=level]);
        assert_same_dump(
            &dumps_down[level + 1],
            &schema_dump(test_db.url()),
            &format!("after applying {version}, compared with before reverting it"),
        );
    }
    assert!(
        conn.pending_migrations(MIGRATIONS).unwrap().is_empty(),
        "nothing pending at the end"
    );
    assert!(
        conn.run_next_migration(MIGRATIONS).is_err(),
        "run_next_migration with nothing pending should fail"
    );
}
