#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod audit;
pub mod database;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod enums;
pub mod error;
pub mod ops;
pub mod pagination;
pub mod pool;
pub(crate) mod process;
#[allow(missing_docs)]
pub mod schema;
pub mod testing;
pub mod tx;
pub mod users;
pub mod validate;

pub use database::{Database, DatabaseBuilder, PooledConn, MIGRATIONS};
pub use error::{Error, Result};
pub use pagination::{Cursor, Page, PageRequest};

use diesel::PgConnection;

/// Hands out the repositories on any [`PgConnection`]: a pooled one (through
/// deref), a plain one, or the one inside a transaction, so repository calls
/// mix freely with the caller's own Diesel queries.
pub trait Repos {
    /// Users and profiles.
    fn users(&mut self) -> users::UserRepo<'_>;
    /// The append-only audit log.
    fn audit(&mut self) -> audit::AuditRepo<'_>;
}

impl Repos for PgConnection {
    fn users(&mut self) -> users::UserRepo<'_> {
        users::UserRepo::new(self)
    }
    fn audit(&mut self) -> audit::AuditRepo<'_> {
        audit::AuditRepo::new(self)
    }
}
