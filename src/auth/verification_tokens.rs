//! Single-use verification tokens (email confirmation, password reset,
//! magic link): [`VerificationTokenRepo`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{self, Bytea, Text};
use serde::{Deserialize, Serialize};

use super::secret::{self, Token};
use crate::enums::TokenKind;
use crate::error::{Error, Result};
use crate::ids::{UserId, VerificationTokenId};
use crate::prepared::{Prepared, Statement};
use crate::schema::sql_types::TokenKind as TokenKindSql;
use crate::schema::verification_tokens as vt;
use crate::sql::{advisory_xact_lock, interval, now_tz, purge_in_batches};
use crate::tx::run_transaction;
use crate::validate;

/// An issued token. The token itself was returned once by `issue`.
#[derive(
    Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Serialize, Deserialize,
)]
#[diesel(table_name = vt, check_for_backend(diesel::pg::Pg))]
pub struct VerificationToken {
    /// Id.
    pub id: VerificationTokenId,
    /// What it is for.
    pub kind: TokenKind,
    /// The address it was sent to (normalised).
    pub email: String,
    /// The user it is for, if known when issued.
    pub user_id: Option<UserId>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was redeemed.
    pub used_at: Option<DateTime<Utc>>,
    /// Issued at.
    pub created_at: DateTime<Utc>,
}

/// Verification tokens repository, from `conn.verification_tokens()`.
pub struct VerificationTokenRepo<'c> {
    conn: &'c mut PgConnection,
}

/// [`VerificationTokenRepo::consume`]: marks the token used only if it is
/// of the kind, unused and unexpired (explicit RETURNING list, never `*`).
struct Consume;

impl Statement for Consume {
    const SQL: &'static str = "UPDATE verification_tokens SET used_at = now()
         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > now()
         RETURNING id, kind, email, user_id, expires_at, used_at, created_at";
}

/// [`VerificationTokenRepo::issue`] for a user: expires the user's live
/// tokens of the kind.
struct ExpireUsersTokens;

impl Statement for ExpireUsersTokens {
    const SQL: &'static str = "UPDATE verification_tokens SET expires_at = now()
         WHERE kind = $1 AND used_at IS NULL AND expires_at > now() AND user_id = $2";
}

/// [`VerificationTokenRepo::issue`] without a user: expires the live
/// user-less tokens of the kind for the email.
struct ExpireEmailsTokens;

impl Statement for ExpireEmailsTokens {
    const SQL: &'static str = "UPDATE verification_tokens SET expires_at = now()
         WHERE kind = $1 AND used_at IS NULL AND expires_at > now()
           AND user_id IS NULL AND email = $2";
}

impl<'c> VerificationTokenRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        VerificationTokenRepo { conn }
    }

    /// Issues a token of `kind` for `email` (and `user_id` when known),
    /// valid for `ttl`, and returns it once. Earlier unused tokens of the
    /// same kind for the same user (or, without a user, the same email)
    /// stop working: they are expired, not deleted, so `recent_count` still
    /// sees them. Concurrent issues for the same target are serialised.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a malformed email or a `ttl` outside
    /// [`validate::duration`]'s bounds.
    pub fn issue(
        &mut self,
        kind: TokenKind,
        email: &str,
        user_id: Option<UserId>,
        ttl: Duration,
    ) -> Result<(VerificationToken, Token)> {
        let email = validate::email("email", email)?;
        let ttl = validate::duration("ttl", ttl, validate::DURATION_MAX)?;
        let (token, hash) = Token::generate();
        let issued = run_transaction(self.conn, |tx| {
            let target = match user_id {
                Some(id) => id.to_string(),
                None => email.clone(),
            };
            advisory_xact_lock(tx, &format!("saas_db.token.{kind:?}.{target}"))?;
            match user_id {
                Some(id) => Prepared::<ExpireUsersTokens>::new()
                    .bind::<TokenKindSql, _>(kind)
                    .bind::<sql_types::Uuid, _>(id)
                    .execute(tx)?,
                None => Prepared::<ExpireEmailsTokens>::new()
                    .bind::<TokenKindSql, _>(kind)
                    .bind::<Text, _>(&email)
                    .execute(tx)?,
            };
            Ok(diesel::insert_into(vt::table)
                .values((
                    vt::id.eq(VerificationTokenId::now_v7()),
                    vt::kind.eq(kind),
                    vt::email.eq(&email),
                    vt::user_id.eq(user_id),
                    vt::token_hash.eq(hash.as_slice()),
                    vt::expires_at.eq(now_tz() + interval(ttl)),
                ))
                .returning(VerificationToken::as_returning())
                .get_result(tx)?)
        })?;
        Ok((issued, token))
    }

    /// Redeems a token: one atomic statement that marks it used only if it
    /// is of `kind`, unused and unexpired. Of any number of concurrent
    /// redemptions exactly one succeeds.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for an unknown, expired, used or other-kind token.
    pub fn consume(&mut self, kind: TokenKind, token: &str) -> Result<VerificationToken> {
        if token.len() > 256 {
            return Err(Error::Unauthorized);
        }
        let hash = secret::hash(token);
        Prepared::<Consume>::new()
            .bind::<Bytea, _>(hash.as_slice())
            .bind::<TokenKindSql, _>(kind)
            .get_result(self.conn)
            .optional()?
            .ok_or(Error::Unauthorized)
    }

    /// How many tokens of `kind` were issued to `email` within `window`,
    /// for throttling (say, at most 3 reset emails an hour).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a malformed email or a `window` outside
    /// [`validate::duration`]'s bounds.
    pub fn recent_count(&mut self, email: &str, kind: TokenKind, window: Duration) -> Result<i64> {
        let email = validate::email("email", email)?;
        let window = validate::duration("window", window, validate::DURATION_MAX)?;
        Ok(vt::table
            .filter(vt::email.eq(email))
            .filter(vt::kind.eq(kind))
            .filter(vt::created_at.gt(now_tz() - interval(window)))
            .count()
            .get_result(self.conn)?)
    }

    /// Deletes tokens that expired or were used more than a day ago (the
    /// day keeps them countable by `recent_count`), in batches. Returns how many.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a zero batch.
    pub fn purge_expired(&mut self, batch: i64) -> Result<usize> {
        if batch < 1 {
            return Err(Error::invalid("batch", "must be at least 1"));
        }
        purge_in_batches(
            self.conn,
            "DELETE FROM verification_tokens WHERE id IN (
                 SELECT id FROM verification_tokens
                  WHERE least(expires_at, coalesce(used_at, expires_at)) < now() - interval '1 day'
                  LIMIT $1 FOR UPDATE SKIP LOCKED)",
            batch,
        )
    }
}
