//! Columns the database maintains: the updated_at trigger on every table
//! with the column, and the column defaults Rust mirrors.

use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use saas_db::users::NewUser;
use saas_db::Repos;
use saas_db_testing::TestDatabase;

use std::collections::BTreeSet;

use crate::support::names;

#[derive(QueryableByName)]
struct Stamps {
    #[diesel(sql_type = Timestamptz)]
    updated_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Timestamptz)]
    tx_now: chrono::DateTime<chrono::Utc>,
}

#[test]
fn updated_at_trigger_on_every_table_with_updated_at() {
    let test_db = TestDatabase::new();
    let mut conn = test_db.conn().unwrap();

    // Ordinary and partitioned tables with an updated_at column (partitions
    // inherit their parent's triggers and are covered by it).
    let with_column: BTreeSet<String> = names(
        &mut conn,
        "SELECT c.relname::text AS name
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid
          WHERE n.nspname = current_schema()
            AND c.relkind IN ('r', 'p')
            AND NOT c.relispartition
            AND a.attname = 'updated_at' AND a.attnum > 0 AND NOT a.attisdropped",
    );
    // Enabled row-level BEFORE UPDATE triggers calling set_updated_at().
    // tgtype bits: 1 ROW, 2 BEFORE, 16 UPDATE.
    let with_trigger: BTreeSet<String> = names(
        &mut conn,
        "SELECT c.relname::text AS name
           FROM pg_trigger t
           JOIN pg_class c ON c.oid = t.tgrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_proc p ON p.oid = t.tgfoid
          WHERE n.nspname = current_schema()
            AND NOT t.tgisinternal
            AND t.tgenabled <> 'D'
            AND p.proname = 'set_updated_at'
            AND t.tgtype & 1 = 1
            AND t.tgtype & 2 = 2
            AND t.tgtype & 16 = 16",
    );
    for table in [
        "users",
        "user_profiles",
        "subscriptions",
        "payments",
        "posts",
        "teams",
    ] {
        assert!(
            with_column.contains(table),
            "{table} should have updated_at; tables with it: {with_column:?}"
        );
    }
    let missing: Vec<&String> = with_column.difference(&with_trigger).collect();
    assert!(
        missing.is_empty(),
        "tables with updated_at but no enabled BEFORE UPDATE FOR EACH ROW trigger \
         calling set_updated_at(): {missing:?}"
    );
    // The other way round: the trigger on a table without the column fails
    // every update of it.
    let stray: Vec<&String> = with_trigger.difference(&with_column).collect();
    assert!(
        stray.is_empty(),
        "set_updated_at() triggers on tables without updated_at: {stray:?}"
    );

    // Behaviour: a write that does not mention updated_at still moves it, to
    // the writing transaction's now().
    let user = conn
        .users()
        .create(&NewUser::new("trigger@example.com", "Before"))
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let after: Stamps = conn
        .transaction(|c| {
            diesel::sql_query(
                "UPDATE users SET name = 'After' WHERE id = $1 RETURNING updated_at, now() AS tx_now",
            )
            .bind::<diesel::sql_types::Uuid, _>(user.id)
            .get_result(c)
        })
        .unwrap();
    assert!(
        after.updated_at > user.updated_at,
        "updated_at did not advance: created with {}, after the raw UPDATE {}",
        user.updated_at,
        after.updated_at
    );
    assert_eq!(
        after.updated_at, after.tx_now,
        "updated_at should be the updating transaction's now()"
    );
    assert!(user.updated_at < after.tx_now);
    let stored = conn.users().get(user.id).unwrap();
    assert_eq!(stored.name, "After");
    assert_eq!(stored.updated_at, after.updated_at);
}

/// `UserRepo::import` writes through COPY, which has no per-row DEFAULT, so
/// it fills locale and time zone from Rust constants; they must equal the
/// column defaults the table declares.
#[test]
fn rust_defaults_match_column_defaults() {
    #[derive(diesel::QueryableByName)]
    struct Default {
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_default: String,
    }
    let db = saas_db_testing::TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let default_of = |conn: &mut diesel::PgConnection, column: &str| -> String {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "SELECT column_default FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = $1",
        )
        .bind::<diesel::sql_types::Text, _>(column)
        .get_result::<Default>(conn)
        .unwrap()
        .column_default
    };
    assert_eq!(
        default_of(&mut conn, "locale"),
        format!("'{}'::text", saas_db::users::DEFAULT_LOCALE)
    );
    assert_eq!(
        default_of(&mut conn, "timezone"),
        format!("'{}'::text", saas_db::users::DEFAULT_TIMEZONE)
    );
}
