//! The check at [`DatabaseBuilder::build`](crate::DatabaseBuilder::build)
//! that the server's messages are English, which error classification needs.
//!
//! Diesel exposes no SQLSTATE for most errors, so deadlocks, statement and
//! lock timeouts, `NOWAIT` failures, privilege and Row-Level Security
//! refusals, missing `shared_preload_libraries` and terminated backends are
//! recognised by their message (`src/error.rs`). Every connection sets
//! `lc_messages = 'C'` when its role may (a superuser, or a role granted
//! `SET ON PARAMETER lc_messages`); for any other role the setting comes from
//! the server, the database or the role, and a translated message would turn
//! those errors into [`Error::Database`].

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use crate::error::{Error, Result};

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    lc_messages: String,
    #[diesel(sql_type = Text)]
    database: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Bool)]
    can_set: bool,
}

/// Whether PostgreSQL writes its messages in English under this
/// `lc_messages`: `C`, `POSIX` (with any encoding suffix) or an `en_*` locale.
/// An empty value means "the server's environment", which cannot be known
/// from here, so it does not count.
pub fn is_english(lc_messages: &str) -> bool {
    let lower = lc_messages.to_ascii_lowercase();
    let name = lower.split(['.', '@']).next().unwrap_or("");
    matches!(name, "c" | "posix") || name == "en" || name.starts_with("en_")
}

/// Double-quotes an identifier for the SQL shown in the message (never run).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Checks `conn`'s `lc_messages`. When it is not English and the role
/// cannot change it, `strict` refuses with [`Error::NotAvailable`] naming the
/// statements that fix it; otherwise the same text is logged as a `tracing`
/// WARN (target `saas_db`) and the check passes. `pooled`: the connection
/// goes through a transaction pooler, so the role's privilege does not help.
///
/// # Errors
/// [`Error::NotAvailable`] as above (strict only); a database error from the
/// one query.
pub(crate) fn check(conn: &mut PgConnection, strict: bool, pooled: bool) -> Result<()> {
    let setting: Setting = diesel::sql_query(
        "SELECT current_setting('lc_messages') AS lc_messages, \
                current_database()::text AS database, current_user::text AS role, \
                has_parameter_privilege('lc_messages', 'SET') AS can_set",
    )
    .get_result(conn)?;
    // A role that may set it already did, on connect (not through a
    // transaction pooler, where nothing is set for the session).
    if (setting.can_set && !pooled) || is_english(&setting.lc_messages) {
        return Ok(());
    }
    let message = format!(
        "the server's messages are in lc_messages = '{}' and role {role} cannot set it; \
         deadlocks, timeouts, NOWAIT, privilege and Row-Level Security refusals would be \
         Error::Database instead of their own variants. As a superuser run \
         ALTER DATABASE {db} SET lc_messages = 'C'; (or ALTER ROLE {role} SET lc_messages = 'C'; \
         or GRANT SET ON PARAMETER lc_messages TO {role};) and reconnect, or accept it with \
         DatabaseBuilder::require_english_messages(false)",
        setting.lc_messages,
        role = quoted(&setting.role),
        db = quoted(&setting.database),
    );
    if strict {
        Err(Error::NotAvailable(message))
    } else {
        tracing::warn!(target: "saas_db", "{message}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_english;

    #[test]
    fn english_locales() {
        for yes in [
            "C",
            "C.UTF-8",
            "c.utf8",
            "POSIX",
            "en_US.UTF-8",
            "en_GB",
            "en",
        ] {
            assert!(is_english(yes), "{yes}");
        }
        for no in ["", "de_DE.UTF-8", "fr_FR", "english", "es"] {
            assert!(!is_english(no), "{no}");
        }
    }
}
