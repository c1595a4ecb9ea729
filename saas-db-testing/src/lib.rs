//! The test harness of [`saas_db`], as a crate of its own so that production
//! builds of the library compile no server launcher (and no `libc`, no
//! `unsafe`). Add it as a dev-dependency:
//!
//! ```toml
//! [dev-dependencies]
//! saas-db-testing = { path = "../saas-db/saas-db-testing" } # or a version, when published
//! ```
//!
//! - [`TestDatabase`]: a fresh, migrated database per test, cloned from a
//!   template, dropped when the test ends; [`TestDatabase::builder`] sets it
//!   up like production (the host's schema and its own migrations, baked
//!   into the template). Without `DATABASE_URL` all test binaries of a run
//!   share one throwaway server, stopped a moment after the last one ends.
//! - [`EmbeddedPostgres`]: a throwaway local PostgreSQL cluster started from
//!   the installed server binaries, used by [`TestDatabase`] and the examples
//!   when `DATABASE_URL` is not set; [`EmbeddedReplica`] streams from it and
//!   [`EmbeddedPgBouncer`] puts a transaction-mode PgBouncer in front of it.
//!
//! ```no_run
//! use saas_db::{users::NewUser, Repos};
//! use saas_db_testing::TestDatabase;
//!
//! let test_db = TestDatabase::new();          // its own database, already migrated
//! let mut conn = test_db.conn().unwrap();     // derefs to saas_db::Database
//! conn.users().create(&NewUser::new("a@example.com", "A")).unwrap();
//! // dropped at the end of the test, also when it panics
//! ```
//!
//! The throwaway servers need a Unix system (Linux, macOS, the BSDs):
//! elsewhere they refuse to start with [`EmbeddedError::Unsupported`], and
//! [`TestDatabase`] needs `DATABASE_URL`. Whether a server or a test
//! database still has an owner is told by lock files, never by process ids:
//! each live owner holds an exclusive lock for its whole life, and a sweeper
//! removes only what it can take the lock of.

#![warn(missing_docs)]

mod ddl;
mod embedded;
mod embedded_pgbouncer;
mod host_migrations;
mod lock_file;
mod owner;
mod sys;
mod template;
mod test_database;
mod url;
mod watchdog;

pub use embedded::{EmbeddedError, EmbeddedPostgres, EmbeddedReplica};
pub use embedded_pgbouncer::EmbeddedPgBouncer;
pub use test_database::{TestDatabase, TestDatabaseBuilder};
pub use url::url_with_database;
