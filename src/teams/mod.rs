//! Teams (tenants): [`TeamRepo`] from `conn.teams()` for teams, members and
//! invitations, [`ProjectRepo`] from `conn.projects()` for team-scoped data.
//!
//! Every call acts for an [`Actor`] and is checked by [`crate::access`];
//! every change writes its audit entry in the same transaction, so a change
//! that fails leaves no entry and an entry never describes a change that
//! did not happen. Row-Level Security repeats the team rules in PostgreSQL
//! for connections made as a non-owner role (see [`crate::tenancy`]).
//!
//! Membership changes of one team take turns (a transaction-scoped advisory
//! lock on the team), so the "a team keeps at least one owner" rule holds
//! under concurrent demotions and removals. They run at READ COMMITTED (the
//! default) or SERIALIZABLE; inside a REPEATABLE READ transaction, whose
//! snapshot predates the lock, they refuse with [`crate::Error::Invalid`].

mod departure;
mod invitations;
mod members;
mod model;
mod projects;

pub(crate) use departure::release_teams_of;
pub use invitations::INVITATION_TTL_MAX;
pub use model::{Invitation, Member, Membership, Project, Team};
pub use projects::ProjectRepo;

use diesel::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::access::{self, Action, Actor, Resource};
use crate::audit::{change, AuditEntry, AuditRepo};
use crate::enums::TeamRole;
use crate::error::{Error, Found, Result};
use crate::schema::{team_members, teams};
use crate::slug::{insert_with_unique_slug, slugify, SlugTable};
use crate::sql::advisory_xact_lock;
use crate::tx::run_transaction;
use crate::validate;

/// Teams repository; see the module docs.
pub struct TeamRepo<'c> {
    conn: &'c mut PgConnection,
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
            let id = Uuid::now_v7();
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
            let team = find(tx, id)?;
            record(
                tx,
                actor,
                "created",
                id,
                json!({ "name": change(Value::Null, name) }),
                None,
            )?;
            Ok(team)
        })
    }

    /// The team.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor is a member (or a site admin);
    /// [`Error::NotFound`].
    pub fn get(&mut self, actor: &Actor, team_id: Uuid) -> Result<Team> {
        authorize(self.conn, actor, Action::Read, team_id)?;
        find(self.conn, team_id)
    }

    /// Deletes the team with its memberships, invitations and projects.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor is an owner (or a site admin);
    /// [`Error::NotFound`].
    pub fn delete(&mut self, actor: &Actor, team_id: Uuid) -> Result<()> {
        run_transaction(self.conn, |tx| {
            lock_team(tx, team_id)?;
            authorize(tx, actor, Action::Delete, team_id)?;
            let team = find(tx, team_id)?;
            diesel::delete(teams::table.find(team_id)).execute(tx)?;
            let changes = json!({ "name": change(&team.name, Value::Null) });
            record(tx, actor, "deleted", team_id, changes, None)
        })
    }
}

/// The team, if the connection may see it.
fn find(conn: &mut PgConnection, team_id: Uuid) -> Result<Team> {
    teams::table
        .find(team_id)
        .select(Team::as_select())
        .first(conn)
        .found("team")
}

/// `user_id`'s role in the team, `None` when not a member.
fn role_of(conn: &mut PgConnection, team_id: Uuid, user_id: Uuid) -> Result<Option<TeamRole>> {
    Ok(team_members::table
        .find((team_id, user_id))
        .select(team_members::role)
        .first(conn)
        .optional()?)
}

/// Checks the access rules for `action` on the team; the actor's role.
fn authorize(
    conn: &mut PgConnection,
    actor: &Actor,
    action: Action,
    team_id: Uuid,
) -> Result<Option<TeamRole>> {
    let membership = role_of(conn, team_id, actor.user_id)?;
    check(actor, action, team_id, membership)?;
    Ok(membership)
}

/// The access rules for `action` on the team, the actor's role known.
fn check(actor: &Actor, action: Action, team_id: Uuid, membership: Option<TeamRole>) -> Result<()> {
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
fn insert_member(
    conn: &mut PgConnection,
    team_id: Uuid,
    user_id: Uuid,
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
fn lock_team(conn: &mut PgConnection, team_id: Uuid) -> Result<()> {
    let isolation = advisory_xact_lock(conn, &format!("saas_db.team.{team_id}"))?;
    if isolation == "repeatable read" {
        return Err(Error::invalid(
            "transaction_isolation",
            "team membership changes need READ COMMITTED or SERIALIZABLE",
        ));
    }
    Ok(())
}

/// The audit entry of a team change, in the caller's transaction.
fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    team_id: Uuid,
    changes: Value,
    member: Option<Uuid>,
) -> Result<()> {
    let mut entry = AuditEntry::new(action, "team", Some(team_id))
        .by(actor.user_id)
        .changes(changes);
    if let Some(user_id) = member {
        entry = entry.metadata(json!({ "user_id": user_id }));
    }
    AuditRepo::new(conn).record(&entry).map(drop)
}
