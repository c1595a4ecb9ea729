//! `TestDatabase` set up like production: the crate's tables in the host's
//! schema, the host's own migrations baked into the template, the app
//! role's search path, and bad setups refused by name before the database.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos};
use saas_db_testing::TestDatabase;

/// The fixture folder: one migration creating `notes_app.notes` and
/// `notes_app.built` (the id of the transaction that ran it).
const HOST_MIGRATIONS_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/harness/host_migrations"
);
const HOST_MIGRATIONS: EmbeddedMigrations = embed_migrations!("tests/it/harness/host_migrations");

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    yes: bool,
}

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct Txid {
    #[diesel(sql_type = BigInt)]
    txid: i64,
}

/// Whether `relation` (schema-qualified or not) resolves on `conn`.
fn exists(conn: &mut PgConnection, relation: &str) -> bool {
    diesel::sql_query("SELECT to_regclass($1) IS NOT NULL AS yes")
        .bind::<Text, _>(relation)
        .get_result::<Flag>(conn)
        .unwrap()
        .yes
}

fn text(conn: &mut PgConnection, sql: &str) -> String {
    diesel::sql_query(sql)
        .get_result::<Value>(conn)
        .unwrap()
        .value
}

/// A schema set on the pool's builder is honoured: the tables are in it and
/// the pool finds them. This used to clone the template migrated into
/// `public` and only set the pool's search path, so `saas.users` did not
/// exist and the crate's tables sat in `public`.
#[test]
fn with_builder_schema_puts_the_tables_in_that_schema() {
    let test_db = TestDatabase::with_builder(|b| b.schema("saas")).unwrap();
    assert_eq!(test_db.schema(), Some("saas"));
    let mut raw = PgConnection::establish(test_db.url()).unwrap();
    assert!(exists(&mut raw, "saas.users"), "saas.users is missing");
    assert!(exists(&mut raw, "saas.__diesel_schema_migrations"));
    assert!(
        !exists(&mut raw, "public.users"),
        "the tables are in public"
    );
    let ada = test_db
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("ada@example.com", "Ada"))
        .unwrap();
    let count = diesel::sql_query("SELECT count(*)::text AS value FROM saas.users WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::from(ada.id))
        .get_result::<Value>(&mut raw)
        .unwrap()
        .value;
    assert_eq!(count, "1");
}

/// `TestDatabase::builder().schema(..)` does the same, and the application
/// role of `app_url` finds the tables through its own search path: on a
/// plain connection and through a pool.
#[test]
fn the_app_role_finds_the_tables_in_the_schema() {
    let test_db = TestDatabase::builder().schema("saas").build().unwrap();
    let app_url = test_db.app_url().unwrap();
    let mut plain = PgConnection::establish(&app_url).unwrap();
    assert_eq!(
        text(&mut plain, "SELECT current_setting('search_path') AS value"),
        "saas, public"
    );
    assert!(exists(&mut plain, "users"));
    let app = Database::builder(&app_url)
        .schema("saas")
        .run_migrations(false)
        .max_size(1)
        .build()
        .unwrap();
    let found = app
        .conn()
        .unwrap()
        .users()
        .find_by_email("nobody@example.com")
        .unwrap();
    assert!(found.is_none());
    // Control: the grants are the app role's, not a superuser's.
    let err = diesel::sql_query("CREATE TABLE saas.intruder (id int)").execute(&mut plain);
    assert!(err.is_err(), "the app role may create tables in the schema");
}

/// The host's migrations (a folder of `up.sql`) are in every clone, with a
/// table in a schema of the host's that references the crate's users in
/// the custom schema; and they ran once, in the template: both clones hold
/// the same transaction id from the migration.
#[test]
fn host_migrations_are_in_every_clone_of_the_template() {
    let setup = || {
        TestDatabase::builder()
            .schema("saas")
            .migrations_dir(HOST_MIGRATIONS_DIR)
            .build()
            .unwrap()
    };
    let (first, second) = (setup(), setup());
    let mut txids = Vec::new();
    for test_db in [&first, &second] {
        let mut conn = PgConnection::establish(test_db.url()).unwrap();
        assert!(exists(&mut conn, "notes_app.notes"), "{}", test_db.name());
        assert!(exists(&mut conn, "saas.users"));
        let target = text(
            &mut conn,
            "SELECT confrelid::regclass::text AS value FROM pg_constraint
              WHERE conname = 'notes_user_id_fkey'",
        );
        assert_eq!(target, "saas.users");
        txids.push(
            diesel::sql_query("SELECT txid FROM notes_app.built")
                .get_result::<Txid>(&mut conn)
                .unwrap()
                .txid,
        );
    }
    assert_eq!(txids[0], txids[1], "the host migration ran per test");
    // The pool of the clone writes through the host's table.
    let ann = first
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("ann@example.com", "Ann"))
        .unwrap();
    diesel::sql_query("INSERT INTO notes_app.notes (user_id, body) VALUES ($1, 'hi')")
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::from(ann.id))
        .execute(&mut first.conn().unwrap())
        .unwrap();
}

/// The same migrations embedded with `embed_migrations!`, without a schema:
/// the host's table references `public.users`.
#[test]
fn embedded_host_migrations_work_without_a_schema() {
    let test_db = TestDatabase::builder()
        .migrations(HOST_MIGRATIONS)
        .build()
        .unwrap();
    let mut conn = PgConnection::establish(test_db.url()).unwrap();
    assert!(exists(&mut conn, "notes_app.notes"));
    let target = text(
        &mut conn,
        "SELECT confrelid::regclass::text AS value FROM pg_constraint
          WHERE conname = 'notes_user_id_fkey'",
    );
    assert_eq!(target, "users");
}

/// A copy of the fixture migrations in a fresh folder, with `up.sql` ending
/// in `extra`.
fn migrations_copy(extra: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "saas-db-it-host-migrations-{:016x}",
        rand::random::<u64>()
    ));
    let name = "2030-01-01-000001_notes";
    std::fs::create_dir_all(dir.join(name)).unwrap();
    let source = Path::new(HOST_MIGRATIONS_DIR).join(name);
    let up = std::fs::read_to_string(source.join("up.sql")).unwrap();
    std::fs::write(dir.join(name).join("up.sql"), format!("{up}\n{extra}\n")).unwrap();
    std::fs::copy(source.join("down.sql"), dir.join(name).join("down.sql")).unwrap();
    dir
}

/// Editing a host migration in place (same name, new SQL) gives a new
/// template: the template's name includes the SQL, not only the versions.
#[test]
fn an_edited_host_migration_gives_a_new_template() {
    let dir = migrations_copy("");
    let before = TestDatabase::builder()
        .migrations_dir(&dir)
        .build()
        .unwrap();
    let up = dir.join("2030-01-01-000001_notes").join("up.sql");
    let mut sql = std::fs::read_to_string(&up).unwrap();
    sql.push_str("ALTER TABLE notes_app.notes ADD COLUMN title text;\n");
    std::fs::write(&up, sql).unwrap();
    let after = TestDatabase::builder()
        .migrations_dir(&dir)
        .build()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let has_title = |test_db: &TestDatabase| {
        let mut conn = PgConnection::establish(test_db.url()).unwrap();
        diesel::sql_query(
            "SELECT EXISTS (SELECT FROM information_schema.columns
                             WHERE table_schema = 'notes_app' AND column_name = 'title') AS yes",
        )
        .get_result::<Flag>(&mut conn)
        .unwrap()
        .yes
    };
    assert!(!has_title(&before));
    assert!(has_title(&after), "the edited migration was not applied");
}

/// A host migration that fails is reported as `Error::Migration`, with
/// the server's reason, and the next setup tries again (it is not cached).
#[test]
fn a_failing_host_migration_is_a_migration_error() {
    let dir = migrations_copy("SELECT no_such_function();");
    for _ in 0..2 {
        let err = TestDatabase::builder()
            .migrations_dir(&dir)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::Migration(ref m) if m.contains("no_such_function")),
            "{err:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bad setups are refused by name before any database is made: a schema
/// that is not a plain identifier, a migrations folder that does not
/// exist, two different schemas.
#[test]
fn bad_setups_are_refused_by_field() {
    let invalid = |result: saas_db::Result<TestDatabase>, expected: &str| match result {
        Err(Error::Invalid { ref field, .. }) if field == expected => {}
        other => panic!("expected Invalid {{ field: {expected:?} }}, got {other:?}"),
    };
    invalid(
        TestDatabase::builder().schema("Saas; DROP").build(),
        "schema",
    );
    invalid(
        TestDatabase::builder()
            .migrations_dir("/nonexistent/saas-db-migrations")
            .build(),
        "migrations",
    );
    invalid(
        TestDatabase::builder()
            .schema("saas")
            .pool(|b| b.schema("other"))
            .build(),
        "schema",
    );
    // The harness still works afterwards.
    TestDatabase::builder().schema("saas").build().unwrap();
}
