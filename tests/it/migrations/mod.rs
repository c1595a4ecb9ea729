//! Migrations: every down.sql undoes its up.sql exactly, migrating is
//! idempotent and safe when several processes start at once, and a custom
//! schema holds the whole data layer.

mod concurrent;
mod custom_schema;
mod inspect;
mod revert;

use diesel::migration::MigrationSource;
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use saas_db::MIGRATIONS;
use saas_db_testing::TestDatabase;

const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// A plain connection to the test database (no pool, no migrations).
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
