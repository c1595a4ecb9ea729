//! What the feed delivers ([`Change`]) and the one query that reads it.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cursor::ChangeCursor;
use crate::error::{Error, Result};
use crate::ids::{TeamId, UserId};

/// A table whose writes are captured (the tables a live UI watches; see the
/// README's "Live data: change feed").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapturedTable {
    /// `users`: row id and user are the user.
    Users,
    /// `user_profiles`: row id and user are the profile's user.
    UserProfiles,
    /// `posts`: the post; user is its author.
    Posts,
    /// `post_tags`: row id is the POST whose tags changed; user is its author.
    PostTags,
    /// `subscriptions`: user is the subscriber.
    Subscriptions,
    /// `payments`: user is the payer.
    Payments,
    /// `teams`: row id and team are the team.
    Teams,
    /// `team_members`: row id and user are the member; team is the team.
    TeamMembers,
    /// `team_invitations`: team is the inviting team (no email, no token).
    TeamInvitations,
    /// `projects`: team is the owning team.
    Projects,
}

impl CapturedTable {
    /// Every captured table.
    pub const ALL: &'static [CapturedTable] = &[
        CapturedTable::Users,
        CapturedTable::UserProfiles,
        CapturedTable::Posts,
        CapturedTable::PostTags,
        CapturedTable::Subscriptions,
        CapturedTable::Payments,
        CapturedTable::Teams,
        CapturedTable::TeamMembers,
        CapturedTable::TeamInvitations,
        CapturedTable::Projects,
    ];

    /// The table's name in the schema.
    pub fn as_str(self) -> &'static str {
        match self {
            CapturedTable::Users => "users",
            CapturedTable::UserProfiles => "user_profiles",
            CapturedTable::Posts => "posts",
            CapturedTable::PostTags => "post_tags",
            CapturedTable::Subscriptions => "subscriptions",
            CapturedTable::Payments => "payments",
            CapturedTable::Teams => "teams",
            CapturedTable::TeamMembers => "team_members",
            CapturedTable::TeamInvitations => "team_invitations",
            CapturedTable::Projects => "projects",
        }
    }

    fn from_name(name: &str) -> Option<CapturedTable> {
        CapturedTable::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == name)
    }
}

/// What happened to the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// The row was inserted.
    Insert,
    /// The row was updated (for a row that moved to another team or user,
    /// or whose row id changed, an update is also recorded under the old
    /// owner and old row id: that feed no longer sees the row).
    Update,
    /// The row was deleted.
    Delete,
}

/// One captured write: ids only. Read the row itself for its contents; a
/// row that is gone (or not visible to the reader) is deleted for that
/// reader, whatever `op` says, since later changes may follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// This change's position: resume after it with this cursor.
    pub cursor: ChangeCursor,
    /// The table written.
    pub table: CapturedTable,
    /// The row's id (for `post_tags` the post's, for `user_profiles` and
    /// `team_members` the user's).
    pub row_id: Uuid,
    /// Insert, update or delete.
    pub op: ChangeOp,
    /// The owning team, for team-scoped tables.
    pub team_id: Option<TeamId>,
    /// The owning user, for user-scoped tables.
    pub user_id: Option<UserId>,
    /// The writing transaction's start time.
    pub at: DateTime<Utc>,
}

/// What a feed is restricted to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// `None`: every captured table; `Some(empty)`: none.
    pub tables: Option<Vec<CapturedTable>>,
    pub team: Option<TeamId>,
    pub user: Option<UserId>,
}

impl Filter {
    fn table_names(&self) -> Vec<&'static str> {
        self.tables
            .as_deref()
            .unwrap_or(CapturedTable::ALL)
            .iter()
            .map(|t| t.as_str())
            .collect()
    }

    /// Binds the scope parameters the chosen SQL text names.
    fn bind<'a>(
        &self,
        q: diesel::query_builder::BoxedSqlQuery<'a, Pg, diesel::query_builder::SqlQuery>,
    ) -> diesel::query_builder::BoxedSqlQuery<'a, Pg, diesel::query_builder::SqlQuery> {
        let q = match self.team {
            Some(team) => q.bind::<SqlUuid, _>(team),
            None => q,
        };
        match self.user {
            Some(user) => q.bind::<SqlUuid, _>(user),
            None => q,
        }
    }
}

/// The feed's read up to its scope condition (only constant text: every
/// value is a bind parameter)...
const FEED_HEAD: &str = "SELECT pg_snapshot_xmin(s.snap)::text::bigint AS boundary,
        c.id, c.xid::text::bigint AS xid, c.table_name, c.row_id, c.op,
        c.team_id, c.user_id, c.at
   FROM (SELECT pg_current_snapshot() AS snap) s
   LEFT JOIN LATERAL (
        SELECT id, xid, table_name, row_id, op, team_id, user_id, at
          FROM changes
         WHERE (xid, id) > ($1::text::xid8, $2)
           AND xid < pg_snapshot_xmin(s.snap)
           AND table_name = ANY($3) ";
/// ... its scope condition, by [`Filter::scope`] (parameters from `$5`)...
const FEED_SCOPES: [&str; 4] = [
    "",
    "AND team_id = $5",
    "AND user_id = $5",
    "AND team_id = $5 AND user_id = $6",
];
/// ... and the rest.
const FEED_TAIL: &str = " ORDER BY xid, id LIMIT $4) c ON true";

/// The held-back count of [`super::FeedLag`] up to its scope condition...
const HELD_BACK_HEAD: &str = "SELECT count(*) AS n FROM changes
  WHERE xid >= pg_snapshot_xmin(pg_current_snapshot())
    AND table_name = ANY($1) ";
/// ... and its scope condition, by [`Filter::scope`] (parameters from `$2`).
const HELD_BACK_SCOPES: [&str; 4] = [
    "",
    "AND team_id = $2",
    "AND user_id = $2",
    "AND team_id = $2 AND user_id = $3",
];

impl Filter {
    /// Which scope condition applies: an index into `FEED_SCOPES` and
    /// `HELD_BACK_SCOPES` (none, team, user, both), so each of the four
    /// statement shapes can use its own partial index.
    fn scope(&self) -> usize {
        usize::from(self.team.is_some()) + 2 * usize::from(self.user.is_some())
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    boundary: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    xid: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    table_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    row_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    op: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    team_id: Option<TeamId>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_id: Option<UserId>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

impl Row {
    fn change(self) -> Result<Option<Change>> {
        let (Some(id), Some(xid), Some(table), Some(row_id), Some(op), Some(at)) = (
            self.id,
            self.xid,
            self.table_name,
            self.row_id,
            self.op,
            self.at,
        ) else {
            // The LEFT JOIN's row when nothing is pending.
            return Ok(None);
        };
        let unknown = |what: &str| Error::invalid("changes", format!("unknown {what}"));
        Ok(Some(Change {
            cursor: ChangeCursor::at(xid, id),
            table: CapturedTable::from_name(&table).ok_or_else(|| unknown("table"))?,
            row_id,
            op: match op.as_str() {
                "insert" => ChangeOp::Insert,
                "update" => ChangeOp::Update,
                "delete" => ChangeOp::Delete,
                _ => return Err(unknown("op")),
            },
            team_id: self.team_id,
            user_id: self.user_id,
            at,
        }))
    }
}

/// Up to `limit` committed changes after `after` that pass `filter`, in
/// (xid, id) order, and the cursor to continue from: the last change's when
/// the batch is full, else the boundary below which every transaction has
/// ended (past changes the filter skipped, never one of another scope).
pub(crate) fn fetch(
    conn: &mut PgConnection,
    filter: &Filter,
    after: (i64, i64),
    limit: i64,
) -> Result<(Vec<Change>, ChangeCursor)> {
    let q = diesel::sql_query(FEED_HEAD)
        .into_boxed::<Pg>()
        .sql(FEED_SCOPES[filter.scope()])
        .sql(FEED_TAIL)
        .bind::<Text, _>(after.0.to_string())
        .bind::<BigInt, _>(after.1)
        .bind::<Array<Text>, _>(filter.table_names())
        .bind::<BigInt, _>(limit);
    let rows: Vec<Row> = filter.bind(q).load(conn)?;
    let boundary = rows.first().map_or(0, |r| r.boundary);
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        changes.extend(row.change()?);
    }
    let last = changes
        .last()
        .map_or(ChangeCursor::at(after.0, after.1), |c| c.cursor);
    let cursor = if changes.len() as i64 >= limit {
        last
    } else {
        last.max(ChangeCursor::at(boundary, 0))
    };
    Ok((changes, cursor))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Committed changes that `filter` passes and the feed cannot deliver yet
/// because an older transaction is still open.
pub(crate) fn held_back(conn: &mut PgConnection, filter: &Filter) -> Result<i64> {
    let q = diesel::sql_query(HELD_BACK_HEAD)
        .into_boxed::<Pg>()
        .sql(HELD_BACK_SCOPES[filter.scope()])
        .bind::<Array<Text>, _>(filter.table_names());
    Ok(filter.bind(q).get_result::<Count>(conn)?.n)
}
