//! Auth: accounts, sessions, verification tokens and the sign-up and
//! sign-in flows.
//! Secrets are never stored, a token is redeemed once even under a race (with
//! a control showing the naive redemption that is not), and sessions stop
//! validating the moment their user is banned or deleted.

mod accounts;
mod flows;
mod session_addresses;
mod sessions;
mod sign_up;
mod token_issue_lock;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use crate::support::{client, count_bound, user, Count};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text, Uuid as SqlUuid};
use saas_db::auth::SessionOptions;
use saas_db::auth::{
    ExposeSecret, Keyring, NewOAuthAccount, PasswordHasher, Token, CREDENTIAL_PROVIDER,
    PASSWORD_MAX_BYTES, TOUCH_INTERVAL,
};
use saas_db::enums::TokenKind;
use saas_db::ids::{UserId, VerificationTokenId};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

const HOUR: Duration = Duration::from_secs(3600);
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "tr0ub4dor & 3 more words";
const ALL_KINDS: [TokenKind; 3] = [
    TokenKind::EmailVerification,
    TokenKind::PasswordReset,
    TokenKind::MagicLink,
];

fn session(conn: &mut PgConnection, user: UserId) -> (saas_db::auth::Session, Token) {
    conn.sessions()
        .create(user, SessionOptions::new(HOUR))
        .unwrap()
}

/// Whether `token` validates as a session: `Ok`, or exactly
/// `Err(Error::Unauthorized)` (any other error fails the test).
fn validates(conn: &mut PgConnection, token: &str) -> bool {
    match conn.sessions().validate(token) {
        Ok(_) => true,
        Err(Error::Unauthorized) => false,
        Err(e) => panic!("validate gave {e:?}"),
    }
}

/// Runs `sql` with `$1` bound to `id`; the number of rows affected.
fn exec(conn: &mut PgConnection, sql: &str, id: impl Into<Uuid>) -> usize {
    let id: Uuid = id.into();
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(conn)
        .unwrap()
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    ok: bool,
}

fn token_unused(conn: &mut PgConnection, token_id: VerificationTokenId) -> bool {
    diesel::sql_query("SELECT used_at IS NULL AS ok FROM verification_tokens WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(token_id)
        .get_result::<Flag>(conn)
        .unwrap()
        .ok
}

#[derive(QueryableByName)]
struct StoredHash {
    #[diesel(sql_type = Nullable<Text>)]
    password_hash: Option<String>,
}

fn stored_password_hash(conn: &mut PgConnection) -> String {
    diesel::sql_query("SELECT password_hash FROM accounts WHERE provider = 'credential'")
        .get_result::<StoredHash>(conn)
        .unwrap()
        .password_hash
        .expect("credential account has a hash")
}

fn assert_about(actual: DateTime<Utc>, expected: DateTime<Utc>) {
    let off = (actual - expected).num_milliseconds().abs();
    assert!(off < 5_000, "{actual} is not about {expected}");
}
