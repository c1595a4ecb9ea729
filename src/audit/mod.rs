//! The append-only audit log: [`AuditRepo`], reached with `conn.audit()`.
//!
//! Entries are written in the caller's transaction, so an entry commits or
//! rolls back with the change it describes.

mod model;

pub use model::{AuditEntry, AuditLog};

use diesel::prelude::*;

use crate::error::{Error, Result};
use crate::schema::audit_logs;

/// Audit log repository; see the module docs.
pub struct AuditRepo<'c> {
    conn: &'c mut PgConnection,
}

impl<'c> AuditRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        AuditRepo { conn }
    }

    /// Records one entry.
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad input (empty action, non-object JSON, NUL bytes).
    pub fn record(&mut self, entry: &AuditEntry<'_>) -> Result<AuditLog> {
        let row = entry.to_row()?;
        Ok(diesel::insert_into(audit_logs::table)
            .values(&row)
            .returning(AuditLog::as_returning())
            .get_result(self.conn)?)
    }

    /// Records many entries with one `COPY` (no bind-parameter limit, about
    /// twice the rows per second of a multi-row INSERT). All or nothing.
    /// Returns how many were written.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the entry (`entries[i].action`, ...) when
    /// one is bad; nothing is written then.
    pub fn record_many(&mut self, entries: &[AuditEntry<'_>]) -> Result<usize> {
        let rows = entries
            .iter()
            .enumerate()
            .map(|(i, e)| e.to_row().map_err(|err| err.in_item("entries", i)))
            .collect::<Result<Vec<_>>>()?;
        if rows.is_empty() {
            return Ok(0);
        }
        Ok(diesel::copy_from(audit_logs::table)
            .from_insertable(&rows)
            .execute(self.conn)?)
    }

    /// The entries for one entity, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a limit outside 1..=1000.
    pub fn for_entity(
        &mut self,
        entity: &str,
        entity_id: uuid::Uuid,
        limit: i64,
    ) -> Result<Vec<AuditLog>> {
        if !(1..=1000).contains(&limit) {
            return Err(Error::invalid("limit", "must be between 1 and 1000"));
        }
        Ok(audit_logs::table
            .filter(audit_logs::entity.eq(entity))
            .filter(audit_logs::entity_id.eq(entity_id))
            .order((audit_logs::created_at.desc(), audit_logs::id.desc()))
            .limit(limit)
            .select(AuditLog::as_select())
            .load(self.conn)?)
    }
}
