//! Transaction helpers shared by every repository: the one transaction
//! runner ([`run_transaction`], which reports a lost COMMIT as
//! [`crate::Error::CommitUnknown`]), retrying transactions
//! with a chosen isolation level, per-transaction timeouts, and optimistic
//! locking (the versioned update every versioned table goes through).
//!
//! Row locks are taken with Diesel's own `.for_update()`, `.no_wait()` and
//! `.skip_locked()` on a select; converting the error with `Error::from`
//! turns a refused `NOWAIT` into [`crate::Error::Locked`]. The repositories
//! expose the common cases (`UserRepo::lock`, `UserRepo::try_lock`).

pub(crate) mod optimistic;
mod retry;
mod run;

pub(crate) use optimistic::{update_versioned, versioned_update_sql, Versioned};
pub use retry::{set_local_statement_timeout, transaction_with_retry, Isolation, RetryPolicy};
pub(crate) use run::run as run_with_begin;
pub use run::run_transaction;
