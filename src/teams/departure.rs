//! What a user's hard delete does to their teams: a team keeps an owner
//! (the database enforces it at COMMIT, see `teams_keep_an_owner`), and no
//! team is left behind without members.
//!
//! The rule, chosen so that deleting an account never hands a team to
//! nobody and never silently destroys other people's work:
//! - the teams the user is the only member of are deleted with the user
//!   (with their projects and invitations), each with an audit entry;
//! - if the user is the only owner of a team that has other members, the
//!   delete is refused with [`Error::Invalid`] naming that team: hand
//!   ownership to someone ([`super::TeamRepo::change_role`]) or delete the
//!   team first.

use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::audit::{change, AuditEntry, AuditRepo};
use crate::error::{Error, Result};

#[derive(QueryableByName)]
struct TeamRef {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
}

/// Makes way for deleting `user_id` (in the caller's transaction, before
/// the user row goes): refuses when the user is the last owner of a team
/// with other members, then deletes the teams nobody else belongs to.
///
/// # Errors
/// [`Error::Invalid`] with field `user_id`, naming the team.
pub(crate) fn release_teams_of(conn: &mut PgConnection, user_id: Uuid) -> Result<()> {
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
        let entry = AuditEntry::new("deleted", "team", Some(team.id))
            .changes(json!({ "name": change(&team.name, Value::Null) }))
            .metadata(json!({ "reason": "its only member was deleted", "user_id": user_id }));
        AuditRepo::new(conn).record(&entry)?;
    }
    Ok(())
}
