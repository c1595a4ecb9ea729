//! Migrations: every down.sql undoes its up.sql exactly, migrating is
//! idempotent and safe when several processes start at once, and a custom
//! schema holds the whole data layer.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use diesel::migration::MigrationSource;
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos, MIGRATIONS};
use saas_db_testing::TestDatabase;

const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

fn raw_conn(test_db: &TestDatabase) -> PgConnection {
    PgConnection::establish(test_db.url())
        .unwrap_or_else(|e| panic!("connect to {}: {e}", test_db.name()))
}

/// Versions of the embedded migrations, ascending.
fn all_versions() -> Vec<String> {
    let mut versions: Vec<String> = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .expect("embedded migrations")
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    versions.sort();
    versions
}

/// Versions recorded as applied, ascending.
fn applied_versions(conn: &mut PgConnection) -> Vec<String> {
    let mut versions: Vec<String> = conn
        .applied_migrations()
        .expect("applied migrations")
        .iter()
        .map(ToString::to_string)
        .collect();
    versions.sort();
    versions
}

// ---------------------------------------------------------------------------
// pg_dump
// ---------------------------------------------------------------------------

/// SAAS_DB_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else PATH.
fn pg_dump_binary() -> PathBuf {
    if let Some(dir) = std::env::var_os("SAAS_DB_PG_BIN") {
        return PathBuf::from(dir).join("pg_dump");
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin").join("pg_dump");
            bin.exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version);
    newest.map_or_else(|| PathBuf::from("pg_dump"), |(_, bin)| bin)
}

/// `pg_dump --schema-only` of the database, without comments, blank lines
/// and the `\restrict` / `\unrestrict` lines (random keys) of newer pg_dump.
fn schema_dump(url: &str) -> Vec<String> {
    let bin = pg_dump_binary();
    let output = Command::new(&bin)
        .args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            url,
        ])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        output.status.success(),
        "{} failed ({}):\n{}",
        bin.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("pg_dump output is UTF-8");
    let lines: Vec<String> = text
        .lines()
        .filter(|line| {
            !line.starts_with("--")
                && !line.starts_with("\\restrict")
                && !line.starts_with("\\unrestrict")
                && !line.trim().is_empty()
        })
        .map(str::to_owned)
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("CREATE")),
        "pg_dump printed no CREATE statement:\n{text}"
    );
    lines
}

/// Panics with the first differing line and some context when the dumps differ.
fn assert_same_dump(before: &[String], after: &[String], what: &str) {
    if before == after {
        return;
    }
    let first = before
        .iter()
        .zip(after)
        .position(|(a, b)| a != b)
        .unwrap_or(before.len().min(after.len()));
    let context = |lines: &[String]| {
        let from = first.saturating_sub(3);
        let to = (first + 4).min(lines.len());
        lines[from..to]
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let n = from + i + 1;
                let mark = if from + i == first { ">" } else { " " };
                format!("{mark}{n:5} {l}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let only_before: BTreeSet<&String> = before.iter().collect::<BTreeSet<_>>();
    let only_after: BTreeSet<&String> = after.iter().collect::<BTreeSet<_>>();
    let missing: Vec<&&String> = only_before.difference(&only_after).take(20).collect();
    let added: Vec<&&String> = only_after.difference(&only_before).take(20).collect();
    panic!(
        "{what}: schema dumps differ ({} vs {} lines); first difference at line {}:\n\
         --- before\n{}\n+++ after\n{}\n\
         lines only before (up to 20): {missing:#?}\nlines only after (up to 20): {added:#?}",
        before.len(),
        after.len(),
        first + 1,
        context(before),
        context(after),
    );
}

// ---------------------------------------------------------------------------
// Leftovers after reverting everything
// ---------------------------------------------------------------------------

#[derive(QueryableByName)]
struct Object {
    #[diesel(sql_type = Text)]
    object: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every relation, type, function and trigger in `schema`, except diesel's
/// migrations table (with its primary key index and row types).
fn objects_in_schema(conn: &mut PgConnection, schema: &str) -> Vec<String> {
    diesel::sql_query(
        "WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
              keep AS (SELECT c.oid FROM pg_class c, ns
                        WHERE c.relnamespace = ns.oid AND c.relname = $2)
         SELECT format('relation %s (relkind %s)', c.relname, c.relkind) AS object
           FROM pg_class c, ns
          WHERE c.relnamespace = ns.oid
            AND c.oid NOT IN (SELECT oid FROM keep)
            AND c.oid NOT IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM keep))
         UNION ALL
         SELECT format('type %s', t.typname)
           FROM pg_type t, ns
          WHERE t.typnamespace = ns.oid
            AND t.typrelid NOT IN (SELECT oid FROM keep)
            AND NOT EXISTS (SELECT 1 FROM pg_type e
                             WHERE e.oid = t.typelem AND e.typrelid IN (SELECT oid FROM keep))
         UNION ALL
         SELECT format('function %s', p.oid::regprocedure)
           FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
         UNION ALL
         SELECT format('trigger %s on %s', tg.tgname, tg.tgrelid::regclass)
           FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid, ns
          WHERE c.relnamespace = ns.oid
         ORDER BY 1",
    )
    .bind::<Text, _>(schema)
    .bind::<Text, _>(MIGRATIONS_TABLE)
    .load::<Object>(conn)
    .expect("list schema objects")
    .into_iter()
    .map(|o| o.object)
    .collect()
}

fn assert_nothing_left(conn: &mut PgConnection, what: &str) {
    let left = objects_in_schema(conn, "public");
    assert!(
        left.is_empty(),
        "{what}: objects left in public after reverting every migration:\n  {}",
        left.join("\n  ")
    );
    let recorded: Count =
        diesel::sql_query(format!("SELECT count(*) AS n FROM {MIGRATIONS_TABLE}"))
            .get_result(conn)
            .expect("count recorded migrations");
    assert_eq!(
        recorded.n, 0,
        "{what}: {MIGRATIONS_TABLE} still records migrations"
    );
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

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

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

#[test]
fn migrate_is_idempotent_and_concurrent_safe() {
    let test_db = TestDatabase::new();
    {
        let mut conn = raw_conn(&test_db);
        conn.revert_all_migrations(MIGRATIONS)
            .expect("revert all migrations");
        assert_nothing_left(&mut conn, "before the concurrent build");
    }

    const THREADS: usize = 4;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let url = test_db.url().to_owned();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let started = Instant::now();
                let db = Database::builder(&url)
                    .max_size(2)
                    .min_idle(Some(0))
                    .application_name(&format!("migrate-race-{i}"))
                    .build();
                (i, started.elapsed(), db)
            })
        })
        .collect();
    let mut dbs = Vec::new();
    let mut failures = Vec::new();
    for handle in handles {
        let (i, took, result) = handle.join().expect("builder thread panicked");
        match result {
            Ok(db) => dbs.push(db),
            Err(e) => failures.push(format!("thread {i} (after {took:?}): {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "concurrent Database::build failed:\n  {}",
        failures.join("\n  ")
    );

    let all = all_versions();
    for (i, db) in dbs.iter().enumerate() {
        assert_eq!(
            db.migrate().unwrap(),
            Vec::<String>::new(),
            "migrate() on database handle {i} should find nothing pending"
        );
    }
    let mut conn = raw_conn(&test_db);
    assert_eq!(
        applied_versions(&mut conn),
        all,
        "each migration recorded once"
    );
    let users: Exists =
        diesel::sql_query("SELECT to_regclass('public.users') IS NOT NULL AS exists")
            .get_result(&mut conn)
            .unwrap();
    assert!(
        users.exists,
        "users table should exist after the concurrent migrate"
    );
    // The schema works: a user can be created through one of the handles.
    let user = dbs[0]
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("race@example.com", "Race"))
        .unwrap();
    assert_eq!(dbs[3].conn().unwrap().users().get(user.id).unwrap(), user);
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn names(conn: &mut PgConnection, sql: &str, schema: &str) -> BTreeSet<String> {
    diesel::sql_query(sql)
        .bind::<Text, _>(schema)
        .load::<Name>(conn)
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
        .into_iter()
        .map(|n| n.name)
        .collect()
}

#[test]
fn custom_schema_holds_every_table() {
    let test_db = TestDatabase::new();
    let tenant = Database::builder(test_db.url())
        .schema("tenant_app")
        .max_size(2)
        .min_idle(Some(0))
        .build()
        .expect("build a Database in schema tenant_app");
    assert_eq!(tenant.schema(), Some("tenant_app"));
    let mut conn = raw_conn(&test_db);

    // Tables, indexes, constraints, triggers, enum types and functions:
    // tenant_app has exactly what public has. Partitions (of audit_logs,
    // and their indexes, constraints and triggers) are left out here and
    // checked by custom_schema_gets_its_own_audit_log_partitions.
    const OBJECTS: &[(&str, &str)] = &[
        (
            "tables",
            "SELECT c.relname::text AS name FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
        ),
        (
            "indexes",
            "SELECT c.relname::text AS name FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('i', 'I') AND NOT c.relispartition",
        ),
        (
            "constraints",
            "SELECT format('%s.%s', c.relname, k.conname) AS name FROM pg_constraint k
               JOIN pg_class c ON c.oid = k.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND NOT c.relispartition",
        ),
        (
            "triggers",
            "SELECT format('%s.%s', c.relname, t.tgname) AS name FROM pg_trigger t
               JOIN pg_class c ON c.oid = t.tgrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND NOT t.tgisinternal AND NOT c.relispartition",
        ),
        (
            "enum types",
            "SELECT t.typname::text AS name FROM pg_type t
               JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = $1 AND t.typtype = 'e'",
        ),
        (
            "functions",
            "SELECT format('%s(%s)', p.proname,
                            -- types of the function's own schema print qualified
                            replace(pg_get_function_identity_arguments(p.oid), n.nspname || '.', '')) AS name
               FROM pg_proc p
               JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = $1",
        ),
    ];
    for (what, sql) in OBJECTS {
        let public = names(&mut conn, sql, "public");
        let tenant_app = names(&mut conn, sql, "tenant_app");
        assert!(
            public.len() >= 3,
            "public should hold the data layer's {what}: {public:?}"
        );
        let missing: Vec<&String> = public.difference(&tenant_app).collect();
        let extra: Vec<&String> = tenant_app.difference(&public).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{what} of tenant_app differ from public: missing in tenant_app {missing:?}, \
             only in tenant_app {extra:?}"
        );
    }
    let recorded: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM tenant_app.{MIGRATIONS_TABLE}"
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(recorded.n as usize, all_versions().len());

    // Rows written through the tenant Database land in tenant_app.
    let user = tenant
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("tenant@example.com", "Tenant"))
        .expect("create a user in tenant_app");
    let count = |conn: &mut PgConnection, table: &str| -> i64 {
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table} WHERE id = $1"))
            .bind::<diesel::sql_types::Uuid, _>(user.id)
            .get_result::<Count>(conn)
            .unwrap()
            .n
    };
    assert_eq!(
        count(&mut conn, "tenant_app.users"),
        1,
        "user not in tenant_app.users"
    );
    assert_eq!(
        count(&mut conn, "public.users"),
        0,
        "user leaked into public.users"
    );
    assert_eq!(test_db.conn().unwrap().users().find(user.id).unwrap(), None);

    // A schema name that is not a plain identifier is refused before any SQL.
    let err = Database::builder(test_db.url())
        .schema("Bad-Name; DROP")
        .build()
        .expect_err("a bad schema name must be refused");
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "schema"),
        "expected Error::Invalid {{ field: \"schema\", .. }}, got {err:?}"
    );
    let schemas = names(
        &mut conn,
        "SELECT nspname::text AS name FROM pg_namespace WHERE nspname ILIKE $1",
        "%bad%",
    );
    assert!(schemas.is_empty(), "schemas created: {schemas:?}");
}

#[derive(QueryableByName)]
struct Month {
    #[diesel(sql_type = Text)]
    yyyymm: String,
}

#[test]
fn custom_schema_gets_its_own_audit_log_partitions() {
    let test_db = TestDatabase::new();
    let tenant = Database::builder(test_db.url())
        .schema("tenant_app")
        .max_size(1)
        .min_idle(Some(0))
        .build()
        .expect("build a Database in schema tenant_app");
    let mut conn = raw_conn(&test_db);

    const PARTITIONS: &str = "SELECT c.relname::text AS name
                                FROM pg_inherits i
                                JOIN pg_class c ON c.oid = i.inhrelid
                                JOIN pg_class p ON p.oid = i.inhparent
                                JOIN pg_namespace n ON n.oid = p.relnamespace
                               WHERE n.nspname = $1 AND p.relname = 'audit_logs'";
    let public = names(&mut conn, PARTITIONS, "public");
    let tenant_app = names(&mut conn, PARTITIONS, "tenant_app");
    assert!(
        public.len() >= 2,
        "public.audit_logs partitions: {public:?}"
    );
    assert_eq!(
        tenant_app, public,
        "partitions of tenant_app.audit_logs (left) differ from public.audit_logs (right)"
    );

    // An entry written now through the tenant Database lands in this month's
    // partition of tenant_app.audit_logs, not in its default partition.
    let month: Month =
        diesel::sql_query("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMM') AS yyyymm")
            .get_result(&mut conn)
            .unwrap();
    let mut tenant_conn = tenant.conn().unwrap();
    let landed: Name = diesel::sql_query(
        "INSERT INTO audit_logs (action, entity) VALUES ('migrations.test', 'audit_logs')
         RETURNING (SELECT format('%s.%s', n.nspname, c.relname)
                      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.oid = tableoid) AS name",
    )
    .get_result(&mut *tenant_conn)
    .unwrap();
    assert_eq!(
        landed.name,
        format!("tenant_app.audit_logs_p{}", month.yyyymm),
        "an audit entry written now through the tenant_app Database"
    );
}
