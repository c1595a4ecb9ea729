//! The only statements the harness builds from text: database, role and
//! schema names cannot be bind parameters, so each name passes
//! `validate::identifier` (a character allowlist) and the statement shapes
//! are this closed set.

use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::PgConnection;
use sha2::Digest;

use saas_db::{Error, Result};

pub(crate) enum Ddl<'a> {
    Create,
    CloneOf(&'a str),
    Drop,
    MarkTemplate,
    /// A login role with this password (hex digits only).
    CreateRole(&'a str),
    DropRole,
    /// The role's `search_path` in this database: `<schema>, public`.
    RoleSearchPath {
        database: &'a str,
        schema: &'a str,
    },
}

/// Runs `op` on `name` (a database, or a role for the role statements).
pub(crate) fn ddl(admin: &mut PgConnection, op: Ddl<'_>, name: &str) -> Result<()> {
    let ident = |value: &str| saas_db::validate::identifier("database name", value);
    let name = ident(name)?;
    let statement = match op {
        Ddl::Create => format!("CREATE DATABASE {name}"),
        Ddl::CloneOf(template) => format!(
            "CREATE DATABASE {name} TEMPLATE {} STRATEGY FILE_COPY",
            ident(template)?
        ),
        Ddl::Drop => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        Ddl::MarkTemplate => format!("ALTER DATABASE {name} IS_TEMPLATE true"),
        Ddl::CreateRole(password) => {
            if !password.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::invalid("password", "must be hex digits"));
            }
            format!(
                "CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS \
                 PASSWORD '{password}'"
            )
        }
        Ddl::DropRole => format!("DROP ROLE IF EXISTS {name}"),
        Ddl::RoleSearchPath { database, schema } => format!(
            "ALTER ROLE {name} IN DATABASE {} SET search_path = {}, public",
            ident(database)?,
            saas_db::validate::identifier("schema", schema)?
        ),
    };
    Ok(admin.batch_execute(&statement)?)
}

/// A test role's password: derived from its name and a per-process
/// secret, so `app_url` can rebuild it without storing it twice.
pub(crate) fn role_password(role: &str) -> String {
    static SECRET: OnceLock<[u8; 16]> = OnceLock::new();
    let secret = SECRET.get_or_init(rand::random);
    let mut hasher = sha2::Sha256::new();
    hasher.update(secret);
    hasher.update(role.as_bytes());
    format!("{:x}", hasher.finalize())
}
