//! The one way the crate runs a transaction. `Database::transaction`,
//! `Database::as_user`, [`crate::tx::transaction_with_retry`] and every
//! repository that groups statements go through [`run_transaction`], so a
//! lost COMMIT is reported the same way everywhere.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error as DieselError;
use diesel::PgConnection;

use crate::error::{Error, Result};

/// Runs `f` in a transaction on `conn`: committed when `f` returns `Ok`,
/// rolled back when it returns `Err` or panics (the panic then continues).
/// Inside a transaction the caller already opened, `f` runs in a savepoint
/// of it instead, released on `Ok`: nothing is committed until the caller's
/// own COMMIT.
///
/// This is what [`crate::Database::transaction`] does on a pooled
/// connection; hosts use it on connections they manage themselves, in place
/// of Diesel's `Connection::transaction`, to get the same error reporting.
///
/// # Errors
/// - [`Error::CommitUnknown`] when the connection was lost while the
///   top-level COMMIT was in flight: the server may or may not have
///   committed, so find out (or make the write idempotent) before retrying.
///   A savepoint release that fails that way is not a commit and stays
///   [`Error::Connection`];
/// - what `f` returned, after rolling back;
/// - database and connection errors of BEGIN and COMMIT.
pub fn run_transaction<T>(
    conn: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    run(conn, None, f)
}

/// [`run_transaction`], opening a top-level transaction with `begin_sql`
/// (`BEGIN ISOLATION LEVEL ..`) when given one; Diesel refuses that inside
/// another transaction.
pub(crate) fn run<T>(
    conn: &mut PgConnection,
    begin_sql: Option<&str>,
    f: impl FnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    let top_level = AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_none();
    match begin_sql {
        Some(sql) => AnsiTransactionManager::begin_transaction_sql(conn, sql)?,
        None => AnsiTransactionManager::begin_transaction(conn)?,
    }
    let body = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    match body {
        Ok(Ok(value)) => match AnsiTransactionManager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => Err(commit_failed(e, top_level)),
        },
        // As Diesel's own `transaction`: the body's error, unless rolling
        // back failed for another reason than an already broken connection.
        Ok(Err(e)) => match AnsiTransactionManager::rollback_transaction(conn) {
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
        Err(panic) => {
            let _ = AnsiTransactionManager::rollback_transaction(conn);
            std::panic::resume_unwind(panic)
        }
    }
}

/// Why a COMMIT (or savepoint release) failed. A serialization failure at
/// COMMIT rolled the transaction back, so it stays retryable; a connection
/// lost during a top-level COMMIT leaves the outcome unknown.
fn commit_failed(error: DieselError, top_level: bool) -> Error {
    let (commit_error, rollback_error) = match error {
        DieselError::RollbackErrorOnCommit {
            commit_error,
            rollback_error,
        } => (*commit_error, Some(*rollback_error)),
        other => (other, None),
    };
    match (Error::from(commit_error), rollback_error) {
        (Error::Connection(message), _) if top_level => Error::CommitUnknown(message),
        (other, None) => other,
        // COMMIT failed and so did the rollback after it: the connection is
        // unusable, and its error says why.
        (_, Some(rollback)) => Error::from(rollback),
    }
}
