//! The `users` table: [`User`], [`NewUser`], [`UserChanges`] and every
//! [`UserRepo`] call on it. Lookups, edits and listings are here; role and
//! bans, bulk writes, deletion and row locks in the files next to it;
//! [`PublicUser`], the view of a user for responses, in `public.rs`; the
//! fixed-text statements of the hot writes in `statements.rs`.

mod bulk;
mod deletion;
mod locks;
mod model;
mod moderation;
mod public;
mod statements;

use statements::{ChangeEmail, RecordLogin, UpdateUser, VerifyEmail};

pub use bulk::{BatchFailure, BatchReport};
pub use model::{NewUser, User, UserChanges, DEFAULT_LOCALE, DEFAULT_TIMEZONE, NAME_MAX};
pub use public::PublicUser;

use diesel::dsl::{now, AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::QueryId;
use diesel::sql_types::{self, Bool, Integer, Nullable, Text};

use crate::enums::UserRole;
use crate::error::{Error, Found, Result};
use crate::identity;
use crate::ids::UserId;
use crate::pagination::{self, Keyset, Listing, Order, Page, PageRequest};
use crate::prepared::Prepared;
use crate::schema::users;
use crate::sql::lower;
use crate::tx::{update_versioned, Versioned};
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
    pub(in crate::users) conn: &'c mut PgConnection,
    pub(in crate::users) include_deleted: bool,
}

/// Users a repository shows: not soft-deleted, or all of them. The flag is
/// a bind parameter, so the lookups built on it stay statically typed
/// queries: Diesel caches their prepared statements by type, without
/// rebuilding the SQL text as it must for boxed queries (measurable on
/// primary-key lookups).
#[diesel::dsl::auto_type]
pub(crate) fn visible(include_deleted: bool) -> _ {
    users::deleted_at
        .is_null()
        .or(include_deleted.into_sql::<Bool>())
}

/// `email` as stored (normalised, see [`UserRepo::find_by_email`]), or
/// `None` for a malformed address, which no user has.
///
/// # Errors
/// [`Error::Invalid`] for an email containing a NUL byte or over 254 characters.
pub(crate) fn stored_email(email: &str) -> Result<Option<String>> {
    validate::text("email", email, 0, validate::EMAIL_MAX)?;
    Ok(identity::email("email", email).ok().map(|e| e.address))
}

/// Whether Diesel can cache `query`'s prepared statement by its type.
fn has_static_query_id<Q: QueryId>(_query: &Q) -> bool {
    Q::HAS_STATIC_QUERY_ID
}

/// The visible user with this id, as the target of the version lookup.
#[diesel::dsl::auto_type]
fn visible_user(id: UserId) -> _ {
    users::table.find(id).filter(users::deleted_at.is_null())
}

/// Runs one of the single-purpose changes in `statements.rs` (fixed text,
/// prepared once per connection), which returns the changed user. The
/// `bump_version` trigger moves its version, so a concurrent optimistic
/// writer notices.
///
/// # Errors
/// [`Error::NotFound`] naming `entity` when no row matched.
pub(super) fn change<'q, Q>(
    conn: &mut PgConnection,
    statement: Q,
    entity: &'static str,
) -> Result<User>
where
    Q: RunQueryDsl<PgConnection> + diesel::query_dsl::LoadQuery<'q, PgConnection, User>,
{
    statement.get_result(conn).found(entity)
}

/// A versioned update of a visible user (see [`update_versioned`]).
fn update_visible_user<'q, U>(
    conn: &mut PgConnection,
    update: U,
    id: UserId,
    expected: i32,
) -> Result<User>
where
    U: RunQueryDsl<PgConnection>
        + QueryId
        + diesel::query_dsl::LoadQuery<'q, PgConnection, Versioned<User>>,
{
    update_versioned(
        conn,
        update,
        ("user", id, expected),
        visible_user(id).select(users::version),
    )
}

impl<'c> UserRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        UserRepo {
            conn,
            include_deleted: false,
        }
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
    pub fn get(&mut self, id: UserId) -> Result<User> {
        self.find(id).found("user")
    }

    /// The user with this id, if any.
    ///
    /// # Errors
    /// Database errors only; a missing user is `Ok(None)`.
    pub fn find(&mut self, id: UserId) -> Result<Option<User>> {
        let query = users::table
            .find(id)
            .filter(visible(self.include_deleted))
            .select(User::as_select());
        // The hottest call: its prepared statement is looked up by type, so
        // the SQL text is never rebuilt (a boxed query would rebuild it).
        // Every test that gets a user checks this in debug builds.
        debug_assert!(has_static_query_id(&query));
        Ok(query.first(self.conn).optional()?)
    }

    /// The user with this email, normalised as when it was stored (so case,
    /// NFKC variants and the Unicode or ASCII form of the domain do not
    /// matter; this is an index lookup). `None` for a malformed address.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an email containing a NUL byte or over 254 characters.
    pub fn find_by_email(&mut self, email: &str) -> Result<Option<User>> {
        let Some(address) = stored_email(email)? else {
            return Ok(None);
        };
        Ok(users::table
            .filter(users::email.eq(address))
            .filter(visible(self.include_deleted))
            .select(User::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// The user with this username, compared case-insensitively after NFKC.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a username containing a NUL byte or over 40 characters.
    pub fn find_by_username(&mut self, username: &str) -> Result<Option<User>> {
        validate::text("username", username, 0, identity::USERNAME_MAX)?;
        let key = identity::username_key("username", username)?;
        Ok(users::table
            .filter(lower(users::username).eq(key))
            .filter(visible(self.include_deleted))
            .select(User::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// Applies `changes` if the user is still at `expected_version`, in one
    /// statement, and returns the updated user (its version one higher).
    ///
    /// # Errors
    /// [`Error::Stale`] if another writer changed the user first,
    /// [`Error::NotFound`] if it does not exist, [`Error::Invalid`] for bad
    /// input, [`Error::Conflict`] for a taken username.
    pub fn update(
        &mut self,
        id: UserId,
        expected_version: i32,
        changes: &UserChanges<'_>,
    ) -> Result<User> {
        let mut username = None;
        let changes = changes.checked(&mut username)?;
        update_visible_user(
            self.conn,
            Prepared::<UpdateUser>::new()
                .bind::<Nullable<Text>, _>(&changes.name)
                .bind::<Bool, _>(changes.username.is_some())
                .bind::<Nullable<Text>, _>(changes.username.as_ref().and_then(Option::as_ref))
                .bind::<Bool, _>(changes.avatar_url.is_some())
                .bind::<Nullable<Text>, _>(changes.avatar_url.as_ref().and_then(Option::as_ref))
                .bind::<Nullable<Text>, _>(&changes.locale)
                .bind::<Nullable<Text>, _>(&changes.timezone)
                .bind::<Nullable<Bool>, _>(changes.onboarding_complete)
                .bind::<Nullable<Bool>, _>(changes.is_active)
                .bind::<sql_types::Uuid, _>(id)
                .bind::<Integer, _>(expected_version)
                .bind::<sql_types::Uuid, _>(id),
            id,
            expected_version,
        )
    }

    /// Changes the email address (normalised) if the user is still at
    /// `expected_version`; the new address is unverified.
    ///
    /// # Errors
    /// As [`UserRepo::update`]; [`Error::Conflict`] with `users_email_key`,
    /// or `users_email_skeleton_key` when a look-alike is taken.
    pub fn change_email(&mut self, id: UserId, expected_version: i32, email: &str) -> Result<User> {
        let email = identity::email("email", email)?;
        update_visible_user(
            self.conn,
            Prepared::<ChangeEmail>::new()
                .bind::<Text, _>(email.address.as_str())
                .bind::<Nullable<Text>, _>(email.skeleton.as_deref())
                .bind::<sql_types::Uuid, _>(id)
                .bind::<Integer, _>(expected_version)
                .bind::<sql_types::Uuid, _>(id),
            id,
            expected_version,
        )
    }

    /// Marks the email address as verified (keeps the first verification
    /// time if it already was).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn verify_email(&mut self, id: UserId) -> Result<User> {
        let verify = Prepared::<VerifyEmail>::new().bind::<sql_types::Uuid, _>(id);
        change(self.conn, verify, "user")
    }

    /// Records a successful sign-in (`last_login_at = now()`). Not a change
    /// of the user's data, so the version stays.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn record_login(&mut self, id: UserId) -> Result<()> {
        let n = Prepared::<RecordLogin>::new()
            .bind::<sql_types::Uuid, _>(id)
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
        pagination::paginate(
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
