//! The `accounts` table: [`Account`] and [`AccountRepo`], from
//! `conn.accounts()` (`account.rs`), the password credential
//! (`passwords.rs`), and the encryption of the OAuth provider tokens it
//! stores (`oauth_tokens.rs`).

mod account;
mod oauth_tokens;
mod passwords;

pub use account::{Account, AccountRepo, NewOAuthAccount, CREDENTIAL_PROVIDER};
