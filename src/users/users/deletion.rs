//! A user's end: soft delete (hidden, rows kept), restore, and hard
//! delete (gone for good, with the teams only they belonged to).

use diesel::prelude::*;
use diesel::sql_types::Uuid;

use super::statements::{Restore, SoftDelete};
use super::{change, User, UserRepo};
use crate::access::Actor;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::prepared::Prepared;
use crate::schema::users;
use crate::tx::run_transaction;

impl UserRepo<'_> {
    /// Soft-deletes the user: hidden from get, find, list and count; its
    /// rows elsewhere stay. Undo with [`UserRepo::restore`]. Done on
    /// `actor`'s behalf and audited as `deleted`.
    ///
    /// # Errors
    /// [`Error::NotFound`] if missing or already deleted.
    pub fn soft_delete(&mut self, actor: &Actor, id: UserId) -> Result<User> {
        self.audited(actor, "deleted", id, |conn| {
            change(
                conn,
                Prepared::<SoftDelete>::new().bind::<Uuid, _>(id),
                "user",
            )
        })
    }

    /// Brings back a soft-deleted user.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the user does not exist or is not deleted.
    pub fn restore(&mut self, id: UserId) -> Result<User> {
        let restore = Prepared::<Restore>::new().bind::<Uuid, _>(id);
        change(self.conn, restore, "deleted user")
    }

    /// Deletes the row for good, also a soft-deleted one (this is how a
    /// soft-deleted user is purged, e.g. at the end of a retention period).
    /// Profiles, accounts, sessions, tokens, posts
    /// and memberships cascade; subscriptions and payments refuse (financial
    /// rows are never cascaded away), so such a user can only be soft-deleted.
    /// The teams the user is the only member of are deleted too; a team
    /// whose only owner the user is, with other members, blocks the delete
    /// (see [`crate::teams`]: a team never loses its last owner).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::ForeignKey`] naming the refusing
    /// constraint, e.g. `payments_user_id_fkey`; [`Error::Invalid`] with
    /// field `user_id`, naming the team, when the user is its last owner.
    pub fn hard_delete(&mut self, id: UserId) -> Result<()> {
        run_transaction(self.conn, |tx| {
            crate::teams::release_teams_of(tx, id)?;
            let n = diesel::delete(users::table.filter(users::id.eq(id))).execute(tx)?;
            if n == 0 {
                return Err(Error::NotFound { entity: "user" });
            }
            Ok(())
        })
    }
}
