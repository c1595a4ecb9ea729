//! Calling the crate from async code (feature `tokio`): [`Database::run`] and
//! [`Database::run_transaction`] move the synchronous Diesel work, pool
//! checkout included, onto Tokio's blocking pool with
//! [`tokio::task::spawn_blocking`], so a request handler never blocks an
//! async worker thread. See the README's "Async (axum, actix)" section for
//! sizing the blocking pool against the connection pool.

use diesel::PgConnection;

use crate::database::Database;
use crate::error::{Error, Result};

impl Database {
    /// Runs `f` on a pooled connection on Tokio's blocking pool and awaits
    /// its result: `db.run(|conn| conn.users().get(id)).await`. The
    /// connection is checked out inside the blocking task (waiting for one
    /// never blocks an async worker) and returned to the pool when `f` ends.
    ///
    /// Dropping the returned future does not stop `f`: work that started
    /// runs to its end (a transaction commits or rolls back as it would),
    /// and only its result is lost.
    ///
    /// # Errors
    /// What `f` returns; [`Error::PoolTimeout`] or [`Error::Connection`]
    /// from the checkout; [`Error::Panicked`] when `f` panicked (the
    /// connection it held is discarded, not returned to the pool);
    /// [`Error::Cancelled`] when the runtime shut down before the task ran;
    /// [`Error::NotAvailable`] when called outside a Tokio runtime.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut PgConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        on_blocking_pool(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await
    }

    /// [`Database::transaction`] on Tokio's blocking pool: `f` runs in a
    /// transaction on a pooled connection, committed when it returns `Ok`,
    /// rolled back when it returns `Err` or panics.
    ///
    /// # Errors
    /// As [`Database::run`], plus [`Error::CommitUnknown`] when the
    /// connection was lost during COMMIT.
    pub async fn run_transaction<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut PgConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        on_blocking_pool(move || db.transaction(f)).await
    }
}

/// Runs `work` with `spawn_blocking` on the current runtime; a panic or a
/// cancelled task becomes an error instead of a panic in the caller.
async fn on_blocking_pool<T, W>(work: W) -> Result<T>
where
    W: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::NotAvailable("Database::run needs to be awaited inside a Tokio runtime".into())
    })?;
    match handle.spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(match e.try_into_panic() {
            Ok(payload) => Error::Panicked(panic_message(payload.as_ref())),
            Err(_) => Error::Cancelled,
        }),
    }
}

/// The text of a panic (`panic!("..")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
