//! Secret tokens: 256 random bits, handed out once, stored as SHA-256.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A secret token (session, verification or invitation), returned exactly
/// once when it is created. Only its SHA-256 is stored, so it cannot be
/// recovered later. `Debug` never shows it; use [`Token::as_str`] to send it
/// to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A fresh token: 32 bytes from a cryptographically secure generator
    /// (the thread-local ChaCha generator seeded by the OS), base64url
    /// without padding (43 characters), and its SHA-256.
    pub(crate) fn generate() -> (Token, [u8; 32]) {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = Token(URL_SAFE_NO_PAD.encode(bytes));
        let hash = hash(token.as_str());
        (token, hash)
    }

    /// The token text to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Token").field(&Redacted).finish()
    }
}

/// Stands in for a secret in `Debug` output: prints `<redacted>`.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// SHA-256 of a presented token. A fast hash is right here (unlike for
/// passwords): the token has 256 bits of entropy, so there is nothing to
/// brute-force, and lookups by hash are an index probe.
pub(crate) fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
