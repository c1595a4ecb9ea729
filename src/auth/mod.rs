//! Accounts, sessions and verification tokens, built so that secrets are
//! never stored:
//!
//! - session, verification and (later) invitation tokens are 256 random
//!   bits, handed to the caller once as a [`Token`]; the database keeps only
//!   their SHA-256. A fast hash is right for them: with 256 bits of entropy
//!   there is nothing to guess, and a lookup is one index probe;
//! - passwords are hashed with Argon2id ([`PasswordHasher`], OWASP
//!   parameters by default), deliberately slow because people choose
//!   guessable passwords; hashes carry their parameters and are upgraded on
//!   the next successful verification;
//! - OAuth provider tokens, which the app must read back, are encrypted with
//!   XChaCha20-Poly1305 under keys the host provides ([`Keyring`]), bound
//!   to their row and column, and decrypted only on request;
//! - redeeming a token is one conditional UPDATE, so a token works once even
//!   under concurrent redemption; sessions stop validating the moment the
//!   user is banned or deleted, because validation joins the user.
//!
//! Failing to authenticate has one answer everywhere:
//! `Err(`[`Error::Unauthorized`](crate::Error::Unauthorized)`)`, never
//! `Ok(None)`. That covers a wrong password or unknown email
//! ([`AuthFlows::sign_in_with_password`], same time for both), a session
//! token that is unknown, expired or revoked or whose user is banned or
//! deleted ([`SessionRepo::validate`]), and a one-time token that is
//! unknown, expired, used or of another kind (`confirm_email`,
//! `reset_password`, `sign_in_with_magic_link`,
//! [`VerificationTokenRepo::consume`], `teams().accept` of an invitation). A
//! banned user who gives the right password is `Error::Forbidden`.

mod accounts;
mod flows;
mod password;
pub(crate) mod secret;
mod sessions;
mod verification_tokens;

pub use crate::keyring::Keyring;
pub use accounts::{Account, AccountRepo, NewOAuthAccount, CREDENTIAL_PROVIDER};
#[allow(deprecated)]
pub use flows::Client;
pub use flows::{AuthFlows, SessionOptions, SignedIn};
pub use password::{PasswordHasher, PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS};
/// Decrypted provider tokens come as [`SecretString`] (redacted `Debug`,
/// zeroized on drop); read one with [`ExposeSecret::expose_secret`].
pub use secrecy::{ExposeSecret, SecretString};
pub use secret::Token;
pub use sessions::{Session, SessionRepo, TOUCH_INTERVAL};
pub use verification_tokens::{VerificationToken, VerificationTokenRepo};
