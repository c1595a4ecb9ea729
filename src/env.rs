//! [`Database::from_env`]: the connection string from `DATABASE_URL`.

use std::ffi::OsString;

use crate::database::{Database, DatabaseBuilder};
use crate::error::{Error, Result};

/// The environment variable [`Database::from_env`] reads.
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";

impl Database {
    /// Connects to the database named by the `DATABASE_URL` environment
    /// variable, with default settings, and applies pending migrations:
    /// [`Database::connect`] on the variable's value.
    ///
    /// # Errors
    /// [`Error::Invalid`] with `field` `"DATABASE_URL"` when the variable is
    /// not set, is not UTF-8, is blank, or is not a PostgreSQL connection
    /// string (`postgres://..`, `postgresql://..` or libpq's
    /// `key=value ..` form); then what [`Database::connect`] returns.
    pub fn from_env() -> Result<Database> {
        Self::builder_from_env()?.build()
    }

    /// [`Database::builder`] on the `DATABASE_URL` environment variable, for
    /// settings beyond the defaults (`Database::builder_from_env()?.max_size(20).build()`).
    ///
    /// # Errors
    /// [`Error::Invalid`] with `field` `"DATABASE_URL"`, as for
    /// [`Database::from_env`].
    pub fn builder_from_env() -> Result<DatabaseBuilder> {
        let url = url_from(DATABASE_URL_VAR, std::env::var_os(DATABASE_URL_VAR))?;
        Ok(Database::builder(&url))
    }
}

/// The connection string held by `variable`, checked for its shape only:
/// whether the server accepts it is for the connection to tell. The value
/// is not repeated in an error, since it may hold a password.
fn url_from(variable: &str, value: Option<OsString>) -> Result<String> {
    let invalid = |reason: &str| Error::invalid(variable, reason);
    let value = value.ok_or_else(|| invalid("is not set"))?;
    let url = value
        .into_string()
        .map_err(|_| invalid("is not valid UTF-8"))?;
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return Err(invalid("is empty"));
    }
    let uri = ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| trimmed.starts_with(scheme));
    let key_value = !trimmed.contains("://") && trimmed.contains('=');
    if !(uri || key_value) {
        return Err(invalid(
            "is not a PostgreSQL connection string (postgres://user@host/db or host=.. dbname=..)",
        ));
    }
    Ok(trimmed.to_owned())
}
