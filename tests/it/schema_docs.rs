//! The schema documents itself: every table and column of the crate has a
//! `COMMENT ON` text in the catalog, which `diesel print-schema` (with_docs
//! in diesel.toml) turns into the doc comments of `src/schema.rs`.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db_testing::TestDatabase;

#[derive(QueryableByName)]
struct Undocumented {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Tables (`t`) and `table.column`s of the current schema without a comment.
/// Partitions of the audit log are left out: they are an implementation
/// detail of `audit_logs`, which is documented; so is Diesel's own
/// migrations table, which is not ours.
fn undocumented(conn: &mut PgConnection) -> Vec<String> {
    diesel::sql_query(
        "SELECT c.relname::text AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema()
            AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND c.relname <> '__diesel_schema_migrations'
            AND obj_description(c.oid, 'pg_class') IS NULL
         UNION ALL
         SELECT c.relname || '.' || a.attname
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          WHERE n.nspname = current_schema()
            AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND c.relname <> '__diesel_schema_migrations'
            AND col_description(c.oid, a.attnum) IS NULL
          ORDER BY 1",
    )
    .load::<Undocumented>(conn)
    .unwrap()
    .into_iter()
    .map(|u| u.name)
    .collect()
}

#[test]
fn every_table_and_column_has_a_comment() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    assert_eq!(undocumented(&mut conn), Vec::<String>::new());

    // Control: a new table and a new column without comments are reported
    // (a query that found nothing could not fail).
    conn.batch_execute(
        "CREATE TABLE schema_docs_probe (id int);
         ALTER TABLE users ADD COLUMN schema_docs_probe int;",
    )
    .unwrap();
    assert_eq!(
        undocumented(&mut conn),
        [
            "schema_docs_probe",
            "schema_docs_probe.id",
            "users.schema_docs_probe"
        ]
    );
}

/// The comments reach `src/schema.rs`: the file is generated from the
/// catalog, so a table's first column carries its comment as a doc comment.
#[test]
fn schema_rs_carries_the_catalog_comments() {
    let schema = include_str!("../../src/schema.rs");
    assert!(
        schema.contains("        /// UUIDv7 primary key.\n        id -> Uuid,"),
        "src/schema.rs has no doc comments: run `cargo run --example print_schema`"
    );
    let lib = include_str!("../../src/lib.rs");
    assert!(!lib.contains("#[allow(missing_docs)]\npub mod schema;"));
}
