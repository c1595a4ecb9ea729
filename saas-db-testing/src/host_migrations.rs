//! The host application's own migrations, baked into the test template after
//! the crate's, and the fingerprint that names the template after them.
//!
//! A template is reused by every later test (and run) until its name
//! changes, so the name must change whenever a migration's SQL does, also
//! when a developer edits a migration in place. Neither [`EmbeddedMigrations`]
//! nor [`FileBasedMigrations`] hands out its SQL; both run it through
//! [`SimpleConnection::batch_execute`] on the connection they are given, so
//! the fingerprint runs each one against a [`Recorder`] that hashes the SQL
//! it is asked to execute and executes nothing.
//!
//! [`EmbeddedMigrations`]: diesel_migrations::EmbeddedMigrations
//! [`FileBasedMigrations`]: diesel_migrations::FileBasedMigrations

use std::any::Any;
use std::path::Path;

use diesel::connection::{BoxableConnection, SimpleConnection};
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel::QueryResult;
use sha2::{Digest, Sha256};

use saas_db::{Error, Result};

/// A migration source of the host and the fingerprint of what it runs.
pub(crate) struct HostMigrations {
    pub(crate) source: Box<dyn MigrationSource<Pg>>,
    pub(crate) fingerprint: String,
}

impl HostMigrations {
    /// Any source: an `embed_migrations!` value, a [`FileBasedMigrations`](diesel_migrations::FileBasedMigrations), ...
    pub(crate) fn new(source: impl MigrationSource<Pg> + 'static) -> Result<Self> {
        let fingerprint = fingerprint(&source)?;
        Ok(HostMigrations {
            source: Box::new(source),
            fingerprint,
        })
    }

    /// The `<version>_<name>/up.sql` folders under `dir`, read now.
    pub(crate) fn from_dir(dir: &Path) -> Result<Self> {
        let source = diesel_migrations::FileBasedMigrations::from_path(dir).map_err(|e| {
            Error::invalid("migrations", format!("{}: {e}", dir.display()).as_str())
        })?;
        Self::new(source)
    }
}

/// Lends the boxed source to Diesel's `run_pending_migrations`, which takes
/// a source by value.
impl MigrationSource<Pg> for &HostMigrations {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Pg>>>> {
        self.source.migrations()
    }
}

/// SHA-256 over each migration's name and the SQL its `run` executes.
fn fingerprint(source: &dyn MigrationSource<Pg>) -> Result<String> {
    let migrations = source
        .migrations()
        .map_err(|e| Error::Migration(e.to_string()))?;
    let mut recorder = Recorder(Sha256::new());
    for migration in migrations {
        recorder.0.update(migration.name().to_string().as_bytes());
        recorder.0.update([0]);
        // A source that needs a real connection to run cannot be read
        // this way; its error text still tells its versions apart.
        if let Err(e) = migration.run(&mut recorder) {
            recorder.0.update(e.to_string().as_bytes());
        }
        recorder.0.update([0]);
    }
    Ok(format!("{:x}", recorder.0.finalize()))
}

/// Hashes the SQL it is given instead of running it.
struct Recorder(Sha256);

impl SimpleConnection for Recorder {
    fn batch_execute(&mut self, query: &str) -> QueryResult<()> {
        self.0.update(query.as_bytes());
        Ok(())
    }
}

impl BoxableConnection<Pg> for Recorder {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
