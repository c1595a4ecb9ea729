//! Rows and inputs of the users domain.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use std::borrow::Cow;

use crate::access::Actor;
use crate::enums::UserRole;
use crate::error::Result;
use crate::identity::{self, Email};
use crate::ids::UserId;
use crate::schema::users;
use crate::validate;

/// Longest display name.
pub const NAME_MAX: usize = 200;
/// The `users.locale` column default (checked against the schema by a test).
pub const DEFAULT_LOCALE: &str = "en";
/// The `users.timezone` column default (checked against the schema by a test).
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// A user account.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, Deserialize)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
#[derive(QueryableByName)]
pub struct User {
    /// UUIDv7 primary key.
    pub id: UserId,
    /// Normalised email address (NFKC, trimmed, lower case, the domain in
    /// ASCII); unique, and so is its look-alike skeleton (see
    /// [`crate::identity`]).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Optional handle (ASCII after NFKC), unique regardless of case.
    pub username: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Global role.
    pub role: UserRole,
    /// When the email address was confirmed.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Host-controlled activation flag.
    pub is_active: bool,
    /// When the user was banned (`None`: not banned).
    pub banned_at: Option<DateTime<Utc>>,
    /// Why.
    pub ban_reason: Option<String>,
    /// When the ban ends (`None` with `banned_at` set: permanent).
    pub ban_expires_at: Option<DateTime<Utc>>,
    /// Language tag, e.g. `en` or `pt-BR`.
    pub locale: String,
    /// IANA time zone name, e.g. `Europe/Paris`.
    pub timezone: String,
    /// Whether onboarding was finished.
    pub onboarding_complete: bool,
    /// Last successful sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Soft-delete mark; such users are hidden unless asked for.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version, bumped by every change made through the repository.
    pub version: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change (maintained by a trigger).
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// Whether a ban is in force at `now`.
    pub fn is_banned_at(&self, now: DateTime<Utc>) -> bool {
        self.banned_at.is_some() && self.ban_expires_at.is_none_or(|until| until > now)
    }
}

/// The user acting, with their site-wide role. Here rather than in
/// [`crate::access`] so that the access rules import no domain module.
impl From<&User> for Actor {
    fn from(user: &User) -> Actor {
        Actor {
            user_id: user.id,
            role: user.role,
        }
    }
}

/// Input for [`crate::users::UserRepo::create`]; validated when created.
/// Its text is `Cow<'a, str>`: borrowed when built from `&str` (building
/// one allocates nothing) or deserialized from text without escapes, owned
/// when a JSON string holds an escape (`\n`, `\"`, `\u00e9`). Build one
/// with [`NewUser::new`] and the setters, or
/// `NewUser { email: "a@example.com".into(), name: "A".into(), ..Default::default() }`.
///
/// It deserializes from a sign-up form or JSON body (`email` and `name`
/// required); `role` is never read from input, it is always
/// [`UserRole::User`] there, so a client cannot sign itself up as an admin
/// (set it with [`NewUser::role`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NewUser<'a> {
    /// Email address; stored normalised (see [`crate::identity`]).
    pub email: Cow<'a, str>,
    /// Display name, 1 to 200 characters.
    pub name: Cow<'a, str>,
    /// Optional handle: 3 to 40 of letters, digits, `_`, `.`, `-` (ASCII
    /// after NFKC, so a fullwidth `ａｌｉｃｅ` is `alice`).
    #[serde(default)]
    pub username: Option<Cow<'a, str>>,
    /// Optional avatar URL (http or https).
    #[serde(default)]
    pub avatar_url: Option<Cow<'a, str>>,
    /// Role (default [`UserRole::User`]; not deserialized).
    #[serde(skip_deserializing, default = "plain_user")]
    pub role: UserRole,
    /// Language tag (default `en`).
    #[serde(default)]
    pub locale: Option<Cow<'a, str>>,
    /// Time zone (default `UTC`).
    #[serde(default)]
    pub timezone: Option<Cow<'a, str>>,
}

/// No email and no name (so a user that forgets them is
/// [`Error::Invalid`](crate::Error::Invalid)), a plain user, the defaults
/// for the rest.
impl Default for NewUser<'_> {
    fn default() -> Self {
        NewUser::new("", "")
    }
}

/// The role of a user signing up (and of a deserialized [`NewUser`]).
fn plain_user() -> UserRole {
    UserRole::User
}

impl<'a> NewUser<'a> {
    /// A user with an email and a name, everything else defaulted.
    pub fn new(email: impl Into<Cow<'a, str>>, name: impl Into<Cow<'a, str>>) -> Self {
        NewUser {
            email: email.into(),
            name: name.into(),
            username: None,
            avatar_url: None,
            role: plain_user(),
            locale: None,
            timezone: None,
        }
    }
    /// Sets the username.
    pub fn username(mut self, username: impl Into<Cow<'a, str>>) -> Self {
        self.username = Some(username.into());
        self
    }
    /// Sets the role.
    pub fn role(mut self, role: UserRole) -> Self {
        self.role = role;
        self
    }
    /// Sets the locale.
    pub fn locale(mut self, locale: impl Into<Cow<'a, str>>) -> Self {
        self.locale = Some(locale.into());
        self
    }
    /// Sets the time zone.
    pub fn timezone(mut self, timezone: impl Into<Cow<'a, str>>) -> Self {
        self.timezone = Some(timezone.into());
        self
    }
    /// Sets the avatar URL.
    pub fn avatar_url(mut self, url: impl Into<Cow<'a, str>>) -> Self {
        self.avatar_url = Some(url.into());
        self
    }

    /// Checks every field; returns the row to insert, with a fresh UUIDv7
    /// and the normalised email and username (held in `identity`).
    pub(crate) fn to_row<'b>(
        &'b self,
        identity: &'b mut Option<Identity<'b>>,
    ) -> Result<UserRow<'b>> {
        let identity: &'b Identity<'b> = identity.insert(Identity {
            email: identity::email("email", &self.email)?,
            username: self
                .username
                .as_deref()
                .map(|u| identity::username("username", u))
                .transpose()?,
        });
        Ok(UserRow {
            id: UserId::now_v7(),
            email: &identity.email.address,
            email_skeleton: identity.email.skeleton.as_deref(),
            name: validate::text("name", &self.name, 1, NAME_MAX)?,
            username: identity.username.as_deref(),
            avatar_url: self
                .avatar_url
                .as_deref()
                .map(|u| validate::url("avatar_url", u))
                .transpose()?,
            role: self.role,
            locale: match self.locale.as_deref() {
                Some(l) => validate::locale("locale", l)?,
                None => DEFAULT_LOCALE,
            },
            timezone: match self.timezone.as_deref() {
                Some(t) => validate::timezone("timezone", t)?,
                None => DEFAULT_TIMEZONE,
            },
        })
    }
}

/// The normalised email and username of a [`NewUser`], which its row borrows.
pub(crate) struct Identity<'a> {
    email: Email,
    username: Option<Cow<'a, str>>,
}

/// The validated row `create` inserts and `import` copies. Every column is
/// explicit (COPY has no per-row DEFAULT), with the table's own defaults for
/// locale and time zone.
#[derive(Debug, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub(crate) struct UserRow<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub email_skeleton: Option<&'a str>,
    pub name: &'a str,
    pub username: Option<&'a str>,
    pub avatar_url: Option<&'a str>,
    pub role: UserRole,
    pub locale: &'a str,
    pub timezone: &'a str,
}

/// Changes for [`crate::users::UserRepo::update`]. `None` leaves a column as
/// it is; for nullable columns `Some(None)` sets it to NULL. Role, ban,
/// email and verification have their own calls.
///
/// It deserializes from a JSON body: a missing field is `None` (kept), and
/// for `username` and `avatar_url` an explicit `null` is `Some(None)`
/// (cleared).
#[derive(Debug, Clone, Default, PartialEq, Eq, AsChangeset, Deserialize)]
#[diesel(table_name = users)]
pub struct UserChanges<'a> {
    /// New display name.
    #[serde(default)]
    pub name: Option<Cow<'a, str>>,
    /// New username (normalised as in [`NewUser::username`]), or
    /// `Some(None)` to clear it.
    #[serde(default, deserialize_with = "crate::serde_support::double_option")]
    pub username: Option<Option<Cow<'a, str>>>,
    /// New avatar URL, or `Some(None)` to clear it.
    #[serde(default, deserialize_with = "crate::serde_support::double_option")]
    pub avatar_url: Option<Option<Cow<'a, str>>>,
    /// New language tag.
    #[serde(default)]
    pub locale: Option<Cow<'a, str>>,
    /// New time zone.
    #[serde(default)]
    pub timezone: Option<Cow<'a, str>>,
    /// Onboarding finished or not.
    pub onboarding_complete: Option<bool>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
}

impl<'a> UserChanges<'a> {
    /// Checks every field; returns the changes as they are written, with the
    /// username normalised (held in `username` when that changed it).
    pub(crate) fn checked<'b>(
        &'b self,
        username: &'b mut Option<String>,
    ) -> Result<UserChanges<'b>> {
        let mut checked: UserChanges<'b> = self.clone();
        if let Some(Some(u)) = &self.username {
            if let Cow::Owned(normalised) = identity::username("username", u)? {
                checked.username = Some(Some(Cow::Borrowed(username.insert(normalised))));
            }
        }
        validate::opt_text("name", self.name.as_deref(), 1, NAME_MAX)?;
        if let Some(Some(u)) = &self.avatar_url {
            validate::url("avatar_url", u)?;
        }
        if let Some(l) = &self.locale {
            validate::locale("locale", l)?;
        }
        if let Some(t) = &self.timezone {
            validate::timezone("timezone", t)?;
        }
        Ok(checked)
    }
}
