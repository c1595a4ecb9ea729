//! The `projects` table: [`Project`] and [`ProjectRepo`], from
//! `conn.projects()`: team-scoped data. The access
//! rules say who may do what; Row-Level Security keeps one team's projects
//! out of another team's queries, also hand-written ones.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{self, Integer, Text};
use serde::{Deserialize, Serialize};

use super::teams::authorize;
use crate::access::{Action, Actor};
use crate::audit::{audited_in, AuditEntry};
use crate::error::{Error, Result};
use crate::ids::{ProjectId, TeamId, UserId};
use crate::prepared::{Prepared, Statement};
use crate::schema::projects;
use crate::tx::run_transaction;
use crate::tx::{update_versioned, versioned_update_sql};
use crate::validate;

/// The columns of [`Project`], the RETURNING list of its statements: named,
/// never `*`, so a column a host adds to the table does not change a
/// prepared statement's result type (see `crate::prepared`).
macro_rules! project_columns {
    () => {
        "id, team_id, name, created_by, version, created_at, updated_at"
    };
}

/// [`ProjectRepo::rename`] (see [`crate::tx::update_versioned`]); Row-Level
/// Security decides which rows the update and the version lookup see.
struct RenameProject;

impl Statement for RenameProject {
    const SQL: &'static str = versioned_update_sql!(
        "projects",
        "name = $1",
        "id = $2 AND version = $3",
        project_columns!(),
        "id = $4"
    );
}

/// A project: data that belongs to a team, isolated per team by
/// Row-Level Security.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable, Serialize, Deserialize,
)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub struct Project {
    /// Id.
    pub id: ProjectId,
    /// Owning team.
    pub team_id: TeamId,
    /// Name.
    pub name: String,
    /// Creator.
    pub created_by: Option<UserId>,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Projects repository.
pub struct ProjectRepo<'c> {
    conn: &'c mut PgConnection,
}

impl<'c> ProjectRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        ProjectRepo { conn }
    }

    /// Creates a project in the team.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor is a team owner or admin (or a
    /// site admin); [`Error::Invalid`] for a bad name.
    pub fn create(&mut self, actor: &Actor, team_id: TeamId, name: &str) -> Result<Project> {
        let name = validate::text("name", name.trim(), 1, 100)?;
        run_transaction(self.conn, |tx| {
            authorize(tx, actor, Action::Update, team_id)?;
            let id = ProjectId::now_v7();
            let entry = project_entry("created", actor, id, team_id);
            audited_in(
                tx,
                entry,
                |_| Ok(None::<Project>),
                |c| {
                    diesel::insert_into(projects::table)
                        .values((
                            projects::id.eq(id),
                            projects::team_id.eq(team_id),
                            projects::name.eq(name),
                            projects::created_by.eq(actor.user_id),
                        ))
                        .returning(Project::as_returning())
                        .get_result(c)
                        .map_err(Error::from)
                },
            )
        })
    }

    /// The team's projects, oldest first.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor is a member (or a site admin).
    pub fn list(&mut self, actor: &Actor, team_id: TeamId) -> Result<Vec<Project>> {
        authorize(self.conn, actor, Action::Read, team_id)?;
        Ok(projects::table
            .filter(projects::team_id.eq(team_id))
            .order((projects::created_at, projects::id))
            .select(Project::as_select())
            .load(self.conn)?)
    }

    /// The project.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Forbidden`] unless the actor is a
    /// member of its team (or a site admin).
    pub fn get(&mut self, actor: &Actor, id: ProjectId) -> Result<Project> {
        let project = find(self.conn, id)?;
        authorize(self.conn, actor, Action::Read, project.team_id)?;
        Ok(project)
    }

    /// Renames the project, if it is still at `expected_version`; bumps
    /// the version.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad name; [`Error::NotFound`] when the
    /// actor cannot see it; [`Error::Forbidden`] unless the actor is a team
    /// owner or admin (or a site admin); [`Error::Stale`] when it changed
    /// since `expected_version`.
    pub fn rename(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        expected_version: i32,
        name: &str,
    ) -> Result<Project> {
        let name = validate::text("name", name.trim(), 1, 100)?;
        run_transaction(self.conn, |tx| {
            let before = editable(tx, actor, id)?;
            let entry = project_entry("updated", actor, id, before.team_id);
            audited_in(
                tx,
                entry,
                |_| Ok(before),
                |c| {
                    update_versioned(
                        c,
                        Prepared::<RenameProject>::new()
                            .bind::<Text, _>(name)
                            .bind::<sql_types::Uuid, _>(id)
                            .bind::<Integer, _>(expected_version)
                            .bind::<sql_types::Uuid, _>(id),
                        ("project", id, expected_version),
                        projects::table.find(id).select(projects::version),
                    )
                },
            )
        })
    }

    /// Deletes the project.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the actor cannot see it;
    /// [`Error::Forbidden`] unless the actor is a team owner or admin (or a
    /// site admin).
    pub fn delete(&mut self, actor: &Actor, id: ProjectId) -> Result<()> {
        run_transaction(self.conn, |tx| {
            let project = editable(tx, actor, id)?;
            let entry = project_entry("deleted", actor, id, project.team_id);
            audited_in(
                tx,
                entry,
                |_| Ok(project),
                |c| {
                    let deleted = diesel::delete(projects::table.find(id)).execute(c)?;
                    if deleted == 0 {
                        return Err(Error::NotFound { entity: "project" });
                    }
                    Ok(())
                },
            )
        })
    }
}

/// The project, if the actor may change it.
fn editable(conn: &mut PgConnection, actor: &Actor, id: ProjectId) -> Result<Project> {
    let project = find(conn, id)?;
    authorize(conn, actor, Action::Update, project.team_id)?;
    Ok(project)
}

/// The audit entry of a project change, by the actor, naming the team.
fn project_entry<'a>(
    action: &'a str,
    actor: &Actor,
    id: ProjectId,
    team_id: TeamId,
) -> AuditEntry<'a> {
    AuditEntry::new(action, "project", Some(id.into()))
        .by(actor.user_id)
        .about("team_id", team_id)
}

/// The project, if the connection may see it.
fn find(conn: &mut PgConnection, id: ProjectId) -> Result<Project> {
    crate::sql::one(conn, projects::table.find(id), "project")
}
