//! Users' profiles: one row per user, hidden with a soft-deleted user.

use diesel::dsl::exists;
use diesel::prelude::*;
use diesel::upsert::excluded;
use uuid::Uuid;

use super::{ProfileChanges, UserProfile, UserRepo};
use crate::error::{Error, Found, Result};
use crate::schema::{user_profiles, users};
use crate::tx::run_transaction;

impl UserRepo<'_> {
    /// The user's profile, if one was created and the user is visible (not
    /// soft-deleted, unless [`UserRepo::including_deleted`]).
    ///
    /// # Errors
    /// Database errors only.
    pub fn find_profile(&mut self, user_id: Uuid) -> Result<Option<UserProfile>> {
        let query = user_profiles::table
            .find(user_id)
            .select(UserProfile::as_select());
        Ok(if self.include_deleted {
            query.first(self.conn)
        } else {
            query
                .filter(exists(
                    users::table
                        .filter(users::id.eq(user_profiles::user_id))
                        .filter(users::deleted_at.is_null()),
                ))
                .first(self.conn)
        }
        .optional()?)
    }

    /// The user's profile.
    ///
    /// # Errors
    /// [`Error::NotFound`] if none was created or the user is soft-deleted
    /// (as for [`UserRepo::find_profile`]).
    pub fn profile(&mut self, user_id: Uuid) -> Result<UserProfile> {
        self.find_profile(user_id).found("profile")
    }

    /// Creates the profile with `changes` (defaults for the rest) or applies
    /// them to the existing one. The user's row is share-locked first, so a
    /// concurrent soft delete waits for the write (or wins, and the write is
    /// refused); a soft-deleted user's profile is not written unless the
    /// repository is [`UserRepo::including_deleted`].
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad input; [`Error::NotFound`] (entity
    /// `"user"`) when the user is soft-deleted; [`Error::ForeignKey`] with
    /// `user_profiles_user_id_fkey` when the user does not exist.
    pub fn upsert_profile(
        &mut self,
        user_id: Uuid,
        changes: &ProfileChanges<'_>,
    ) -> Result<UserProfile> {
        changes.validate()?;
        let include_deleted = self.include_deleted;
        run_transaction(self.conn, |tx| {
            let deleted: Option<Option<chrono::DateTime<chrono::Utc>>> = users::table
                .find(user_id)
                .select(users::deleted_at)
                .for_share()
                .first(tx)
                .optional()?;
            if matches!(deleted, Some(Some(_))) && !include_deleted {
                return Err(Error::NotFound { entity: "user" });
            }
            // A missing user is left to the foreign key, which names itself.
            Ok(diesel::insert_into(user_profiles::table)
                .values((user_profiles::user_id.eq(user_id), changes))
                .on_conflict(user_profiles::user_id)
                .do_update()
                // The self-assignment makes an empty change set valid SQL
                // and still returns the row.
                .set((
                    user_profiles::user_id.eq(excluded(user_profiles::user_id)),
                    changes,
                ))
                .returning(UserProfile::as_returning())
                .get_result(tx)?)
        })
    }
}
