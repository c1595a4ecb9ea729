//! Transaction-pooling mode ([`DatabaseBuilder::transaction_pooling`]):
//! what changes when every transaction may run on a different server
//! connection, shared with other clients, as behind PgBouncer in
//! `pool_mode=transaction`.
//!
//! - Diesel's cache of named prepared statements is off on every pooled
//!   connection (a named statement lives on one server connection: another
//!   client meets it, or this client misses it).
//! - Nothing is set for the session: settings that must hold on every
//!   statement come from the server (role or database defaults), checked
//!   once by `build` ([`check_server_settings`]), and per-transaction ones use
//!   `set_config(.., true)`.
//! - Migrations run in ONE transaction under `pg_advisory_xact_lock`
//!   ([`migrate_in_one_transaction`]): a session advisory lock could be
//!   taken and released on different server connections, and excludes
//!   nobody there.
//!
//! [`DatabaseBuilder::transaction_pooling`]: crate::DatabaseBuilder::transaction_pooling

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::error::{Error, Result};

#[derive(QueryableByName)]
struct ServerSettings {
    #[diesel(sql_type = Text)]
    search_path: String,
    #[diesel(sql_type = BigInt)]
    statement_timeout_ms: i64,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Text)]
    database: String,
}

/// Double-quotes an identifier for the SQL shown in a message (never run).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The `search_path` the crate needs for `schema`, as the list of names.
fn path_names(path: &str) -> Vec<String> {
    path.split(',')
        .map(|p| p.trim().trim_matches('"').to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Checks that the server already applies, on every connection of this
/// role and database, the settings the crate would otherwise set for the
/// session: `search_path` = `schema, public` when a schema is chosen, and
/// the statement timeout when one is configured. (`lc_messages` is checked
/// by the English-messages check.)
///
/// # Errors
/// [`Error::Pooled`] naming the first missing setting, with the exact
/// `ALTER ROLE .. IN DATABASE .. SET ..` to run; a database error.
pub(crate) fn check_server_settings(
    conn: &mut PgConnection,
    schema: Option<&str>,
    statement_timeout: Option<Duration>,
) -> Result<()> {
    let found: ServerSettings = diesel::sql_query(
        "SELECT current_setting('search_path') AS search_path, \
                (SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout') \
                    AS statement_timeout_ms, \
                current_user::text AS role, current_database()::text AS database",
    )
    .get_result(conn)?;
    let alter = |setting: &str, value: &str| {
        format!(
            "run ALTER ROLE {} IN DATABASE {} SET {setting} = {value}; and reconnect the pooler's \
             server connections (PgBouncer: RECONNECT, or restart it)",
            quoted(&found.role),
            quoted(&found.database)
        )
    };
    if let Some(schema) = schema {
        let wanted = vec![schema.to_owned(), "public".to_owned()];
        if path_names(&found.search_path) != wanted {
            return Err(Error::Pooled {
                what: "search_path".into(),
                fix: format!(
                    "it is '{}' and the schema needs '{schema}, public': {}",
                    found.search_path,
                    alter("search_path", &format!("{}, public", quoted(schema)))
                ),
            });
        }
    }
    if let Some(timeout) = statement_timeout {
        let wanted = timeout.as_millis().max(1) as i64;
        if found.statement_timeout_ms != wanted {
            return Err(Error::Pooled {
                what: "statement_timeout".into(),
                fix: format!(
                    "it is {} ms and the pool is configured for {wanted} ms: {}",
                    found.statement_timeout_ms,
                    alter("statement_timeout", &format!("'{wanted}ms'"))
                ),
            });
        }
    }
    Ok(())
}

/// Applies pending migrations in one transaction that first takes
/// `pg_advisory_xact_lock` (released at COMMIT or ROLLBACK, on the server
/// connection that took it), with `search_path` set for the transaction
/// only. A failed migration rolls back every one of this run.
///
/// # Errors
/// [`Error::Migration`] when a migration fails; a database error.
pub(crate) fn migrate_in_one_transaction(
    conn: &mut PgConnection,
    schema: Option<&str>,
) -> Result<Vec<String>> {
    let key = format!("saas_db.migrate.{}", schema.unwrap_or(""));
    crate::tx::run_transaction(conn, |tx| {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<Text, _>(&key)
            .execute(tx)?;
        if let Some(schema) = schema {
            let path = format!("{}, public", crate::validate::identifier("schema", schema)?);
            crate::sql::set_local(tx, "search_path", &path)?;
        }
        crate::migrate::apply_migrations(tx, schema)
    })
}
