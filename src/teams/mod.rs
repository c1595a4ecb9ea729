//! Teams (tenants): [`TeamRepo`] from `conn.teams()` for teams, members and
//! invitations, [`ProjectRepo`] from `conn.projects()` for team-scoped data.
//!
//! Every call acts for an [`Actor`](crate::access::Actor) and is checked by [`crate::access`];
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

mod projects;
mod team_invitations;
mod team_members;
// Named for its table, as every table's file is (the layout rule).
#[allow(clippy::module_inception)]
mod teams;

pub use projects::{Project, ProjectRepo};
pub use team_invitations::{Invitation, INVITATION_TTL_MAX};
pub use team_members::{Member, Membership};
pub(crate) use teams::release_teams_of;
pub use teams::{Team, TeamRepo};
