//! The sign-up and sign-in flows, each one transaction: [`AuthFlows`],
//! from `conn.auth()`.
//!
//! Every failure to authenticate is the same `Err(Error::Unauthorized)`:
//! a wrong password or unknown email here, a bad session token in
//! [`SessionRepo::validate`], a bad one-time token in the token flows. No
//! call answers `Ok(None)` for it.

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

/// The session a sign-in starts: how long it lives, and the client's
/// address and user agent, kept on the [`Session`] row.
///
/// ```
/// # use std::time::Duration;
/// # use saas_db::auth::SessionOptions;
/// let ip = "2001:db8::1".parse().unwrap();
/// let options = SessionOptions::new(Duration::from_secs(30 * 86_400))
///     .ip(ip)
///     .user_agent("Mozilla/5.0");
/// assert_eq!(options.ip, Some(ip));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions<'a> {
    /// How long the session lives (slid forward by
    /// [`SessionRepo::touch`](super::SessionRepo::touch)).
    pub ttl: Duration,
    /// The client's address, stored as `inet` and read back as this same
    /// [`IpAddr`] in [`Session::ip_address`].
    pub ip: Option<IpAddr>,
    /// The client's user agent (at most 1,024 bytes).
    pub user_agent: Option<&'a str>,
}

impl<'a> SessionOptions<'a> {
    /// A session living `ttl`, with no address or user agent recorded.
    pub fn new(ttl: Duration) -> Self {
        SessionOptions {
            ttl,
            ip: None,
            user_agent: None,
        }
    }

    /// The client's address.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// The client's user agent.
    pub fn user_agent(mut self, user_agent: &'a str) -> Self {
        self.user_agent = Some(user_agent);
        self
    }
}

/// The old name of [`SessionOptions`] (it never described a client: it
/// holds the new session's ttl besides the client's address and agent).
#[deprecated(note = "renamed `SessionOptions`")]
pub type Client<'a> = SessionOptions<'a>;

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
    /// [`Error::Unauthorized`] for an unknown, expired, used or other-kind
    /// token, and when the user's email changed since the token was issued
    /// (it confirms the old address, not the new one).
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
    /// [`Error::Unauthorized`] for an unknown, expired, used or other-kind
    /// token, and when the user's email changed since the token was issued;
    /// [`Error::Invalid`] for a bad new password (then the token is not
    /// used up).
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
    /// [`Error::Unauthorized`] for an unknown, expired, used or other-kind
    /// token, and when the user's email changed since the token was issued;
    /// [`Error::Forbidden`] for a banned user; [`Error::Invalid`] for a bad
    /// [`SessionOptions`] (then the token is not used up).
    pub fn sign_in_with_magic_link(
        &mut self,
        token: &str,
        options: SessionOptions<'_>,
    ) -> Result<SignedIn> {
        run_transaction(self.conn, |tx| {
            let redeemed = VerificationTokenRepo::new(tx).consume(TokenKind::MagicLink, token)?;
            let user = owner(tx, &redeemed)?;
            start_session(tx, user, options)
        })
    }

    /// Signs a user up with a password, in one transaction: creates the
    /// user, stores the password (Argon2id, as
    /// [`AccountRepo::set_password`], with this flow's hasher) in its
    /// credential account, and enqueues the address-verification email on
    /// the outbox ([`AuthEmail`], topic `auth.email`; the token is issued
    /// when it is sent). Either all three happen or none: a refused
    /// password or a taken email leaves no user, no account and no email.
    /// The password is checked and hashed before the transaction starts,
    /// so the slow hash holds no lock.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `password` (under 8 characters, over
    /// 1,024 bytes, a NUL), before anything reaches the database; otherwise
    /// as [`UserRepo::create`] ([`Error::Conflict`] with `users_email_key`
    /// for a taken address, [`Error::Invalid`] naming the bad field).
    pub fn sign_up(&mut self, new: &NewUser<'_>, password: &str) -> Result<User> {
        let hash = self.hasher.hash(password)?;
        run_transaction(self.conn, |tx| {
            let user = UserRepo::new(tx).create(new)?;
            AccountRepo::new(tx).store_password_hash(user.id, &hash)?;
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

    /// Signs in with email and password and starts a session.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for an unknown email, a wrong password, a
    /// user without a password or a deleted user: one answer, and the same
    /// hashing time for each (an unknown user's password is verified
    /// against a stand-in hash), so neither says who has an account.
    /// [`Error::Forbidden`] for a banned user with the right password;
    /// [`Error::Invalid`] for a malformed email or a bad
    /// [`SessionOptions`] (`ttl`, `user_agent`).
    pub fn sign_in_with_password(
        &mut self,
        email: &str,
        password: &str,
        options: SessionOptions<'_>,
    ) -> Result<SignedIn> {
        let hasher = &self.hasher;
        run_transaction(self.conn, |tx| {
            let mut accounts = AccountRepo::new(tx).with_hasher(hasher.clone());
            // The user and the password hash in one query.
            let Some((user, stored)) = accounts.user_with_password_hash(email)? else {
                // Spend the hashing time anyway: no account enumeration by timing.
                accounts.check_password(UserId(uuid::Uuid::nil()), None, password)?;
                return Err(Error::Unauthorized);
            };
            if !accounts.check_password(user.id, stored, password)? {
                return Err(Error::Unauthorized);
            }
            start_session(tx, user, options)
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
        .ok_or(Error::Unauthorized)
}

fn start_session(
    conn: &mut PgConnection,
    user: User,
    options: SessionOptions<'_>,
) -> Result<SignedIn> {
    let (session, token) = SessionRepo::new(conn).create(user.id, options)?;
    UserRepo::new(conn).record_login(user.id)?;
    Ok(SignedIn {
        session,
        token,
        user,
    })
}
