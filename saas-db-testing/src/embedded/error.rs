//! Why a throwaway server could not be started.

/// Why a throwaway cluster could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddedError {
    /// The throwaway servers need a Unix system; set `DATABASE_URL` instead.
    #[error("the throwaway PostgreSQL / PgBouncer needs a Unix system (Linux, macOS, BSD); set DATABASE_URL to a server instead")]
    Unsupported,
    /// The PostgreSQL server binaries (`initdb`, `postgres`) were not found.
    #[error("PostgreSQL server binaries not found ({0}); install the server package or set SAAS_DB_PG_BIN")]
    BinariesNotFound(String),
    /// Running as root but the unprivileged user to run the server as does not exist.
    #[error("running as root, and the user {0:?} to run PostgreSQL as does not exist (set SAAS_DB_PG_USER)")]
    NoServerUser(String),
    /// A filesystem or process operation failed.
    #[error("{step}: {source}")]
    Io {
        /// What was being done.
        step: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `initdb` failed; the text is the end of its output.
    #[error("initdb failed:\n{0}")]
    Initdb(String),
    /// `pg_basebackup` failed; the text is the end of its output.
    #[error("pg_basebackup failed:\n{0}")]
    BaseBackup(String),
    /// The server did not accept connections before the deadline; the text is
    /// the end of the server log.
    #[error("PostgreSQL did not become ready: {reason}\n--- server log (tail) ---\n{log_tail}")]
    NotReady {
        /// Why we gave up.
        reason: String,
        /// The last lines of the server log.
        log_tail: String,
    },
}

pub(crate) fn io(step: &'static str) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    move |source| EmbeddedError::Io { step, source }
}
