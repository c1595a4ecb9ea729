//! Every CHECK of `audit_logs`, hit with hand-written SQL on the owner's
//! connection (no `AuditEntry` validation in front): each INSERT must be
//! refused with `Error::Invalid` naming the constraint. The append-only
//! triggers are hit the same way in `audit_log/writing.rs`
//! (`update_and_delete_are_refused_also_on_a_partition`,
//! `truncate_is_refused_to_everyone_the_owner_included`). The first test
//! fails when a CHECK is added to the log without a case here. Also: the
//! log has no foreign keys, so entries outlive the users they name; and
//! re-running `grant_app_access` takes back an old table-wide INSERT.

use crate::support::{names, Count, Name};
use diesel::prelude::*;
use saas_db::Error;
use saas_db_testing::TestDatabase;

/// (constraint, an INSERT breaking it).
const CASES: &[(&str, &str)] = &[
    ("audit_logs_action_length", "INSERT INTO audit_logs (action, entity) VALUES ('', 'team')"),
    ("audit_logs_action_length", "INSERT INTO audit_logs (action, entity) VALUES (repeat('a', 101), 'team')"),
    ("audit_logs_entity_length", "INSERT INTO audit_logs (action, entity) VALUES ('created', '')"),
    ("audit_logs_entity_length", "INSERT INTO audit_logs (action, entity) VALUES ('created', repeat('e', 101))"),
    ("audit_logs_user_agent_length", "INSERT INTO audit_logs (action, entity, user_agent) VALUES ('created', 'team', repeat('u', 1025))"),
    ("audit_logs_changes_object", "INSERT INTO audit_logs (action, entity, changes) VALUES ('created', 'team', '[1, 2]')"),
    ("audit_logs_changes_object", "INSERT INTO audit_logs (action, entity, changes) VALUES ('created', 'team', 'null')"),
    ("audit_logs_metadata_object", "INSERT INTO audit_logs (action, entity, metadata) VALUES ('created', 'team', '\"text\"')"),
];

/// The same columns at their limits: accepted, so the refusals above are
/// the constraints and not a broken statement.
const CONTROL: &str = "INSERT INTO audit_logs (action, entity, user_agent, changes, metadata)
    VALUES (repeat('a', 100), repeat('e', 100), repeat('u', 1024), '{}', '{}')";

#[test]
fn every_check_of_the_audit_log_has_a_case() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let checks: Vec<String> = names(
        &mut conn,
        "SELECT conname AS name FROM pg_constraint
          WHERE contype = 'c' AND conrelid = 'audit_logs'::regclass ORDER BY 1",
    );
    let mut listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    listed.sort();
    listed.dedup();
    assert_eq!(checks, listed);
}

#[test]
fn hand_written_entries_breaking_a_check_are_refused_by_name() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let mut wrong = Vec::new();
    for (constraint, sql) in CASES {
        match diesel::sql_query(*sql)
            .execute(&mut conn)
            .map_err(Error::from)
        {
            Err(Error::Invalid { ref field, .. }) if field == constraint => {}
            other => wrong.push(format!("{constraint}: {sql}: {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(matches!(
        diesel::sql_query(CONTROL).execute(&mut conn),
        Ok(1)
    ));
}

/// No foreign keys to the log's subjects: an entry outlives the user who
/// acted and the row it is about.
#[test]
fn entries_outlive_the_users_they_name() {
    use saas_db::audit::AuditEntry;
    use saas_db::users::NewUser;
    use saas_db::Repos;
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let fks = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_constraint
          WHERE contype = 'f' AND conrelid = 'audit_logs'::regclass",
    )
    .get_result::<Count>(&mut conn)
    .unwrap()
    .n;
    assert_eq!(fks, 0);
    let gone = conn
        .users()
        .create(&NewUser::new("gone@example.com", "Gone"))
        .unwrap();
    let entry = conn
        .audit()
        .record(&AuditEntry::new("exported", "user", Some(gone.id.into())).by(gone.id))
        .unwrap();
    conn.users().hard_delete(gone.id).unwrap();
    let kept = conn
        .audit()
        .for_actor(gone.id, saas_db::PageRequest::first(10))
        .unwrap()
        .items;
    assert_eq!(kept.iter().map(|e| e.id).collect::<Vec<_>>(), [entry.id]);
    assert_eq!(kept[0].entity_id, Some(gone.id.into()));
}

/// Re-running `grant_app_access` takes back the table-wide INSERT on the
/// log that earlier versions granted: the app role can no longer date its
/// entries (the control: with the old grant, it could).
#[test]
fn grant_app_access_takes_back_the_old_table_wide_insert() {
    let db = TestDatabase::new();
    let app = crate::support::app_database(&db);
    let mut app = app.conn().unwrap();
    let role = diesel::sql_query("SELECT current_user::text AS name")
        .get_result::<Name>(&mut app)
        .unwrap()
        .name;
    let mut owner = db.conn().unwrap();
    let backdate = "INSERT INTO audit_logs (action, entity, created_at)
                    VALUES ('x', 'doc', now() - interval '1 day')";
    // What an earlier version granted.
    diesel::sql_query(format!(
        "GRANT INSERT ON audit_logs TO {}",
        saas_db::validate::identifier("role", &role).unwrap()
    ))
    .execute(&mut owner)
    .unwrap();
    assert!(matches!(
        diesel::sql_query(backdate).execute(&mut app),
        Ok(1)
    ));
    saas_db::tenancy::grant_app_access(&mut owner, &role).unwrap();
    let refused = diesel::sql_query(backdate)
        .execute(&mut app)
        .map_err(Error::from);
    assert!(
        matches!(&refused, Err(Error::Forbidden { reason }) if reason.starts_with("permission denied")),
        "{refused:?}"
    );
}
