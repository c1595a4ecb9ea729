//! OAuth identities and the credential (password) account: [`AccountRepo`].

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::oauth_tokens::seal_all;
use crate::auth::password::PasswordHasher;
use crate::auth::secret::Redacted;
use crate::error::{Error, Result};
use crate::ids::{AccountId, UserId};
use crate::keyring::{Keyring, NO_KEYS};
use crate::schema::{accounts, users};
use crate::users::User;
use crate::validate;

/// The provider name of password accounts.
pub const CREDENTIAL_PROVIDER: &str = "credential";

/// A linked sign-in method. The password hash of a credential account is
/// never loaded into this struct. The OAuth provider tokens are loaded
/// encrypted and decrypted only on request, with the [`Keyring`]:
/// [`Account::access_token`], [`Account::refresh_token`],
/// [`Account::id_token`]. `Debug` shows them as `<redacted>` and `Serialize`
/// leaves them out.
#[derive(Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// Owner.
    pub user_id: UserId,
    /// `github`, `google`, ... or `credential`.
    pub provider: String,
    /// The user's id at the provider.
    pub provider_account_id: String,
    #[diesel(column_name = access_token_enc)]
    #[serde(skip)]
    pub(super) access_token: Option<Vec<u8>>,
    #[diesel(column_name = refresh_token_enc)]
    #[serde(skip)]
    pub(super) refresh_token: Option<Vec<u8>>,
    #[diesel(column_name = id_token_enc)]
    #[serde(skip)]
    pub(super) id_token: Option<Vec<u8>>,
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

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("provider", &self.provider)
            .field("provider_account_id", &self.provider_account_id)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| Redacted),
            )
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| Redacted),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| Redacted))
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// An OAuth identity to link. The provider tokens are encrypted before they
/// are sent (see [`AccountRepo::with_keys`]); `Debug` redacts them.
#[derive(Clone, Default, PartialEq, Eq, Insertable, Deserialize)]
#[diesel(table_name = accounts)]
pub struct NewOAuthAccount<'a> {
    /// Provider name: lower-case letters, digits, `_`, `-` (not `credential`).
    pub provider: Cow<'a, str>,
    /// The user's id at the provider.
    pub provider_account_id: Cow<'a, str>,
    /// Access token (stored encrypted).
    #[diesel(skip_insertion)]
    #[serde(default)]
    pub access_token: Option<Cow<'a, str>>,
    /// Refresh token (stored encrypted).
    #[diesel(skip_insertion)]
    #[serde(default)]
    pub refresh_token: Option<Cow<'a, str>>,
    /// OpenID Connect id token (stored encrypted).
    #[diesel(skip_insertion)]
    #[serde(default)]
    pub id_token: Option<Cow<'a, str>>,
    /// Token type.
    #[serde(default)]
    pub token_type: Option<Cow<'a, str>>,
    /// Access token expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Scopes.
    #[serde(default)]
    pub scope: Option<Cow<'a, str>>,
}

impl fmt::Debug for NewOAuthAccount<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewOAuthAccount")
            .field("provider", &self.provider)
            .field("provider_account_id", &self.provider_account_id)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| Redacted),
            )
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| Redacted),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| Redacted))
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

/// A provider name as stored: 1-50 of lower-case letters, digits, `_`, `-`.
/// Lookups check it too, so a NUL or an impossible name is
/// [`Error::Invalid`] rather than a server error.
fn provider_name(provider: &str) -> Result<&str> {
    validate::text("provider", provider, 1, 50)?;
    if !provider
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(Error::invalid(
            "provider",
            "must be lower-case letters, digits, '_' or '-', and not 'credential'",
        ));
    }
    Ok(provider)
}

fn provider_account_id(value: &str) -> Result<&str> {
    validate::text("provider_account_id", value, 1, 255)
}

impl NewOAuthAccount<'_> {
    fn validate(&self) -> Result<()> {
        if provider_name(&self.provider)? == CREDENTIAL_PROVIDER {
            return Err(Error::invalid(
                "provider",
                "must be lower-case letters, digits, '_' or '-', and not 'credential'",
            ));
        }
        provider_account_id(&self.provider_account_id)?;
        for (field, value) in [
            ("access_token", &self.access_token),
            ("refresh_token", &self.refresh_token),
            ("id_token", &self.id_token),
            ("token_type", &self.token_type),
        ] {
            validate::opt_text(field, value.as_deref(), 0, 8192)?;
        }
        validate::opt_text("scope", self.scope.as_deref(), 0, 2000)?;
        Ok(())
    }

    /// The provider tokens: access, refresh, id.
    pub(super) fn tokens(&self) -> [Option<&str>; 3] {
        [
            self.access_token.as_deref(),
            self.refresh_token.as_deref(),
            self.id_token.as_deref(),
        ]
    }
}

/// Accounts repository, from `conn.accounts()`. Storing OAuth provider
/// tokens needs the token keys: `conn.accounts().with_keys(db.token_keys())`.
pub struct AccountRepo<'c> {
    pub(super) conn: &'c mut PgConnection,
    pub(super) hasher: PasswordHasher,
    pub(super) keys: &'c Keyring,
}

impl<'c> AccountRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        AccountRepo {
            conn,
            hasher: PasswordHasher::default(),
            keys: &NO_KEYS,
        }
    }

    /// The same repository encrypting provider tokens with `keys` (usually
    /// [`Database::token_keys`](crate::Database::token_keys)). Without keys,
    /// linking an account with tokens is refused.
    pub fn with_keys(mut self, keys: &'c Keyring) -> Self {
        self.keys = keys;
        self
    }

    /// The same repository hashing with other Argon2 parameters.
    pub fn with_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// Links an OAuth identity to a user. Its provider tokens are encrypted
    /// with the repository's current key, bound to the new row.
    ///
    /// # Errors
    /// [`Error::NotAvailable`] when the account carries a token and the
    /// repository has no key ([`AccountRepo::with_keys`]): tokens are never
    /// stored in plaintext. [`Error::Conflict`] with
    /// `accounts_provider_account_key` when that identity is linked already
    /// (to anyone); [`Error::ForeignKey`] with `accounts_user_id_fkey` for an
    /// unknown user; [`Error::Invalid`].
    pub fn link_oauth(
        &mut self,
        user_id: UserId,
        account: &NewOAuthAccount<'_>,
    ) -> Result<Account> {
        account.validate()?;
        let id = AccountId::now_v7();
        let [access, refresh, id_token] = seal_all(self.keys, id, account.tokens())?;
        Ok(diesel::insert_into(accounts::table)
            .values((
                accounts::id.eq(id),
                accounts::user_id.eq(user_id),
                account,
                accounts::access_token_enc.eq(access),
                accounts::refresh_token_enc.eq(refresh),
                accounts::id_token_enc.eq(id_token),
            ))
            .returning(Account::as_returning())
            .get_result(self.conn)?)
    }

    /// Removes the user's identity at `provider`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none; [`Error::Invalid`] for a
    /// provider name that cannot exist (NUL byte, too long, upper case, ...).
    pub fn unlink(&mut self, user_id: UserId, provider: &str) -> Result<()> {
        let provider = provider_name(provider)?;
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
    /// [`Error::Invalid`] for a provider or provider account id that cannot
    /// exist (NUL byte, empty, too long, ...); otherwise database errors only.
    pub fn find_user(&mut self, provider: &str, provider_account_id: &str) -> Result<Option<User>> {
        let provider = provider_name(provider)?;
        let provider_account_id = self::provider_account_id(provider_account_id)?;
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
    pub fn list_for_user(&mut self, user_id: UserId) -> Result<Vec<Account>> {
        Ok(accounts::table
            .filter(accounts::user_id.eq(user_id))
            .order((accounts::created_at, accounts::id))
            .select(Account::as_select())
            .load(self.conn)?)
    }
}
