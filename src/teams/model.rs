//! Rows of the team tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::enums::{TeamKind, TeamRole};
use crate::schema::{projects, team_invitations, team_members, teams};

/// A team (tenant).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = teams, check_for_backend(diesel::pg::Pg))]
pub struct Team {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique slug, derived from the first name.
    pub slug: String,
    /// Personal or shared workspace.
    pub kind: TeamKind,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A user's membership of a team.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = team_members, check_for_backend(diesel::pg::Pg))]
pub struct Membership {
    /// The team.
    pub team_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// Their role in the team.
    pub role: TeamRole,
    /// Joined at.
    pub created_at: DateTime<Utc>,
    /// Last role change.
    pub updated_at: DateTime<Utc>,
}

/// A member as a member list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Serialize)]
pub struct Member {
    /// User id.
    pub user_id: Uuid,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Role in the team.
    pub role: TeamRole,
    /// Joined at.
    pub joined_at: DateTime<Utc>,
}

/// An invitation to join a team. The token is returned once by
/// `invite`; only its SHA-256 is stored, and it is not part of this row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = team_invitations, check_for_backend(diesel::pg::Pg))]
pub struct Invitation {
    /// Id.
    pub id: Uuid,
    /// The team.
    pub team_id: Uuid,
    /// Who is invited (normalised email).
    pub email: String,
    /// The role they get (never owner).
    pub role: TeamRole,
    /// Unusable after this.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who invited.
    pub invited_by: Option<Uuid>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// A project: data that belongs to a team, isolated per team by
/// Row-Level Security.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub struct Project {
    /// Id.
    pub id: Uuid,
    /// Owning team.
    pub team_id: Uuid,
    /// Name.
    pub name: String,
    /// Creator.
    pub created_by: Option<Uuid>,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
