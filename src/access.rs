//! Access rules, in one place: may this [`Actor`] do this [`Action`] to this
//! [`Resource`]? A pure function ([`may`]) with no database access, so the
//! whole rule set is one table and is tested as one (see the unit tests).
//! Repositories that act for someone call [`authorize`]; Row-Level
//! Security repeats the team rules inside PostgreSQL (see the README).
//!
//! | actor | own user | other user | team (member) | team (admin) | team (owner) | team (none) |
//! |---|---|---|---|---|---|---|
//! | site admin | all | all | all | all | all | all |
//! | user | read, update, delete | - | read | read, update, manage members | all | - |

use crate::ids::{TeamId, UserId};

use crate::enums::{TeamRole, UserRole};
use crate::error::{Error, Result};

/// Who is acting: a user and their site-wide role. From a loaded user:
/// `Actor::from(&user)` (the conversion lives in [`crate::users`], so this
/// module needs no domain type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The acting user.
    pub user_id: UserId,
    /// Their site-wide role.
    pub role: UserRole,
}

/// What the actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See it.
    Read,
    /// Change it (rename a team, edit a profile).
    Update,
    /// Remove it.
    Delete,
    /// Add, remove and change the roles of a team's members and invite new
    /// ones (short of owners).
    ManageMembers,
    /// Make or unmake owners of a team.
    ManageOwners,
}

/// What the action is done to, with what the rules need to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A user account (and what hangs off it: profile, sessions, ...).
    User {
        /// Which user.
        id: UserId,
    },
    /// A team and its team-scoped data.
    Team {
        /// Which team.
        id: TeamId,
        /// The actor's role in it, `None` when not a member.
        membership: Option<TeamRole>,
    },
}

/// Whether `actor` may do `action` to `resource`.
pub fn may(actor: &Actor, action: Action, resource: &Resource) -> bool {
    if actor.role == UserRole::Admin {
        return true;
    }
    match *resource {
        Resource::User { id } => {
            id == actor.user_id && matches!(action, Action::Read | Action::Update | Action::Delete)
        }
        Resource::Team { membership, .. } => match membership {
            None => false,
            Some(TeamRole::Owner) => true,
            Some(TeamRole::Admin) => {
                matches!(
                    action,
                    Action::Read | Action::Update | Action::ManageMembers
                )
            }
            Some(TeamRole::Member) => action == Action::Read,
        },
    }
}

/// [`may`] as a result.
///
/// # Errors
/// [`Error::Forbidden`] naming the action and resource.
pub fn authorize(actor: &Actor, action: Action, resource: &Resource) -> Result<()> {
    if may(actor, action, resource) {
        return Ok(());
    }
    let what = match resource {
        Resource::User { id } => format!("user {id}"),
        Resource::Team { id, .. } => format!("team {id}"),
    };
    Err(Error::Forbidden {
        reason: format!(
            "{action:?} on {what} is not allowed for user {}",
            actor.user_id
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;
    use Action::*;

    const ALL: [Action; 5] = [Read, Update, Delete, ManageMembers, ManageOwners];

    /// The rule table, row by row: (actor role, resource, allowed actions).
    #[test]
    fn the_rule_table() {
        let me = UserId(Uuid::from_u128(1));
        let other = UserId(Uuid::from_u128(2));
        let team = TeamId(Uuid::from_u128(3));
        let on_team = |membership| Resource::Team {
            id: team,
            membership,
        };
        let rows: Vec<(UserRole, Resource, Vec<Action>)> = vec![
            (UserRole::Admin, Resource::User { id: me }, ALL.to_vec()),
            (UserRole::Admin, Resource::User { id: other }, ALL.to_vec()),
            (UserRole::Admin, on_team(None), ALL.to_vec()),
            (
                UserRole::Admin,
                on_team(Some(TeamRole::Member)),
                ALL.to_vec(),
            ),
            (
                UserRole::User,
                Resource::User { id: me },
                vec![Read, Update, Delete],
            ),
            (UserRole::User, Resource::User { id: other }, vec![]),
            (UserRole::User, on_team(None), vec![]),
            (UserRole::User, on_team(Some(TeamRole::Member)), vec![Read]),
            (
                UserRole::User,
                on_team(Some(TeamRole::Admin)),
                vec![Read, Update, ManageMembers],
            ),
            (UserRole::User, on_team(Some(TeamRole::Owner)), ALL.to_vec()),
        ];
        for (role, resource, allowed) in rows {
            let actor = Actor { user_id: me, role };
            for action in ALL {
                let expected = allowed.contains(&action);
                assert_eq!(
                    may(&actor, action, &resource),
                    expected,
                    "{role:?} {action:?} {resource:?}"
                );
                assert_eq!(authorize(&actor, action, &resource).is_ok(), expected);
            }
        }
    }

    #[test]
    fn refusals_are_forbidden_and_say_what() {
        let actor = Actor {
            user_id: UserId(Uuid::from_u128(1)),
            role: UserRole::User,
        };
        let team = TeamId(Uuid::from_u128(9));
        let refused = authorize(
            &actor,
            Delete,
            &Resource::Team {
                id: team,
                membership: Some(TeamRole::Admin),
            },
        );
        match refused {
            Err(Error::Forbidden { reason }) => {
                assert!(reason.contains("Delete") && reason.contains(&team.to_string()))
            }
            other => panic!("{other:?}"),
        }
    }
}
