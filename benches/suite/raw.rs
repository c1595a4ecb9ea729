//! The raw-driver baseline: the same statements on the `postgres` client,
//! prepared once, rows decoded into plain structs column by column (enums
//! as text), with no ORM in between.

use chrono::{DateTime, Utc};
use postgres::{Client, NoTls, Row};
use uuid::Uuid;

/// A raw connection to `url`.
pub fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).expect("raw postgres connection")
}

/// The user columns, as `User` has them (a macro, for `concat!`).
macro_rules! user_columns {
    () => {
        "u.id, u.email, u.name, u.username, u.avatar_url, u.role::text, u.email_verified_at, \
         u.is_active, u.banned_at, u.ban_reason, u.ban_expires_at, u.locale, u.timezone, \
         u.onboarding_complete, u.last_login_at, u.deleted_at, u.version, u.created_at, \
         u.updated_at"
    };
}
pub(crate) use user_columns;

/// A user row, decoded.
#[allow(dead_code)] // Read only through Debug: decoding is what is measured.
#[derive(Debug)]
pub struct RawUser {
    id: Uuid,
    email: String,
    name: String,
    username: Option<String>,
    avatar_url: Option<String>,
    role: String,
    email_verified_at: Option<DateTime<Utc>>,
    is_active: bool,
    banned_at: Option<DateTime<Utc>>,
    ban_reason: Option<String>,
    ban_expires_at: Option<DateTime<Utc>>,
    locale: String,
    timezone: String,
    onboarding_complete: bool,
    last_login_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl RawUser {
    /// The optimistic-lock version.
    pub fn version(&self) -> i32 {
        self.version
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Decodes the user columns starting at column `at`.
pub fn user(row: &Row, at: usize) -> RawUser {
    RawUser {
        id: row.get(at),
        email: row.get(at + 1),
        name: row.get(at + 2),
        username: row.get(at + 3),
        avatar_url: row.get(at + 4),
        role: row.get(at + 5),
        email_verified_at: row.get(at + 6),
        is_active: row.get(at + 7),
        banned_at: row.get(at + 8),
        ban_reason: row.get(at + 9),
        ban_expires_at: row.get(at + 10),
        locale: row.get(at + 11),
        timezone: row.get(at + 12),
        onboarding_complete: row.get(at + 13),
        last_login_at: row.get(at + 14),
        deleted_at: row.get(at + 15),
        version: row.get(at + 16),
        created_at: row.get(at + 17),
        updated_at: row.get(at + 18),
    }
}

/// The post columns, as `Post` has them (a macro, for `concat!`).
macro_rules! post_columns {
    () => {
        "p.id, p.author_id, p.category_id, p.title, p.slug, p.excerpt, p.content, \
         p.status::text, p.featured, p.view_count, p.published_at, p.deleted_at, p.version, \
         p.created_at, p.updated_at"
    };
}
pub(crate) use post_columns;

/// A post row, decoded.
#[allow(dead_code)]
#[derive(Debug)]
pub struct RawPost {
    pub id: Uuid,
    pub author_id: Uuid,
    category_id: Option<Uuid>,
    title: String,
    slug: String,
    excerpt: Option<String>,
    content: String,
    status: String,
    featured: bool,
    view_count: i64,
    pub published_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Decodes the post columns starting at column 0.
pub fn post(row: &Row) -> RawPost {
    RawPost {
        id: row.get(0),
        author_id: row.get(1),
        category_id: row.get(2),
        title: row.get(3),
        slug: row.get(4),
        excerpt: row.get(5),
        content: row.get(6),
        status: row.get(7),
        featured: row.get(8),
        view_count: row.get(9),
        published_at: row.get(10),
        deleted_at: row.get(11),
        version: row.get(12),
        created_at: row.get(13),
        updated_at: row.get(14),
    }
}

/// A user by primary key (`$1`), as `users().get` reads it.
pub const USER_BY_ID: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL"
);

/// A session and its user by token hash (`$1`), as `sessions().validate` reads them.
pub const SESSION_VALIDATE: &str = concat!(
    "SELECT s.id, s.user_id, s.expires_at, s.last_seen_at, s.ip_address, s.user_agent, \
            s.revoked_at, s.created_at, ",
    user_columns!(),
    " FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
        AND u.deleted_at IS NULL
        AND (u.banned_at IS NULL OR u.ban_expires_at <= now())"
);

/// The optimistic-lock rename: id `$1`, expected version `$2`, name `$3`.
pub const UPDATE_USER_NAME: &str = concat!(
    "UPDATE users u SET name = $3, version = u.version + 1
      WHERE u.id = $1 AND u.version = $2 RETURNING ",
    user_columns!()
);

/// The audit columns, as `AuditLog` has them (a macro, for `concat!`).
macro_rules! audit_columns {
    () => {
        "id, actor_id, action, entity, entity_id, changes, ip_address, user_agent, metadata, \
         created_at"
    };
}

/// One audit entry: id `$1`, actor and entity `$2`, changes `$3`; it
/// returns the columns `AuditLog` has, as `record` does (decode them with
/// [`audit`]).
pub const AUDIT_INSERT: &str = concat!(
    "INSERT INTO audit_logs (id, actor_id, action, entity, entity_id, changes)
     VALUES ($1, $2, 'renamed', 'user', $2, $3) RETURNING ",
    audit_columns!()
);

/// A sign-in's audit entry: id `$1`, actor and entity `$2`; the same
/// columns back as [`AUDIT_INSERT`].
pub const AUDIT_SIGNED_IN: &str = concat!(
    "INSERT INTO audit_logs (id, actor_id, action, entity, entity_id)
     VALUES ($1, $2, 'signed_in', 'user', $2) RETURNING ",
    audit_columns!()
);

/// An audit row, decoded.
#[allow(dead_code)] // Read only through Debug: decoding is what is measured.
#[derive(Debug)]
pub struct RawAudit {
    id: Uuid,
    actor_id: Option<Uuid>,
    action: String,
    entity: String,
    entity_id: Option<Uuid>,
    changes: serde_json::Value,
    ip_address: Option<std::net::IpAddr>,
    user_agent: Option<String>,
    metadata: serde_json::Value,
    created_at: DateTime<Utc>,
}

/// Decodes a row of [`AUDIT_INSERT`] or [`AUDIT_SIGNED_IN`].
pub fn audit(row: &Row) -> RawAudit {
    RawAudit {
        id: row.get(0),
        actor_id: row.get(1),
        action: row.get(2),
        entity: row.get(3),
        entity_id: row.get(4),
        changes: row.get(5),
        ip_address: row.get(6),
        user_agent: row.get(7),
        metadata: row.get(8),
        created_at: row.get(9),
    }
}

/// The first page of the published listing (20 rows and one to tell
/// whether there is a next page).
pub const PUBLISHED_FIRST: &str = concat!(
    "SELECT ",
    post_columns!(),
    " FROM posts p
      WHERE p.status = 'published' AND p.deleted_at IS NULL
      ORDER BY p.published_at DESC, p.id DESC LIMIT 21"
);
