//! The optimistic-lock version is kept by the `bump_version` BEFORE UPDATE
//! trigger (migration 000021): old + 1 on every UPDATE, whatever the writer
//! put into `version`, except writes that change only a table's bookkeeping
//! columns (posts.view_count, users.last_login_at).

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Uuid as SqlUuid};
use saas_db::content::NewPost;
use saas_db::Repos;
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use crate::support::{app_database, user};

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Integer)]
    version: i32,
}

/// Runs `sql` (one `$1` for the id, `RETURNING version`) and returns the
/// stored version.
fn write(conn: &mut PgConnection, sql: &str, id: impl Into<Uuid>) -> i32 {
    let id: Uuid = id.into();
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(id)
        .get_result::<Version>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .version
}

/// Before migration 000021 the version was whatever the statement wrote:
/// an application-role writer could jump to 1000 or step back to an older
/// version and so make a stale optimistic write match again.
#[test]
fn a_writer_cannot_choose_the_version() {
    let db = TestDatabase::new();
    let alice = user(&mut db.conn().unwrap(), "chosen@example.com");
    assert_eq!(alice.version, 1);
    let app = app_database(&db);
    let mut conn = app.conn().unwrap();
    let attempts = [
        ("UPDATE users SET version = 1000 WHERE id = $1 RETURNING version", 2),
        ("UPDATE users SET version = version - 1 WHERE id = $1 RETURNING version", 3),
        ("UPDATE users SET name = 'Eve', version = 1 WHERE id = $1 RETURNING version", 4),
        // Counter-only writes keep the version, and cannot move it either.
        ("UPDATE users SET last_login_at = now(), version = 1000 WHERE id = $1 RETURNING version", 4),
    ];
    for (sql, expected) in attempts {
        assert_eq!(write(&mut conn, sql, alice.id), expected, "{sql}");
    }
    assert_eq!(conn.users().get(alice.id).unwrap().version, 4);
}

/// Which writes bump: any UPDATE, also one that rewrites the same values,
/// but not one that only counts a view (it used to be the Rust code's
/// choice per call site; now it is the trigger's, for every writer).
#[test]
fn counters_keep_the_version_every_other_update_bumps_it() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let author = user(&mut conn, "counter@example.com");
    let post = conn
        .posts()
        .create(&NewPost {
            author_id: author.id,
            title: "Counted".into(),
            content: "body".into(),
            excerpt: None,
            category_id: None,
            featured: false,
        })
        .unwrap();
    assert_eq!(post.version, 1);
    let steps = [
        ("UPDATE posts SET view_count = view_count + 1 WHERE id = $1 RETURNING version", 1),
        ("UPDATE posts SET view_count = view_count + 1, version = 50 WHERE id = $1 RETURNING version", 1),
        ("UPDATE posts SET title = title WHERE id = $1 RETURNING version", 2),
        ("UPDATE posts SET title = 'Renamed', view_count = 0 WHERE id = $1 RETURNING version", 3),
    ];
    for (sql, expected) in steps {
        assert_eq!(write(&mut conn, sql, post.id), expected, "{sql}");
    }
    assert_eq!(conn.posts().increment_views(post.id).unwrap(), 1);
    conn.users().record_login(author.id).unwrap();
    assert_eq!(conn.posts().get(post.id).unwrap().version, 3);
    assert_eq!(conn.users().get(author.id).unwrap().version, 1);
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    table_name: String,
}

fn table_names(conn: &mut PgConnection, sql: &str) -> BTreeSet<String> {
    diesel::sql_query(sql)
        .load::<TableName>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|t| t.table_name)
        .collect()
}

/// A versioned table without the trigger would keep the version still
/// (nothing in Rust bumps it any more), so every optimistic write after
/// the first would pass: this names such a table.
#[test]
fn every_versioned_table_has_the_bump_trigger() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let versioned = table_names(
        &mut conn,
        "SELECT c.relname::text AS table_name
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
            AND NOT c.relispartition
            AND a.attname = 'version' AND a.atttypid = 'int4'::regtype
            AND a.attnum > 0 AND NOT a.attisdropped",
    );
    // (Diesel's own __diesel_schema_migrations.version is text.)
    // Enabled row-level BEFORE UPDATE triggers calling bump_version().
    // tgtype bits: 1 ROW, 2 BEFORE, 16 UPDATE.
    let with_trigger = table_names(
        &mut conn,
        "SELECT c.relname::text AS table_name
           FROM pg_trigger t
           JOIN pg_class c ON c.oid = t.tgrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_proc p ON p.oid = t.tgfoid
          WHERE n.nspname = current_schema() AND NOT t.tgisinternal
            AND t.tgenabled <> 'D' AND p.proname = 'bump_version'
            AND t.tgtype & 19 = 19",
    );
    assert!(versioned.len() >= 7, "{versioned:?}");
    assert_eq!(versioned, with_trigger);
}
