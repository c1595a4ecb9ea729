//! OAuth provider tokens at rest: sealed with the [`Keyring`] when an
//! account is linked, opened on request ([`Account::access_token`], ...),
//! and moved to the newest key by [`AccountRepo::reencrypt_tokens`].

use diesel::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::account::{Account, AccountRepo};
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::keyring::{key_id, Binding, Keyring};
use crate::schema::accounts;

/// The encrypted columns of `accounts`, in the order used throughout.
const COLUMNS: [&str; 3] = ["access_token", "refresh_token", "id_token"];

fn binding(row: AccountId, column: &'static str) -> Binding {
    Binding {
        table: "accounts",
        column,
        row: row.into(),
    }
}

/// Seals each present token for row `id`; `None` stays `None` (no key needed).
pub(super) fn seal_all(
    keys: &Keyring,
    id: AccountId,
    tokens: [Option<&str>; 3],
) -> Result<[Option<Vec<u8>>; 3]> {
    let mut sealed: [Option<Vec<u8>>; 3] = Default::default();
    for ((slot, token), column) in sealed.iter_mut().zip(tokens).zip(COLUMNS) {
        *slot = token
            .map(|t| keys.seal(binding(id, column), t))
            .transpose()?;
    }
    Ok(sealed)
}

impl Account {
    /// The provider access token, decrypted with `keys` (any key of the
    /// ring that it was encrypted with). `None` when none is stored.
    ///
    /// # Errors
    /// [`Error::Decrypt`] when its key is not in `keys`, or the stored
    /// value was altered or copied from another row or column.
    pub fn access_token(&self, keys: &Keyring) -> Result<Option<SecretString>> {
        self.open(keys, 0, self.access_token.as_deref())
    }

    /// The provider refresh token; as [`Account::access_token`].
    ///
    /// # Errors
    /// As [`Account::access_token`].
    pub fn refresh_token(&self, keys: &Keyring) -> Result<Option<SecretString>> {
        self.open(keys, 1, self.refresh_token.as_deref())
    }

    /// The OpenID Connect id token; as [`Account::access_token`].
    ///
    /// # Errors
    /// As [`Account::access_token`].
    pub fn id_token(&self, keys: &Keyring) -> Result<Option<SecretString>> {
        self.open(keys, 2, self.id_token.as_deref())
    }

    /// The ids of the keys its stored tokens are encrypted with, ascending
    /// and without repeats (empty when it stores none). After a completed
    /// [`AccountRepo::reencrypt_tokens`] this is the newest key alone.
    pub fn token_key_ids(&self) -> Vec<u16> {
        let mut ids: Vec<u16> = self
            .sealed()
            .into_iter()
            .flatten()
            .filter_map(key_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    fn sealed(&self) -> [Option<&[u8]>; 3] {
        [
            self.access_token.as_deref(),
            self.refresh_token.as_deref(),
            self.id_token.as_deref(),
        ]
    }

    fn open(
        &self,
        keys: &Keyring,
        column: usize,
        sealed: Option<&[u8]>,
    ) -> Result<Option<SecretString>> {
        sealed
            .map(|s| keys.open(binding(self.id, COLUMNS[column]), s))
            .transpose()
    }
}

type SealedRow = (AccountId, Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);

impl AccountRepo<'_> {
    /// Re-encrypts, under the newest key of the repository's keyring, every
    /// account token that was encrypted with an older one, reading `batch`
    /// accounts per query in id order; returns how many accounts were
    /// rewritten. Run it after adding a key and before removing the old
    /// one. Each account is one conditional UPDATE (only if its tokens are
    /// still the ones read), so it is safe while the application writes: a
    /// row written meanwhile already uses the newest key and is left alone.
    /// Not atomic as a whole: interrupted, it can simply be run again.
    ///
    /// # Errors
    /// [`Error::NotAvailable`] without keys; [`Error::Invalid`] for a
    /// `batch` outside 1..=10,000; [`Error::Decrypt`] for a token whose key
    /// is not in the ring (the accounts before it stay re-encrypted).
    pub fn reencrypt_tokens(&mut self, batch: u32) -> Result<u64> {
        if !(1..=10_000).contains(&batch) {
            return Err(Error::invalid("batch", "must be between 1 and 10,000"));
        }
        let newest = self
            .keys
            .current_key_id()
            .ok_or_else(|| Error::NotAvailable("no token encryption key is configured".into()))?;
        let mut after = AccountId(Uuid::nil());
        let mut rewritten = 0;
        loop {
            let rows: Vec<SealedRow> = accounts::table
                .filter(accounts::id.gt(after))
                .filter(
                    accounts::access_token_enc
                        .is_not_null()
                        .or(accounts::refresh_token_enc.is_not_null())
                        .or(accounts::id_token_enc.is_not_null()),
                )
                .order(accounts::id)
                .limit(i64::from(batch))
                .select((
                    accounts::id,
                    accounts::access_token_enc,
                    accounts::refresh_token_enc,
                    accounts::id_token_enc,
                ))
                .load(self.conn)?;
            let Some(last) = rows.last() else {
                return Ok(rewritten);
            };
            after = last.0;
            for row in rows {
                rewritten += self.reencrypt_row(newest, row)?;
            }
        }
    }

    fn reencrypt_row(&mut self, newest: u16, (id, a, r, i): SealedRow) -> Result<u64> {
        let old = [a, r, i];
        if old.iter().flatten().all(|s| key_id(s) == Some(newest)) {
            return Ok(0);
        }
        let mut plain: [Option<SecretString>; 3] = Default::default();
        for ((slot, sealed), column) in plain.iter_mut().zip(&old).zip(COLUMNS) {
            *slot = sealed
                .as_deref()
                .map(|s| self.keys.open(binding(id, column), s))
                .transpose()?;
        }
        let tokens = plain
            .each_ref()
            .map(|t| t.as_ref().map(ExposeSecret::expose_secret));
        let [new_a, new_r, new_i] = seal_all(self.keys, id, tokens)?;
        let [old_a, old_r, old_i] = old;
        let n = diesel::update(
            accounts::table
                .find(id)
                .filter(accounts::access_token_enc.is_not_distinct_from(old_a))
                .filter(accounts::refresh_token_enc.is_not_distinct_from(old_r))
                .filter(accounts::id_token_enc.is_not_distinct_from(old_i)),
        )
        .set((
            accounts::access_token_enc.eq(new_a),
            accounts::refresh_token_enc.eq(new_r),
            accounts::id_token_enc.eq(new_i),
        ))
        .execute(self.conn)?;
        Ok(n as u64)
    }
}
