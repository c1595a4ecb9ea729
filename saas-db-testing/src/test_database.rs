//! [`TestDatabase`]: a fresh, migrated database per test, for this crate's
//! tests and for the host application's own.
//!
//! Where the server comes from: `DATABASE_URL` when set (the role needs
//! CREATEDB); otherwise a throwaway cluster started for this process by
//! [`EmbeddedPostgres::shared`](crate::EmbeddedPostgres::shared).
//!
//! How it stays fast: the first test of a process builds a template database
//! (`saas_db_tpl_<fingerprint of the migrations>_<month>`) under an advisory lock, so
//! concurrent test processes (nextest) build it once and later runs reuse it
//! until a migration changes. Every test then gets
//! `CREATE DATABASE .. TEMPLATE .. STRATEGY FILE_COPY` (tens of
//! milliseconds) and `DROP DATABASE .. WITH (FORCE)` when it ends. Test
//! databases left by killed processes are swept when the template is checked:
//! each name carries its process's owner token, and a database is dropped
//! only when nobody holds that token's lock file any more (see `owner.rs`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_migrations::MigrationHarness;
use sha2::Digest;

use saas_db::{Database, DatabaseBuilder, Error, Result, MIGRATIONS, MIGRATIONS_FINGERPRINT};

use crate::owner;
use crate::url::{url_with_database, url_with_user};

const TEST_PREFIX: &str = "saas_db_test_";

/// A database of its own for one test, cloned from the migrated template and
/// dropped when this value is dropped. Derefs to its [`Database`]. `Debug`
/// shows its name and database, never its URL (which may hold a password).
pub struct TestDatabase {
    db: Option<Database>,
    name: String,
    url: String,
    app_role: OnceLock<String>,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

struct Server {
    admin_url: String,
    template: String,
    /// Distinguishes this machine's test databases on a shared server.
    host_tag: String,
}

impl TestDatabase {
    /// A fresh migrated database with a default pool (10 connections).
    ///
    /// # Panics
    /// When no server can be reached or started; the message says why
    /// (including the server log tail for a throwaway cluster).
    pub fn new() -> TestDatabase {
        Self::with_builder(|b| b).unwrap_or_else(|e| panic!("TestDatabase: {e}"))
    }

    /// A fresh migrated database whose pool is configured by `configure`
    /// (pool size, timeouts, ...). Migrations are already applied.
    ///
    /// # Errors
    /// [`Error::Connection`] when the server cannot be reached or started,
    /// or the error of building the pool.
    pub fn with_builder(
        configure: impl FnOnce(DatabaseBuilder) -> DatabaseBuilder,
    ) -> Result<TestDatabase> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let server = server().map_err(Error::Connection)?;
        // The token's lock file exists (and is held) before the name does.
        let token = owner::own_token().map_err(Error::Connection)?;
        let name = format!(
            "{TEST_PREFIX}{}_{token}_{}",
            server.host_tag,
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::establish(&server.admin_url)
            .map_err(|e| Error::Connection(e.to_string()))?;
        ddl(&mut admin, Ddl::CloneOf(&server.template), &name)?;
        let url = url_with_database(&server.admin_url, &name);
        let mut test_db = TestDatabase {
            db: None,
            name,
            url,
            app_role: OnceLock::new(),
        };
        let builder = Database::builder(test_db.url())
            .min_idle(Some(0))
            .run_migrations(false);
        test_db.db = Some(configure(builder).build()?);
        Ok(test_db)
    }

    /// This test database.
    pub fn db(&self) -> &Database {
        self.db.as_ref().expect("present until drop")
    }

    /// Connection URL of this test database (for a second pool, a raw
    /// connection, or a `Database` with other settings).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connection URL for an application role on this database, the kind
    /// of role Row-Level Security applies to: it can log in, is neither
    /// superuser nor owner, has no BYPASSRLS, and has the grants of
    /// [`saas_db::tenancy::grant_app_access`]. Created on the first call (with
    /// a random password) and dropped with the database.
    ///
    /// # Errors
    /// As [`TestDatabase::with_builder`].
    pub fn app_url(&self) -> Result<String> {
        let role = match self.app_role.get() {
            Some(role) => role.clone(),
            None => {
                let digest = sha2::Sha256::digest(self.name.as_bytes());
                let role = format!(
                    "saas_app_{:x}",
                    u64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
                );
                let server = server().map_err(Error::Connection)?;
                let mut admin = PgConnection::establish(&server.admin_url)
                    .map_err(|e| Error::Connection(e.to_string()))?;
                ddl(&mut admin, Ddl::CreateRole(&role_password(&role)), &role)?;
                let mut owner = PgConnection::establish(self.url())
                    .map_err(|e| Error::Connection(e.to_string()))?;
                saas_db::tenancy::grant_app_access(&mut owner, &role)?;
                self.app_role.get_or_init(|| role).clone()
            }
        };
        Ok(url_with_user(self.url(), &role, &role_password(&role)))
    }

    /// Connection URL of the server's maintenance database, for tests that
    /// need superuser statements outside their own database.
    ///
    /// # Errors
    /// As [`TestDatabase::with_builder`].
    pub fn admin_url() -> Result<String> {
        Ok(server().map_err(Error::Connection)?.admin_url.clone())
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl std::ops::Deref for TestDatabase {
    type Target = Database;
    fn deref(&self) -> &Database {
        self.db()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Close our pool first; FORCE ends any connection a test leaked.
        drop(self.db.take());
        let Ok(server) = server() else { return };
        if let Ok(mut admin) = PgConnection::establish(&server.admin_url) {
            let _ = ddl(&mut admin, Ddl::Drop, &self.name);
            if let Some(role) = self.app_role.get() {
                let _ = ddl(&mut admin, Ddl::DropRole, role);
            }
        }
    }
}

/// The only statements the harness builds from text: database names cannot
/// be bind parameters, so each name passes `validate::identifier` (a
/// character allowlist) and the statement shapes are this closed set.
enum Ddl<'a> {
    Create,
    CloneOf(&'a str),
    Drop,
    MarkTemplate,
    /// A login role with this password (hex digits only).
    CreateRole(&'a str),
    DropRole,
}

fn ddl(admin: &mut PgConnection, op: Ddl<'_>, name: &str) -> Result<()> {
    let name = saas_db::validate::identifier("database name", name)?;
    let statement = match op {
        Ddl::Create => format!("CREATE DATABASE {name}"),
        Ddl::CloneOf(template) => format!(
            "CREATE DATABASE {name} TEMPLATE {} STRATEGY FILE_COPY",
            saas_db::validate::identifier("database name", template)?
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
    };
    Ok(admin.batch_execute(&statement)?)
}

/// The test role's password: derived from its name and a per-process
/// secret, so `app_url` can rebuild it without storing it twice.
fn role_password(role: &str) -> String {
    static SECRET: OnceLock<[u8; 16]> = OnceLock::new();
    let secret = SECRET.get_or_init(rand::random);
    let mut hasher = sha2::Sha256::new();
    hasher.update(secret);
    hasher.update(role.as_bytes());
    format!("{:x}", hasher.finalize())
}

/// The server and template, set up once per process.
fn server() -> std::result::Result<&'static Server, String> {
    static SERVER: OnceLock<std::result::Result<Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let admin_url = match std::env::var("DATABASE_URL") {
                Ok(url) if !url.is_empty() => url,
                _ => embedded_url()?,
            };
            // The month is part of the name because the migration creates
            // the audit partitions for the current month onwards.
            let template = format!(
                "saas_db_tpl_{}_{}",
                MIGRATIONS_FINGERPRINT,
                chrono::Utc::now().format("%Y%m")
            );
            let host_tag = host_tag();
            prepare(&admin_url, &template, &host_tag).map_err(|e| e.to_string())?;
            Ok(Server {
                admin_url,
                template,
                host_tag,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn embedded_url() -> std::result::Result<String, String> {
    crate::EmbeddedPostgres::shared().map(|pg| pg.url().to_owned())
}

/// Under an advisory lock: sweep leaked test databases of this host, and
/// build the template unless a complete one exists.
fn prepare(admin_url: &str, template: &str, host_tag: &str) -> Result<()> {
    let mut admin =
        PgConnection::establish(admin_url).map_err(|e| Error::Connection(e.to_string()))?;
    diesel::sql_query("SELECT pg_advisory_lock(hashtext('saas_db.testing.template'))")
        .execute(&mut admin)?;
    let result = sweep_leaked(&mut admin, host_tag)
        .map(|()| owner::remove_dead_owner_files())
        .and_then(|_| build_template(&mut admin, admin_url, template));
    diesel::sql_query("SELECT pg_advisory_unlock(hashtext('saas_db.testing.template'))")
        .execute(&mut admin)?;
    result
}

#[derive(QueryableByName)]
struct DbName {
    #[diesel(sql_type = Text)]
    datname: String,
}

#[derive(QueryableByName)]
struct IsTemplate {
    #[diesel(sql_type = Bool)]
    datistemplate: bool,
}

fn sweep_leaked(admin: &mut PgConnection, host_tag: &str) -> Result<()> {
    let prefix = format!("{TEST_PREFIX}{host_tag}_");
    let names: Vec<DbName> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind::<Text, _>(&prefix)
            .load(admin)?;
    for DbName { datname } in names {
        // saas_db_test_<host>_<owner token>_<seq>
        let token = datname[prefix.len()..].split('_').next().unwrap_or("");
        if !owner::token_alive(token) {
            let _ = ddl(admin, Ddl::Drop, &datname);
        }
    }
    Ok(())
}

fn build_template(admin: &mut PgConnection, admin_url: &str, template: &str) -> Result<()> {
    let existing: Option<IsTemplate> =
        diesel::sql_query("SELECT datistemplate FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(template)
            .get_result(admin)
            .optional()?;
    match existing {
        Some(IsTemplate {
            datistemplate: true,
        }) => return Ok(()),
        // A build that died half-way: start over.
        Some(_) => ddl(admin, Ddl::Drop, template)?,
        None => {}
    }
    ddl(admin, Ddl::Create, template)?;
    {
        let mut conn = PgConnection::establish(&url_with_database(admin_url, template))
            .map_err(|e| Error::Connection(e.to_string()))?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| Error::Migration(e.to_string()))?;
    }
    ddl(admin, Ddl::MarkTemplate, template)?;
    Ok(())
}

/// This machine and temp directory (where the owner lock files are), so a
/// shared server's databases of other machines are never judged by lock
/// files that are not theirs.
fn host_tag() -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(crate::sys::hostname().trim().as_bytes());
    hasher.update([0]);
    hasher.update(std::env::temp_dir().to_string_lossy().as_bytes());
    let digest = hasher.finalize();
    format!(
        "{:08x}",
        u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
    )
}
