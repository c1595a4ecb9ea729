//! Encryption at rest for the secrets the application must read back (OAuth
//! provider tokens): [`Keyring`], XChaCha20-Poly1305 under keys the host
//! provides.
//!
//! A sealed value is `[format 1][key id, u16 big-endian][24-byte nonce]
//! [ciphertext + 16-byte tag]`. The nonce is random (OsRng); with 192 bits
//! there is no practical chance of a repeat, so no counter has to be kept.
//! The associated data binds the value to its table, column and row id (and
//! to the header), so a ciphertext copied into another row or column does
//! not decrypt.

use std::collections::BTreeMap;
use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::zeroize::Zeroize;
use secrecy::SecretString;
use uuid::Uuid;

use crate::error::{Error, Result};

const FORMAT: u8 = 1;
const HEADER: usize = 3;
const NONCE: usize = 24;
const TAG: usize = 16;
/// Shortest sealed value (an empty plaintext); the database CHECKs it too.
pub(crate) const SEALED_MIN: usize = HEADER + NONCE + TAG;

/// The keys that encrypt OAuth provider tokens at rest, each with an id that
/// is stored with every ciphertext. The key with the highest id encrypts;
/// every key in the ring decrypts. Give it to
/// [`DatabaseBuilder::token_keys`](crate::DatabaseBuilder::token_keys).
///
/// Rotation: add a key with a higher id (new writes use it at once, old
/// rows still decrypt), run
/// [`AccountRepo::reencrypt_tokens`](crate::auth::AccountRepo::reencrypt_tokens)
/// to move the old rows to it, then drop the old key.
///
/// `Debug` shows the key ids only; key material is zeroized on drop.
///
/// ```
/// use saas_db::auth::Keyring;
/// let keys = Keyring::new()
///     .with_key(1, [7; 32])?                                          // the old key, decrypts
///     .with_base64_key(2, "nMGWIlzI7yIBUbQBsnW8fDT9lN5XPCBsVo9nHN34Bcw")?; // encrypts
/// assert_eq!(keys.current_key_id(), Some(2));
/// assert_eq!(format!("{keys:?}"), "Keyring { key_ids: [1, 2], encrypts_with: Some(2) }");
/// # Ok::<(), saas_db::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Keyring {
    keys: BTreeMap<u16, XChaCha20Poly1305>,
}

/// What a sealed value is bound to: its table, column and row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding {
    pub table: &'static str,
    pub column: &'static str,
    pub row: Uuid,
}

impl Binding {
    fn aad(&self, header: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64);
        for part in [b"saas-db", self.table.as_bytes(), self.column.as_bytes()] {
            aad.extend_from_slice(part);
            aad.push(0);
        }
        aad.extend_from_slice(self.row.as_bytes());
        aad.extend_from_slice(header);
        aad
    }
}

/// Key text is accepted with or without `=` padding.
const ANY_PADDING: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const BASE64: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, ANY_PADDING);
const BASE64_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, ANY_PADDING);

/// An empty ring: what a repository uses until it is given one.
pub(crate) static NO_KEYS: Keyring = Keyring {
    keys: BTreeMap::new(),
};

impl Keyring {
    /// An empty keyring: provider tokens can be neither stored nor read.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a 256-bit key under `id`. Generate keys with a CSPRNG (for
    /// example `openssl rand -base64 32`) and keep them outside the database.
    ///
    /// # Errors
    /// [`Error::Invalid`] (field `key_id`) when the ring has a key with this
    /// id already: replacing a key would make its rows unreadable.
    pub fn with_key(mut self, id: u16, mut key: [u8; 32]) -> Result<Self> {
        let cipher = XChaCha20Poly1305::new_from_slice(&key);
        key.zeroize();
        let cipher = cipher.map_err(|_| Error::invalid("key", "must be 32 bytes"))?;
        if self.keys.insert(id, cipher).is_some() {
            return Err(Error::invalid(
                "key_id",
                format!("key {id} is in the keyring already"),
            ));
        }
        Ok(self)
    }

    /// Adds a key given as base64 (standard or URL-safe, padding optional)
    /// of 32 bytes, the form keys take in environment variables and secret
    /// stores.
    ///
    /// # Errors
    /// [`Error::Invalid`] (field `key`) unless it decodes to exactly 32
    /// bytes; as [`Keyring::with_key`] for a duplicate id.
    pub fn with_base64_key(self, id: u16, key: &str) -> Result<Self> {
        let key = key.trim();
        let mut bytes = BASE64
            .decode(key)
            .or_else(|_| BASE64_URL.decode(key))
            .map_err(|_| Error::invalid("key", "is not base64"))?;
        let raw: Result<[u8; 32]> = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::invalid("key", "must decode to 32 bytes"));
        bytes.zeroize();
        self.with_key(id, raw?)
    }

    /// The id of the key that encrypts (the highest), if any.
    pub fn current_key_id(&self) -> Option<u16> {
        self.keys.keys().next_back().copied()
    }

    /// The ids of every key, ascending.
    pub fn key_ids(&self) -> Vec<u16> {
        self.keys.keys().copied().collect()
    }

    /// Whether the ring has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Encrypts `plaintext` under the current key, bound to `at`.
    pub(crate) fn seal(&self, at: Binding, plaintext: &str) -> Result<Vec<u8>> {
        let Some((&id, cipher)) = self.keys.iter().next_back() else {
            return Err(Error::NotAvailable(format!(
                "no token encryption key is configured (DatabaseBuilder::token_keys, \
                 AccountRepo::with_keys), and {} is never stored in plaintext",
                at.column
            )));
        };
        let mut sealed = Vec::with_capacity(SEALED_MIN + plaintext.len());
        sealed.push(FORMAT);
        sealed.extend_from_slice(&id.to_be_bytes());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = at.aad(&sealed);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| Error::invalid(at.column, "cannot be encrypted"))?;
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts a value sealed for `at`.
    pub(crate) fn open(&self, at: Binding, sealed: &[u8]) -> Result<SecretString> {
        let fail = |reason: String| Error::Decrypt {
            field: at.column,
            reason,
        };
        let id = key_id(sealed).ok_or_else(|| {
            fail(format!(
                "not a sealed value of format {FORMAT} ({} bytes)",
                sealed.len()
            ))
        })?;
        let cipher = self
            .keys
            .get(&id)
            .ok_or_else(|| fail(format!("key {id} is not in the keyring")))?;
        let (header, rest) = sealed.split_at(HEADER);
        let (nonce, ciphertext) = rest.split_at(NONCE);
        let plaintext = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &at.aad(header),
                },
            )
            .map_err(|_| {
                fail("authentication failed: altered, or from another row or column".into())
            })?;
        String::from_utf8(plaintext)
            .map(SecretString::from)
            .map_err(|e| {
                e.into_bytes().zeroize();
                fail("not UTF-8".into())
            })
    }
}

/// The key id of a sealed value, `None` if it is not one.
pub(crate) fn key_id(sealed: &[u8]) -> Option<u16> {
    (sealed.len() >= SEALED_MIN && sealed[0] == FORMAT)
        .then(|| u16::from_be_bytes([sealed[1], sealed[2]]))
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids())
            .field("encrypts_with", &self.current_key_id())
            .finish()
    }
}
