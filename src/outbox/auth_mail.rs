//! The crate's own outbox messages: the emails of the sign-in flows
//! (verify an address, reset a password, a magic link) on topic
//! [`AUTH_EMAIL_TOPIC`].
//!
//! The message carries the token's kind, the user's id and the address it
//! goes to, never the token: [`AuthEmail::issue_token`] issues a fresh one
//! when the email is sent (expiring any earlier one of the same kind), so
//! the plaintext token exists only in the sender's memory, and a retried
//! delivery sends a new token that replaces the old. A message that no
//! longer applies (the user is gone, banned, changed address, or already
//! verified it) issues nothing: acknowledge it without sending.

use std::time::Duration;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::outbox_messages::{Claimed, Enqueued, OutboxRepo};
use crate::auth::{Token, VerificationToken, VerificationTokenRepo};
use crate::enums::TokenKind;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::users::{User, UserRepo};

/// The topic of the sign-in flows' emails.
pub const AUTH_EMAIL_TOPIC: &str = "auth.email";

/// An email a sign-in flow asked for: what the sender needs to issue the
/// token and address the email, and nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthEmail {
    /// What the emailed token will be for.
    pub kind: TokenKind,
    /// The user.
    pub user_id: UserId,
    /// The address to send to (the user's address when it was enqueued).
    pub email: String,
}

impl AuthEmail {
    /// The email of `user` for a token of `kind`.
    pub fn for_user(kind: TokenKind, user: &User) -> Self {
        AuthEmail {
            kind,
            user_id: user.id,
            email: user.email.clone(),
        }
    }

    /// Enqueues this email on `conn` (in its transaction).
    ///
    /// # Errors
    /// As [`OutboxRepo::enqueue`].
    pub fn enqueue(&self, conn: &mut PgConnection) -> Result<Enqueued> {
        let payload =
            serde_json::to_value(self).map_err(|e| Error::invalid("payload", e.to_string()))?;
        OutboxRepo::new(conn).enqueue(AUTH_EMAIL_TOPIC, &payload, None)
    }

    /// The email a claimed message of [`AUTH_EMAIL_TOPIC`] asks for.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `payload` when the message is of another
    /// topic or not such an email (dead-letter it: it will never send).
    pub fn from_claimed(claimed: &Claimed) -> Result<Self> {
        if claimed.topic != AUTH_EMAIL_TOPIC {
            return Err(Error::invalid("payload", "not an auth.email message"));
        }
        AuthEmail::deserialize(&claimed.payload)
            .map_err(|e| Error::invalid("payload", e.to_string()))
    }

    /// Issues the token to send, valid for `ttl`, if the email still
    /// applies: the user exists (not deleted; a request for an unknown
    /// address names the nil id), is not banned, still has this address, and
    /// (for an address verification) has not verified it yet. `None`: send
    /// nothing and ack the message.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a `ttl` outside the bounds of
    /// [`VerificationTokenRepo::issue`]; database errors.
    pub fn issue_token(
        &self,
        conn: &mut PgConnection,
        ttl: Duration,
    ) -> Result<Option<(VerificationToken, Token)>> {
        let Some(user) = UserRepo::new(conn).find(self.user_id)? else {
            return Ok(None);
        };
        let stale = user.email != self.email
            || user.is_banned_at(chrono::Utc::now())
            || (self.kind == TokenKind::EmailVerification && user.email_verified_at.is_some());
        if stale {
            return Ok(None);
        }
        VerificationTokenRepo::new(conn)
            .issue(self.kind, &self.email, Some(self.user_id), ttl)
            .map(Some)
    }
}
