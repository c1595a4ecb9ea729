//! The server the test databases live on, and the migrated templates they
//! are cloned from.
//!
//! The server is `DATABASE_URL` when set (the role needs CREATEDB), else the
//! throwaway cluster shared by every test binary of the run (see
//! `embedded/shared.rs`). The first test of a process sweeps the test
//! databases that killed processes left behind: each name carries its
//! process's owner token, and a database is dropped only when nobody holds
//! that token's lock file any more (see `owner.rs`).
//!
//! A template is named after everything that goes into it: the crate's
//! migrations ([`MIGRATIONS_FINGERPRINT`]), the schema, the host's
//! migrations (their SQL, see `host_migrations.rs`) and the month (the
//! audit partitions start at the current month). It is built once, under an
//! advisory lock so concurrent test processes build it once, and reused by
//! later processes and runs until one of those changes.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_migrations::MigrationHarness;
use sha2::Digest;

use saas_db::{Database, Error, Result, MIGRATIONS_FINGERPRINT};

use crate::ddl::{ddl, Ddl};
use crate::host_migrations::HostMigrations;
use crate::owner;
use crate::url::url_with_database;

pub(crate) const TEST_PREFIX: &str = "saas_db_test_";
const LOCK_KEY: &str = "saas_db.testing.template";

/// The server of this process's test databases.
pub(crate) struct Server {
    pub(crate) admin_url: String,
    /// Distinguishes this machine's test databases on a shared server.
    pub(crate) host_tag: String,
    /// The throwaway server's log (none for `DATABASE_URL`).
    pub(crate) log_path: Option<PathBuf>,
    /// Templates this process has found or built.
    ready: Mutex<HashSet<String>>,
}

/// What goes into a template besides the crate's migrations.
pub(crate) struct TemplateSpec<'a> {
    pub(crate) schema: Option<&'a str>,
    pub(crate) host: Option<&'a HostMigrations>,
}

/// Why the server could not be set up, kept for the process so every test
/// reports the same reason, with the variant it had.
#[derive(Clone, Debug)]
enum Failure {
    Connection(String),
    Migration(String),
    Other(String),
}

impl Failure {
    fn of(e: Error) -> Failure {
        match e {
            Error::Connection(m) => Failure::Connection(m),
            Error::Migration(m) => Failure::Migration(m),
            other => Failure::Other(other.to_string()),
        }
    }

    fn error(&self) -> Error {
        match self {
            Failure::Connection(m) => Error::Connection(m.clone()),
            Failure::Migration(m) => Error::Migration(m.clone()),
            Failure::Other(m) => Error::NotAvailable(m.clone()),
        }
    }
}

/// The server, set up (and swept) once per process.
pub(crate) fn server() -> Result<&'static Server> {
    static SERVER: OnceLock<std::result::Result<Server, Failure>> = OnceLock::new();
    SERVER
        .get_or_init(|| set_up().map_err(Failure::of))
        .as_ref()
        .map_err(Failure::error)
}

fn set_up() -> Result<Server> {
    let (admin_url, log_path) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let shared = crate::embedded::shared_server().map_err(Error::Connection)?;
            (shared.url().to_owned(), Some(shared.log_path()))
        }
    };
    let host_tag = host_tag();
    let mut admin = connect(&admin_url)?;
    locked(&mut admin, |admin| {
        sweep_leaked(admin, &host_tag)?;
        owner::remove_dead_owner_files();
        Ok(())
    })?;
    Ok(Server {
        admin_url,
        host_tag,
        log_path,
        ready: Mutex::new(HashSet::new()),
    })
}

impl Server {
    /// The name of the template for `spec`, built first if it does not exist.
    ///
    /// # Errors
    /// A connection error, or the migration error of building it.
    pub(crate) fn template(&self, spec: &TemplateSpec<'_>) -> Result<String> {
        let name = template_name(spec);
        // Held while building: this process's other threads wait for it.
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if !ready.contains(&name) {
            let mut admin = connect(&self.admin_url)?;
            locked(&mut admin, |admin| {
                build_template(admin, &self.admin_url, &name, spec)
            })?;
            ready.insert(name.clone());
        }
        Ok(name)
    }
}

/// A connection, or [`Error::Connection`] with libpq's reason.
pub(crate) fn connect(url: &str) -> Result<PgConnection> {
    PgConnection::establish(url).map_err(|e| Error::Connection(e.to_string()))
}

/// Runs `f` under the harness's advisory lock (a session lock: the template
/// is created outside any transaction).
fn locked<T>(
    admin: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    diesel::sql_query("SELECT pg_advisory_lock(hashtext($1))")
        .bind::<Text, _>(LOCK_KEY)
        .execute(admin)?;
    let result = f(admin);
    diesel::sql_query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind::<Text, _>(LOCK_KEY)
        .execute(admin)?;
    result
}

fn template_name(spec: &TemplateSpec<'_>) -> String {
    let mut hasher = sha2::Sha256::new();
    for part in [
        MIGRATIONS_FINGERPRINT,
        spec.schema.unwrap_or(""),
        spec.host.map_or("", |h| h.fingerprint.as_str()),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    format!(
        "saas_db_tpl_{:016x}_{}",
        u64::from_be_bytes(digest[..8].try_into().unwrap_or_default()),
        chrono::Utc::now().format("%Y%m")
    )
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

fn build_template(
    admin: &mut PgConnection,
    admin_url: &str,
    template: &str,
    spec: &TemplateSpec<'_>,
) -> Result<()> {
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
        // The crate's own migration path: the schema is created and every
        // migration runs with `search_path = <schema>, public`, as in
        // production; the host's migrations follow on the same settings.
        let mut builder = Database::builder(&url_with_database(admin_url, template)).max_size(1);
        if let Some(schema) = spec.schema {
            builder = builder.schema(schema);
        }
        let db = builder.build()?;
        if let Some(host) = spec.host {
            let mut conn = db.conn()?;
            let conn: &mut PgConnection = &mut conn;
            conn.run_pending_migrations(host)
                .map_err(|e| Error::Migration(e.to_string()))?;
        }
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
