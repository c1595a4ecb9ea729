//! `user_profiles`: one row per user, hidden with a soft-deleted user. The
//! model and its queries; reached with `conn.users()` ([`UserRepo::find_profile`],
//! [`UserRepo::upsert_profile`]).

use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use diesel::upsert::excluded;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use super::UserRepo;
use crate::enums::Theme;
use crate::error::{Error, Found, Result};
use crate::ids::UserId;
use crate::schema::{user_profiles, users};
use crate::tx::run_transaction;
use crate::validate;

impl UserRepo<'_> {
    /// The user's profile, if one was created and the user is visible (not
    /// soft-deleted, unless [`UserRepo::including_deleted`]).
    ///
    /// # Errors
    /// Database errors only.
    pub fn find_profile(&mut self, user_id: UserId) -> Result<Option<UserProfile>> {
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
    pub fn profile(&mut self, user_id: UserId) -> Result<UserProfile> {
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
        user_id: UserId,
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

/// A user's profile (one per user, created on first upsert).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = user_profiles, check_for_backend(diesel::pg::Pg))]
pub struct UserProfile {
    /// The user (primary key).
    pub user_id: UserId,
    /// Free text about the user.
    pub bio: Option<String>,
    /// Personal website.
    pub website: Option<String>,
    /// Where they are.
    pub location: Option<String>,
    /// Colour scheme.
    pub theme: Theme,
    /// Interface language.
    pub language: String,
    /// Whether to send product emails.
    pub email_notifications: bool,
    /// Whether to send marketing emails.
    pub marketing_emails: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Changes for [`crate::users::UserRepo::upsert_profile`]: on insert, `None`
/// takes the column default; on update, `None` keeps the value. For nullable
/// columns `Some(None)` sets NULL.
///
/// Deserialized, a missing field is `None` and an explicit `null` is
/// `Some(None)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Insertable, AsChangeset, Deserialize)]
#[diesel(table_name = user_profiles)]
pub struct ProfileChanges<'a> {
    /// Bio, up to 2,000 characters.
    #[serde(default, deserialize_with = "crate::serde_support::double_option")]
    pub bio: Option<Option<Cow<'a, str>>>,
    /// Website (http or https).
    #[serde(default, deserialize_with = "crate::serde_support::double_option")]
    pub website: Option<Option<Cow<'a, str>>>,
    /// Location, up to 200 characters.
    #[serde(default, deserialize_with = "crate::serde_support::double_option")]
    pub location: Option<Option<Cow<'a, str>>>,
    /// Colour scheme.
    pub theme: Option<Theme>,
    /// Interface language tag.
    #[serde(default)]
    pub language: Option<Cow<'a, str>>,
    /// Product emails on or off.
    pub email_notifications: Option<bool>,
    /// Marketing emails on or off.
    pub marketing_emails: Option<bool>,
}

impl ProfileChanges<'_> {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::opt_text("bio", validate::new_text(&self.bio), 0, 2000)?;
        if let Some(Some(w)) = &self.website {
            validate::url("website", w)?;
        }
        validate::opt_text("location", validate::new_text(&self.location), 0, 200)?;
        if let Some(l) = &self.language {
            validate::locale("language", l)?;
        }
        Ok(())
    }
}
