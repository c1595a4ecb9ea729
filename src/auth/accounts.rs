//! OAuth identities and the credential (password) account: [`AccountRepo`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::password::PasswordHasher;
use crate::error::{Error, Result};
use crate::schema::{accounts, users};
use crate::users::User;
use crate::validate;

/// The provider name of password accounts.
pub const CREDENTIAL_PROVIDER: &str = "credential";

/// A linked sign-in method. The password hash of a credential account is
/// never loaded into this struct.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// `github`, `google`, ... or `credential`.
    pub provider: String,
    /// The user's id at the provider.
    pub provider_account_id: String,
    /// Provider access token (needed to call the provider's API).
    pub access_token: Option<String>,
    /// Provider refresh token.
    pub refresh_token: Option<String>,
    /// OpenID Connect id token.
    pub id_token: Option<String>,
    /// Token type, e.g. `bearer`.
    pub token_type: Option<String>,
    /// When the access token expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Granted scopes.
    pub scope: Option<String>,
    /// Linked at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An OAuth identity to link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewOAuthAccount<'a> {
    /// Provider name: lower-case letters, digits, `_`, `-` (not `credential`).
    pub provider: &'a str,
    /// The user's id at the provider.
    pub provider_account_id: &'a str,
    /// Access token.
    pub access_token: Option<&'a str>,
    /// Refresh token.
    pub refresh_token: Option<&'a str>,
    /// Id token.
    pub id_token: Option<&'a str>,
    /// Token type.
    pub token_type: Option<&'a str>,
    /// Access token expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Scopes.
    pub scope: Option<&'a str>,
}

impl NewOAuthAccount<'_> {
    fn validate(&self) -> Result<()> {
        validate::text("provider", self.provider, 1, 50)?;
        if self.provider == CREDENTIAL_PROVIDER
            || !self
                .provider
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(Error::invalid(
                "provider",
                "must be lower-case letters, digits, '_' or '-', and not 'credential'",
            ));
        }
        validate::text("provider_account_id", self.provider_account_id, 1, 255)?;
        for (field, value) in [
            ("access_token", self.access_token),
            ("refresh_token", self.refresh_token),
            ("id_token", self.id_token),
            ("token_type", self.token_type),
        ] {
            validate::opt_text(field, value, 0, 8192)?;
        }
        validate::opt_text("scope", self.scope, 0, 2000)?;
        Ok(())
    }
}

/// Accounts repository, from `conn.accounts()`.
pub struct AccountRepo<'c> {
    conn: &'c mut PgConnection,
    hasher: PasswordHasher,
}

impl<'c> AccountRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        AccountRepo {
            conn,
            hasher: PasswordHasher::default(),
        }
    }

    /// The same repository hashing with other Argon2 parameters.
    pub fn with_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// Links an OAuth identity to a user.
    ///
    /// # Errors
    /// [`Error::Conflict`] with `accounts_provider_account_key` when that
    /// identity is linked already (to anyone); [`Error::ForeignKey`] with
    /// `accounts_user_id_fkey` for an unknown user; [`Error::Invalid`].
    pub fn link_oauth(&mut self, user_id: Uuid, account: &NewOAuthAccount<'_>) -> Result<Account> {
        account.validate()?;
        Ok(diesel::insert_into(accounts::table)
            .values((
                accounts::id.eq(Uuid::now_v7()),
                accounts::user_id.eq(user_id),
                account,
            ))
            .returning(Account::as_returning())
            .get_result(self.conn)?)
    }

    /// Removes the user's identity at `provider`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none.
    pub fn unlink(&mut self, user_id: Uuid, provider: &str) -> Result<()> {
        let n = diesel::delete(
            accounts::table
                .filter(accounts::user_id.eq(user_id))
                .filter(accounts::provider.eq(provider)),
        )
        .execute(self.conn)?;
        if n == 0 {
            return Err(Error::NotFound { entity: "account" });
        }
        Ok(())
    }

    /// The (visible) user behind a provider identity.
    ///
    /// # Errors
    /// Database errors only.
    pub fn find_user(&mut self, provider: &str, provider_account_id: &str) -> Result<Option<User>> {
        Ok(accounts::table
            .inner_join(users::table)
            .filter(accounts::provider.eq(provider))
            .filter(accounts::provider_account_id.eq(provider_account_id))
            .filter(users::deleted_at.is_null())
            .select(User::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// The user's accounts, oldest first.
    ///
    /// # Errors
    /// Database errors only.
    pub fn list_for_user(&mut self, user_id: Uuid) -> Result<Vec<Account>> {
        Ok(accounts::table
            .filter(accounts::user_id.eq(user_id))
            .order((accounts::created_at, accounts::id))
            .select(Account::as_select())
            .load(self.conn)?)
    }

    /// Sets (or replaces) the user's password: Argon2id, random salt, PHC
    /// string in the credential account. The plaintext is not stored or logged.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a password under 8 characters, over 1,024
    /// bytes or with a NUL; [`Error::ForeignKey`] for an unknown user.
    pub fn set_password(&mut self, user_id: Uuid, password: &str) -> Result<()> {
        let hash = self.hasher.hash(password)?;
        diesel::insert_into(accounts::table)
            .values((
                accounts::id.eq(Uuid::now_v7()),
                accounts::user_id.eq(user_id),
                accounts::provider.eq(CREDENTIAL_PROVIDER),
                accounts::provider_account_id.eq(user_id.to_string()),
                accounts::password_hash.eq(&hash),
            ))
            .on_conflict((accounts::provider, accounts::provider_account_id))
            .do_update()
            .set(accounts::password_hash.eq(&hash))
            .execute(self.conn)?;
        Ok(())
    }

    /// Whether `password` is the user's password. When it is and the stored
    /// hash uses older parameters, the hash is replaced with one made with
    /// the current parameters (only if nobody changed it meanwhile). A user
    /// without a password costs the same time as one with, so timing does
    /// not reveal which users have one.
    ///
    /// # Errors
    /// Database errors only; a wrong password is `Ok(false)`.
    pub fn verify_password(&mut self, user_id: Uuid, password: &str) -> Result<bool> {
        let stored: Option<Option<String>> = accounts::table
            .filter(accounts::provider.eq(CREDENTIAL_PROVIDER))
            .filter(accounts::provider_account_id.eq(user_id.to_string()))
            .select(accounts::password_hash)
            .first(self.conn)
            .optional()?;
        let Some(Some(stored)) = stored else {
            self.hasher.verify_nothing(password);
            return Ok(false);
        };
        let verified = self.hasher.verify(&stored, password);
        if verified.needs_rehash {
            let fresh = self.hasher.hash_unchecked(password)?;
            diesel::update(
                accounts::table
                    .filter(accounts::provider.eq(CREDENTIAL_PROVIDER))
                    .filter(accounts::provider_account_id.eq(user_id.to_string()))
                    .filter(accounts::password_hash.eq(&stored)),
            )
            .set(accounts::password_hash.eq(fresh))
            .execute(self.conn)?;
        }
        Ok(verified.ok)
    }
}
