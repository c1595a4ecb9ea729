//! How the migration tests look at a schema: a `pg_dump` of it, the objects
//! left in it, and names read from the catalog.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::MIGRATIONS_TABLE;
use crate::support::{count, Name};

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
pub(super) fn schema_dump(url: &str) -> Vec<String> {
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
pub(super) fn assert_same_dump(before: &[String], after: &[String], what: &str) {
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

#[derive(QueryableByName)]
struct Object {
    #[diesel(sql_type = Text)]
    object: String,
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

/// Asserts that reverting every migration left nothing in `public` and no
/// migration recorded.
pub(super) fn assert_nothing_left(conn: &mut PgConnection, what: &str) {
    let left = objects_in_schema(conn, "public");
    assert!(
        left.is_empty(),
        "{what}: objects left in public after reverting every migration:\n  {}",
        left.join("\n  ")
    );
    let recorded = count(
        conn,
        &format!("SELECT count(*) AS n FROM {MIGRATIONS_TABLE}"),
    );
    assert_eq!(
        recorded, 0,
        "{what}: {MIGRATIONS_TABLE} still records migrations"
    );
}

/// The `name` column of every row of `sql`, with `schema` bound as `$1`.
pub(super) fn names(conn: &mut PgConnection, sql: &str, schema: &str) -> BTreeSet<String> {
    diesel::sql_query(sql)
        .bind::<Text, _>(schema)
        .load::<Name>(conn)
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
        .into_iter()
        .map(|n| n.name)
        .collect()
}
