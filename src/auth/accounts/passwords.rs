//! The credential (password) account of the `accounts` table: setting,
//! verifying and rehashing a user's password, and the one-query lookup of a
//! password sign-in. The OAuth side is in `account.rs`.

use diesel::prelude::*;

use super::account::{AccountRepo, CREDENTIAL_PROVIDER};
use crate::error::Result;
use crate::ids::{AccountId, UserId};
use crate::schema::{accounts, users};
use crate::users::User;

impl AccountRepo<'_> {
    /// Sets (or replaces) the user's password: Argon2id, random salt, PHC
    /// string in the credential account. The plaintext is not stored or logged.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for a password under 8 characters, over 1,024
    /// bytes or with a NUL; [`Error::ForeignKey`](crate::Error::ForeignKey) for an unknown user.
    pub fn set_password(&mut self, user_id: UserId, password: &str) -> Result<()> {
        let hash = self.hasher.hash(password)?;
        self.store_password_hash(user_id, &hash)
    }

    /// Stores a hash made by [`PasswordHasher::hash`] as the user's
    /// password (for flows that hash before their transaction).
    pub(crate) fn store_password_hash(&mut self, user_id: UserId, hash: &str) -> Result<()> {
        diesel::insert_into(accounts::table)
            .values((
                accounts::id.eq(AccountId::now_v7()),
                accounts::user_id.eq(user_id),
                accounts::provider.eq(CREDENTIAL_PROVIDER),
                accounts::provider_account_id.eq(user_id.to_string()),
                accounts::password_hash.eq(hash),
            ))
            .on_conflict((accounts::provider, accounts::provider_account_id))
            .do_update()
            .set(accounts::password_hash.eq(hash))
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
    pub fn verify_password(&mut self, user_id: UserId, password: &str) -> Result<bool> {
        let stored: Option<Option<String>> = credential_of(user_id)
            .select(accounts::password_hash)
            .first(self.conn)
            .optional()?;
        self.check_password(user_id, stored.flatten(), password)
    }

    /// The visible user with this email (as
    /// [`crate::users::UserRepo::find_by_email`]) and their stored password
    /// hash, if any, in one query: a password sign-in's lookup.
    ///
    /// # Errors
    /// As [`crate::users::UserRepo::find_by_email`].
    pub(crate) fn user_with_password_hash(
        &mut self,
        email: &str,
    ) -> Result<Option<(User, Option<String>)>> {
        let Some(address) = crate::users::stored_email(email)? else {
            return Ok(None);
        };
        // The credential account's key is the user id as text (see
        // `store_password_hash`); a literal cast, no value in the SQL.
        let credential =
            accounts::provider
                .eq(CREDENTIAL_PROVIDER)
                .and(accounts::provider_account_id.eq(
                    diesel::dsl::sql::<diesel::sql_types::Text>("\"users\".\"id\"::text"),
                ));
        Ok(users::table
            .left_join(accounts::table.on(credential))
            .filter(users::email.eq(address))
            .filter(crate::users::visible(false))
            .select((User::as_select(), accounts::password_hash.nullable()))
            .first(self.conn)
            .optional()?)
    }

    /// [`AccountRepo::verify_password`] against a hash already read
    /// (`None`: no password, which costs the same time).
    ///
    /// # Errors
    /// Database errors of the rehash only.
    pub(crate) fn check_password(
        &mut self,
        user_id: UserId,
        stored: Option<String>,
        password: &str,
    ) -> Result<bool> {
        let Some(stored) = stored else {
            self.hasher.verify_nothing(password);
            return Ok(false);
        };
        let verified = self.hasher.verify(&stored, password);
        if verified.needs_rehash {
            let fresh = self.hasher.hash_unchecked(password)?;
            diesel::update(credential_of(user_id).filter(accounts::password_hash.eq(&stored)))
                .set(accounts::password_hash.eq(fresh))
                .execute(self.conn)?;
        }
        Ok(verified.ok)
    }
}

/// The user's credential account: its key is the user id as text (see
/// [`AccountRepo::store_password_hash`]).
#[diesel::dsl::auto_type]
fn credential_of(user_id: UserId) -> _ {
    let provider: &'static str = CREDENTIAL_PROVIDER;
    let key: String = user_id.to_string();
    accounts::table
        .filter(accounts::provider.eq(provider))
        .filter(accounts::provider_account_id.eq(key))
}
