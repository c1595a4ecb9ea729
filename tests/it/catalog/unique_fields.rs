//! Every unique constraint and unique index of the crate's tables has an
//! entry in `Error::field()`'s table, naming the input field a conflict on
//! it is about; and a real conflict reports that field.

use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::error::UNIQUE_FIELDS;
use saas_db::users::NewUser;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

#[derive(QueryableByName, Debug)]
struct Unique {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    /// Key columns (or expressions), comma separated.
    #[diesel(sql_type = Text)]
    columns: String,
}

/// Every unique index of the current schema's tables (a unique constraint
/// and a primary key are backed by one of the same name), partitions left
/// out (their indexes are clones of the parent's).
fn unique_indexes(conn: &mut PgConnection) -> Vec<Unique> {
    diesel::sql_query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name,
                pg_get_indexdef(x.indexrelid)::text AS columns
           FROM pg_index x
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE x.indisunique AND n.nspname = current_schema()
            AND NOT t.relispartition AND t.relname <> '__diesel_schema_migrations'
          ORDER BY t.relname, i.relname",
    )
    .load(conn)
    .unwrap()
}

/// The table has an entry for every unique index of the schema, and none
/// for an index that does not exist (a renamed constraint would otherwise
/// keep a stale entry).
#[test]
fn every_unique_index_maps_to_an_input_field() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let indexes = unique_indexes(&mut conn);
    assert!(indexes.len() > 20, "{indexes:?}");
    let missing: Vec<String> = indexes
        .iter()
        .filter(|u| !UNIQUE_FIELDS.iter().any(|(name, _)| *name == u.index_name))
        .map(|u| format!("{}: {} ({})", u.table_name, u.index_name, u.columns))
        .collect();
    assert!(missing.is_empty(), "no field for:\n{}", missing.join("\n"));
    let stale: Vec<&str> = UNIQUE_FIELDS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !indexes.iter().any(|u| u.index_name == *name))
        .collect();
    assert!(stale.is_empty(), "no such unique index: {stale:?}");
}

/// A taken email is `Conflict { constraint: "users_email_key" }` whose
/// `field()` is `email` (`field()` was `None` for every conflict), and so
/// for a taken username; `Invalid` keeps its own field.
#[test]
fn a_conflict_names_the_input_field() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.users()
        .create(&NewUser::new("ann@example.com", "Ann").username("ann"))
        .unwrap();
    let taken = conn
        .users()
        .create(&NewUser::new("ANN@example.com", "Other"))
        .unwrap_err();
    assert!(
        matches!(taken, Error::Conflict { ref constraint } if constraint == "users_email_key"),
        "{taken:?}"
    );
    assert_eq!(taken.field(), Some("email"));
    let handle = conn
        .users()
        .create(&NewUser::new("bob@example.com", "Bob").username("ANN"))
        .unwrap_err();
    assert!(
        matches!(handle, Error::Conflict { ref constraint } if constraint == "users_username_lower_key"),
        "{handle:?}"
    );
    assert_eq!(handle.field(), Some("username"));
    let unknown = Error::Conflict {
        constraint: "host_table_key".into(),
    };
    assert_eq!(unknown.field(), None, "a host constraint names no field");
    assert_eq!(Error::invalid("name", "blank").field(), Some("name"));
}
