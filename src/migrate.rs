//! Applying the embedded migrations on a direct connection, under a
//! session advisory lock ([`crate::pooling`] has the one-transaction
//! variant for transaction poolers). Moved out of `database.rs` unchanged.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::MigrationHarness;

use crate::database::MIGRATIONS;
use crate::error::{Error, Result};
use crate::validate;

pub(crate) fn migrate(conn: &mut PgConnection, schema: Option<&str>) -> Result<Vec<String>> {
    let key = format!("saas_db.migrate.{}", schema.unwrap_or(""));
    diesel::sql_query("SELECT pg_advisory_lock(hashtext($1))")
        .bind::<Text, _>(&key)
        .execute(conn)?;
    let applied = apply_migrations(conn, schema);
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind::<Text, _>(&key)
        .execute(conn);
    let applied = applied?;
    unlocked?;
    Ok(applied)
}

/// Creates the schema if one is chosen and applies pending migrations
/// (each in its own transaction, or savepoint inside the caller's).
pub(crate) fn apply_migrations(
    conn: &mut PgConnection,
    schema: Option<&str>,
) -> Result<Vec<String>> {
    if let Some(schema) = schema {
        let create = format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            validate::identifier("schema", schema)?
        );
        conn.batch_execute(&create)?;
    }
    conn.run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| Error::Migration(e.to_string()))
}
