//! The `teams` table: [`Team`] and [`TeamRepo`] (from `conn.teams()`):
//! creating, reading and deleting teams, the access checks and the team lock
//! the membership and invitation calls share, and what a user's hard delete
//! does to their teams. Members are in `team_members.rs`, invitations in
//! `team_invitations.rs`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use serde::{Deserialize, Serialize};

use crate::access::{self, Action, Actor, Resource};
use crate::audit::{audited, audited_in, AuditEntry};
use crate::enums::{TeamKind, TeamRole};
use crate::error::{Error, Result};
use crate::ids::{TeamId, UserId};
use crate::schema::{team_members, teams};
use crate::slug::{insert_with_unique_slug, slugify, SlugTable};
use crate::sql::advisory_xact_lock;
use crate::tx::run_transaction;
use crate::validate;

/// A team (tenant).
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Serialize, Deserialize,
)]
#[diesel(table_name = teams, check_for_backend(diesel::pg::Pg))]
pub struct Team {
    /// Id.
    pub id: TeamId,
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

/// Teams repository; see the module docs.
pub struct TeamRepo<'c> {
    pub(super) conn: &'c mut PgConnection,
}

impl<'c> TeamRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        TeamRepo { conn }
    }

    /// Creates a team with `actor` as its owner. The slug comes from the
    /// name, with a numeric suffix when taken (as for posts).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad name; [`Error::ForeignKey`] with
    /// `team_members_user_id_fkey` for an unknown actor.
    pub fn create(&mut self, actor: &Actor, name: &str) -> Result<Team> {
        let name = validate::text("name", name.trim(), 1, 100)?;
        let base = slugify(name, 90, "team");
        run_transaction(self.conn, |tx| {
            let id = TeamId::now_v7();
            // No RETURNING: under Row-Level Security a team is visible to
            // its members only, and it has none until the next statement.
            insert_with_unique_slug(tx, SlugTable::Teams, &base, |conn, slug| {
                let inserted = diesel::insert_into(teams::table)
                    .values((teams::id.eq(id), teams::name.eq(name), teams::slug.eq(slug)))
                    // Untargeted: a conflict target needs SELECT rights,
                    // which RLS would check against the member-less team.
                    // The only other unique key is the fresh id.
                    .on_conflict_do_nothing()
                    .execute(conn)?;
                Ok((inserted == 1).then_some(()))
            })?;
            insert_member(tx, id, actor.user_id, TeamRole::Owner)?;
            let entry = AuditEntry::created("team", id).by(actor.user_id);
            audited_in(tx, entry, |_| Ok(None::<Team>), |c| find(c, id))
        })
    }

    /// The team.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor is a member (or a site admin);
    /// [`Error::NotFound`].
    pub fn get(&mut self, actor: &Actor, team_id: TeamId) -> Result<Team> {
        authorize(self.conn, actor, Action::Read, team_id)?;
        find(self.conn, team_id)
    }

    /// Deletes the team with its memberships, invitations and projects.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor is an owner (or a site admin);
    /// [`Error::NotFound`].
    pub fn delete(&mut self, actor: &Actor, team_id: TeamId) -> Result<()> {
        run_transaction(self.conn, |tx| {
            lock_team(tx, team_id)?;
            authorize(tx, actor, Action::Delete, team_id)?;
            let entry = AuditEntry::new("deleted", "team", Some(team_id.into())).by(actor.user_id);
            audited_in(
                tx,
                entry,
                |c| find(c, team_id),
                |c| {
                    diesel::delete(teams::table.find(team_id)).execute(c)?;
                    Ok(())
                },
            )
        })
    }
}

/// The team, if the connection may see it.
pub(super) fn find(conn: &mut PgConnection, team_id: TeamId) -> Result<Team> {
    crate::sql::one(conn, teams::table.find(team_id), "team")
}

/// `user_id`'s role in the team, `None` when not a member.
pub(super) fn role_of(
    conn: &mut PgConnection,
    team_id: TeamId,
    user_id: UserId,
) -> Result<Option<TeamRole>> {
    Ok(team_members::table
        .find((team_id, user_id))
        .select(team_members::role)
        .first(conn)
        .optional()?)
}

/// Checks the access rules for `action` on the team; the actor's role.
pub(super) fn authorize(
    conn: &mut PgConnection,
    actor: &Actor,
    action: Action,
    team_id: TeamId,
) -> Result<Option<TeamRole>> {
    let membership = role_of(conn, team_id, actor.user_id)?;
    check(actor, action, team_id, membership)?;
    Ok(membership)
}

/// The access rules for `action` on the team, the actor's role known.
pub(super) fn check(
    actor: &Actor,
    action: Action,
    team_id: TeamId,
    membership: Option<TeamRole>,
) -> Result<()> {
    access::authorize(
        actor,
        action,
        &Resource::Team {
            id: team_id,
            membership,
        },
    )
}

/// Adds a membership. No RETURNING: under Row-Level Security the new row is
/// not yet visible to the statement's own policy check.
pub(super) fn insert_member(
    conn: &mut PgConnection,
    team_id: TeamId,
    user_id: UserId,
    role: TeamRole,
) -> Result<()> {
    diesel::insert_into(team_members::table)
        .values((
            team_members::team_id.eq(team_id),
            team_members::user_id.eq(user_id),
            team_members::role.eq(role),
        ))
        .execute(conn)?;
    Ok(())
}

/// Serialises membership changes of one team (until the transaction ends)
/// and refuses REPEATABLE READ, whose snapshot could miss a change
/// committed while this one waited.
pub(super) fn lock_team(conn: &mut PgConnection, team_id: TeamId) -> Result<()> {
    let isolation = advisory_xact_lock(conn, &format!("saas_db.team.{team_id}"))?;
    if isolation == "repeatable read" {
        return Err(Error::invalid(
            "transaction_isolation",
            "team membership changes need READ COMMITTED or SERIALIZABLE",
        ));
    }
    Ok(())
}

// What a user's hard delete does to their teams: a team keeps an owner
// (the database enforces it at COMMIT, see `teams_keep_an_owner`), and no
// team is left behind without members.
//
// The rule, chosen so that deleting an account never hands a team to
// nobody and never silently destroys other people's work:
// - the teams the user is the only member of are deleted with the user
//   (with their projects and invitations), each with an audit entry;
// - if the user is the only owner of a team that has other members, the
//   delete is refused with `Error::Invalid` naming that team: hand
//   ownership to someone (`TeamRepo::change_role`) or delete the
//   team first.

/// A team the departure deleted, as its audit entry describes it.
#[derive(QueryableByName, Serialize)]
struct TeamRef {
    #[diesel(sql_type = SqlUuid)]
    id: TeamId,
    #[diesel(sql_type = Text)]
    name: String,
}

/// Makes way for deleting `user_id` (in the caller's transaction, before
/// the user row goes): refuses when the user is the last owner of a team
/// with other members, then deletes the teams nobody else belongs to.
///
/// # Errors
/// [`Error::Invalid`] with field `user_id`, naming the team.
pub(crate) fn release_teams_of(conn: &mut PgConnection, user_id: UserId) -> Result<()> {
    let kept_by_user: Option<TeamRef> = diesel::sql_query(
        "SELECT t.id, t.name FROM team_members m JOIN teams t ON t.id = m.team_id
          WHERE m.user_id = $1 AND m.role = 'owner'
            AND NOT EXISTS (SELECT 1 FROM team_members o
                             WHERE o.team_id = m.team_id AND o.role = 'owner' AND o.user_id <> $1)
            AND EXISTS (SELECT 1 FROM team_members x
                         WHERE x.team_id = m.team_id AND x.user_id <> $1)
          ORDER BY t.id LIMIT 1",
    )
    .bind::<SqlUuid, _>(user_id)
    .get_result(conn)
    .optional()?;
    if let Some(team) = kept_by_user {
        return Err(Error::invalid(
            "user_id",
            format!(
                "is the last owner of team {} ({:?}), which has other members; \
                 hand ownership over or delete the team first",
                team.id, team.name
            ),
        ));
    }
    let deleted: Vec<TeamRef> = diesel::sql_query(
        "DELETE FROM teams t
          WHERE t.id IN (SELECT team_id FROM team_members WHERE user_id = $1)
            AND NOT EXISTS (SELECT 1 FROM team_members x
                             WHERE x.team_id = t.id AND x.user_id <> $1)
          RETURNING t.id, t.name",
    )
    .bind::<SqlUuid, _>(user_id)
    .load(conn)?;
    for team in deleted {
        let entry = AuditEntry::new("deleted", "team", Some(team.id.into()))
            .about("reason", "its only member was deleted")
            .about("user_id", user_id);
        audited(conn, entry, |_| Ok(team), |_| Ok(()))?;
    }
    Ok(())
}
