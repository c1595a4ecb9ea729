//! The `team_members` table: [`Membership`], [`Member`] and the
//! [`TeamRepo`] calls on members: adding, role changes, removal, leaving,
//! listings.
//! A team never loses its last owner: every change that could take one
//! away counts the owners under the team's lock first.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::teams::{authorize, check, insert_member, lock_team, Team, TeamRepo};
use crate::access::{self, Action, Actor, Resource};
use crate::audit::{audited_in, AuditEntry};
use crate::enums::TeamRole;
use crate::error::{Error, Result};
use crate::ids::{TeamId, UserId};
use crate::schema::{team_members, teams, users};
use crate::tx::run_transaction;

/// A user's membership of a team.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = team_members, check_for_backend(diesel::pg::Pg))]
pub struct Membership {
    /// The team.
    pub team_id: TeamId,
    /// The member.
    pub user_id: UserId,
    /// Their role in the team.
    pub role: TeamRole,
    /// Joined at.
    pub created_at: DateTime<Utc>,
    /// Last role change.
    pub updated_at: DateTime<Utc>,
}

/// A member as a member list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Serialize, Deserialize)]
pub struct Member {
    /// User id.
    pub user_id: UserId,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Role in the team.
    pub role: TeamRole,
    /// Joined at.
    pub joined_at: DateTime<Utc>,
}

/// What changing the role of someone who holds `from` to `to` needs:
/// owners are made and unmade by owners only.
fn action_for(from: Option<TeamRole>, to: Option<TeamRole>) -> Action {
    if from == Some(TeamRole::Owner) || to == Some(TeamRole::Owner) {
        Action::ManageOwners
    } else {
        Action::ManageMembers
    }
}

/// `Error::Invalid` when `user_id`, an owner, is the team's only owner.
fn keep_an_owner(conn: &mut PgConnection, team_id: TeamId, field: &str) -> Result<()> {
    let owners: i64 = team_members::table
        .filter(team_members::team_id.eq(team_id))
        .filter(team_members::role.eq(TeamRole::Owner))
        .count()
        .get_result(conn)?;
    if owners <= 1 {
        return Err(Error::invalid(field, "a team must keep at least one owner"));
    }
    Ok(())
}

/// Takes the team's lock and checks that the actor may manage its members;
/// the actor's own role.
fn lock_for_members(
    conn: &mut PgConnection,
    actor: &Actor,
    team_id: TeamId,
) -> Result<Option<TeamRole>> {
    lock_team(conn, team_id)?;
    authorize(conn, actor, Action::ManageMembers, team_id)
}

/// Removes a membership.
fn delete_member(conn: &mut PgConnection, team_id: TeamId, user_id: UserId) -> Result<()> {
    diesel::delete(team_members::table.find((team_id, user_id))).execute(conn)?;
    Ok(())
}

/// The audit entry of a membership change: about the team, by the actor,
/// naming the member in `metadata.user_id`.
pub(super) fn member_entry<'a>(
    action: &'a str,
    actor: &Actor,
    team_id: TeamId,
    user_id: UserId,
) -> AuditEntry<'a> {
    AuditEntry::new(action, "team", Some(team_id.into()))
        .by(actor.user_id)
        .about("user_id", user_id)
}

/// The membership of `user_id` in the team.
pub(super) fn membership(
    conn: &mut PgConnection,
    team_id: TeamId,
    user_id: UserId,
) -> Result<Membership> {
    crate::sql::one(
        conn,
        team_members::table.find((team_id, user_id)),
        "membership",
    )
}

impl TeamRepo<'_> {
    /// Adds `user_id` to the team with `role`.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor may manage members (owners for
    /// an owner); [`Error::Conflict`] with `team_members_pkey` when already
    /// a member; [`Error::ForeignKey`] with `team_members_user_id_fkey` for
    /// an unknown user.
    pub fn add_member(
        &mut self,
        actor: &Actor,
        team_id: TeamId,
        user_id: UserId,
        role: TeamRole,
    ) -> Result<Membership> {
        run_transaction(self.conn, |tx| {
            let mine = lock_for_members(tx, actor, team_id)?;
            check(actor, action_for(None, Some(role)), team_id, mine)?;
            let entry = member_entry("member_added", actor, team_id, user_id);
            audited_in(
                tx,
                entry,
                |_| Ok(None::<Membership>),
                |c| {
                    insert_member(c, team_id, user_id, role)?;
                    membership(c, team_id, user_id)
                },
            )
        })
    }

    /// Gives a member another role. Demoting the last owner is refused.
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::NotFound`] for a non-member;
    /// [`Error::Invalid`] naming `role` when it would leave no owner.
    pub fn change_role(
        &mut self,
        actor: &Actor,
        team_id: TeamId,
        user_id: UserId,
        role: TeamRole,
    ) -> Result<Membership> {
        run_transaction(self.conn, |tx| {
            let mine = lock_for_members(tx, actor, team_id)?;
            let current = membership(tx, team_id, user_id)?;
            if current.role == role {
                return Ok(current);
            }
            check(
                actor,
                action_for(Some(current.role), Some(role)),
                team_id,
                mine,
            )?;
            if current.role == TeamRole::Owner {
                keep_an_owner(tx, team_id, "role")?;
            }
            let entry = member_entry("role_changed", actor, team_id, user_id);
            audited_in(
                tx,
                entry,
                |_| Ok(current),
                |c| {
                    diesel::update(team_members::table.find((team_id, user_id)))
                        .set(team_members::role.eq(role))
                        .execute(c)?;
                    membership(c, team_id, user_id)
                },
            )
        })
    }

    /// Removes a member (removing oneself is [`TeamRepo::leave`]).
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::NotFound`] for a non-member;
    /// [`Error::Invalid`] naming `user_id` for the last owner.
    pub fn remove_member(&mut self, actor: &Actor, team_id: TeamId, user_id: UserId) -> Result<()> {
        if user_id == actor.user_id {
            return self.leave(actor, team_id);
        }
        run_transaction(self.conn, |tx| {
            let mine = lock_for_members(tx, actor, team_id)?;
            let current = membership(tx, team_id, user_id)?;
            check(actor, action_for(Some(current.role), None), team_id, mine)?;
            if current.role == TeamRole::Owner {
                keep_an_owner(tx, team_id, "user_id")?;
            }
            let entry = member_entry("member_removed", actor, team_id, user_id);
            audited_in(
                tx,
                entry,
                |_| Ok(current),
                |c| delete_member(c, team_id, user_id),
            )
        })
    }

    /// The actor leaves the team. The last owner cannot leave.
    ///
    /// # Errors
    /// [`Error::NotFound`] when not a member; [`Error::Invalid`] naming
    /// `role` for the last owner.
    pub fn leave(&mut self, actor: &Actor, team_id: TeamId) -> Result<()> {
        run_transaction(self.conn, |tx| {
            lock_team(tx, team_id)?;
            let current = membership(tx, team_id, actor.user_id)?;
            if current.role == TeamRole::Owner {
                keep_an_owner(tx, team_id, "role")?;
            }
            let entry = member_entry("member_left", actor, team_id, actor.user_id);
            audited_in(
                tx,
                entry,
                |_| Ok(current),
                |c| delete_member(c, team_id, actor.user_id),
            )
        })
    }

    /// The team's members: owners first, then admins, then members, each by
    /// joining time.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor is a member (or a site admin).
    pub fn members(&mut self, actor: &Actor, team_id: TeamId) -> Result<Vec<Member>> {
        authorize(self.conn, actor, Action::Read, team_id)?;
        Ok(team_members::table
            .inner_join(users::table)
            .filter(team_members::team_id.eq(team_id))
            .order((
                team_members::role,
                team_members::created_at,
                team_members::user_id,
            ))
            .select((
                users::id,
                users::name,
                users::email,
                team_members::role,
                team_members::created_at,
            ))
            .load(self.conn)?)
    }

    /// The teams `user_id` belongs to, with their role, by name.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor is that user (or a site admin).
    pub fn teams_of(&mut self, actor: &Actor, user_id: UserId) -> Result<Vec<(Team, TeamRole)>> {
        access::authorize(actor, Action::Read, &Resource::User { id: user_id })?;
        Ok(team_members::table
            .inner_join(teams::table)
            .filter(team_members::user_id.eq(user_id))
            .order((teams::name, teams::id))
            .select((Team::as_select(), team_members::role))
            .load(self.conn)?)
    }
}
