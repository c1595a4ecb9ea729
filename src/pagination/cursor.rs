//! The cursor format: version, listing tag, key tag, key, id, checksum,
//! as base64url text.
//!
//! The listing tag is 4 bytes of SHA-256 over the listing's name and the
//! parameters it was called with ([`Listing`]), so a cursor from
//! `by_author(A)` is refused by `by_author(B)`, as one from another listing
//! is. The checksum covers every byte before it.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};

const VERSION: u8 = 1;
const CHECK_LEN: usize = 4;
/// version + listing + key tag + id + checksum, without the key itself.
const FIXED_LEN: usize = 1 + 4 + 1 + 16 + CHECK_LEN;
const MAX_TEXT_LEN: usize = 512;

/// An opaque position in a listing. Parse one that came back from a client
/// with `str::parse::<Cursor>()`; print it with `to_string()`. It
/// serializes as that text and deserializes from it with the same checks,
/// so a truncated or altered cursor in a query string or a JSON body is a
/// deserialization error (with [`Error::InvalidCursor`]'s message).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    bytes: Vec<u8>,
}

/// A sort key that can travel in a cursor. Implemented for the keys our
/// listings sort by: timestamps, integers, search ranks and short text.
pub trait CursorKey: Sized {
    /// Distinguishes key types inside a cursor.
    const TAG: u8;
    /// Appends the key's bytes.
    fn write(&self, out: &mut Vec<u8>);
    /// Reads a key from exactly these bytes.
    fn read(bytes: &[u8]) -> Option<Self>;
}

impl CursorKey for DateTime<Utc> {
    const TAG: u8 = 1;
    fn write(&self, out: &mut Vec<u8>) {
        // PostgreSQL keeps microseconds, so this round-trips exactly.
        out.extend_from_slice(&self.timestamp_micros().to_be_bytes());
    }
    fn read(bytes: &[u8]) -> Option<Self> {
        let t = DateTime::from_timestamp_micros(i64::from_be_bytes(bytes.try_into().ok()?))?;
        // PostgreSQL's timestamptz range (4713 BC to 294276 AD): a key
        // outside it could only come from a hand-made cursor.
        (-4712..=294_275).contains(&t.year()).then_some(t)
    }
}

impl CursorKey for i64 {
    const TAG: u8 = 2;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(bytes: &[u8]) -> Option<Self> {
        Some(i64::from_be_bytes(bytes.try_into().ok()?))
    }
}

impl CursorKey for i32 {
    const TAG: u8 = 3;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(bytes: &[u8]) -> Option<Self> {
        Some(i32::from_be_bytes(bytes.try_into().ok()?))
    }
}

impl CursorKey for f32 {
    const TAG: u8 = 4;
    fn write(&self, out: &mut Vec<u8>) {
        // The exact bits: a search rank compares equal after the round trip.
        out.extend_from_slice(&self.to_bits().to_be_bytes());
    }
    fn read(bytes: &[u8]) -> Option<Self> {
        let value = f32::from_bits(u32::from_be_bytes(bytes.try_into().ok()?));
        value.is_finite().then_some(value)
    }
}

impl CursorKey for String {
    const TAG: u8 = 5;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn read(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        // A NUL cannot be sent to PostgreSQL as text.
        (!text.contains('\0')).then(|| text.to_owned())
    }
}

/// A listing and the parameters it was called with (the author of
/// `by_author`, the role of `list_by_role`, the text of `search`, ...):
/// what a cursor belongs to. Every parameter that changes which rows the
/// listing shows must be bound with [`Listing::param`].
#[derive(Clone)]
pub(crate) struct Listing {
    hash: Sha256,
}

impl Listing {
    /// The listing called `name`, with no parameters yet.
    pub(crate) fn named(name: &'static str) -> Listing {
        let mut hash = Sha256::new();
        hash.update(name.as_bytes());
        Listing { hash }
    }

    /// A host's listing called `name` (checked by the caller), in a
    /// namespace of its own: the hash starts with a byte no `&str` starts
    /// with (0xFF is never UTF-8), so a host listing named like one of ours
    /// (`posts.published`) still has another tag and refuses our cursors.
    pub(crate) fn host(name: &str) -> Listing {
        let mut hash = Sha256::new();
        hash.update([0xFF]);
        Listing { hash }.param(name)
    }

    /// The same listing with one more parameter. Each is length-prefixed,
    /// so `("ab", "c")` and `("a", "bc")` differ.
    pub(crate) fn param(mut self, value: impl AsRef<[u8]>) -> Listing {
        let value = value.as_ref();
        self.hash.update([0]);
        self.hash.update((value.len() as u64).to_be_bytes());
        self.hash.update(value);
        self
    }

    /// 4 bytes of SHA-256 over the name and the parameters. A listing
    /// without parameters keeps the tag of its bare name.
    fn tag(&self) -> [u8; 4] {
        let digest = self.hash.clone().finalize();
        [digest[0], digest[1], digest[2], digest[3]]
    }
}

impl fmt::Debug for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The tag is all a cursor keeps of the listing.
        write!(f, "Listing({:02x?})", self.tag())
    }
}

fn checksum(payload: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::digest(payload);
    [digest[0], digest[1], digest[2], digest[3]]
}

impl Cursor {
    /// A cursor at `(key, id)` in `listing`.
    pub(crate) fn new<K: CursorKey>(listing: &Listing, key: &K, id: Uuid) -> Cursor {
        let mut bytes = Vec::with_capacity(FIXED_LEN + 16);
        bytes.push(VERSION);
        bytes.extend_from_slice(&listing.tag());
        bytes.push(K::TAG);
        key.write(&mut bytes);
        bytes.extend_from_slice(id.as_bytes());
        let check = checksum(&bytes);
        bytes.extend_from_slice(&check);
        Cursor { bytes }
    }

    /// The key and id, if this cursor belongs to `listing` (with the same
    /// parameters) and has a `K` key.
    pub(crate) fn decode<K: CursorKey>(&self, listing: &Listing) -> Result<(K, Uuid)> {
        let invalid = |reason| Error::InvalidCursor { reason };
        if self.bytes[1..5] != listing.tag() {
            return Err(invalid(
                "cursor belongs to another listing, or to other parameters of this one",
            ));
        }
        if self.bytes[5] != K::TAG {
            return Err(invalid("cursor has the wrong key type"));
        }
        let body = &self.bytes[6..self.bytes.len() - CHECK_LEN];
        let (key, id) = body.split_at(body.len() - 16);
        let key = K::read(key).ok_or(invalid("cursor key is malformed"))?;
        let id = Uuid::from_slice(id).map_err(|_| invalid("cursor id is malformed"))?;
        Ok((key, id))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(&self.bytes))
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({self})")
    }
}

impl FromStr for Cursor {
    type Err = Error;

    fn from_str(text: &str) -> Result<Cursor> {
        let invalid = |reason| Error::InvalidCursor { reason };
        if text.len() > MAX_TEXT_LEN {
            return Err(invalid("cursor is too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| invalid("cursor is not base64url"))?;
        if bytes.len() < FIXED_LEN {
            return Err(invalid("cursor is truncated"));
        }
        if bytes[0] != VERSION {
            return Err(invalid("cursor version is not supported"));
        }
        let (payload, check) = bytes.split_at(bytes.len() - CHECK_LEN);
        if checksum(payload) != check {
            return Err(invalid(
                "cursor checksum does not match (altered or truncated)",
            ));
        }
        Ok(Cursor { bytes })
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Cursor, D::Error> {
        crate::serde_support::from_text(deserializer, "a pagination cursor (base64url text)")
    }
}
