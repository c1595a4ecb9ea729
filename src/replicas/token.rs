//! [`WriteToken`] and [`Consistency`]: what a read asks of a replica.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The primary's WAL position just after a [`crate::Database::write`]
/// committed (`pg_current_wal_insert_lsn()`), to hand to
/// [`Consistency::AtLeast`] so a later read sees that write. Printed as
/// PostgreSQL prints an LSN (`16/B374D848`, at most 17 characters), small
/// enough for a cookie or a header; parse it back with `str::parse`.
///
/// Without replicas no position is taken and the token is `0/0`, which
/// every server satisfies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WriteToken(pub(crate) u64);

impl WriteToken {
    /// The WAL position, as a byte offset.
    pub fn lsn(&self) -> u64 {
        self.0
    }
}

impl fmt::Display for WriteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl FromStr for WriteToken {
    type Err = Error;

    /// # Errors
    /// [`Error::Invalid`] on `write_token` unless the text is two hex
    /// numbers of at most 8 digits separated by `/`.
    fn from_str(text: &str) -> Result<Self, Error> {
        parse_lsn(text)
            .map(WriteToken)
            .ok_or_else(|| Error::invalid("write_token", "expected an LSN such as 16/B374D848"))
    }
}

/// A `pg_lsn` in its text form, as a byte offset.
pub(crate) fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    let part = |p: &str| {
        (!p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(p, 16).ok())
            .flatten()
    };
    Some((part(high)? << 32) | part(low)?)
}

/// Where [`crate::Database::read`] may run; the caller always chooses.
#[derive(Debug, Clone, Copy)]
pub enum Consistency<'a> {
    /// On a replica that has replayed at least this write, else (after
    /// the configured wait) on the primary: the read sees the write.
    AtLeast(&'a WriteToken),
    /// On any replica that is up, however far behind; may be stale.
    Any,
    /// On the primary.
    Primary,
}
