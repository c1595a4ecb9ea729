//! Rows and inputs of the audit log.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ipnet::IpNet;
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::schema::audit_logs;
use crate::validate;

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_logs, check_for_backend(diesel::pg::Pg))]
pub struct AuditLog {
    /// UUIDv7 id.
    pub id: Uuid,
    /// Who did it (`None`: the system). No foreign key: the log outlives users.
    pub actor_id: Option<Uuid>,
    /// What was done, e.g. `created`, `role_changed`.
    pub action: String,
    /// What kind of thing it was done to, e.g. `user`.
    pub entity: String,
    /// Which one.
    pub entity_id: Option<Uuid>,
    /// The fields that changed, `{"field": {"before": .., "after": ..}}`.
    pub changes: serde_json::Value,
    /// Where the request came from.
    pub ip_address: Option<IpNet>,
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
    /// Which one.
    pub entity_id: Option<Uuid>,
    /// Who.
    pub actor_id: Option<Uuid>,
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
    /// A `created` entry.
    pub fn created(entity: &'a str, id: Uuid) -> Self {
        Self::new("created", entity, Some(id))
    }
    /// Done by this user.
    pub fn by(mut self, actor: Uuid) -> Self {
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
            id: Uuid::now_v7(),
            actor_id: self.actor_id,
            action: self.action,
            entity: self.entity,
            entity_id: self.entity_id,
            changes: &self.changes,
            ip_address: self.ip_address.map(IpNet::from),
            user_agent: self.user_agent,
            metadata: &self.metadata,
        })
    }
}

/// The validated row; every column explicit so COPY can write it too.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_logs, treat_none_as_default_value = false)]
pub(crate) struct AuditRow<'a> {
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<Uuid>,
    pub changes: &'a serde_json::Value,
    pub ip_address: Option<IpNet>,
    pub user_agent: Option<&'a str>,
    pub metadata: &'a serde_json::Value,
}
