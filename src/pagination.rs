//! Keyset pagination for every listing: [`PageRequest`] in, [`Page<T>`] out,
//! opaque [`Cursor`]s in between. No OFFSET anywhere: a page deep in a large
//! table costs what the first page costs.
//!
//! A cursor carries the sort key and the id of the row it points at (the id
//! breaks ties between rows with the same sort key), the listing it belongs
//! to, and a checksum. It is base64url text, safe in a URL. A truncated,
//! altered or foreign cursor (one from another listing) is
//! [`Error::InvalidCursor`], never a panic and never a wrong page. Cursors are
//! integrity-checked, not encrypted or signed: they carry no authority, every
//! listing applies its own filters, so a hand-made cursor can only choose
//! where a listing the caller may read starts.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use diesel::dsl;
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{Query, QueryFragment};
use diesel::query_dsl::methods::{FilterDsl, LoadQuery, OrderDsl};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};

mod sql;

use sql::{PageLimit, RowCmp};

const VERSION: u8 = 1;
const CHECK_LEN: usize = 4;
/// version + listing + key tag + id + checksum, without the key itself.
const FIXED_LEN: usize = 1 + 4 + 1 + 16 + CHECK_LEN;
const MAX_TEXT_LEN: usize = 512;
/// The largest page a listing returns.
pub const MAX_LIMIT: u32 = 1000;

/// An opaque position in a listing. Parse one that came back from a client
/// with `str::parse::<Cursor>()`; print it with `to_string()`.
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

fn listing_tag(listing: &str) -> [u8; 4] {
    let digest = Sha256::digest(listing.as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

fn checksum(payload: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::digest(payload);
    [digest[0], digest[1], digest[2], digest[3]]
}

impl Cursor {
    /// A cursor at `(key, id)` in `listing`.
    pub(crate) fn new<K: CursorKey>(listing: &str, key: &K, id: Uuid) -> Cursor {
        let mut bytes = Vec::with_capacity(FIXED_LEN + 16);
        bytes.push(VERSION);
        bytes.extend_from_slice(&listing_tag(listing));
        bytes.push(K::TAG);
        key.write(&mut bytes);
        bytes.extend_from_slice(id.as_bytes());
        let check = checksum(&bytes);
        bytes.extend_from_slice(&check);
        Cursor { bytes }
    }

    /// The key and id, if this cursor belongs to `listing` and has a `K` key.
    pub(crate) fn decode<K: CursorKey>(&self, listing: &str) -> Result<(K, Uuid)> {
        let invalid = |reason| Error::InvalidCursor { reason };
        if self.bytes[1..5] != listing_tag(listing) {
            return Err(invalid("cursor belongs to another listing"));
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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Start {
    First,
    Last,
    After(Cursor),
    Before(Cursor),
}

/// Which page of a listing to load: the first or last `limit` rows, or the
/// `limit` rows after or before a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    start: Start,
    limit: u32,
}

impl PageRequest {
    /// The first `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self::new(Start::First, limit)
    }
    /// The last `limit` rows (still returned in listing order).
    pub fn last(limit: u32) -> Self {
        Self::new(Start::Last, limit)
    }
    /// The `limit` rows after `cursor` (usually a page's `next_cursor()`).
    pub fn after(cursor: Cursor, limit: u32) -> Self {
        Self::new(Start::After(cursor), limit)
    }
    /// The `limit` rows before `cursor` (usually a page's `prev_cursor()`).
    pub fn before(cursor: Cursor, limit: u32) -> Self {
        Self::new(Start::Before(cursor), limit)
    }
    fn new(start: Start, limit: u32) -> Self {
        PageRequest { start, limit }
    }
    /// The requested page size.
    pub fn limit(&self) -> u32 {
        self.limit
    }
}

/// One page of a listing, in listing order, with cursors to its neighbours.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    next: Option<Cursor>,
    prev: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page with no rows and no neighbours.
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            next: None,
            prev: None,
        }
    }
    /// Cursor for the following page, if there is one.
    pub fn next_cursor(&self) -> Option<Cursor> {
        self.next.clone()
    }
    /// Cursor for the preceding page, if there is one.
    pub fn prev_cursor(&self) -> Option<Cursor> {
        self.prev.clone()
    }
    /// Transforms all rows at once (a batch load), keeping the cursors.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn try_map_items<U>(self, f: impl FnOnce(Vec<T>) -> Result<Vec<U>>) -> Result<Page<U>> {
        Ok(Page {
            items: f(self.items)?,
            next: self.next,
            prev: self.prev,
        })
    }
    /// Transforms the rows, keeping the cursors.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
            prev: self.prev,
        }
    }
}

/// Sort direction of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Asc,
    Desc,
}

/// `(sort, id) > (key, id)` or `<`, with the key and id bound.
type Cmp<S, I, K> = RowCmp<
    S,
    I,
    dsl::AsExprOf<K, <S as Expression>::SqlType>,
    dsl::AsExprOf<Uuid, <I as Expression>::SqlType>,
>;

/// How a listing is keyed: its name (part of every cursor), the sort
/// expression, the tie-breaking id column, and the direction.
pub(crate) struct Keyset<S, I> {
    pub listing: &'static str,
    pub sort: S,
    pub id: I,
    pub order: Order,
}

/// `Error::Invalid` naming `limit` unless the page size is within
/// 1..=[`MAX_LIMIT`].
pub(crate) fn check_limit(request: &PageRequest) -> Result<()> {
    check_row_limit(i64::from(request.limit))
}

/// `Error::Invalid` naming `limit` unless `limit` is within 1..=[`MAX_LIMIT`]:
/// the one bound on how many rows any call returns at once.
pub(crate) fn check_row_limit(limit: i64) -> Result<()> {
    if !(1..=i64::from(MAX_LIMIT)).contains(&limit) {
        return Err(Error::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}, got {limit}"),
        ));
    }
    Ok(())
}

/// Loads one page of `query` (already filtered for the listing) in keyset
/// order. One round trip: it fetches `limit + 1` rows to learn whether
/// another page follows.
pub(crate) fn load_page<'a, Q, T, K, S, I>(
    query: Q,
    keyset: Keyset<S, I>,
    request: &PageRequest,
    key_of: impl Fn(&T) -> (K, Uuid),
    conn: &mut PgConnection,
) -> Result<Page<T>>
where
    K: CursorKey + Clone + AsExpression<S::SqlType>,
    Uuid: AsExpression<I::SqlType>,
    S: ExpressionMethods + Clone,
    S::SqlType: diesel::sql_types::SqlType,
    I: ExpressionMethods + Clone,
    I::SqlType: diesel::sql_types::SqlType,
    Q: FilterDsl<Cmp<S, I, K>, Output = Q>
        + OrderDsl<(dsl::Asc<S>, dsl::Asc<I>), Output = Q>
        + OrderDsl<(dsl::Desc<S>, dsl::Desc<I>), Output = Q>
        + Query
        + QueryFragment<Pg>,
    PageLimit<Q>: LoadQuery<'a, PgConnection, T>,
{
    check_limit(request)?;
    let limit = request.limit;
    let Keyset {
        listing,
        sort,
        id,
        order,
    } = keyset;
    // Whether we walk the listing forwards (in its own order) or backwards.
    let (forwards, cursor) = match &request.start {
        Start::First => (true, None),
        Start::Last => (false, None),
        Start::After(c) => (true, Some(c.decode::<K>(listing)?)),
        Start::Before(c) => (false, Some(c.decode::<K>(listing)?)),
    };
    let ascending = forwards == (order == Order::Asc);
    let mut query = query;
    if let Some((k, i)) = cursor {
        let after = RowCmp {
            sort: sort.clone(),
            id: id.clone(),
            key: k.as_expression(),
            key_id: i.as_expression(),
            greater: ascending,
        };
        query = FilterDsl::filter(query, after);
    }
    query = if ascending {
        OrderDsl::order(query, (sort.asc(), id.asc()))
    } else {
        OrderDsl::order(query, (sort.desc(), id.desc()))
    };
    let mut items: Vec<T> = PageLimit {
        query,
        rows: limit + 1,
    }
    .load(conn)?;
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    if !forwards {
        items.reverse();
    }
    let cursor_at = |item: Option<&T>| {
        item.map(|row| {
            let (k, i) = key_of(row);
            Cursor::new(listing, &k, i)
        })
    };
    let came_from_cursor = matches!(request.start, Start::After(_) | Start::Before(_));
    let (next, prev) = if forwards {
        let next = if has_more {
            cursor_at(items.last())
        } else {
            None
        };
        let prev = if came_from_cursor {
            cursor_at(items.first())
        } else {
            None
        };
        (next, prev)
    } else {
        let next = if came_from_cursor {
            cursor_at(items.last())
        } else {
            None
        };
        let prev = if has_more {
            cursor_at(items.first())
        } else {
            None
        };
        (next, prev)
    };
    Ok(Page { items, next, prev })
}
