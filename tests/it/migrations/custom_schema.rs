//! A custom schema (`DatabaseBuilder::schema`) holds the whole data layer,
//! its own audit log partitions included.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos};
use saas_db_testing::TestDatabase;

use super::inspect::names;
use super::{all_versions, raw_conn, MIGRATIONS_TABLE};
use crate::support::{count, Count, Name};

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
    let recorded = count(
        &mut conn,
        &format!("SELECT count(*) AS n FROM tenant_app.{MIGRATIONS_TABLE}"),
    );
    assert_eq!(recorded as usize, all_versions().len());

    // Rows written through the tenant Database land in tenant_app.
    let user = tenant
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("tenant@example.com", "Tenant"))
        .expect("create a user in tenant_app");
    let rows_with_user = |conn: &mut PgConnection, table: &str| -> i64 {
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table} WHERE id = $1"))
            .bind::<diesel::sql_types::Uuid, _>(user.id)
            .get_result::<Count>(conn)
            .unwrap()
            .n
    };
    assert_eq!(
        rows_with_user(&mut conn, "tenant_app.users"),
        1,
        "user not in tenant_app.users"
    );
    assert_eq!(
        rows_with_user(&mut conn, "public.users"),
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
