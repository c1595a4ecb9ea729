//! [`ChangeCursor`]: a position in the change feed, as a compact string a
//! client can hand back (an SSE `Last-Event-ID`).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A position in the change feed: the `(xid, id)` of the last change a
/// consumer has seen, or a boundary below which it has seen everything.
/// The feed delivers every change after it.
///
/// Its string form is `c1-<xid>-<id>` (decimal, no leading zeros), or `now`
/// for [`ChangeCursor::now`]: short enough for an SSE `id:` line, and
/// parsed back strictly with [`str::parse`]. A cursor is not secret and not
/// signed: a forged one only moves a consumer within changes its filter
/// lets it see (one ahead of the server is refused when a feed opens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeCursor {
    pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Pos {
    At { xid: i64, id: i64 },
    // Orders after every position: "now" is resolved before it is compared.
    Now,
}

/// Longest cursor string accepted: `c1-` and two 19-digit numbers.
const MAX_LEN: usize = 3 + 19 + 1 + 19;

impl ChangeCursor {
    /// The beginning: every change still retained.
    pub const fn start() -> ChangeCursor {
        ChangeCursor::at(0, 0)
    }

    /// The present: [`Database::change_feed`](crate::Database::change_feed)
    /// resolves it when the feed opens, to the boundary below which every
    /// transaction has ended. The feed then delivers every change committed
    /// after it opened (and possibly a few committed just before, by
    /// transactions that overlapped an older one still open).
    pub const fn now() -> ChangeCursor {
        ChangeCursor { pos: Pos::Now }
    }

    pub(crate) const fn at(xid: i64, id: i64) -> ChangeCursor {
        ChangeCursor {
            pos: Pos::At { xid, id },
        }
    }

    /// `(xid, id)`, or `None` for an unresolved [`ChangeCursor::now`].
    pub(crate) fn position(self) -> Option<(i64, i64)> {
        match self.pos {
            Pos::At { xid, id } => Some((xid, id)),
            Pos::Now => None,
        }
    }

    /// Whether this is [`ChangeCursor::now`], not yet resolved.
    pub fn is_now(self) -> bool {
        self.pos == Pos::Now
    }
}

/// Serialized as its string form.
impl serde::Serialize for ChangeCursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Deserialized from its string form, parsed as strictly as by `str::parse`.
impl<'de> serde::Deserialize<'de> for ChangeCursor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        crate::serde_support::from_text(d, "a change feed cursor (c1-<xid>-<id> or now)")
    }
}

impl fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Pos::At { xid, id } => write!(f, "c1-{xid}-{id}"),
            Pos::Now => f.write_str("now"),
        }
    }
}

fn number(part: &str) -> Result<i64> {
    let canonical = !part.is_empty()
        && part.bytes().all(|b| b.is_ascii_digit())
        && (part == "0" || !part.starts_with('0'));
    if !canonical {
        return Err(Error::invalid(
            "cursor",
            "expected c1-<xid>-<id> in decimal digits",
        ));
    }
    part.parse::<i64>()
        .map_err(|_| Error::invalid("cursor", "number out of range"))
}

impl FromStr for ChangeCursor {
    type Err = Error;

    /// Parses what [`Display`](fmt::Display) wrote.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `cursor` for anything else: empty, too
    /// long, a NUL or other stray byte, a sign, leading zeros, a number
    /// above `i64::MAX`, another version prefix.
    fn from_str(s: &str) -> Result<ChangeCursor> {
        if s == "now" {
            return Ok(ChangeCursor::now());
        }
        if s.len() > MAX_LEN {
            return Err(Error::invalid("cursor", "too long"));
        }
        let Some(rest) = s.strip_prefix("c1-") else {
            return Err(Error::invalid("cursor", "not a change cursor (c1-..)"));
        };
        let Some((xid, id)) = rest.split_once('-') else {
            return Err(Error::invalid(
                "cursor",
                "expected c1-<xid>-<id> in decimal digits",
            ));
        };
        Ok(ChangeCursor::at(number(xid)?, number(id)?))
    }
}
