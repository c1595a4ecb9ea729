//! Team-scoped data: [`ProjectRepo`], from `conn.projects()`. The access
//! rules say who may do what; Row-Level Security keeps one team's projects
//! out of another team's queries, also hand-written ones.

use diesel::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

use super::authorize;
use super::model::Project;
use crate::access::{Action, Actor};
use crate::audit::{change, AuditEntry, AuditRepo};
use crate::error::{Error, Found, Result};
use crate::schema::projects;
use crate::tx::optimistic::versioned;
use crate::tx::run_transaction;
use crate::validate;

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
    pub fn create(&mut self, actor: &Actor, team_id: Uuid, name: &str) -> Result<Project> {
        let name = validate::text("name", name.trim(), 1, 100)?;
        run_transaction(self.conn, |tx| {
            authorize(tx, actor, Action::Update, team_id)?;
            let project: Project = diesel::insert_into(projects::table)
                .values((
                    projects::id.eq(Uuid::now_v7()),
                    projects::team_id.eq(team_id),
                    projects::name.eq(name),
                    projects::created_by.eq(actor.user_id),
                ))
                .returning(Project::as_returning())
                .get_result(tx)?;
            let entry = AuditEntry::created("project", project.id)
                .by(actor.user_id)
                .changes(json!({ "name": change(Value::Null, name) }))
                .metadata(json!({ "team_id": team_id }));
            AuditRepo::new(tx).record(&entry)?;
            Ok(project)
        })
    }

    /// The team's projects, oldest first.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor is a member (or a site admin).
    pub fn list(&mut self, actor: &Actor, team_id: Uuid) -> Result<Vec<Project>> {
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
    pub fn get(&mut self, actor: &Actor, id: Uuid) -> Result<Project> {
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
        id: Uuid,
        expected_version: i32,
        name: &str,
    ) -> Result<Project> {
        let name = validate::text("name", name.trim(), 1, 100)?;
        run_transaction(self.conn, |tx| {
            let before = find(tx, id)?;
            authorize(tx, actor, Action::Update, before.team_id)?;
            let updated = diesel::update(
                projects::table
                    .filter(projects::id.eq(id))
                    .filter(projects::version.eq(expected_version)),
            )
            .set(projects::name.eq(name))
            .returning(Project::as_returning())
            .get_result(tx)
            .optional()?;
            let project = versioned(updated, "project", id, expected_version, || {
                projects::table
                    .find(id)
                    .select(projects::version)
                    .first(tx)
                    .optional()
            })?;
            let entry = AuditEntry::new("updated", "project", Some(id))
                .by(actor.user_id)
                .changes(json!({ "name": change(&before.name, name) }))
                .metadata(json!({ "team_id": project.team_id }));
            AuditRepo::new(tx).record(&entry)?;
            Ok(project)
        })
    }

    /// Deletes the project.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the actor cannot see it;
    /// [`Error::Forbidden`] unless the actor is a team owner or admin (or a
    /// site admin).
    pub fn delete(&mut self, actor: &Actor, id: Uuid) -> Result<()> {
        run_transaction(self.conn, |tx| {
            let project = find(tx, id)?;
            authorize(tx, actor, Action::Update, project.team_id)?;
            let deleted = diesel::delete(projects::table.find(id)).execute(tx)?;
            if deleted == 0 {
                return Err(Error::NotFound { entity: "project" });
            }
            let entry = AuditEntry::new("deleted", "project", Some(id))
                .by(actor.user_id)
                .changes(json!({ "name": change(&project.name, Value::Null) }))
                .metadata(json!({ "team_id": project.team_id }));
            AuditRepo::new(tx).record(&entry)?;
            Ok(())
        })
    }
}

/// The project, if the connection may see it.
fn find(conn: &mut PgConnection, id: Uuid) -> Result<Project> {
    projects::table
        .find(id)
        .select(Project::as_select())
        .first(conn)
        .found("project")
}
