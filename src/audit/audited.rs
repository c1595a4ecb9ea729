//! The one way a repository records its own changes in the audit log.

use diesel::prelude::*;
use serde::Serialize;

use super::{diff, AuditEntry, AuditRepo};
use crate::error::Result;
use crate::tx::run_transaction;

/// Runs `apply` (one change to one row) and records `entry` (action,
/// entity, id, actor, metadata) with its `changes` computed: the fields that
/// differ between the row as `lock` read it (locked, so nothing slips in
/// between) and as `apply` left it. A created row has no before (`lock`
/// returns `None`) and a deleted one no after (`apply` returns `None` or
/// `()`), so their entries list every field. All in one transaction (a
/// savepoint inside the caller's): a failed change leaves no entry, and a
/// change that changed no field leaves none either.
pub(crate) fn audited<B: Serialize, A: Serialize>(
    conn: &mut PgConnection,
    entry: AuditEntry<'_>,
    lock: impl FnOnce(&mut PgConnection) -> Result<B>,
    apply: impl FnOnce(&mut PgConnection) -> Result<A>,
) -> Result<A> {
    run_transaction(conn, |tx| audited_in(tx, entry, lock, apply))
}

/// [`audited`] inside a transaction the caller opened itself and rolls
/// back when this fails (the repository's own `run_transaction`, whose
/// closure returns this result): no savepoint of its own, which would cost
/// two more round trips (SAVEPOINT, RELEASE) and protect nothing the
/// caller's rollback does not.
pub(crate) fn audited_in<B: Serialize, A: Serialize>(
    tx: &mut PgConnection,
    entry: AuditEntry<'_>,
    lock: impl FnOnce(&mut PgConnection) -> Result<B>,
    apply: impl FnOnce(&mut PgConnection) -> Result<A>,
) -> Result<A> {
    let before = lock(tx)?;
    let after = apply(tx)?;
    let changes = diff(&before, &after);
    // A change that changed nothing (unbanning someone not banned) is
    // not history.
    if changes.as_object().is_some_and(|c| !c.is_empty()) {
        AuditRepo::new(tx).record(&entry.changes(changes))?;
    }
    Ok(after)
}
