//! The append-only audit log: [`AuditRepo`], reached with `conn.audit()`.
//!
//! Entries are written in the caller's transaction, so an entry commits or
//! rolls back with the change it describes.

mod diff;
mod model;
mod partitions;

pub use diff::{change, diff};
pub use model::{AuditEntry, AuditLog};

use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use uuid::Uuid;

use crate::error::Result;
use crate::pagination::{self, Keyset, Listing, Order, Page, PageRequest};
use crate::schema::audit_logs;
use crate::tx::run_transaction;

/// Runs `apply` (one change to one row) and, when `actor` is known, records
/// `action` on `target` (entity, id) with the fields that changed between
/// the row as `lock` read it (locked, so nothing slips in between) and as
/// `apply` left it; all in one transaction (a savepoint inside the
/// caller's), so a failed change leaves no entry, and a change that changed
/// no field leaves none either. Without an actor it is just `apply`.
pub(crate) fn audited<T: serde::Serialize>(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    action: &str,
    target: (&str, Uuid),
    lock: impl FnOnce(&mut PgConnection) -> Result<T>,
    apply: impl FnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    let Some(actor) = actor else {
        return apply(conn);
    };
    run_transaction(conn, |tx| {
        let before = lock(tx)?;
        let after = apply(tx)?;
        let (entity, id) = target;
        let changes = diff(&before, &after);
        // A change that changed nothing (unbanning someone not banned) is
        // not history.
        if changes.as_object().is_some_and(|c| !c.is_empty()) {
            let entry = AuditEntry::new(action, entity, Some(id))
                .by(actor)
                .changes(changes);
            AuditRepo::new(tx).record(&entry)?;
        }
        Ok(after)
    })
}

type AuditQuery = audit_logs::BoxedQuery<'static, Pg, SqlTypeOf<AsSelect<AuditLog, Pg>>>;

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
    /// [`crate::Error::Invalid`] for bad input (empty action, non-object JSON, NUL bytes).
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
    /// [`crate::Error::Invalid`] naming the entry (`entries[i].action`, ...) when
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

    /// The entries about one entity, newest first.
    ///
    /// # Errors
    /// [`crate::Error::InvalidCursor`], [`crate::Error::Invalid`] for a limit
    /// outside 1..=1000 or a bad `entity` (empty, NUL byte, over 100).
    pub fn for_entity(
        &mut self,
        entity: &str,
        entity_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<AuditLog>> {
        let entity = crate::validate::text("entity", entity, 1, 100)?;
        let query = audit_logs::table
            .filter(audit_logs::entity.eq(entity.to_owned()))
            .filter(audit_logs::entity_id.eq(entity_id))
            .select(AuditLog::as_select())
            .into_boxed();
        let listing = Listing::named("audit.entity")
            .param(entity)
            .param(entity_id);
        self.newest_first(query, listing, &page)
    }

    /// The entries of one actor, newest first.
    ///
    /// # Errors
    /// As [`AuditRepo::for_entity`].
    pub fn for_actor(&mut self, actor_id: Uuid, page: PageRequest) -> Result<Page<AuditLog>> {
        let query = audit_logs::table
            .filter(audit_logs::actor_id.eq(actor_id))
            .select(AuditLog::as_select())
            .into_boxed();
        self.newest_first(query, Listing::named("audit.actor").param(actor_id), &page)
    }

    /// Streams every entry since `since` (all when `None`), oldest first,
    /// to `each`, one row at a time: rows are fetched in libpq's
    /// single-row mode, so memory stays flat however large the log is
    /// (1M rows export in well under 64 MiB; see BENCHMARKS.md). Returns how
    /// many were exported. `each` may stop the export by returning an error.
    /// The connection is busy until it returns; run it on its own pooled
    /// connection, outside a transaction that must stay short.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] naming `since` outside
    /// [`crate::validate::timestamp`]'s range; database errors, or the first
    /// error `each` returns.
    pub fn export(
        &mut self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        mut each: impl FnMut(AuditLog) -> Result<()>,
    ) -> Result<u64> {
        let mut query = audit_logs::table
            .select(AuditLog::as_select())
            .order((audit_logs::created_at, audit_logs::id))
            .into_boxed();
        if let Some(since) = since {
            let since = crate::validate::timestamp("since", since)?;
            query = query.filter(audit_logs::created_at.ge(since));
        }
        let rows = query.load_iter::<AuditLog, diesel::pg::PgRowByRowLoadingMode>(self.conn)?;
        let mut exported = 0;
        for row in rows {
            each(row?)?;
            exported += 1;
        }
        Ok(exported)
    }

    /// Keyset on `(created_at, id)` descending: the indexes
    /// `audit_logs_entity_idx` and `audit_logs_actor_idx` end with it, and
    /// each partition is scanned in order.
    fn newest_first(
        &mut self,
        query: AuditQuery,
        listing: Listing,
        page: &PageRequest,
    ) -> Result<Page<AuditLog>> {
        let keyset = Keyset {
            listing,
            sort: audit_logs::created_at,
            id: audit_logs::id,
            order: Order::Desc,
        };
        pagination::load_page(
            query,
            keyset,
            page,
            |e: &AuditLog| (e.created_at, e.id),
            self.conn,
        )
    }
}
