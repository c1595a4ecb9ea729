//! The users table's hot writes as fixed-text statements that Diesel
//! prepares once per connection (`crate::prepared`).

use crate::prepared::Statement;
use crate::tx::versioned_update_sql;

/// The columns of [`User`](super::User), the RETURNING list of the users
/// statements: named, never `*`, so a column a host adds to the table does
/// not change a prepared statement's result type (see `crate::prepared`).
macro_rules! user_columns {
    () => {
        "id, email, name, username, avatar_url, role, email_verified_at, is_active, banned_at,
         ban_reason, ban_expires_at, locale, timezone, onboarding_complete, last_login_at,
         deleted_at, version, created_at, updated_at"
    };
}

/// [`UserRepo::update`]: every field of [`UserChanges`] in one fixed
/// shape (see `tx::update_versioned`).
pub(super) struct UpdateUser;

impl Statement for UpdateUser {
    const SQL: &'static str = versioned_update_sql!(
        "users",
        "name = COALESCE($1, name),
               username = CASE WHEN $2 THEN $3 ELSE username END,
               avatar_url = CASE WHEN $4 THEN $5 ELSE avatar_url END,
               locale = COALESCE($6, locale),
               timezone = COALESCE($7, timezone),
               onboarding_complete = COALESCE($8, onboarding_complete),
               is_active = COALESCE($9, is_active),
               updated_at = now()",
        "id = $10 AND version = $11 AND deleted_at IS NULL",
        user_columns!(),
        "id = $12 AND deleted_at IS NULL"
    );
}

/// [`UserRepo::change_email`]: a new, unverified address.
pub(super) struct ChangeEmail;

impl Statement for ChangeEmail {
    const SQL: &'static str = versioned_update_sql!(
        "users",
        "email = $1, email_skeleton = $2, email_verified_at = NULL",
        "id = $3 AND version = $4 AND deleted_at IS NULL",
        user_columns!(),
        "id = $5 AND deleted_at IS NULL"
    );
}

/// [`UserRepo::record_login`].
pub(super) struct RecordLogin;

impl Statement for RecordLogin {
    const SQL: &'static str =
        "UPDATE users SET last_login_at = now() WHERE id = $1 AND deleted_at IS NULL";
}

/// [`UserRepo::verify_email`]: keeps the first verification time.
pub(super) struct VerifyEmail;

impl Statement for VerifyEmail {
    const SQL: &'static str = concat!(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now())
          WHERE id = $1 AND deleted_at IS NULL RETURNING ",
        user_columns!()
    );
}

/// [`UserRepo::set_role`].
pub(super) struct SetRole;

impl Statement for SetRole {
    const SQL: &'static str = concat!(
        "UPDATE users SET role = $1 WHERE id = $2 AND deleted_at IS NULL RETURNING ",
        user_columns!()
    );
}

/// [`UserRepo::ban`]: `banned_at` now, the expiry and reason as given.
pub(super) struct Ban;

impl Statement for Ban {
    const SQL: &'static str = concat!(
        "UPDATE users SET banned_at = now(), ban_expires_at = $1, ban_reason = $2
          WHERE id = $3 AND deleted_at IS NULL RETURNING ",
        user_columns!()
    );
}

/// [`UserRepo::unban`].
pub(super) struct Unban;

impl Statement for Unban {
    const SQL: &'static str = concat!(
        "UPDATE users SET banned_at = NULL, ban_expires_at = NULL, ban_reason = NULL
          WHERE id = $1 AND deleted_at IS NULL RETURNING ",
        user_columns!()
    );
}

/// [`UserRepo::soft_delete`].
pub(super) struct SoftDelete;

impl Statement for SoftDelete {
    const SQL: &'static str = concat!(
        "UPDATE users SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING ",
        user_columns!()
    );
}

/// [`UserRepo::restore`]: only a soft-deleted user.
pub(super) struct Restore;

impl Statement for Restore {
    const SQL: &'static str = concat!(
        "UPDATE users SET deleted_at = NULL WHERE id = $1 AND deleted_at IS NOT NULL RETURNING ",
        user_columns!()
    );
}
