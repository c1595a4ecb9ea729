//! The schema as PostgreSQL sees it: every foreign key indexed and with a
//! deliberate ON DELETE rule, Postgres enums equal to the Rust enums, the
//! updated_at trigger everywhere it belongs, and the audit log partitioning.

mod columns;
mod enums;
mod foreign_keys;
mod partitions;

use std::collections::BTreeSet;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    table_name: String,
}

fn table_names(conn: &mut PgConnection, sql: &str) -> BTreeSet<String> {
    diesel::sql_query(sql)
        .load::<TableName>(conn)
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
        .into_iter()
        .map(|t| t.table_name)
        .collect()
}
