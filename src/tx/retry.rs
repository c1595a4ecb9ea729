//! Transactions that are re-run on serialization failure and deadlock.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use crate::error::{Error, Result};

/// Transaction isolation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// PostgreSQL's default: each statement sees what was committed before it.
    ReadCommitted,
    /// One snapshot for the whole transaction; concurrent updates of the
    /// same row fail with a serialization error (retried).
    RepeatableRead,
    /// As if transactions ran one at a time; anomalies such as write skew
    /// fail with a serialization error (retried). The default here.
    #[default]
    Serializable,
}

/// How [`transaction_with_retry`] runs a transaction: isolation, read-only,
/// a per-transaction statement timeout, and how often and how patiently it
/// retries. Defaults: serializable, read-write, 5 attempts, backoff from
/// 5 ms doubling up to 500 ms, with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    isolation: Isolation,
    read_only: bool,
    statement_timeout: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(500),
            isolation: Isolation::Serializable,
            read_only: false,
            statement_timeout: None,
        }
    }
}

impl RetryPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }
    /// Runs the transaction at most `n` times (at least once).
    pub fn attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// Waits about `base`, `2 * base`, `4 * base`, ... (at most `max`)
    /// between attempts; each wait is drawn from its upper half at random so
    /// that colliding transactions drift apart.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }
    /// The isolation level.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }
    /// A read-only transaction (writes fail; lets serializable reads avoid
    /// some conflicts).
    pub fn read_only(mut self, yes: bool) -> Self {
        self.read_only = yes;
        self
    }
    /// Statement timeout for this transaction only (`SET LOCAL`), overriding
    /// the pool's; exceeding it is [`Error::Timeout`], which is not retried.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    fn begin_sql(&self) -> &'static str {
        match (self.isolation, self.read_only) {
            (Isolation::ReadCommitted, false) => "BEGIN ISOLATION LEVEL READ COMMITTED",
            (Isolation::ReadCommitted, true) => "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY",
            (Isolation::RepeatableRead, false) => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            (Isolation::RepeatableRead, true) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            (Isolation::Serializable, false) => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            (Isolation::Serializable, true) => "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
        }
    }

    /// The pause after failed attempt `attempt` (1-based), before the next:
    /// drawn at random from the upper half of `base * 2^(attempt - 1)`
    /// capped at `max`, so always within `[cap / 2, cap]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// Runs `f` in a transaction on `conn` as `policy` says, re-running the
/// whole closure on serialization failure (SQLSTATE 40001) and deadlock
/// (40P01). `f` may therefore run more than once: keep side effects outside
/// the database out of it.
///
/// # Errors
/// - [`Error::Retryable`] with the attempt count when attempts ran out;
/// - [`Error::CommitUnknown`] when the connection was lost during COMMIT:
///   the transaction may or may not have committed, so it is not retried;
/// - [`Error::Invalid`] when `conn` is already inside a transaction (a retry
///   cannot re-run the outer one);
/// - whatever `f` returned, after rolling back.
pub fn transaction_with_retry<T>(
    conn: &mut PgConnection,
    policy: &RetryPolicy,
    mut f: impl FnMut(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    let depth = AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()?;
    if depth.is_some() {
        return Err(Error::invalid(
            "transaction_with_retry",
            "cannot run inside another transaction",
        ));
    }
    let mut attempt = 1;
    loop {
        match run_once(conn, policy, &mut f) {
            Err(Error::Retryable { message, .. }) => {
                if attempt >= policy.max_attempts {
                    return Err(Error::Retryable {
                        attempts: attempt,
                        message,
                    });
                }
                tracing::debug!(attempt, %message, "retrying transaction");
                std::thread::sleep(policy.delay(attempt));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// One attempt: BEGIN with the policy's isolation, body, COMMIT (see
/// [`super::run_transaction`] for rollback and a lost COMMIT).
fn run_once<T>(
    conn: &mut PgConnection,
    policy: &RetryPolicy,
    f: &mut impl FnMut(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    super::run::run(conn, Some(policy.begin_sql()), |tx| {
        if let Some(timeout) = policy.statement_timeout {
            set_local_statement_timeout(tx, timeout)?;
        }
        f(tx)
    })
}

/// Sets the statement timeout for the rest of the current transaction only
/// (`SET LOCAL`, through `set_config(.., true)` so the value is bound).
///
/// # Errors
/// [`crate::Error::Invalid`] naming `statement_timeout` outside
/// [`crate::validate::duration`]'s bounds (at most
/// [`crate::validate::STATEMENT_TIMEOUT_MAX`]); database errors.
pub fn set_local_statement_timeout(conn: &mut PgConnection, timeout: Duration) -> Result<()> {
    let timeout = crate::validate::duration(
        "statement_timeout",
        timeout,
        crate::validate::STATEMENT_TIMEOUT_MAX,
    )?;
    let value = format!("{}ms", timeout.as_millis().max(1));
    Ok(crate::sql::set_local(conn, "statement_timeout", &value)?)
}
