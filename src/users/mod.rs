//! Users and their profiles: [`UserRepo`], reached with `conn.users()`.

mod bulk;
mod locks;
mod model;
mod overview;
mod profiles;
mod transfer;

pub use bulk::{BatchFailure, BatchReport};
pub use model::{
    NewUser, ProfileChanges, User, UserChanges, UserProfile, DEFAULT_LOCALE, DEFAULT_TIMEZONE,
    NAME_MAX,
};
pub use overview::{UserOverview, OVERVIEW_POSTS};
pub use transfer::{TransferOptions, TransferReport};

use chrono::{DateTime, Utc};
use diesel::dsl::{now, AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use uuid::Uuid;

use crate::access::Actor;
use crate::audit;
use crate::enums::UserRole;
use crate::error::{Error, Found, Result};
use crate::identity;
use crate::pagination::{self, Keyset, Listing, Order, Page, PageRequest};
use crate::schema::users;
use crate::sql::{coalesce, lower};
use crate::tx::{bump_update, versioned_update};
use crate::validate;

type UserQuery<'a> = users::BoxedQuery<'a, Pg, SqlTypeOf<AsSelect<User, Pg>>>;

/// Users repository: a thin view over a connection. Get one with
/// [`crate::Repos::users`]; it works the same on a pooled connection, a plain
/// one, and inside a transaction.
///
/// Soft-deleted users (and their profiles) are invisible to every call
/// unless the repository was obtained with [`UserRepo::including_deleted`];
/// [`UserRepo::restore`] and [`UserRepo::hard_delete`] act on them, since
/// that is what they are for.
pub struct UserRepo<'c> {
    conn: &'c mut PgConnection,
    include_deleted: bool,
    actor: Option<Uuid>,
}

/// One unconditional, version-bumping change to a visible user.
macro_rules! change {
    ($conn:expr, $id:expr, $set:expr) => {
        bump_update!($conn,
            table: users,
            target: users::table.filter(users::deleted_at.is_null()),
            entity: "user",
            id: $id,
            set: $set,
            returning: User,
        )
    };
}

// After `change!`, which it uses.
mod deletion;

/// The first visible user matching `filter`, as a statically typed query:
/// Diesel caches its prepared statement by type, without rebuilding the SQL
/// text as it must for boxed queries (measurable on primary-key lookups).
macro_rules! first_visible {
    ($repo:ident, $filter:expr) => {{
        let query = users::table.filter($filter).select(User::as_select());
        if $repo.include_deleted {
            query.first($repo.conn)
        } else {
            query.filter(users::deleted_at.is_null()).first($repo.conn)
        }
        .optional()?
    }};
}

impl<'c> UserRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        UserRepo {
            conn,
            include_deleted: false,
            actor: None,
        }
    }

    /// The same repository, acting for `actor`: role changes, bans, unbans
    /// and deletions then write an audit entry (`role_changed`, `banned`,
    /// ...) with the changed fields, in the same transaction as the change.
    pub fn acting(mut self, actor: &Actor) -> Self {
        self.actor = Some(actor.user_id);
        self
    }

    /// Applies a change to a user; audited when an actor is set.
    fn audited(
        &mut self,
        action: &str,
        id: Uuid,
        apply: impl FnOnce(&mut PgConnection) -> Result<User>,
    ) -> Result<User> {
        let Some(actor) = self.actor else {
            return apply(self.conn);
        };
        let entry = audit::AuditEntry::new(action, "user", Some(id)).by(actor);
        audit::audited(self.conn, entry, |c| UserRepo::new(c).lock(id), apply)
    }

    /// The same repository, but soft-deleted users are visible to get, find,
    /// list and count, and their profiles to the profile calls.
    pub fn including_deleted(mut self) -> Self {
        self.include_deleted = true;
        self
    }

    fn visible(&self) -> UserQuery<'static> {
        let query = users::table.select(User::as_select()).into_boxed();
        if self.include_deleted {
            query
        } else {
            query.filter(users::deleted_at.is_null())
        }
    }

    /// Creates a user. The email and username are normalised (see
    /// [`crate::identity`]: NFKC, lower case, the email's domain in ASCII).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field for bad input (NUL byte, too long,
    /// malformed email or username, scripts mixed within one part of the
    /// email); [`Error::Conflict`] with `users_email_key` or
    /// `users_username_lower_key` when taken, `users_email_skeleton_key`
    /// when a look-alike of the email is.
    pub fn create(&mut self, new: &NewUser<'_>) -> Result<User> {
        let mut identity = None;
        let row = new.to_row(&mut identity)?;
        Ok(diesel::insert_into(users::table)
            .values(&row)
            .returning(User::as_returning())
            .get_result(self.conn)?)
    }

    /// The user with this id.
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is none (or it is soft-deleted).
    pub fn get(&mut self, id: Uuid) -> Result<User> {
        self.find(id).found("user")
    }

    /// The user with this id, if any.
    ///
    /// # Errors
    /// Database errors only; a missing user is `Ok(None)`.
    pub fn find(&mut self, id: Uuid) -> Result<Option<User>> {
        Ok(first_visible!(self, users::id.eq(id)))
    }

    /// The user with this email, normalised as when it was stored (so case,
    /// NFKC variants and the Unicode or ASCII form of the domain do not
    /// matter; this is an index lookup). `None` for a malformed address.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an email containing a NUL byte or over 254 characters.
    pub fn find_by_email(&mut self, email: &str) -> Result<Option<User>> {
        validate::text("email", email, 0, validate::EMAIL_MAX)?;
        let Ok(email) = identity::email("email", email) else {
            return Ok(None);
        };
        Ok(first_visible!(self, users::email.eq(email.address)))
    }

    /// The user with this username, compared case-insensitively after NFKC.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a username containing a NUL byte or over 40 characters.
    pub fn find_by_username(&mut self, username: &str) -> Result<Option<User>> {
        validate::text("username", username, 0, identity::USERNAME_MAX)?;
        let key = identity::username_key("username", username)?;
        Ok(first_visible!(self, lower(users::username).eq(key)))
    }

    /// Applies `changes` if the user is still at `expected_version`, in one
    /// statement, and returns the updated user (version + 1).
    ///
    /// # Errors
    /// [`Error::Stale`] if another writer changed the user first,
    /// [`Error::NotFound`] if it does not exist, [`Error::Invalid`] for bad
    /// input, [`Error::Conflict`] for a taken username.
    pub fn update(
        &mut self,
        id: Uuid,
        expected_version: i32,
        changes: &UserChanges<'_>,
    ) -> Result<User> {
        let mut username = None;
        let changes = changes.checked(&mut username)?;
        versioned_update!(self.conn,
            table: users,
            target: users::table.filter(users::deleted_at.is_null()),
            entity: "user",
            id: id,
            expected: expected_version,
            set: &changes,
            returning: User,
        )
    }

    /// Changes the email address (normalised) if the user is still at
    /// `expected_version`; the new address is unverified.
    ///
    /// # Errors
    /// As [`UserRepo::update`]; [`Error::Conflict`] with `users_email_key`,
    /// or `users_email_skeleton_key` when a look-alike is taken.
    pub fn change_email(&mut self, id: Uuid, expected_version: i32, email: &str) -> Result<User> {
        let email = identity::email("email", email)?;
        versioned_update!(self.conn,
            table: users,
            target: users::table.filter(users::deleted_at.is_null()),
            entity: "user",
            id: id,
            expected: expected_version,
            set: (
                users::email.eq(&email.address),
                users::email_skeleton.eq(email.skeleton.as_deref()),
                users::email_verified_at.eq(None::<DateTime<Utc>>),
            ),
            returning: User,
        )
    }

    /// Marks the email address as verified (keeps the first verification
    /// time if it already was).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn verify_email(&mut self, id: Uuid) -> Result<User> {
        change!(
            self.conn,
            id,
            users::email_verified_at.eq(coalesce(users::email_verified_at, now))
        )
    }

    /// Sets the global role.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn set_role(&mut self, id: Uuid, role: UserRole) -> Result<User> {
        self.audited("role_changed", id, |conn| {
            change!(conn, id, users::role.eq(role))
        })
    }

    /// Bans the user until `until` (`None`: permanently), with an optional reason.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an `until` in the past or after 9999 ([`validate::timestamp`]) or a bad reason,
    /// [`Error::NotFound`].
    pub fn ban(
        &mut self,
        id: Uuid,
        until: Option<DateTime<Utc>>,
        reason: Option<&str>,
    ) -> Result<User> {
        validate::opt_text("ban_reason", reason, 1, 1000)?;
        if until.is_some_and(|t| t <= Utc::now()) {
            return Err(Error::invalid("until", "must be in the future"));
        }
        let until = until.map(|t| validate::timestamp("until", t)).transpose()?;
        self.audited("banned", id, |conn| {
            change!(
                conn,
                id,
                (
                    users::banned_at.eq(now),
                    users::ban_expires_at.eq(until),
                    users::ban_reason.eq(reason),
                )
            )
        })
    }

    /// Lifts a ban.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn unban(&mut self, id: Uuid) -> Result<User> {
        self.audited("unbanned", id, |conn| {
            change!(
                conn,
                id,
                (
                    users::banned_at.eq(None::<DateTime<Utc>>),
                    users::ban_expires_at.eq(None::<DateTime<Utc>>),
                    users::ban_reason.eq(None::<&str>),
                )
            )
        })
    }

    /// Records a successful sign-in (`last_login_at = now()`). Not a change
    /// of the user's data, so the version stays.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn record_login(&mut self, id: Uuid) -> Result<()> {
        let n = diesel::update(
            users::table
                .filter(users::id.eq(id))
                .filter(users::deleted_at.is_null()),
        )
        .set(users::last_login_at.eq(now))
        .execute(self.conn)?;
        if n == 0 {
            return Err(Error::NotFound { entity: "user" });
        }
        Ok(())
    }

    /// A page of users ordered by `(created_at, id)`, oldest first.
    ///
    /// # Errors
    /// [`Error::InvalidCursor`] for a bad cursor, [`Error::Invalid`] for a
    /// limit outside 1..=1000.
    pub fn list(&mut self, page: PageRequest) -> Result<Page<User>> {
        let query = self.visible();
        self.page(query, Listing::named("users.created_at"), &page)
    }

    /// A page of the users with `role`, ordered like [`UserRepo::list`].
    ///
    /// # Errors
    /// As [`UserRepo::list`].
    pub fn list_by_role(&mut self, role: UserRole, page: PageRequest) -> Result<Page<User>> {
        let query = self.visible().filter(users::role.eq(role));
        // The role by its variant name (`Admin`, `User`).
        let listing = Listing::named("users.by_role.created_at").param(format!("{role:?}"));
        self.page(query, listing, &page)
    }

    fn page(
        &mut self,
        query: UserQuery<'static>,
        listing: Listing,
        page: &PageRequest,
    ) -> Result<Page<User>> {
        // With and without deleted users are different listings.
        let keyset = Keyset {
            listing: listing.param([u8::from(self.include_deleted)]),
            sort: users::created_at,
            id: users::id,
            order: Order::Asc,
        };
        pagination::load_page(
            query,
            keyset,
            page,
            |u: &User| (u.created_at, u.id),
            self.conn,
        )
    }

    /// How many users there are.
    ///
    /// # Errors
    /// Database errors only.
    pub fn count(&mut self) -> Result<i64> {
        Ok(self.visible().count().get_result(self.conn)?)
    }
}

/// Whether a user may sign in now: not soft-deleted, and not banned (or the
/// ban has expired). Shared by session validation and the sign-in flows.
#[diesel::dsl::auto_type]
pub(crate) fn may_sign_in() -> _ {
    users::deleted_at
        .is_null()
        .and(users::banned_at.is_null().or(users::ban_expires_at.le(now)))
}
