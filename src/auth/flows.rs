//! The sign-in flows, each one transaction: [`AuthFlows`], from `conn.auth()`.

use std::net::IpAddr;
use std::time::Duration;

use diesel::prelude::*;

use super::accounts::AccountRepo;
use super::password::PasswordHasher;
use super::secret::Token;
use super::sessions::{Session, SessionRepo};
use super::verification_tokens::{VerificationToken, VerificationTokenRepo};
use crate::enums::TokenKind;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::outbox::auth_mail::AuthEmail;
use crate::tx::run_transaction;
use crate::users::{NewUser, User, UserRepo};

/// A new session: the row, its token (to hand to the client once) and the user.
#[derive(Debug)]
pub struct SignedIn {
    /// The session.
    pub session: Session,
    /// Its token.
    pub token: Token,
    /// The user.
    pub user: User,
}

/// Where a new session comes from.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    /// How long the session lives.
    pub ttl: Duration,
    /// Client address.
    pub ip: Option<IpAddr>,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
}

/// The flows. Each runs in one transaction (a savepoint inside an open one):
/// either every step happens or none does.
pub struct AuthFlows<'c> {
    conn: &'c mut PgConnection,
    hasher: PasswordHasher,
}

impl<'c> AuthFlows<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        AuthFlows {
            conn,
            hasher: PasswordHasher::default(),
        }
    }

    /// The same flows hashing and verifying passwords with other Argon2
    /// parameters (use the hasher given to
    /// [`AccountRepo::with_hasher`](super::AccountRepo::with_hasher)), also
    /// for the stand-in verification of unknown users, so their sign-in
    /// costs what a known user's does.
    pub fn with_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// Confirms an email address: redeems an email-verification token and
    /// marks the user's email verified.
    ///
    /// # Errors
    /// [`Error::InvalidToken`]; also when the user's email changed since the
    /// token was issued (it confirms the old address, not the new one).
    pub fn confirm_email(&mut self, token: &str) -> Result<User> {
        run_transaction(self.conn, |tx| {
            let redeemed =
                VerificationTokenRepo::new(tx).consume(TokenKind::EmailVerification, token)?;
            let user = owner(tx, &redeemed)?;
            UserRepo::new(tx).verify_email(user.id)
        })
    }

    /// Resets a password: redeems a password-reset token, sets the new
    /// password, and revokes every session of the user.
    ///
    /// # Errors
    /// [`Error::InvalidToken`], also when the user's email changed since the
    /// token was issued; [`Error::Invalid`] for a bad new password (then the
    /// token is not used up).
    pub fn reset_password(&mut self, token: &str, new_password: &str) -> Result<User> {
        let hasher = &self.hasher;
        run_transaction(self.conn, |tx| {
            let redeemed =
                VerificationTokenRepo::new(tx).consume(TokenKind::PasswordReset, token)?;
            let user = owner(tx, &redeemed)?;
            AccountRepo::new(tx)
                .with_hasher(hasher.clone())
                .set_password(user.id, new_password)?;
            SessionRepo::new(tx).revoke_all_for_user(user.id, None)?;
            Ok(user)
        })
    }

    /// Signs in with a magic link: redeems the token and starts a session.
    ///
    /// # Errors
    /// [`Error::InvalidToken`], also when the user's email changed since the
    /// token was issued; [`Error::Forbidden`] for a banned user.
    pub fn sign_in_with_magic_link(&mut self, token: &str, client: Client<'_>) -> Result<SignedIn> {
        run_transaction(self.conn, |tx| {
            let redeemed = VerificationTokenRepo::new(tx).consume(TokenKind::MagicLink, token)?;
            let user = owner(tx, &redeemed)?;
            start_session(tx, user, client)
        })
    }

    /// Signs a user up: creates the user and, in the same transaction,
    /// enqueues the address-verification email on the outbox
    /// ([`AuthEmail`], topic `auth.email`), so the email is sent if and
    /// only if the user exists. The token is issued when it is sent.
    ///
    /// # Errors
    /// As [`UserRepo::create`].
    pub fn sign_up(&mut self, new: &NewUser<'_>) -> Result<User> {
        run_transaction(self.conn, |tx| {
            let user = UserRepo::new(tx).create(new)?;
            AuthEmail::for_user(TokenKind::EmailVerification, &user).enqueue(tx)?;
            Ok(user)
        })
    }

    /// Changes a user's address (see [`UserRepo::change_email`]) and
    /// enqueues the verification email to the new one, in one transaction.
    ///
    /// # Errors
    /// As [`UserRepo::change_email`].
    pub fn change_email(
        &mut self,
        user_id: UserId,
        expected_version: i32,
        email: &str,
    ) -> Result<User> {
        run_transaction(self.conn, |tx| {
            let user = UserRepo::new(tx).change_email(user_id, expected_version, email)?;
            AuthEmail::for_user(TokenKind::EmailVerification, &user).enqueue(tx)?;
            Ok(user)
        })
    }

    /// Asks for an email with a token of `kind` (a password reset, a magic
    /// link, a new verification link) for `email`. One message is enqueued
    /// on the outbox whether or not an account has that address (for an
    /// unknown address it names the nil user id, and the sender's
    /// [`AuthEmail::issue_token`] issues nothing; a banned user likewise
    /// gets nothing when it is sent), so neither the answer (`Ok(())`
    /// either way) nor the time taken says which addresses have accounts.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a malformed email; database errors.
    pub fn request_email(&mut self, kind: TokenKind, email: &str) -> Result<()> {
        let email = crate::validate::email("email", email)?;
        run_transaction(self.conn, |tx| {
            let user_id = UserRepo::new(tx)
                .find_by_email(&email)?
                .map_or(UserId(uuid::Uuid::nil()), |user| user.id);
            let message = AuthEmail {
                kind,
                user_id,
                email: email.clone(),
            };
            message.enqueue(tx)?;
            Ok(())
        })
    }

    /// Signs in with email and password. `Ok(None)` for an unknown email,
    /// a wrong password or a deleted user, all taking the same time.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a banned user with the right password.
    pub fn sign_in_with_password(
        &mut self,
        email: &str,
        password: &str,
        client: Client<'_>,
    ) -> Result<Option<SignedIn>> {
        let hasher = &self.hasher;
        run_transaction(self.conn, |tx| {
            let user = UserRepo::new(tx).find_by_email(email)?;
            let accounts = |tx| AccountRepo::new(tx).with_hasher(hasher.clone());
            let Some(user) = user else {
                // Spend the hashing time anyway: no account enumeration by timing.
                accounts(tx).verify_password(UserId(uuid::Uuid::nil()), password)?;
                return Ok(None);
            };
            if !accounts(tx).verify_password(user.id, password)? {
                return Ok(None);
            }
            start_session(tx, user, client).map(Some)
        })
    }
}

/// The user a redeemed token belongs to: its user id, else its email.
/// The token proves control of the address it was sent to, so it is
/// refused once the user's address is another: a reset or magic link
/// mailed to an address the user has since changed away from (or issued
/// by an outbox sender racing the change) does not open the account.
fn owner(conn: &mut PgConnection, token: &VerificationToken) -> Result<User> {
    let mut users = UserRepo::new(conn);
    let user = match token.user_id {
        Some(id) => users.find(id)?,
        None => users.find_by_email(&token.email)?,
    };
    user.filter(|user| user.email == token.email)
        .ok_or(Error::InvalidToken)
}

fn start_session(conn: &mut PgConnection, user: User, client: Client<'_>) -> Result<SignedIn> {
    let (session, token) =
        SessionRepo::new(conn).create(user.id, client.ttl, client.ip, client.user_agent)?;
    UserRepo::new(conn).record_login(user.id)?;
    Ok(SignedIn {
        session,
        token,
        user,
    })
}
