//! Changes done on someone's behalf, always audited: the global role and
//! bans ([`UserRepo::soft_delete`], in `deletion.rs`, is the other one).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid};

use super::statements::{Ban, SetRole, Unban};
use super::{change, User, UserRepo};
use crate::access::Actor;
use crate::audit;
use crate::enums::UserRole;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::prepared::Prepared;
use crate::schema::sql_types::UserRole as RoleSql;
use crate::validate;

impl UserRepo<'_> {
    /// Applies a change to a user on `actor`'s behalf and records `action`
    /// with the changed fields, in the same transaction.
    pub(super) fn audited(
        &mut self,
        actor: &Actor,
        action: &str,
        id: UserId,
        apply: impl FnOnce(&mut PgConnection) -> Result<User>,
    ) -> Result<User> {
        let entry = audit::AuditEntry::new(action, "user", Some(id.into())).by(actor.user_id);
        audit::audited(self.conn, entry, |c| UserRepo::new(c).lock(id), apply)
    }

    /// Sets the global role, on `actor`'s behalf (audited as `role_changed`).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn set_role(&mut self, actor: &Actor, id: UserId, role: UserRole) -> Result<User> {
        self.audited(actor, "role_changed", id, |conn| {
            let set = Prepared::<SetRole>::new()
                .bind::<RoleSql, _>(role)
                .bind::<Uuid, _>(id);
            change(conn, set, "user")
        })
    }

    /// Bans the user until `until` (`None`: permanently), with an optional
    /// reason, on `actor`'s behalf (audited as `banned`).
    ///
    /// # Errors
    /// [`Error::Invalid`] for an `until` in the past or after 9999 ([`validate::timestamp`]) or a bad reason,
    /// [`Error::NotFound`].
    pub fn ban(
        &mut self,
        actor: &Actor,
        id: UserId,
        until: Option<DateTime<Utc>>,
        reason: Option<&str>,
    ) -> Result<User> {
        validate::opt_text("ban_reason", reason, 1, 1000)?;
        if until.is_some_and(|t| t <= Utc::now()) {
            return Err(Error::invalid("until", "must be in the future"));
        }
        let until = until.map(|t| validate::timestamp("until", t)).transpose()?;
        self.audited(actor, "banned", id, |conn| {
            let ban = Prepared::<Ban>::new()
                .bind::<Nullable<Timestamptz>, _>(until)
                .bind::<Nullable<Text>, _>(reason)
                .bind::<Uuid, _>(id);
            change(conn, ban, "user")
        })
    }

    /// Lifts a ban, on `actor`'s behalf (audited as `unbanned`; lifting no
    /// ban changes nothing and records nothing).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn unban(&mut self, actor: &Actor, id: UserId) -> Result<User> {
        self.audited(actor, "unbanned", id, |conn| {
            change(conn, Prepared::<Unban>::new().bind::<Uuid, _>(id), "user")
        })
    }
}
