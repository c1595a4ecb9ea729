//! The `audit_logs` table: its rows ([`AuditLog`]), the entries written to
//! it ([`AuditEntry`]) and [`AuditRepo`], reached with `conn.audit()`.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamptz};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{AuditLogId, UserId};
use crate::inet::{to_inet, InetAddr};

use crate::error::{Error, Result};
use crate::pagination::{self, Keyset, Listing, Order, Page, PageRequest};
use crate::schema::audit_logs;
use crate::validate;

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = audit_logs, check_for_backend(diesel::pg::Pg))]
pub struct AuditLog {
    /// UUIDv7 id.
    pub id: AuditLogId,
    /// Who did it (`None`: the system). No foreign key: the log outlives users.
    pub actor_id: Option<UserId>,
    /// What was done, e.g. `created`, `role_changed`.
    pub action: String,
    /// What kind of thing it was done to, e.g. `user`.
    pub entity: String,
    /// Which one.
    pub entity_id: Option<Uuid>,
    /// The fields that changed, `{"field": {"before": .., "after": ..}}`.
    pub changes: serde_json::Value,
    /// Where the request came from: the address given to
    /// [`AuditEntry::client`], the same type in and out.
    #[diesel(deserialize_as = InetAddr)]
    pub ip_address: Option<std::net::IpAddr>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// Anything else worth keeping.
    pub metadata: serde_json::Value,
    /// When (partition key).
    pub created_at: DateTime<Utc>,
}

/// An entry to record; build with [`AuditEntry::new`] and the setters.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry<'a> {
    /// What was done.
    pub action: &'a str,
    /// What kind of thing.
    pub entity: &'a str,
    /// Which one (ids of any table, so a bare UUID: `post.id.into()`).
    pub entity_id: Option<Uuid>,
    /// Who.
    pub actor_id: Option<UserId>,
    /// What changed (a JSON object).
    pub changes: serde_json::Value,
    /// Extra context (a JSON object).
    pub metadata: serde_json::Value,
    /// Client address.
    pub ip_address: Option<std::net::IpAddr>,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
}

impl<'a> AuditEntry<'a> {
    /// `action` done to `entity` `entity_id`.
    pub fn new(action: &'a str, entity: &'a str, entity_id: Option<Uuid>) -> Self {
        AuditEntry {
            action,
            entity,
            entity_id,
            actor_id: None,
            changes: serde_json::Value::Object(Default::default()),
            metadata: serde_json::Value::Object(Default::default()),
            ip_address: None,
            user_agent: None,
        }
    }
    /// A `created` entry about the row with this id (any typed id).
    pub fn created(entity: &'a str, id: impl Into<Uuid>) -> Self {
        Self::new("created", entity, Some(id.into()))
    }
    /// Done by this user.
    pub fn by(mut self, actor: UserId) -> Self {
        self.actor_id = Some(actor);
        self
    }
    /// With these changes (a JSON object).
    pub fn changes(mut self, changes: serde_json::Value) -> Self {
        self.changes = changes;
        self
    }
    /// With this metadata (a JSON object).
    pub fn metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }
    /// With `key` set to `value` in the metadata (next to what is there).
    pub fn about(mut self, key: &str, value: impl Serialize) -> Self {
        if let serde_json::Value::Object(map) = &mut self.metadata {
            let value = serde_json::to_value(value).unwrap_or_default();
            map.insert(key.to_owned(), value);
        }
        self
    }
    /// From this client.
    pub fn client(mut self, ip: Option<std::net::IpAddr>, user_agent: Option<&'a str>) -> Self {
        self.ip_address = ip;
        self.user_agent = user_agent;
        self
    }

    /// Validates and turns the entry into the row written by INSERT or COPY.
    pub(crate) fn to_row(&self) -> Result<AuditRow<'_>> {
        validate::text("action", self.action, 1, 100)?;
        validate::text("entity", self.entity, 1, 100)?;
        validate::opt_text("user_agent", self.user_agent, 0, 1024)?;
        validate::json_object("changes", &self.changes)?;
        validate::json_object("metadata", &self.metadata)?;
        Ok(AuditRow {
            id: AuditLogId::now_v7(),
            actor_id: self.actor_id,
            action: self.action,
            entity: self.entity,
            entity_id: self.entity_id,
            changes: &self.changes,
            ip_address: to_inet(self.ip_address),
            user_agent: self.user_agent,
            metadata: &self.metadata,
        })
    }
}

/// The validated row; every column explicit so COPY can write it too.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_logs, treat_none_as_default_value = false)]
pub(crate) struct AuditRow<'a> {
    pub id: AuditLogId,
    pub actor_id: Option<UserId>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<Uuid>,
    pub changes: &'a serde_json::Value,
    pub ip_address: Option<ipnet::IpNet>,
    pub user_agent: Option<&'a str>,
    pub metadata: &'a serde_json::Value,
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

    /// Records many entries with one binary `COPY` (no bind-parameter limit;
    /// its rows per second against a raw driver's COPY and the server's own
    /// `INSERT .. SELECT` are in BENCHMARKS.md). All or nothing.
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
        entity_id: impl Into<Uuid>,
        page: PageRequest,
    ) -> Result<Page<AuditLog>> {
        let entity_id: Uuid = entity_id.into();
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
    pub fn for_actor(&mut self, actor_id: UserId, page: PageRequest) -> Result<Page<AuditLog>> {
        let query = audit_logs::table
            .filter(audit_logs::actor_id.eq(actor_id))
            .select(AuditLog::as_select())
            .into_boxed();
        self.newest_first(
            query,
            Listing::named("audit.actor").param(actor_id.uuid()),
            &page,
        )
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
        pagination::paginate(
            query,
            keyset,
            page,
            |e: &AuditLog| (e.created_at, e.id),
            self.conn,
        )
    }
}

// Monthly partitions: create ahead, drop behind. Retention removes whole
// partitions (a catalog operation), never rows, so the append-only rule
// holds and old months go without a long DELETE.

#[derive(QueryableByName)]
struct Created {
    #[diesel(sql_type = Integer)]
    created: i32,
}

#[derive(QueryableByName)]
struct Dropped {
    #[diesel(sql_type = Text)]
    name: String,
}

impl AuditRepo<'_> {
    /// Creates the partitions for this month and the next `months_ahead`
    /// (UTC months) that do not exist yet; how many it created. Run it from
    /// a daily job: an entry for a month without a partition lands in the
    /// default partition instead of failing, and such a month is then
    /// skipped (with a server WARNING) since its partition could not hold
    /// the entries already there; the other months are still created.
    ///
    /// # Errors
    /// [`Error::Invalid`] for `months_ahead` above 120.
    pub fn ensure_partitions(&mut self, months_ahead: u32) -> Result<u32> {
        if months_ahead > 120 {
            return Err(Error::invalid("months_ahead", "must be at most 120"));
        }
        let row: Created = diesel::sql_query("SELECT audit_logs_ensure_partitions($1) AS created")
            .bind::<Integer, _>(months_ahead as i32)
            .get_result(self.conn)?;
        Ok(row.created as u32)
    }

    /// Drops every monthly partition that ends on or before `cutoff`,
    /// returning their names (`audit_logs_pYYYYMM`), oldest first. Needs the
    /// tables' owner. Entries of the month containing `cutoff` are kept.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `cutoff` when it is after the start of the
    /// current UTC month or outside [`crate::validate::timestamp`]'s range; database errors (for instance insufficient
    /// privilege).
    pub fn drop_partitions_before(&mut self, cutoff: DateTime<Utc>) -> Result<Vec<String>> {
        let now = Utc::now();
        let this_month = Utc
            .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
            .single()
            .unwrap_or(now);
        let cutoff = crate::validate::timestamp("cutoff", cutoff)?;
        if cutoff > this_month {
            return Err(Error::invalid(
                "cutoff",
                "must not be after the start of the current month (UTC): retention never drops the month being written",
            ));
        }
        let dropped: Vec<Dropped> =
            diesel::sql_query("SELECT audit_logs_drop_partitions_before($1) AS name")
                .bind::<Timestamptz, _>(cutoff)
                .load(self.conn)?;
        Ok(dropped.into_iter().map(|d| d.name).collect())
    }
}
