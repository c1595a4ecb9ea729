//! [`TestDatabase`]: a fresh, migrated database per test, for this crate's
//! tests and for the host application's own, set up like production: in the
//! host's schema, with the host's migrations.
//!
//! Every test gets `CREATE DATABASE .. TEMPLATE .. STRATEGY FILE_COPY` (tens
//! of milliseconds) of a template migrated once (see `template.rs`), and
//! `DROP DATABASE .. WITH (FORCE)` when it ends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;
use sha2::Digest;

use saas_db::{Database, DatabaseBuilder, Error, Result};

use crate::ddl::{ddl, role_password, Ddl};
use crate::host_migrations::HostMigrations;
use crate::owner;
use crate::template::{self, connect, TemplateSpec, TEST_PREFIX};
use crate::url::{url_with_database, url_with_user};

/// A database of its own for one test, cloned from the migrated template and
/// dropped when this value is dropped. Derefs to its [`Database`]. `Debug`
/// shows its name and database, never its URL (which may hold a password).
pub struct TestDatabase {
    db: Option<Database>,
    name: String,
    url: String,
    schema: Option<String>,
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

/// How a [`TestDatabase`] is set up; start with [`TestDatabase::builder`].
///
/// ```no_run
/// # use saas_db_testing::TestDatabase;
/// // In the host's tests: its schema, its migrations (embed_migrations!
/// // or a folder of `<version>_<name>/up.sql`), a small pool.
/// let test_db = TestDatabase::builder()
///     .schema("saas")
///     .migrations_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
///     .pool(|b| b.max_size(4))
///     .build()?;
/// # Ok::<(), saas_db::Error>(())
/// ```
#[must_use]
pub struct TestDatabaseBuilder<'a> {
    schema: Option<String>,
    migrations: Option<Result<HostMigrations>>,
    configure: Option<Box<dyn FnOnce(DatabaseBuilder) -> DatabaseBuilder + 'a>>,
}

impl std::fmt::Debug for TestDatabaseBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabaseBuilder")
            .field("schema", &self.schema)
            .field("host_migrations", &self.migrations.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> TestDatabaseBuilder<'a> {
    /// Keep the crate's tables (and the host's unqualified ones) in this
    /// Postgres schema, as [`DatabaseBuilder::schema`] does in production:
    /// the template is migrated with `search_path = <schema>, public`, the
    /// pool uses that search path, and so does the role of
    /// [`TestDatabase::app_url`]. A schema set on the pool's builder
    /// ([`TestDatabaseBuilder::pool`]) counts the same.
    pub fn schema(mut self, schema: &str) -> Self {
        self.schema = Some(schema.to_owned());
        self
    }

    /// The host's own migrations, applied to the template after the
    /// crate's (same schema and search path), so each test finds them done.
    /// The template's name includes a fingerprint of their SQL: change a
    /// migration and the next test builds a new template. Takes what
    /// `diesel_migrations::embed_migrations!` returns, or any other source.
    pub fn migrations(mut self, source: impl MigrationSource<Pg> + 'static) -> Self {
        self.migrations = Some(HostMigrations::new(source));
        self
    }

    /// The host's migrations from a folder of `<version>_<name>/up.sql`
    /// (Diesel's layout), as [`TestDatabaseBuilder::migrations`].
    pub fn migrations_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.migrations = Some(HostMigrations::from_dir(dir.as_ref()));
        self
    }

    /// Configures the pool (size, timeouts, ...) of the test database.
    pub fn pool(mut self, configure: impl FnOnce(DatabaseBuilder) -> DatabaseBuilder + 'a) -> Self {
        self.configure = Some(Box::new(configure));
        self
    }

    /// Clones a fresh database from the template for this setup (building
    /// the template first, once per run and setup).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a schema that is not a plain identifier, a
    /// migrations folder that cannot be read, or two different schemas;
    /// [`Error::Connection`] when the server cannot be reached or started
    /// (the reason once, with the server log tail for a throwaway server);
    /// [`Error::Migration`] when a migration fails; the errors of
    /// [`DatabaseBuilder::build`].
    pub fn build(self) -> Result<TestDatabase> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        if let Some(schema) = &self.schema {
            saas_db::validate::identifier("schema", schema)?;
        }
        let migrations = self.migrations.transpose()?;
        let server = template::server()?;
        // The token's lock file exists (and is held) before the name does.
        let token = owner::own_token().map_err(Error::Connection)?;
        let name = format!(
            "{TEST_PREFIX}{}_{token}_{}",
            server.host_tag,
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let url = url_with_database(&server.admin_url, &name);
        let mut pool = Database::builder(&url)
            .min_idle(Some(0))
            .run_migrations(false);
        if let Some(configure) = self.configure {
            pool = configure(pool);
        }
        let schema = match (self.schema, pool.schema_name()) {
            (Some(ours), Some(pools)) if ours != pools => {
                return Err(Error::invalid(
                    "schema",
                    format!("{ours:?} here, {pools:?} on the pool's builder"),
                ))
            }
            (Some(ours), _) => Some(ours),
            (None, pools) => pools.map(str::to_owned),
        };
        if let Some(schema) = &schema {
            saas_db::validate::identifier("schema", schema)?;
            pool = pool.schema(schema);
        }
        let template = server.template(&TemplateSpec {
            schema: schema.as_deref(),
            host: migrations.as_ref(),
        })?;
        ddl(
            &mut connect(&server.admin_url)?,
            Ddl::CloneOf(&template),
            &name,
        )?;
        let mut test_db = TestDatabase {
            db: None,
            name,
            url,
            schema,
            app_role: OnceLock::new(),
        };
        test_db.db = Some(pool.build()?);
        Ok(test_db)
    }
}

impl TestDatabase {
    /// A fresh migrated database with a default pool (10 connections).
    ///
    /// # Panics
    /// When no server can be reached or started; the message says why
    /// (including the server log tail for a throwaway cluster), and the
    /// panic points at the caller.
    #[track_caller]
    pub fn new() -> TestDatabase {
        match Self::builder().build() {
            Ok(db) => db,
            Err(e) => panic!("TestDatabase: {e}"),
        }
    }

    /// Set up a test database like production: schema, the host's own
    /// migrations, the pool.
    pub fn builder<'a>() -> TestDatabaseBuilder<'a> {
        TestDatabaseBuilder {
            schema: None,
            migrations: None,
            configure: None,
        }
    }

    /// A fresh migrated database whose pool is configured by `configure`
    /// (pool size, timeouts, a schema, ...). Migrations are already applied.
    /// The same as `TestDatabase::builder().pool(configure).build()`.
    ///
    /// # Errors
    /// As [`TestDatabaseBuilder::build`].
    pub fn with_builder(
        configure: impl FnOnce(DatabaseBuilder) -> DatabaseBuilder,
    ) -> Result<TestDatabase> {
        Self::builder().pool(configure).build()
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
    /// [`saas_db::tenancy::grant_app_access`]; with a schema, its
    /// `search_path` in this database is `<schema>, public`. Created on the
    /// first call (with a random password) and dropped with the database.
    ///
    /// # Errors
    /// As [`TestDatabaseBuilder::build`].
    pub fn app_url(&self) -> Result<String> {
        let role = match self.app_role.get() {
            Some(role) => role.clone(),
            None => {
                let digest = sha2::Sha256::digest(self.name.as_bytes());
                let role = format!(
                    "saas_app_{:x}",
                    u64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
                );
                let mut admin = connect(&template::server()?.admin_url)?;
                ddl(&mut admin, Ddl::CreateRole(&role_password(&role)), &role)?;
                let mut owner = connect(self.url())?;
                if let Some(schema) = &self.schema {
                    let database = &self.name;
                    ddl(&mut admin, Ddl::RoleSearchPath { database, schema }, &role)?;
                    // The grant function lives in the schema too.
                    diesel::sql_query("SELECT set_config('search_path', $1, false)")
                        .bind::<Text, _>(format!(
                            "{}, public",
                            saas_db::validate::identifier("schema", schema)?
                        ))
                        .execute(&mut owner)?;
                }
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
    /// As [`TestDatabaseBuilder::build`].
    pub fn admin_url() -> Result<String> {
        Ok(template::server()?.admin_url.clone())
    }

    /// The log file of the throwaway server the test databases live on;
    /// `None` with `DATABASE_URL` (ask that server for its log).
    ///
    /// # Errors
    /// As [`TestDatabaseBuilder::build`].
    pub fn server_log() -> Result<Option<PathBuf>> {
        Ok(template::server()?.log_path.clone())
    }
}

impl Default for TestDatabase {
    #[track_caller]
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
        let Ok(server) = template::server() else {
            return;
        };
        if let Ok(mut admin) = connect(&server.admin_url) {
            let _ = ddl(&mut admin, Ddl::Drop, &self.name);
            if let Some(role) = self.app_role.get() {
                let _ = ddl(&mut admin, Ddl::DropRole, role);
            }
        }
    }
}
