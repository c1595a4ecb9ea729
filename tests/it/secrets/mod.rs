//! Secrets: OAuth provider tokens encrypted at rest (keys, rotation,
//! tampering), redaction in Debug and Serialize, and the systematic secret
//! scan over tables, pg_stat_statements, the server log and every output.

mod keys;
mod oauth_tokens;
mod redaction;
mod scan;
pub(crate) mod scan_sources;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Nullable};
use saas_db::auth::{ExposeSecret, Keyring, NewOAuthAccount, SecretString};
use saas_db::ids::AccountId;
use saas_db::users::{NewUser, User};
use saas_db::Repos;

/// Key material for the tests (never real keys).
pub const KEY_1: [u8; 32] = [0x11; 32];
pub const KEY_2: [u8; 32] = [0x22; 32];

/// Provider tokens shaped like real ones (GitHub, an OIDC JWT).
pub const ACCESS: &str = "gho_16C7e42F292c6912E7710c838347Ae178B4a";
pub const REFRESH: &str = "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246";
pub const ID_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxODE1In0.c2lnbmF0dXJl";

/// A GitHub identity carrying all three tokens.
pub fn github(id: &str) -> NewOAuthAccount<'_> {
    NewOAuthAccount {
        provider: "github".into(),
        provider_account_id: id.into(),
        access_token: Some(ACCESS.into()),
        refresh_token: Some(REFRESH.into()),
        id_token: Some(ID_TOKEN.into()),
        token_type: Some("bearer".into()),
        scope: Some("read:user".into()),
        ..Default::default()
    }
}

/// A ring with key 1 only.
pub fn ring_1() -> Keyring {
    Keyring::new().with_key(1, KEY_1).unwrap()
}

/// A ring with keys 1 and 2 (2 encrypts).
pub fn ring_1_2() -> Keyring {
    ring_1().with_key(2, KEY_2).unwrap()
}

pub fn new_user(conn: &mut PgConnection, email: &str) -> User {
    conn.users()
        .create(&NewUser::new(email, "Secret Keeper"))
        .unwrap()
}

/// The exposed text of a decrypted token.
pub fn plain(secret: Option<SecretString>) -> Option<String> {
    secret.map(|s| s.expose_secret().to_owned())
}

#[derive(QueryableByName, Debug, Clone, PartialEq)]
pub struct SealedColumns {
    #[diesel(sql_type = Nullable<Bytea>)]
    pub access_token_enc: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub refresh_token_enc: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub id_token_enc: Option<Vec<u8>>,
}

/// The stored (encrypted) token columns of an account, read with raw SQL.
pub fn stored(conn: &mut PgConnection, account: AccountId) -> SealedColumns {
    diesel::sql_query(
        "SELECT access_token_enc, refresh_token_enc, id_token_enc FROM accounts WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(account)
    .get_result(conn)
    .unwrap()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Labelled texts that must appear nowhere: each secret's plaintext and
/// the encodings it could be stored or printed in.
#[derive(Debug, Default)]
pub struct Needles(pub Vec<(String, String)>);

impl Needles {
    /// The plaintext, the hex and base64 of its text and its bytes as Rust
    /// `Debug` prints them; for a token (base64url of 32 random bytes) also
    /// the hex, standard base64 and `Debug` of those bytes.
    pub fn add(&mut self, label: &str, secret: &str) {
        let mut push = |form: &str, text: String| {
            self.0.push((format!("{label} ({form})"), text));
        };
        push("plaintext", secret.to_owned());
        push("hex of text", hex(secret.as_bytes()));
        push("base64 of text", STANDARD.encode(secret));
        push("Debug of text bytes", format!("{:?}", secret.as_bytes()));
        if let Ok(raw) = URL_SAFE_NO_PAD.decode(secret) {
            if raw.len() == 32 {
                push("hex of bytes", hex(&raw));
                push("base64 of bytes", STANDARD.encode(&raw));
                push("Debug of bytes", format!("{raw:?}"));
            }
        }
    }

    /// The labels of the needles that occur in `haystack`.
    pub fn found_in(&self, haystack: &str) -> Vec<String> {
        let haystack = haystack.to_lowercase();
        self.0
            .iter()
            .filter(|(_, needle)| haystack.contains(&needle.to_lowercase()))
            .map(|(label, _)| label.clone())
            .collect()
    }
}

/// A random token-like secret for this run, so nothing another test logs
/// can match it by accident.
pub fn random_secret(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{prefix}-{}", URL_SAFE_NO_PAD.encode(bytes))
}
