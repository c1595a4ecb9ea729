//! Item 14: refusals by grants, ownership and policies are `Forbidden`,
//! under the real application role (LOGIN, not owner, not superuser, no
//! BYPASSRLS); the append-only trigger is recognised by its constraint name.

use std::io::Write;

use crate::support::Name;
use diesel::prelude::*;
use saas_db::ids::TeamId;
use saas_db::schema::projects;
use saas_db::{Database, Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::still_usable;

/// The application role's pool on a fresh database, and a team to aim at.
fn app_role() -> (TestDatabase, Database, TeamId) {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let owner = conn
        .users()
        .create(&saas_db::users::NewUser::new("own@example.com", "Owner"))
        .unwrap();
    let team = conn
        .teams()
        .create(&saas_db::access::Actor::from(&owner), "Team")
        .unwrap();
    let app = crate::support::app_database(&db);
    (db, app, team.id)
}

#[track_caller]
fn assert_forbidden(result: Result<usize, Error>, what: &str) {
    assert!(
        matches!(&result, Err(Error::Forbidden { .. })),
        "{what}: expected Forbidden, got {result:?}"
    );
}

/// Each used to come back as `Error::Database` ("must be owner of table
/// ..", "must be superuser or have privileges of the pg_read_server_files
/// role ..", "COPY FROM not supported with row-level security").
#[test]
fn ownership_server_files_and_copy_under_rls_are_forbidden() {
    let (db, app, team_id) = app_role();
    let partition: String = {
        diesel::sql_query(
            "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'audit_logs'::regclass ORDER BY 1 LIMIT 1",
        )
        .get_result::<Name>(&mut db.conn().unwrap())
        .unwrap()
        .name
    };
    let mut conn = app.conn().unwrap();
    let detach = format!("ALTER TABLE audit_logs DETACH PARTITION {partition}");
    let statements = [
        "ALTER TABLE users ADD COLUMN nickname text",
        "DROP TABLE projects",
        detach.as_str(),
        "COPY projects FROM '/etc/hostname'",
        "COPY (SELECT 1) TO '/tmp/saas_db_copy_test'",
        "TRUNCATE audit_logs",
        "CREATE ROLE sneaky",
    ];
    for sql in statements {
        let result = diesel::sql_query(sql)
            .execute(&mut *conn)
            .map_err(Error::from);
        assert_forbidden(result, sql);
        still_usable(&mut conn).unwrap();
    }

    // COPY FROM into a table with Row-Level Security, as hand-written Diesel.
    let copied = diesel::copy_from(projects::table)
        .from_raw_data(
            (projects::id, projects::team_id, projects::name),
            |out: &mut dyn Write| {
                writeln!(out, "{}\t{team_id}\tpwned", Uuid::now_v7())
                    .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
            },
        )
        .execute(&mut *conn)
        .map_err(Error::from);
    assert_forbidden(copied, "COPY FROM under RLS");
    still_usable(&mut conn).unwrap();
    let pwned: i64 = projects::table
        .count()
        .get_result(&mut *db.conn().unwrap())
        .unwrap();
    assert_eq!(pwned, 0);
}

/// The append-only trigger is recognised by its constraint name: reworded,
/// it is still `Forbidden`, and another error that merely mentions
/// "append-only" is not. The old classification matched the message text
/// (`contains("is append-only")`) and got both wrong.
#[test]
fn the_append_only_trigger_is_matched_by_constraint_name() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.audit()
        .record(&saas_db::audit::AuditEntry::new("did", "thing", None))
        .unwrap();
    let run = |conn: &mut PgConnection, sql: &str| {
        diesel::sql_query(sql).execute(conn).map_err(Error::from)
    };
    // The real trigger, even for the tables' owner.
    assert_forbidden(
        run(&mut conn, "UPDATE audit_logs SET action = 'rewritten'"),
        "UPDATE audit_logs",
    );
    assert_forbidden(
        run(&mut conn, "DELETE FROM audit_logs"),
        "DELETE FROM audit_logs",
    );
    // The same constraint with other words.
    assert_forbidden(
        run(
            &mut conn,
            "DO $$ BEGIN RAISE EXCEPTION 'history is immutable'
                 USING CONSTRAINT = 'audit_logs_append_only'; END $$",
        ),
        "reworded trigger",
    );
    // The words without the constraint: an ordinary error.
    let words = run(
        &mut conn,
        "DO $$ BEGIN RAISE EXCEPTION 'my_table is append-only: UPDATE refused'; END $$",
    );
    assert!(matches!(words, Err(Error::Database(_))), "{words:?}");
    still_usable(&mut conn).unwrap();
}
